/* SPDX-License-Identifier: MIT */
/*
 * Allocation failures inside the winsys and the Vulkan layer. The winsys
 * has no test hooks: this program replaces malloc/calloc/realloc (glibc
 * lets a program do that; they forward to __libc_*) and fails the Nth
 * allocation whose caller is code of libvirtio-winsys or libvws-vk. A
 * scenario is run once to count those allocations, then once per
 * allocation with that one failing: an error (or success when the
 * allocation was optional), no leak, and a clean run afterwards.
 * Built only without sanitizers: their allocators must not be replaced.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static _Thread_local int in_hook;
static int armed;            /* 0 off, 1 counting, 2 failing */
static long counted, fail_at;

/* Is the caller code of the winsys or the Vulkan layer? */
static int ours(void *ret)
{
	Dl_info di;
	int r = 0;

	if (in_hook)
		return 0;
	in_hook = 1;
	if (dladdr(ret, &di) && di.dli_fname)
		r = strstr(di.dli_fname, "libvirtio-winsys") || strstr(di.dli_fname, "libvws-vk");
	in_hook = 0;
	return r;
}

static int should_fail(void *ret)
{
	if (!armed || !ours(ret))
		return 0;
	if (armed == 1) {
		__atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
		return 0;
	}
	return __atomic_sub_fetch(&fail_at, 1, __ATOMIC_RELAXED) == 0;
}

void *malloc(size_t n)
{
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

static char *conf;

static VkResult vk_create(void *u, uint32_t t, VkDeviceSize size, uint64_t *id, void *cmd,
			  uint32_t *cmd_size)
{
	(void)u, (void)t;
	*id = 600;
	vgshim_cmd_create_mem(cmd, 600, size, VGSHIM_MEM_MAPPABLE);
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

/* device, blobs, map, export, import; then the Vulkan layer over it */
static int scenario(void)
{
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1,
					     .config_file = conf };
	struct vws_bo_create_info bi = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = 65536, .flags = VWS_BO_DEVICE_LOCAL,
	};
	VkPhysicalDeviceMemoryProperties props = {
		.memoryTypeCount = 1,
		.memoryTypes = { { VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
				   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0 } },
		.memoryHeapCount = 1,
		.memoryHeaps = { { 1ull << 30, 0 } },
	};
	VkMemoryAllocateInfo ai = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, 65536, 0 };
	struct vws_vk_device_create_info vi = { 0 };
	struct vws_vk_device *vk = NULL;
	struct vws_device *dev;
	struct vws_bo *bo = NULL, *imp = NULL;
	VkDeviceMemory m = VK_NULL_HANDLE;
	void *p;
	int fd = -1, ret;

	ret = vws_device_create(&ci, &dev);
	if (ret)
		return ret;
	ret = vws_bo_create(dev, &bi, &bo);
	if (!ret)
		ret = vws_bo_map(bo, &p);
	if (!ret)
		ret = vws_bo_export_fd(bo, &fd);
	if (!ret) {
		/* our own export: the same winsys object */
		ret = vws_bo_import_fd(dev, fd, 0, &imp);
	}
	vi.dev = dev;
	vi.memory_properties = &props;
	vi.host = (struct vws_vk_host_callbacks){ dev, vk_create, vk_destroy };
	if (!ret && vws_vk_device_create(&vi, &vk) != VK_SUCCESS)
		ret = -ENOMEM;
	if (!ret && vws_vk_AllocateMemory(vk, &ai, NULL, &m) != VK_SUCCESS)
		ret = -ENOMEM;
	if (!ret && vws_vk_MapMemory(vk, m, 0, VK_WHOLE_SIZE, 0, &p) != VK_SUCCESS)
		ret = -ENOMEM;
	if (vk) {
		vws_vk_FreeMemory(vk, m, NULL);
		vws_vk_device_destroy(vk);
	}
	if (imp)
		vws_bo_unref(imp);
	if (fd >= 0)
		close(fd);
	if (bo)
		vws_bo_unref(bo);
	vws_device_unref(dev);
	return ret;
}

static void malloc_sweep(void **state)
{
	struct tc_leak_baseline b;
	long n, failed = 0;

	tc_model_use(*state, NULL);
	tc_leak_begin(&b);
	armed = 1;
	assert_int_equal(scenario(), 0);
	armed = 0;
	n = counted;
	tc_leak_check(&b);
	assert_true(n > 0);
	for (long k = 1; k <= n; k++) {
		int ret;

		fail_at = k;
		armed = 2;
		ret = scenario();
		armed = 0;
		assert_true(ret <= 0);
		failed += ret < 0;
		tc_leak_check(&b);
		assert_int_equal(scenario(), 0);
		tc_leak_check(&b);
	}
	printf("# malloc/%s: %ld allocations of the winsys and the Vulkan layer failed one by "
	       "one, %ld made the scenario fail cleanly\n", (const char *)*state, n, failed);
	counted = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(malloc_sweep, "fixed"),
		cmocka_unit_test_prestate(malloc_sweep, "legacy"),
	};
	int ret;

	conf = tc_write_temp("<vws/>\n");
	ret = cmocka_run_group_tests_name("malloc", tests, NULL, NULL);
	unlink(conf);
	return ret;
}
