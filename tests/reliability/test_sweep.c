/* SPDX-License-Identifier: MIT */
/*
 * Fault-injection sweep. Each scenario runs once clean while the kernel
 * model counts the calls it makes (ioctls by kind, mmaps, host map
 * answers); then once per call and errno with exactly that call failing.
 * After every run: the scenario returned success (libdrm retried, or the
 * call was not essential) or an error, nothing crashed, no fd, handle,
 * mapping, dma-buf or object is left behind, and a clean run works again.
 * The number of injection points grows with the code: nothing is listed
 * by hand but the errnos.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vgshim_proto.h"
#include "vws/vws_vk.h"

/* model fault sites by counter slot (docs/kernel-model.md) */
static const struct {
	unsigned slot;
	const char *site;
} sites[] = {
	{ 0x00, "VERSION" }, { 0x09, "GEM_CLOSE" }, { 0x0c, "GET_CAP" },
	{ 0x2d, "PRIME_HANDLE_TO_FD" }, { 0x2e, "PRIME_FD_TO_HANDLE" },
	{ 0x41, "MAP" }, { 0x42, "EXECBUFFER" }, { 0x43, "GETPARAM" },
	{ 0x45, "RESOURCE_INFO" }, { 0x48, "WAIT" }, { 0x49, "GET_CAPS" },
	{ 0x4a, "CREATE_BLOB" }, { 0x4b, "CONTEXT_INIT" },
	{ 0x50, "SYNCOBJ_CREATE" }, { 0x51, "SYNCOBJ_DESTROY" },
};
static const char *const errnos[] = { "EINVAL", "ENOMEM", "ENOSPC", "EFAULT", "EINTR", "EAGAIN" };

static uint64_t total_points, total_failed_runs, total_ok_runs;

static char *conf;

static int open_dev(struct vws_device **dev, uint32_t capset)
{
	struct vws_device_create_info ci = {
		.capset_id = capset, .num_rings = 1, .defer = VWS_DEFER_AUTO, .config_file = conf,
	};

	return vws_device_create(&ci, dev);
}

static int scenario_open(void)
{
	struct vws_device *dev;
	int ret = open_dev(&dev, VIRTGPU_CAPSET_VENUS);

	if (!ret)
		vws_device_unref(dev);
	return ret;
}

/* allocate (host object by creation command), map, export, import, free */
static int scenario_winsys(void)
{
	uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN], dcmd[VGSHIM_CMD_DESTROY_MEM_LEN];
	struct vws_bo_create_info bi = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = 1 << 20, .blob_id = 77, .cmd = cmd, .cmd_size = sizeof(cmd),
		.flags = VWS_BO_DEVICE_LOCAL,
	};
	struct vws_submit_info si = { .cmd = dcmd, .cmd_size = sizeof(dcmd), .in_fence_fd = -1 };
	struct vws_device *dev;
	struct vws_bo *bo = NULL, *bo2 = NULL, *imp = NULL;
	void *p;
	int fd = -1, ret;

	vgshim_cmd_create_mem(cmd, 77, 1 << 20, VGSHIM_MEM_MAPPABLE);
	vgshim_cmd_destroy_mem(dcmd, 77);
	ret = open_dev(&dev, VIRTGPU_CAPSET_VENUS);
	if (ret)
		return ret;
	ret = vws_bo_create(dev, &bi, &bo);
	if (!ret) {
		bi.cmd = NULL, bi.cmd_size = 0, bi.blob_id = 0;
		ret = vws_bo_create(dev, &bi, &bo2);
	}
	if (!ret)
		ret = vws_bo_map(bo, &p);
	if (!ret)
		memset(p, 1, 4096);
	if (!ret)
		ret = vws_bo_export_fd(bo2, &fd);
	if (!ret)
		ret = vws_bo_import_fd(dev, fd, 1 << 20, &imp);
	if (imp)
		vws_bo_unref(imp);
	if (fd >= 0)
		close(fd);
	if (bo2)
		vws_bo_unref(bo2);
	if (bo)
		vws_bo_unref(bo);
	/* the host object goes too, whatever happened (a failed submit here
	 * leaves it to the model's reset, like a host cleaning a context) */
	if (vws_submit(dev, &si) && !ret)
		ret = -EIO;
	vws_device_unref(dev);
	return ret;
}

static VkResult vk_create(void *u, uint32_t t, VkDeviceSize size, uint64_t *id, void *cmd,
			  uint32_t *cmd_size)
{
	(void)u, (void)t;
	*id = 500;
	vgshim_cmd_create_mem(cmd, 500, size, VGSHIM_MEM_MAPPABLE);
	*cmd_size = VGSHIM_CMD_CREATE_MEM_LEN * 4;
	return VK_SUCCESS;
}

static void vk_destroy(void *u, uint64_t id)
{
	uint32_t cmd[VGSHIM_CMD_DESTROY_MEM_LEN];
	struct vws_submit_info si = { .cmd = cmd, .cmd_size = sizeof(cmd), .in_fence_fd = -1 };

	vgshim_cmd_destroy_mem(cmd, id);
	vws_submit(u, &si);
}

/* Vulkan: allocate exportable device-local host-visible memory, map it,
 * export it, import it back, free both */
