/* SPDX-License-Identifier: MIT */
/*
 * vk-membench: what a Vulkan driver's device-memory calls cost, and how much
 * of the host-visible region its memory holds. One driver per run; the
 * comparison of stock Venus with Venus-on-vws is scripts/venus-bench.sh,
 * which runs this on both through scripts/vk-run.sh.
 *
 *   vk-membench [--count N] [--size BYTES] [--rounds R] [--cached M]
 *               [--plain P] [--exportable E] [--map-percent F] [--json]
 *
 * Latencies (R rounds of N allocations of BYTES, after one round of
 * warm-up): vkAllocateMemory followed at once by the first vkMapMemory of
 * the same memory (both timed, and their sum); M sweeps of cached
 * vkMapMemory calls over the N allocations (each after a vkUnmapMemory; a
 * sample is a sweep's time per unmap + map pair);
 * vkFreeMemory of mapped memory; and, separately, vkAllocateMemory and
 * vkFreeMemory of memory that is never mapped.
 *
 * Region: P plain and E exportable (dma-buf) allocations of BYTES, F% of
 * each mapped, none exported; the bytes of the host-visible region held are
 * read from the kernel model's counters (vgshim_get_counters, found when the
 * model is preloaded) after each step. Without the model they are null.
 *
 * Exportable memory needs VK_EXT_external_memory_dma_buf; without it none is
 * allocated and the report says so (export_supported).
 *
 * Memory: the first HOST_VISIBLE | HOST_COHERENT type, DEVICE_LOCAL if there
 * is one (the types the defer-mapping hint is for).
 *
 * Exit: 0 ok, 2 usage, 3 a Vulkan error, 77 no host-visible coherent memory.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "vgshim.h"
#include "vk_setup.h"

struct vmb {
	struct vks vk;
	uint32_t type;
	VkMemoryPropertyFlags type_flags;
	void (*counters)(struct vgshim_counters *out);
};

/* Per-sample times, one array per measured call. */
struct vmb_series {
	const char *name;
	double *ns;
	size_t n, cap;
};

enum {
	VMB_ALLOC,
	VMB_FIRST_MAP,
	VMB_ALLOC_FIRST_MAP,
	VMB_CACHED_MAP,
	VMB_FREE,
	VMB_ALLOC_UNMAPPED,
	VMB_FREE_UNMAPPED,
	VMB_SERIES,
};

static const char *const vmb_series_names[VMB_SERIES] = {
	"alloc", "first_map", "alloc_first_map", "cached_map", "free",
	"alloc_unmapped", "free_unmapped",
};

