/* SPDX-License-Identifier: MIT */
/* Allocation, mapping, the window, budgets and valid usage, in the spirit
 * of deqp-vk memory.allocation and memory.mapping (written here). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tv.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT

static bool is(void **state, const char *gen)
{
	return !strcmp(*state, gen);
}

/* Every type of every profile at many sizes; vkAllocateMemory never maps. */
static void alloc_every_type(void **state)
{
	static const VkDeviceSize sizes[] = { 1, 4095, 4096, 65537, TV_MIB, 3 * TV_MIB + 5 };

	for (int p = 0; p < TV_NUM_PROFILES; p++) {
		struct tv t;

		tv_open(&t, p);
		for (uint32_t type = 0; type < t.props.memoryTypeCount; type++) {
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				VkDeviceMemory m;
				uint64_t mmaps = tv_counters().mmaps;

				assert_int_equal(tv_alloc(&t, type, sizes[s], NULL, &m), VK_SUCCESS);
				assert_int_equal(tv_counters().mmaps, mmaps);
				vws_vk_FreeMemory(t.vk, m, NULL);
			}
			/* beyond the heap: out of device memory, nothing left */
			{
				VkDeviceMemory m;
				uint32_t heap = t.props.memoryTypes[type].heapIndex;

				assert_int_equal(tv_alloc(&t, type, t.props.memoryHeaps[heap].size + 1,
							  NULL, &m), VK_ERROR_OUT_OF_DEVICE_MEMORY);
			}
		}
		tv_close(&t);
	}
}

/* Which allocations get a blob, which get the hint. */
static void policy(void **state)
{
	struct tv t;
	VkDeviceMemory vis, dev_only, sys;
	struct vws_bo_info bi;

	tv_open(&t, TV_DISCRETE_SMALL_BAR);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, NULL, &vis), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL, HV), TV_MIB, NULL, &dev_only), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, HV, DL), TV_MIB, NULL, &sys), 0);
	/* device-local host-visible: mappable blob, hinted where auto allows */
	assert_int_equal(vws_bo_get_info(vws_vk_memory_bo(vis), &bi), 0);
	assert_true(bi.blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE);
	assert_int_equal(bi.hinted, is(state, "fixed"));
	/* private device-only memory: no blob at all */
	assert_null(vws_vk_memory_bo(dev_only));
	/* system memory: mappable, no hint (the CPU will touch it) */
	assert_int_equal(vws_bo_get_info(vws_vk_memory_bo(sys), &bi), 0);
	assert_false(bi.hinted);
	vws_vk_FreeMemory(t.vk, vis, NULL);
	vws_vk_FreeMemory(t.vk, dev_only, NULL);
	vws_vk_FreeMemory(t.vk, sys, NULL);
	tv_close(&t);
}

/* Random map / write / flush / invalidate / unmap sequences, data checked
 * through a second mapping. */
static void map_sequences(void **state)
{
	unsigned seed = 12345;

	for (int p = 0; p < TV_NUM_PROFILES; p++) {
		struct tv t;

		tv_open(&t, p);
		for (uint32_t type = 0; type < t.props.memoryTypeCount; type++) {
			VkDeviceSize size = 256 * 1024;
			VkDeviceMemory m;
			unsigned char *shadow;

			if (!(t.props.memoryTypes[type].propertyFlags & HV))
				continue;
			shadow = calloc(1, size);
			assert_non_null(shadow);
			assert_int_equal(tv_alloc(&t, type, size, NULL, &m), VK_SUCCESS);
			for (int round = 0; round < 40; round++) {
				VkDeviceSize off = (rand_r(&seed) % (size / 64)) * 64, len;
				bool whole = rand_r(&seed) % 3 == 0;
				unsigned char *ptr;
				VkMappedMemoryRange r = { VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, m,
							  0, VK_WHOLE_SIZE };

				len = whole ? size - off : 1 + rand_r(&seed) % (size - off);
				assert_int_equal(vws_vk_MapMemory(t.vk, m, off, whole ? VK_WHOLE_SIZE : len,
								  0, (void **)&ptr), VK_SUCCESS);
				for (VkDeviceSize i = 0; i < len; i += 97) {
					ptr[i] = (unsigned char)(round + i);
					shadow[off + i] = (unsigned char)(round + i);
				}
				/* VK_WHOLE_SIZE is valid only when the mapping ends on an
				 * atom or at the end (size-01389); otherwise the atoms
				 * the mapping covers, if any */
				r.offset = off;
				if (!whole && (off + len) % 64)
					r.size = len / 64 * 64;
				if (r.size) {
					assert_int_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r),
							 VK_SUCCESS);
					assert_int_equal(vws_vk_InvalidateMappedMemoryRanges(t.vk, 1,
											      &r),
							 VK_SUCCESS);
				}
				vws_vk_UnmapMemory(t.vk, m);
			}
			{
				unsigned char *all;

				assert_int_equal(vws_vk_MapMemory(t.vk, m, 0, VK_WHOLE_SIZE, 0,
								  (void **)&all), VK_SUCCESS);
				assert_memory_equal(all, shadow, size);
				vws_vk_UnmapMemory(t.vk, m);
			}
			/* one MAP and one mmap for all those maps */
			free(shadow);
			vws_vk_FreeMemory(t.vk, m, NULL);
		}
		tv_close(&t);
	}
}