static int scenario_vulkan(void)
{
	VkPhysicalDeviceMemoryProperties props = {
		.memoryTypeCount = 1,
		.memoryTypes = { { VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
				   VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
				   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0 } },
		.memoryHeapCount = 1,
		.memoryHeaps = { { 1ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT } },
	};
	VkExportMemoryAllocateInfo exp = { VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO, NULL,
					   VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };
	VkMemoryAllocateInfo ai = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &exp, 1 << 20, 0 };
	struct vws_vk_device_create_info vi = { 0 };
	struct vws_vk_device *vk = NULL;
	struct vws_device *dev;
	VkDeviceMemory m = VK_NULL_HANDLE, m2 = VK_NULL_HANDLE;
	VkResult r;
	void *p;
	int ret = open_dev(&dev, VIRTGPU_CAPSET_VENUS), fd = -1;

	if (ret)
		return ret;
	vi.dev = dev;
	vi.memory_properties = &props;
	vi.host = (struct vws_vk_host_callbacks){ dev, vk_create, vk_destroy };
	r = vws_vk_device_create(&vi, &vk);
	if (r == VK_SUCCESS)
		r = vws_vk_AllocateMemory(vk, &ai, NULL, &m);
	if (r == VK_SUCCESS)
		r = vws_vk_MapMemory(vk, m, 0, VK_WHOLE_SIZE, 0, &p);
	if (r == VK_SUCCESS) {
		VkMemoryGetFdInfoKHR gi = { VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, NULL, m,
					    VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT };

		r = vws_vk_GetMemoryFdKHR(vk, &gi, &fd);
	}
	if (r == VK_SUCCESS) {
		VkImportMemoryFdInfoKHR imp = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, NULL,
						VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT, fd };
		VkMemoryAllocateInfo ii = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, &imp, 1 << 20, 0 };

		r = vws_vk_AllocateMemory(vk, &ii, NULL, &m2);
		if (r != VK_SUCCESS)
			close(fd); /* a failed import leaves the fd with us */
	}
	if (vk) {
		vws_vk_FreeMemory(vk, m2, NULL);
		vws_vk_FreeMemory(vk, m, NULL);
		vws_vk_device_destroy(vk);
	}
	vws_device_unref(dev);
	return r == VK_SUCCESS ? 0 : -EIO;
}

static void check_clean(const struct tc_leak_baseline *b, const char *what)
{
	struct vgshim_counters c;

	vgshim_host_drain();
	vgshim_get_counters(&c);
	if (c.live_files || c.live_objects || c.live_handles || c.live_mappings ||
	    c.live_dmabufs || c.live_syncobjs || tc_count_fds() - (int)c.host_mem_objects != b->fds)
		print_error("leak after %s: files %llu objects %llu handles %llu mappings %llu "
			    "dmabufs %llu fds %d/%d\n", what, (unsigned long long)c.live_files,
			    (unsigned long long)c.live_objects, (unsigned long long)c.live_handles,
			    (unsigned long long)c.live_mappings, (unsigned long long)c.live_dmabufs,
			    tc_count_fds(), b->fds);
	tc_leak_check(b);
}

static void sweep(const char *gen, const char *name, int (*scenario)(void))
{
	struct vgshim_counters c0, c1;
	struct tc_leak_baseline b;
	uint64_t counts[sizeof(sites) / sizeof(sites[0]) + 2], points = 0;
	const char *extra[2] = { "mmap", "hostmap" };

	tc_model_use(gen, NULL);
	tc_leak_begin(&b);
	vgshim_get_counters(&c0);
	assert_int_equal(scenario(), 0);
	vgshim_host_drain();
	vgshim_get_counters(&c1);
	check_clean(&b, "the clean run");
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++)
		counts[i] = c1.ioctls[sites[i].slot] - c0.ioctls[sites[i].slot];
	counts[sizeof(sites) / sizeof(sites[0])] = c1.mmaps - c0.mmaps;
	counts[sizeof(sites) / sizeof(sites[0]) + 1] = c1.host_map_cmds - c0.host_map_cmds;

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const char *site = i < sizeof(sites) / sizeof(sites[0]) ?
			sites[i].site : extra[i - sizeof(sites) / sizeof(sites[0])];

		for (uint64_t n = 1; n <= counts[i]; n++) {
			for (size_t e = 0; e < sizeof(errnos) / sizeof(errnos[0]); e++) {
				char rule[64], what[128];
				int ret;

				snprintf(rule, sizeof(rule), "%s:%llu:%s", site,
					 (unsigned long long)n, errnos[e]);
				snprintf(what, sizeof(what), "%s %s with %s", gen, name, rule);
				assert_int_equal(vgshim_set_fail(rule), 0);
				ret = scenario();
				assert_int_equal(vgshim_set_fail(NULL), 0);
				assert_true(ret <= 0);
				if (ret)
					total_failed_runs++;
				else
					total_ok_runs++;
				check_clean(&b, what);
				/* and everything still works */
				assert_int_equal(scenario(), 0);
				check_clean(&b, "the run after");
				points++;
			}
		}
	}
	total_points += points;
	printf("# %s/%s: %llu injection points\n", name, gen, (unsigned long long)points);
}

static void sweep_open(void **state)
{
	sweep(*state, "device-open", scenario_open);
}

static void sweep_winsys(void **state)
{
	sweep(*state, "winsys", scenario_winsys);
}

static void sweep_vulkan(void **state)
{
	sweep(*state, "vulkan", scenario_vulkan);
}

#define GENS(fn) cmocka_unit_test_prestate(fn, "legacy"), cmocka_unit_test_prestate(fn, "v2"), \
		 cmocka_unit_test_prestate(fn, "fixed")

int main(void)
{
	const struct CMUnitTest tests[] = {
		GENS(sweep_open),
		GENS(sweep_winsys),
		GENS(sweep_vulkan),
	};
	int ret;

	conf = tc_write_temp("<vws/>\n");
	ret = cmocka_run_group_tests_name("fault-sweep", tests, NULL, NULL);
	printf("# fault sweep: %llu injection points, %llu runs failed cleanly, "
	       "%llu succeeded by retry or fallback\n", (unsigned long long)total_points,
	       (unsigned long long)total_failed_runs, (unsigned long long)total_ok_runs);
	unlink(conf);
	return ret;
}