#define VMB_CHECK(call)                                                             \
	do {                                                                        \
		VkResult r_ = (call);                                               \
		if (r_ != VK_SUCCESS) {                                             \
			fprintf(stderr, "vk-membench: %s failed: %d\n", #call, r_); \
			exit(3);                                                    \
		}                                                                   \
	} while (0)

static double vmb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void vmb_add(struct vmb_series *s, double ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *p = realloc(s->ns, cap * sizeof(*p));

		if (!p) {
			fprintf(stderr, "vk-membench: out of memory\n");
			exit(3);
		}
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
}

static int vmb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the samples; mean, median and 90th percentile in ns. */
static void vmb_summary(struct vmb_series *s, double *mean, double *median, double *p90)
{
	double sum = 0;

	*mean = *median = *p90 = 0;
	if (!s->n)
		return;
	qsort(s->ns, s->n, sizeof(*s->ns), vmb_cmp);
	for (size_t i = 0; i < s->n; i++)
		sum += s->ns[i];
	*mean = sum / (double)s->n;
	*median = s->n % 2 ? s->ns[s->n / 2] : (s->ns[s->n / 2 - 1] + s->ns[s->n / 2]) / 2;
	*p90 = s->ns[(s->n * 9) / 10];
}

static void vmb_init(struct vmb *v, bool need_export)
{
	const VkMemoryPropertyFlags want =
		VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	VkPhysicalDeviceMemoryProperties mp;
	const char *what;
	VkResult r;

	r = vks_instance(&v->vk, "vk-membench", &what);
	if (r != VK_SUCCESS) {
		fprintf(stderr, "vk-membench: %s failed: %d\n", what, r);
		exit(3);
	}
	vkGetPhysicalDeviceMemoryProperties(v->vk.pdev, &mp);
	v->type = UINT32_MAX;
	for (int pass = 0; pass < 2 && v->type == UINT32_MAX; pass++)
		for (uint32_t i = 0; i < mp.memoryTypeCount && v->type == UINT32_MAX; i++) {
			VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;

			if ((f & want) == want &&
			    (pass || (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)))
				v->type = i;
		}
	if (v->type == UINT32_MAX) {
		fprintf(stderr, "vk-membench: no HOST_VISIBLE|HOST_COHERENT memory type\n");
		exit(77);
	}
	v->type_flags = mp.memoryTypes[v->type].propertyFlags;
	if (need_export && !v->vk.has_export)
		fprintf(stderr, "vk-membench: %s cannot export dma-bufs: no exportable memory\n",
			v->vk.name);
	/* memory only: the first queue family will do */
	r = vks_device(&v->vk, 0, &what);
	if (r != VK_SUCCESS) {
		fprintf(stderr, "vk-membench: %s failed: %d\n", what, r);
		exit(3);
	}

	/* the kernel model's counters, when it is preloaded (its test API) */
	*(void **)&v->counters = dlsym(RTLD_DEFAULT, "vgshim_get_counters");
}

static VkDeviceMemory vmb_alloc(struct vmb *v, VkDeviceSize size, bool exportable)
{
	const VkExportMemoryAllocateInfo export_info = {
		.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
		.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
	};
	const VkMemoryAllocateInfo mai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = exportable ? &export_info : NULL,
		.allocationSize = size,
		.memoryTypeIndex = v->type,
	};
	VkDeviceMemory mem;

	VMB_CHECK(vkAllocateMemory(v->vk.dev, &mai, NULL, &mem));
	return mem;
}

static void *vmb_map(struct vmb *v, VkDeviceMemory mem)
{
	void *p;

	VMB_CHECK(vkMapMemory(v->vk.dev, mem, 0, VK_WHOLE_SIZE, 0, &p));
	return p;
}

/* One round of every latency measurement on count allocations; with s NULL
 * nothing is recorded (warm-up). */
static void vmb_round(struct vmb *v, VkDeviceMemory *mem, uint64_t count, VkDeviceSize size,
		      uint64_t cached, struct vmb_series *s)
{
	double t0, t1, t2;

	for (uint64_t i = 0; i < count; i++) {
		t0 = vmb_now_ns();
		mem[i] = vmb_alloc(v, size, false);
		t1 = vmb_now_ns();
		/* the first byte is touched after the clock stops: the call is
		 * timed, not the page fault */
		volatile uint8_t *p = vmb_map(v, mem[i]);
		t2 = vmb_now_ns();
		p[0] = (uint8_t)i;
		if (s) {
			vmb_add(&s[VMB_ALLOC], t1 - t0);
			vmb_add(&s[VMB_FIRST_MAP], t2 - t1);
			vmb_add(&s[VMB_ALLOC_FIRST_MAP], t2 - t0);
		}
	}
	/* a cached map is tens of ns, the clock's own cost: one sample per
	 * sweep over all allocations, per unmap + map pair */
	for (uint64_t j = 0; j < cached; j++) {
		t0 = vmb_now_ns();
		for (uint64_t i = 0; i < count; i++) {
			vkUnmapMemory(v->vk.dev, mem[i]);
			vmb_map(v, mem[i]);
		}
		t1 = vmb_now_ns();
		if (s)
			vmb_add(&s[VMB_CACHED_MAP], (t1 - t0) / (double)count);
	}
	for (uint64_t i = 0; i < count; i++) {
		vkUnmapMemory(v->vk.dev, mem[i]);
		t0 = vmb_now_ns();
		vkFreeMemory(v->vk.dev, mem[i], NULL);
		t1 = vmb_now_ns();
		if (s)
			vmb_add(&s[VMB_FREE], t1 - t0);
	}
	for (uint64_t i = 0; i < count; i++) {
		t0 = vmb_now_ns();
		mem[i] = vmb_alloc(v, size, false);
		t1 = vmb_now_ns();
		if (s)
			vmb_add(&s[VMB_ALLOC_UNMAPPED], t1 - t0);
	}
	for (uint64_t i = 0; i < count; i++) {
		t0 = vmb_now_ns();
		vkFreeMemory(v->vk.dev, mem[i], NULL);
		t1 = vmb_now_ns();
		if (s)
			vmb_add(&s[VMB_FREE_UNMAPPED], t1 - t0);
	}
}