/* Host-visible allocations whose size is not a page multiple map, on every
 * generation: the host object must back the whole (page-rounded) blob.
 * Every byte of the allocation is written through one vkMapMemory and read
 * back through later ones, the last byte also through a one-byte map at the
 * allocation's last offset. */
static void map_odd_sizes(void **state)
{
	static const VkDeviceSize sizes[] = { 1, 1000, 4095, 4097, 70000, 65536 + 1, 3 * TV_MIB + 5 };

	for (int p = 0; p < TV_NUM_PROFILES; p++) {
		struct tv t;

		tv_open(&t, p);
		for (uint32_t type = 0; type < t.props.memoryTypeCount; type++) {
			if (!(t.props.memoryTypes[type].propertyFlags & HV))
				continue;
			for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
				VkDeviceMemory m;
				unsigned char *ptr, *again;

				assert_int_equal(tv_alloc(&t, type, sizes[s], NULL, &m), VK_SUCCESS);
				assert_int_equal(vws_vk_MapMemory(t.vk, m, 0, VK_WHOLE_SIZE, 0,
								  (void **)&ptr), VK_SUCCESS);
				for (VkDeviceSize i = 0; i < sizes[s]; i++)
					ptr[i] = (unsigned char)(i * 7 + s);
				vws_vk_UnmapMemory(t.vk, m);
				/* the last byte through a sub-range map at an odd offset */
				assert_int_equal(vws_vk_MapMemory(t.vk, m, sizes[s] - 1, 1, 0,
								  (void **)&again), VK_SUCCESS);
				assert_int_equal(*again, (unsigned char)((sizes[s] - 1) * 7 + s));
				vws_vk_UnmapMemory(t.vk, m);
				assert_int_equal(vws_vk_MapMemory(t.vk, m, 0, VK_WHOLE_SIZE, 0,
								  (void **)&again), VK_SUCCESS);
				for (VkDeviceSize i = 0; i < sizes[s]; i++)
					if (again[i] != (unsigned char)(i * 7 + s))
						fail_msg("size %llu byte %llu", (unsigned long long)sizes[s],
							 (unsigned long long)i);
				vws_vk_UnmapMemory(t.vk, m);
				vws_vk_FreeMemory(t.vk, m, NULL);
			}
		}
		tv_close(&t);
	}
}

/* Far more device-local host-visible memory than the window, mapping a
 * little of it: fine with deferred mapping, refused at allocation when the
 * kernel maps every blob at creation. */
