/* SPDX-License-Identifier: MIT */
/* Submission, waits and syncobjs. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tw.h"

/* The driver's way: host memory made by a command stream, then a blob
 * naming it. */
static void submit_then_blob(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN + VGSHIM_CMD_DESTROY_MEM_LEN];
	const uint64_t id = 0xabc00001;
	struct vws_submit_info si = {
		.cmd = cmd,
		.cmd_size = VGSHIM_CMD_CREATE_MEM_LEN * 4,
		.in_fence_fd = -1,
	};
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = TW_MIB,
		.blob_id = id,
		.flags = VWS_BO_DEVICE_LOCAL,
	};
	struct vws_bo *bo;
	uint32_t *p;

	vgshim_cmd_create_mem(cmd, id, TW_MIB, VGSHIM_MEM_MAPPABLE);
	assert_int_equal(vws_submit(dev, &si), 0);
	vgshim_host_drain();
	assert_int_equal(tw_counters().host_mem_objects, 1);
	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	p[TW_MIB / 4 - 1] = 7;
	assert_int_equal(vws_bo_wait(bo, false), 0);

	/* The object keeps its memory after the host object is destroyed. */
	vgshim_cmd_destroy_mem(cmd, id);
	si.cmd_size = VGSHIM_CMD_DESTROY_MEM_LEN * 4;
	si.bos = &bo;
	si.num_bos = 1;
	assert_int_equal(vws_submit(dev, &si), 0);
	vgshim_host_drain();
	assert_int_equal(tw_counters().host_mem_objects, 0);
	assert_int_equal(p[TW_MIB / 4 - 1], 7);
	assert_int_equal(tw_counters().host_bad_cmds, 0);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

static void submit_errors(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_device *other = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *foreign = tw_guest(other, 4096);
	struct vws_bo *none = NULL;
	uint32_t cmd[2] = { VGSHIM_CMD_HEADER(VGSHIM_CMD_NOP, 2), 0 };
	struct vws_submit_info si = { .cmd = cmd, .cmd_size = 6, .in_fence_fd = -1 };

	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.cmd_size = 8;
	si.cmd = NULL;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.cmd = cmd;
	si.num_bos = 1;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.bos = &none;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.bos = &foreign;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.num_bos = 0;
	si.num_in_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.num_in_syncobjs = 0;
	assert_int_equal(vws_submit(dev, &si), 0);
	assert_int_equal(vws_submit(NULL, &si), -EINVAL);
	vws_bo_unref(foreign);
	vws_device_unref(other);
	vws_device_unref(dev);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void syncobjs(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	uint32_t s[2];

	assert_int_equal(vws_syncobj_create(dev, true, &s[0]), 0);
	assert_int_equal(vws_syncobj_create(dev, false, &s[1]), 0);
	assert_int_equal(tw_counters().live_syncobjs, 2);
	assert_int_equal(vws_syncobj_wait(dev, &s[0], 1, INT64_MAX, true), 0);
	/* An unsignalled one times out (deadline already past: no waiting). */
	assert_int_equal(vws_syncobj_wait(dev, s, 2, now_ns(), true), -ETIME);
	/* Any of them: the signalled one is enough. */
	assert_int_equal(vws_syncobj_wait(dev, s, 2, now_ns(), false), 0);
	assert_int_equal(vws_syncobj_signal(dev, &s[1], 1), 0);
	assert_int_equal(vws_syncobj_wait(dev, s, 2, INT64_MAX, true), 0);
	assert_int_equal(vws_syncobj_wait(dev, s, 0, INT64_MAX, true), -EINVAL);
	assert_int_equal(vws_syncobj_destroy(dev, s[0]), 0);
	assert_int_equal(vws_syncobj_destroy(dev, s[1]), 0);
	assert_true(vws_syncobj_destroy(dev, s[1]) < 0);
	vws_device_unref(dev);
}

/* A submission signals its out-syncobj and out-fence when the host is
 * done with it. */
static void submit_signals(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	uint32_t cmd[1] = { VGSHIM_CMD_HEADER(VGSHIM_CMD_NOP, 1) };
	struct vws_syncobj_point out = { 0 };
	int fence = -1;
	struct vws_submit_info si = {
		.cmd = cmd,
		.cmd_size = sizeof(cmd),
		.in_fence_fd = -1,
		.out_fence_fd = &fence,
		.out_syncobjs = &out,
		.num_out_syncobjs = 1,
		.use_ring = true,
		.ring_idx = 0,
	};
	struct pollfd pfd;

	assert_int_equal(vws_syncobj_create(dev, false, &out.handle), 0);
	assert_int_equal(vws_submit(dev, &si), 0);
	assert_true(fence >= 0);
	vgshim_host_drain();
	assert_int_equal(vws_syncobj_wait(dev, &out.handle, 1, INT64_MAX, true), 0);
	pfd = (struct pollfd){ .fd = fence, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, -1), 1);
	close(fence);
	assert_int_equal(vws_syncobj_destroy(dev, out.handle), 0);
	vws_device_unref(dev);
}

/* Wait-before-signal: an in-syncobj nothing has signalled yet is refused
 * at once (-EINVAL, "no fence"), never waited for; the vtest backend gives
 * the same answer (tests/vtest). */
static void submit_wait_before_signal(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_syncobj_point in = { 0 }, out = { 0 };
	struct vws_submit_info si = { .in_fence_fd = -1, .use_ring = true };

	assert_int_equal(vws_syncobj_create(dev, false, &in.handle), 0);
	si.in_syncobjs = &in;
	si.num_in_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	/* Once a submission has signalled it, it is a valid in-syncobj. */
	out.handle = in.handle;
	si.num_in_syncobjs = 0;
	si.out_syncobjs = &out;
	si.num_out_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), 0);
	vgshim_host_drain();
	si.num_out_syncobjs = 0;
	si.num_in_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), 0);
	vgshim_host_drain();
	assert_int_equal(vws_syncobj_destroy(dev, in.handle), 0);
	vws_device_unref(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(submit_then_blob),
		TW_TEST(submit_errors),
		TW_TEST(syncobjs),
		TW_TEST(submit_signals),
		TW_TEST(submit_wait_before_signal),
	};

	return cmocka_run_group_tests_name("submit", tests, NULL, NULL);
}