/* Region bytes in use now, or -1 without the model. */
static int64_t vmb_region(const struct vmb *v)
{
	struct vgshim_counters c;

	if (!v->counters)
		return -1;
	v->counters(&c);
	return (int64_t)c.region_bytes_in_use;
}

struct vmb_region_result {
	uint64_t plain, exportable, plain_mapped, exportable_mapped;
	/* region bytes held by this phase's memory after each step; -1: unknown */
	int64_t after_alloc_plain, after_alloc_exportable, after_map_plain, after_map_exportable;
};

static int64_t vmb_delta(int64_t now, int64_t base)
{
	return now < 0 || base < 0 ? -1 : now - base;
}

static void vmb_region_phase(struct vmb *v, VkDeviceSize size, struct vmb_region_result *r)
{
	uint64_t n = r->plain + r->exportable;
	VkDeviceMemory *mem = calloc(n ? n : 1, sizeof(*mem));
	int64_t base;

	if (!mem) {
		fprintf(stderr, "vk-membench: out of memory\n");
		exit(3);
	}
	base = vmb_region(v);
	for (uint64_t i = 0; i < r->plain; i++)
		mem[i] = vmb_alloc(v, size, false);
	r->after_alloc_plain = vmb_delta(vmb_region(v), base);
	for (uint64_t i = 0; i < r->exportable; i++)
		mem[r->plain + i] = vmb_alloc(v, size, true);
	r->after_alloc_exportable = vmb_delta(vmb_region(v), base);
	for (uint64_t i = 0; i < r->plain_mapped; i++)
		((volatile uint8_t *)vmb_map(v, mem[i]))[0] = 1;
	r->after_map_plain = vmb_delta(vmb_region(v), base);
	for (uint64_t i = 0; i < r->exportable_mapped; i++)
		((volatile uint8_t *)vmb_map(v, mem[r->plain + i]))[0] = 1;
	r->after_map_exportable = vmb_delta(vmb_region(v), base);
	for (uint64_t i = 0; i < n; i++)
		vkFreeMemory(v->vk.dev, mem[i], NULL);
	free(mem);
}

/* Blobs are whole pages: what a mapping of size bytes holds. */
static uint64_t vmb_page_round(uint64_t size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

static bool vmb_arg_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return s[0] && s[0] != '-' && !errno && !*end;
}

static void vmb_print_i64(const char *key, int64_t v, const char *sep)
{
	if (v < 0)
		printf("\"%s\": null%s", key, sep);
	else
		printf("\"%s\": %" PRId64 "%s", key, v, sep);
}

