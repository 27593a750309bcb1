/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ts.h"

static struct tc_leak_baseline ts_leak;

int ts_ioctl(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

int ts_open(uint32_t capset)
{
	int fd = open(TS_NODE, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	if (capset) {
		struct drm_virtgpu_context_set_param p[] = {
			{ VIRTGPU_CONTEXT_PARAM_CAPSET_ID, capset },
			{ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 2 },
		};
		struct drm_virtgpu_context_init ci = { 2, 0, (uintptr_t)p };

		assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &ci), 0);
	}
	return fd;
}

int ts_blob(int fd, uint32_t mem, uint32_t flags, uint64_t size, uint32_t hints,
	    uint64_t blob_id, uint32_t *handle)
{
	struct drm_virtgpu_resource_create_blob c = {
		.blob_mem = mem, .blob_flags = flags, .size = size,
		.blob_id = blob_id, .blob_hints = hints,
	};
	int ret = ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c);

	if (!ret && handle)
		*handle = c.bo_handle;
	return ret;
}

int ts_blob48(int fd, uint32_t mem, uint32_t flags, uint64_t size, uint32_t *handle)
{
	struct drm_virtgpu_resource_create_blob_legacy c = {
		.blob_mem = mem, .blob_flags = flags, .size = size,
	};
	int ret = ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB_LEGACY, &c);

	if (!ret && handle)
		*handle = c.bo_handle;
	return ret;
}

int ts_map_ioctl(int fd, uint32_t handle, uint64_t *offset)
{
	struct drm_virtgpu_map m = { .handle = handle };
	int ret = ts_ioctl(fd, DRM_IOCTL_VIRTGPU_MAP, &m);

	if (!ret && offset)
		*offset = m.offset;
	return ret;
}

void *ts_mmap(int fd, uint32_t handle, uint64_t size)
{
	uint64_t off;
	void *p;
	int ret = ts_map_ioctl(fd, handle, &off);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	return p == MAP_FAILED ? NULL : p;
}

int ts_close_handle(int fd, uint32_t handle)
{
	struct drm_gem_close g = { .handle = handle };

	return ts_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &g);
}

struct vgshim_counters ts_counters(void)
{
	struct vgshim_counters c;

	vgshim_get_counters(&c);
	return c;
}

int ts_host_mem(int fd, uint64_t blob_id, uint64_t size, uint32_t flags)
{
	uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN];
	struct drm_virtgpu_execbuffer e = { .size = sizeof(cmd), .command = (uintptr_t)cmd };

	vgshim_cmd_create_mem(cmd, blob_id, size, flags);
	return ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e);
}

int ts_setup(void **state)
{
	tc_model_use(*state, NULL);
	tc_leak_begin(&ts_leak);
	return 0;
}

int ts_teardown(void **state)
{
	(void)state;
	assert_int_equal(vgshim_set_fail(NULL), 0);
	tc_leak_check(&ts_leak);
	return 0;
}
