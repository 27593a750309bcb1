/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "tw.h"

static struct tw_ctx tw_ctx;
static uint64_t tw_next_blob_id = 0x1000;

int tw_setup(void **state)
{
	tw_ctx.gen = *state ? (const char *)*state : "fixed";
	unsetenv("VWS_DEFER");
	unsetenv("VWS_BACKEND");
	unsetenv("VWS_HOST_VISIBLE_SIZE");
	tc_model_use(tw_ctx.gen, NULL);
	tc_leak_begin(&tw_ctx.leak);
	*state = &tw_ctx;
	return 0;
}

int tw_teardown(void **state)
{
	struct tw_ctx *c = *state;

	tc_leak_check(&c->leak);
	return 0;
}

const char *tw_gen(void **state)
{
	return ((struct tw_ctx *)*state)->gen;
}

int tw_try_open(const struct vws_device_create_info *extra, struct vws_device **dev)
{
	struct vws_device_create_info ci = *extra;

	if (!ci.config_file)
		ci.config_file = TW_NO_CONFIG;
	if (!ci.app_name)
		ci.app_name = "vws-test";
	return vws_device_create(&ci, dev);
}

struct tw_open_call {
	struct vws_device_create_info ci;
	int ret;
};

static void tw_open_and_drop(void *arg)
{
	struct tw_open_call *c = arg;
	struct vws_device *dev = NULL;

	c->ret = tw_try_open(&c->ci, &dev);
	if (dev)
		vws_device_unref(dev);
}

const char *tw_open_log(const char *debug, struct vws_device_create_info ci, int *ret)
{
	struct tw_open_call c = { .ci = ci };
	const char *log;

	if (debug)
		setenv("VWS_DEBUG", debug, 1);
	else
		unsetenv("VWS_DEBUG");
	log = tc_stderr_of(tw_open_and_drop, &c);
	unsetenv("VWS_DEBUG");
	*ret = c.ret;
	return log;
}

struct vws_device *tw_open(uint32_t capset_id, enum vws_defer_policy defer)
{
	struct vws_device_create_info ci = {
		.capset_id = capset_id,
		.defer = defer,
	};
	struct vws_device *dev = NULL;

	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_non_null(dev);
	return dev;
}

void tw_host_mem_cmd(uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN], uint64_t blob_id,
		     uint64_t size, uint32_t flags)
{
	vgshim_cmd_create_mem(cmd, blob_id, size, flags);
}

int tw_host3d(struct vws_device *dev, uint64_t size, uint32_t blob_flags, uint32_t bo_flags,
	      struct vws_bo **bo)
{
	uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN];
	uint64_t id = tw_next_blob_id++;
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = blob_flags,
		.size = size,
		.blob_id = id,
		.cmd = cmd,
		.cmd_size = sizeof(cmd),
		.flags = bo_flags,
	};

	tw_host_mem_cmd(cmd, id, size,
			(blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE) ? VGSHIM_MEM_MAPPABLE : 0);
	return vws_bo_create(dev, &ci, bo);
}

struct vws_bo *tw_guest(struct vws_device *dev, uint64_t size)
{
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = size,
	};
	struct vws_bo *bo = NULL;

	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	return bo;
}

size_t tw_last_blob(struct drm_virtgpu_resource_create_blob *out)
{
	memset(out, 0, sizeof(*out));
	return vgshim_last_create_blob(out, sizeof(*out));
}

struct vgshim_counters tw_counters(void)
{
	struct vgshim_counters c;

	vgshim_get_counters(&c);
	return c;
}

struct vgshim_object_info tw_object(struct vws_device *dev, struct vws_bo *bo)
{
	struct vgshim_object_info oi;
	struct vws_bo_info bi;

	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_int_equal(vgshim_object_info(vws_device_get_fd(dev),
					    bi.gem_handle, &oi), 0);
	return oi;
}