static void oversubscribe_window(void **state)
{
	struct tv t;
	VkDeviceMemory m[32];
	int ok = 0;

	tc_model_use(*state, "VGSHIM_HOSTMEM", "64M", NULL);
	tv_open(&t, TV_DISCRETE_REBAR);
	for (int i = 0; i < 32; i++) {
		VkResult r = tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), 8 * TV_MIB, NULL, &m[ok]);

		if (r == VK_SUCCESS)
			ok++;
		else
			assert_int_equal(r, VK_ERROR_OUT_OF_DEVICE_MEMORY);
	}
	if (is(state, "fixed")) {
		assert_int_equal(ok, 32);
		for (int i = 0; i < 4; i++) {
			void *p;

			assert_int_equal(vws_vk_MapMemory(t.vk, m[i], 0, VK_WHOLE_SIZE, 0, &p), 0);
			memset(p, i, 4096);
		}
		assert_int_equal(tv_counters().region_bytes_in_use, 32 * TV_MIB);
	} else {
		/* auto sends no hint to these kernels: 8 blobs fill the window */
		assert_int_equal(ok, 8);
	}
	for (int i = 0; i < ok; i++)
		vws_vk_FreeMemory(t.vk, m[i], NULL);
	tv_close(&t);
}

/* Region exhausted at vkMapMemory: MEMORY_MAP_FAILED; a retry works once
 * another allocation was freed. */
static void map_failure_and_retry(void **state)
{
	struct tv t;
	VkDeviceMemory a, b;
	void *p;

	tc_model_use(*state, "VGSHIM_HOSTMEM", "16M", NULL);
	tv_open(&t, TV_DISCRETE_REBAR);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), 12 * TV_MIB, NULL, &a), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), 12 * TV_MIB, NULL, &b), 0);
	assert_int_equal(vws_vk_MapMemory(t.vk, a, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_MapMemory(t.vk, b, 0, VK_WHOLE_SIZE, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED);
	assert_int_equal(vws_vk_MapMemory(t.vk, b, 0, VK_WHOLE_SIZE, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED);
	vws_vk_FreeMemory(t.vk, a, NULL);
	vgshim_host_drain();
	assert_int_equal(vws_vk_MapMemory(t.vk, b, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	memset(p, 1, 12 * TV_MIB);
	vws_vk_FreeMemory(t.vk, b, NULL);
	tv_close(&t);
}

/* Budgets count what the window really holds. */
static void budget(void **state)
{
	VkPhysicalDeviceMemoryBudgetPropertiesEXT b = { 0 };
	struct tv t;
	VkDeviceMemory vis, dev_only;
	void *p;
	uint32_t heap;

	tv_open(&t, TV_DISCRETE_SMALL_BAR);
	heap = t.props.memoryTypes[tv_type(&t, DL | HV, 0)].heapIndex;
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), 4 * TV_MIB, NULL, &vis), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL, HV), 2 * TV_MIB, NULL, &dev_only), 0);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], is(state, "fixed") ? 0 : 4 * TV_MIB);
	assert_int_equal(b.heapUsage[0], 2 * TV_MIB);
	assert_int_equal(b.heapBudget[heap], 256 * TV_MIB);
	assert_int_equal(vws_vk_MapMemory(t.vk, vis, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 4 * TV_MIB);
	assert_int_equal(b.heapBudget[heap], 256 * TV_MIB);
	/* The winsys helper, asked about the window heap, says the same, also
	 * for an allocation that is not a page multiple (the heap holds its
	 * page-rounded blob). */
	{
		VkDeviceMemory odd;
		uint64_t usage, bud;

		vws_device_get_budget(t.dev, t.props.memoryHeaps[heap].size, &usage, &bud);
		assert_int_equal(usage, b.heapUsage[heap]);
		assert_int_equal(bud, b.heapBudget[heap]);
		assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), 1000, NULL, &odd), 0);
		assert_int_equal(vws_vk_MapMemory(t.vk, odd, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
		vws_vk_GetMemoryBudget(t.vk, &b);
		vws_device_get_budget(t.dev, t.props.memoryHeaps[heap].size, &usage, &bud);
		assert_int_equal(b.heapUsage[heap], 4 * TV_MIB + 4096);
		assert_int_equal(usage, b.heapUsage[heap]);
		vws_vk_FreeMemory(t.vk, odd, NULL);
	}
	vws_vk_FreeMemory(t.vk, vis, NULL);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 0);
	vws_vk_FreeMemory(t.vk, dev_only, NULL);
	tv_close(&t);
}

/* The budget is kept as memory comes, goes and takes its window range,
 * whichever way the range is taken: vkMapMemory, an export, or a map of
 * the blob through the winsys directly (the winsys's account). */