int main(int argc, char **argv)
{
	uint64_t count = 32, size = 1 << 20, rounds = 5, cached = 20;
	uint64_t plain = 32, exportable = 16, map_percent = 25;
	struct vmb_series s[VMB_SERIES] = { 0 };
	struct vmb_region_result r = { 0 };
	struct vmb v = { 0 };
	VkDeviceMemory *mem;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		uint64_t *dst = !strcmp(argv[i], "--count")	  ? &count
			      : !strcmp(argv[i], "--size")	  ? &size
			      : !strcmp(argv[i], "--rounds")	  ? &rounds
			      : !strcmp(argv[i], "--cached")	  ? &cached
			      : !strcmp(argv[i], "--plain")	  ? &plain
			      : !strcmp(argv[i], "--exportable")  ? &exportable
			      : !strcmp(argv[i], "--map-percent") ? &map_percent
								  : NULL;

		if (dst && i + 1 < argc && vmb_arg_u64(argv[i + 1], dst)) {
			i++;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "usage: vk-membench [--count N] [--size BYTES] [--rounds R] "
					"[--cached M] [--plain P] [--exportable E] "
					"[--map-percent F] [--json]\n");
			return 2;
		}
	}
	if (!count || count > 4096 || !rounds || rounds > 1000 || cached > 100000 ||
	    size < 16 || size > (1ull << 32) || plain > 4096 || exportable > 4096 ||
	    map_percent > 100) {
		fprintf(stderr, "vk-membench: --count 1..4096, --rounds 1..1000, --cached <= 100000, "
				"--size 16..4G, --plain/--exportable <= 4096, --map-percent <= 100\n");
		return 2;
	}
	vmb_init(&v, exportable > 0);
	if (!v.vk.has_export)
		exportable = 0;
	mem = calloc(count, sizeof(*mem));
	if (!mem)
		return 3;
	for (int i = 0; i < VMB_SERIES; i++)
		s[i].name = vmb_series_names[i];

	/* Warm-up: Venus's command and reply buffers reach their working size,
	 * so the region phase sees only this program's memory. */
	vmb_round(&v, mem, count, size, 1, NULL);
	for (uint64_t k = 0; k < rounds; k++)
		vmb_round(&v, mem, count, size, cached, s);

	r.plain = plain;
	r.exportable = exportable;
	r.plain_mapped = (plain * map_percent + 50) / 100;
	r.exportable_mapped = (exportable * map_percent + 50) / 100;
	vmb_region_phase(&v, size, &r);

	vkDestroyDevice(v.vk.dev, NULL);
	vkDestroyInstance(v.vk.instance, NULL);

	if (json) {
		printf("{\"device\": \"%s\", \"memory_type\": %u, \"device_local\": %s, "
		       "\"count\": %" PRIu64 ", \"size\": %" PRIu64 ", \"size_rounded\": %" PRIu64
		       ", \"rounds\": %" PRIu64 ", \"cached\": %" PRIu64 ", \"latency_ns\": {",
		       v.vk.name, v.type,
		       v.type_flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT ? "true" : "false",
		       count, size, vmb_page_round(size), rounds, cached);
		for (int i = 0; i < VMB_SERIES; i++) {
			double mean, median, p90;

			vmb_summary(&s[i], &mean, &median, &p90);
			printf("\"%s\": {\"n\": %zu, \"median\": %.1f, \"mean\": %.1f, \"p90\": %.1f}%s",
			       s[i].name, s[i].n, median, mean, p90, i + 1 < VMB_SERIES ? ", " : "");
		}
		printf("}, \"region\": {\"export_supported\": %s, \"plain\": %" PRIu64
		       ", \"exportable\": %" PRIu64
		       ", \"plain_mapped\": %" PRIu64 ", \"exportable_mapped\": %" PRIu64
		       ", \"bytes_mapped\": %" PRIu64 ", ",
		       v.vk.has_export ? "true" : "false", r.plain, r.exportable, r.plain_mapped,
		       r.exportable_mapped, (r.plain_mapped + r.exportable_mapped) * vmb_page_round(size));
		vmb_print_i64("held_after_alloc_plain", r.after_alloc_plain, ", ");
		vmb_print_i64("held_after_alloc_exportable", r.after_alloc_exportable, ", ");
		vmb_print_i64("held_after_map_plain", r.after_map_plain, ", ");
		vmb_print_i64("held_after_map_exportable", r.after_map_exportable, "");
		printf("}}\n");
	} else {
		printf("vk-membench: %s, memory type %u%s, %" PRIu64 " x %" PRIu64
		       " bytes, %" PRIu64 " rounds\n",
		       v.vk.name, v.type,
		       v.type_flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT ? " (device-local)" : "",
		       count, size, rounds);
		for (int i = 0; i < VMB_SERIES; i++) {
			double mean, median, p90;

			vmb_summary(&s[i], &mean, &median, &p90);
			printf("  %-18s median %10.3f us  mean %10.3f us  p90 %10.3f us  (%zu)\n",
			       s[i].name, median / 1e3, mean / 1e3, p90 / 1e3, s[i].n);
		}
		printf("  region: %" PRIu64 " plain (%" PRIu64 " mapped), %" PRIu64
		       " exportable (%" PRIu64 " mapped), held after alloc plain %" PRId64
		       ", + exportable %" PRId64 ", after maps %" PRId64 " / %" PRId64 " bytes\n",
		       r.plain, r.plain_mapped, r.exportable, r.exportable_mapped,
		       r.after_alloc_plain, r.after_alloc_exportable, r.after_map_plain,
		       r.after_map_exportable);
	}
	for (int i = 0; i < VMB_SERIES; i++)
		free(s[i].ns);
	free(mem);
	return 0;
}