static void budget_follows_winsys(void **state)
{
	VkPhysicalDeviceMemoryBudgetPropertiesEXT b = { 0 };
	VkExportMemoryAllocateInfo exp = { VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, NULL,
					   VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
	VkMemoryGetFdInfoKHR gi = { VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, NULL,
				    VK_NULL_HANDLE, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
	bool deferred = is(state, "fixed");
	VkDeviceMemory a, e, imp;
	struct tv t;
	uint32_t heap, type;
	int fd;
	void *p;

	tv_open(&t, TV_DISCRETE_SMALL_BAR);
	type = (uint32_t)tv_type(&t, DL | HV, 0);
	heap = t.props.memoryTypes[type].heapIndex;
	assert_int_equal(tv_alloc(&t, type, TV_MIB, NULL, &a), 0);
	assert_int_equal(tv_alloc(&t, type, 2 * TV_MIB, &exp, &e), 0);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], deferred ? 0 : 3 * TV_MIB);
	/* the blob mapped by the driver itself, not through vkMapMemory */
	assert_int_equal(vws_bo_map(vws_vk_memory_bo(a), &p), 0);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], deferred ? TV_MIB : 3 * TV_MIB);
	/* an export makes the host mapping */
	gi.memory = e;
	assert_int_equal(vws_vk_GetMemoryFdKHR(t.vk, &gi, &fd), VK_SUCCESS);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 3 * TV_MIB);
	/* vkMapMemory after either changes nothing */
	assert_int_equal(vws_vk_MapMemory(t.vk, a, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_MapMemory(t.vk, e, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 3 * TV_MIB);
	/* our own export imported back: the same blob, counted once more at
	 * its size, as an import always is */
	{
		VkImportMemoryFdInfoKHR ii = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, NULL,
					       VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, fd };

		assert_int_equal(tv_alloc(&t, type, 2 * TV_MIB, &ii, &imp), 0);
	}
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 5 * TV_MIB);
	/* freeing the exporter first: its charge goes, the import's stays */
	vws_vk_FreeMemory(t.vk, e, NULL);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 3 * TV_MIB);
	vws_vk_FreeMemory(t.vk, imp, NULL);
	vws_vk_FreeMemory(t.vk, a, NULL);
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], 0);
	tv_close(&t);
}

/* Threads allocate, map, flush, unmap and free their own memory while
 * others read the budget: no lock but the list's on these paths (TSan
 * checks the rest), and the budget ends where it started. */
#define TH_THREADS 4
#define TH_ITERS 300

struct th_arg {
	struct tv *t;
	uint32_t type;
	int fails;
};

static void *th_worker(void *p)
{
	struct th_arg *a = p;

	for (int i = 0; i < TH_ITERS; i++) {
		VkMappedMemoryRange r = { VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, VK_NULL_HANDLE,
					  0, VK_WHOLE_SIZE };
		VkPhysicalDeviceMemoryBudgetPropertiesEXT b;
		VkDeviceMemory m;
		void *ptr;

		if (tv_alloc(a->t, a->type, 64 * 1024, NULL, &m)) {
			a->fails++;
			continue;
		}
		r.memory = m;
		for (int k = 0; k < 3; k++) {
			if (vws_vk_MapMemory(a->t->vk, m, 0, VK_WHOLE_SIZE, 0, &ptr)) {
				a->fails++;
				break;
			}
			memset(ptr, i, 64);
			if (vws_vk_FlushMappedMemoryRanges(a->t->vk, 1, &r))
				a->fails++;
			vws_vk_UnmapMemory(a->t->vk, m);
		}
		vws_vk_GetMemoryBudget(a->t->vk, &b);
		vws_vk_FreeMemory(a->t->vk, m, NULL);
	}
	return NULL;
}

static void threads(void **state)
{
	VkPhysicalDeviceMemoryBudgetPropertiesEXT b = { 0 };
	struct th_arg args[TH_THREADS];
	pthread_t th[TH_THREADS];
	VkDeviceMemory keep;
	struct tv t;
	uint32_t heap, type;
	uint64_t before;

	(void)state;
	tv_open(&t, TV_DISCRETE_REBAR);
	type = (uint32_t)tv_type(&t, DL | HV, 0);
	heap = t.props.memoryTypes[type].heapIndex;
	assert_int_equal(tv_alloc(&t, type, TV_MIB, NULL, &keep), 0);
	vws_vk_GetMemoryBudget(t.vk, &b);
	before = b.heapUsage[heap];
	for (int i = 0; i < TH_THREADS; i++) {
		args[i] = (struct th_arg){ &t, type, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, th_worker, &args[i]), 0);
	}
	for (int i = 0; i < TH_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(args[i].fails, 0);
	}
	vws_vk_GetMemoryBudget(t.vk, &b);
	assert_int_equal(b.heapUsage[heap], before);
	assert_int_equal(vws_vk_debug_reports(t.vk), 0);
	vws_vk_FreeMemory(t.vk, keep, NULL);
	tv_close(&t);
}

/* Valid-usage violations are reported and fail the call; nothing breaks. */
static void invalid_usage(void **state)
{
	struct tv t;
	VkDeviceMemory vis, dev_only;
	void *p;
	VkDeviceSize committed;
	uint64_t n;

	tv_open(&t, TV_DISCRETE_SMALL_BAR);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, NULL, &vis), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL, HV), TV_MIB, NULL, &dev_only), 0);
	n = vws_vk_debug_reports(t.vk);
	{
		VkDeviceMemory bad;

		assert_int_equal(tv_alloc(&t, 0, 0, NULL, &bad), VK_ERROR_OUT_OF_DEVICE_MEMORY);
		assert_int_equal(tv_alloc(&t, 9, 64, NULL, &bad), VK_ERROR_OUT_OF_DEVICE_MEMORY);
	}
	assert_int_equal(vws_vk_MapMemory(t.vk, dev_only, 0, VK_WHOLE_SIZE, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED);
	assert_int_equal(vws_vk_MapMemory(t.vk, vis, TV_MIB, VK_WHOLE_SIZE, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED);
	assert_int_equal(vws_vk_MapMemory(t.vk, vis, 4096, TV_MIB, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED);
	vws_vk_UnmapMemory(t.vk, vis); /* not mapped */
	assert_int_equal(vws_vk_MapMemory(t.vk, vis, 64, 128, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_MapMemory(t.vk, vis, 0, VK_WHOLE_SIZE, 0, &p),
			 VK_ERROR_MEMORY_MAP_FAILED); /* double map */
	{
		VkMappedMemoryRange r = { VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, vis, 65, 64 };

		assert_int_not_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
		r.offset = 64;
		r.size = 4096; /* beyond the mapped range */
		assert_int_not_equal(vws_vk_InvalidateMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
		r.size = 128;
		assert_int_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	}
	vws_vk_GetDeviceMemoryCommitment(t.vk, vis, &committed);
	assert_int_equal(committed, TV_MIB);
	assert_true(vws_vk_debug_reports(t.vk) >= n + 9);
	vws_vk_UnmapMemory(t.vk, vis);
	vws_vk_FreeMemory(t.vk, vis, NULL);
	vws_vk_FreeMemory(t.vk, dev_only, NULL);
	tv_close(&t);
}

/* VUID-VkMappedMemoryRange-size-01389: a VK_WHOLE_SIZE range is valid only
 * when the mapping ends on a nonCoherentAtomSize multiple from the start of
 * the memory, or at the end of the memory. (The layer's atom is 64.) */
static void whole_size_range_end(void **state)
{
	struct tv t;
	VkDeviceMemory m, odd;
	VkMappedMemoryRange r = { VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE, NULL, VK_NULL_HANDLE, 64,
				  VK_WHOLE_SIZE };
	uint32_t type;
	uint64_t n;
	void *p;

	tv_open(&t, TV_DISCRETE_REBAR);
	type = (uint32_t)tv_type(&t, DL | HV, 0);
	assert_int_equal(tv_alloc(&t, type, TV_MIB, NULL, &m), 0);
	assert_int_equal(tv_alloc(&t, type, 1000, NULL, &odd), 0);
	r.memory = m;
	/* mapping [64, 164): ends neither on an atom nor at the end */
	assert_int_equal(vws_vk_MapMemory(t.vk, m, 64, 100, 0, &p), VK_SUCCESS);
	n = vws_vk_debug_reports(t.vk);
	assert_int_not_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	assert_int_not_equal(vws_vk_InvalidateMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	assert_int_equal(vws_vk_debug_reports(t.vk), n + 2);
	vws_vk_UnmapMemory(t.vk, m);
	/* [64, 192): ends on an atom */
	assert_int_equal(vws_vk_MapMemory(t.vk, m, 64, 128, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	vws_vk_UnmapMemory(t.vk, m);
	/* [64, end): ends at the end of the memory */
	assert_int_equal(vws_vk_MapMemory(t.vk, m, 64, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	vws_vk_UnmapMemory(t.vk, m);
	/* 1000 bytes mapped whole: the end of the memory, not an atom multiple */
	r.memory = odd;
	assert_int_equal(vws_vk_MapMemory(t.vk, odd, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	assert_int_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	/* ...but [0, 999) ends on neither */
	vws_vk_UnmapMemory(t.vk, odd);
	assert_int_equal(vws_vk_MapMemory(t.vk, odd, 0, 999, 0, &p), VK_SUCCESS);
	r.offset = 0;
	assert_int_not_equal(vws_vk_FlushMappedMemoryRanges(t.vk, 1, &r), VK_SUCCESS);
	vws_vk_UnmapMemory(t.vk, odd);
	assert_int_equal(vws_vk_debug_reports(t.vk), n + 3);
	vws_vk_FreeMemory(t.vk, m, NULL);
	vws_vk_FreeMemory(t.vk, odd, NULL);
	tv_close(&t);
}

/* Allocation failures from the kernel become VkResults, with no leak:
 * the host object is destroyed again. */
static void kernel_failure(void **state)
{
	struct tv t;
	VkDeviceMemory m;

	tv_open(&t, TV_UMA);
	assert_int_equal(vgshim_set_fail("CREATE_BLOB:*:ENOMEM"), 0);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, HV, 0), TV_MIB, NULL, &m),
			 VK_ERROR_OUT_OF_DEVICE_MEMORY);
	assert_int_equal(vgshim_set_fail(NULL), 0);
	assert_int_equal(t.host_objects, 0);
	tv_close(&t);
}

/* Dedicated allocations, device-address flags and priorities are fine. */
static void pnext_structs(void **state)
{
	struct tv t;
	VkDeviceMemory m;
	VkMemoryPriorityAllocateInfoEXT prio = { VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT,
						 NULL, 0.5f };
	VkMemoryAllocateFlagsInfo flags = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO, &prio,
					    VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT, 0 };
	VkMemoryDedicatedAllocateInfo ded = { VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, &flags,
					      VK_NULL_HANDLE, VK_NULL_HANDLE };
	/* an unknown struct in the middle is skipped */
	VkBaseInStructure unknown = { (VkStructureType)1000999000, (const void *)&ded };
	void *p;

	tv_open(&t, TV_DISCRETE_REBAR);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, &unknown, &m), 0);
	assert_int_equal(vws_vk_MapMemory(t.vk, m, 0, VK_WHOLE_SIZE, 0, &p), VK_SUCCESS);
	vws_vk_FreeMemory(t.vk, m, NULL); /* freeing mapped memory unmaps it */
	tv_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TV_ALL_GENS(alloc_every_type),
		TV_ALL_GENS(policy),
		TV_ALL_GENS(map_sequences),
		TV_ALL_GENS(map_odd_sizes),
		TV_ALL_GENS(oversubscribe_window),
		TV_GEN(map_failure_and_retry, "fixed"),
		TV_ALL_GENS(budget),
		TV_ALL_GENS(budget_follows_winsys),
		TV_GEN(threads, "fixed"),
		TV_GEN(threads, "v2"),
		TV_GEN(invalid_usage, "fixed"),
		TV_GEN(whole_size_range_end, "fixed"),
		TV_GEN(kernel_failure, "fixed"),
		TV_ALL_GENS(pnext_structs),
	};

	return cmocka_run_group_tests_name("vulkan-memory", tests, NULL, NULL);
}
