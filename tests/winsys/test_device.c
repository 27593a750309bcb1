/* SPDX-License-Identifier: MIT */
/* Device creation: errors, params, capsets, context, lifetime. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw.h"

static int open_ci(struct vws_device_create_info ci, struct vws_device **dev)
{
	*dev = NULL;
	return tw_try_open(&ci, dev);
}

static void device_bad_paths(void **state)
{
	struct vws_device *dev;

	assert_int_equal(open_ci((struct vws_device_create_info){
				     .path = "/nonexistent/dri/renderD200" }, &dev), -ENODEV);
	assert_null(dev);
	/* Not a DRM device at all. */
	assert_int_equal(open_ci((struct vws_device_create_info){ .path = "/dev/null" }, &dev),
			 -ENODEV);
	assert_int_equal(open_ci((struct vws_device_create_info){
				     .path = "/dev/null", .capset_id = VIRTGPU_CAPSET_VENUS },
				 &dev), -ENODEV);
	assert_int_equal(vws_device_create(NULL, &dev), -EINVAL);
	assert_int_equal(tw_counters().live_files, 0);
}

static void device_scan_finds_model(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	const struct vws_device_info *i = vws_device_get_info(dev);
	struct vws_device *again;
	int fd = vws_device_get_fd(dev);

	assert_string_equal(i->driver_name, "virtio_gpu");
	assert_int_equal(i->backend, VWS_BACKEND_KERNEL);
	assert_non_null(strstr(i->path, "/dev/dri/renderD"));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	/* The path it found opens the same device. */
	assert_int_equal(open_ci((struct vws_device_create_info){
				     .path = i->path, .capset_id = VIRTGPU_CAPSET_VENUS }, &again),
			 0);
	assert_string_equal(vws_device_get_info(again)->path, i->path);
	vws_device_unref(again);
	vws_device_unref(dev);
}

static void device_params(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	const struct vws_device_info *i = vws_device_get_info(dev);

	for (unsigned p = VIRTGPU_PARAM_3D_FEATURES; p <= VIRTGPU_PARAM_CONTEXT_INIT; p++)
		assert_true(i->param_present[p]);
	assert_true(i->param[VIRTGPU_PARAM_RESOURCE_BLOB] != 0);
	assert_true(i->supported_capsets & (1ull << VIRTGPU_CAPSET_VENUS));
	assert_int_equal(i->supported_capsets,
			 (uint64_t)(uint32_t)i->param[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs]);
	assert_false(i->param_present[0]);
	assert_false(i->param_present[9]);
	assert_int_equal(i->capset_id, VIRTGPU_CAPSET_VENUS);
	assert_true(i->context_initialised);
	assert_int_equal(i->host_visible_size, 0);
	vws_device_unref(dev);
}

/* A param the kernel answers with -EINVAL is absent, not an error. */
static void device_param_absent(void **state)
{
	struct vws_device *dev;

	tc_model_use("fixed", "VGSHIM_PARAM_EXPLICIT_DEBUG_NAME", "absent", NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	assert_false(vws_device_get_info(dev)->param_present[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME]);
	assert_true(vws_device_get_info(dev)->context_initialised);
	vws_device_unref(dev);
}

static void device_require(void **state)
{
	static const struct {
		const char *param;
		uint32_t require;
	} cases[] = {
		{ "VGSHIM_PARAM_RESOURCE_BLOB", VWS_REQUIRE_BLOB },
		{ "VGSHIM_PARAM_HOST_VISIBLE", VWS_REQUIRE_HOST_VISIBLE },
		{ "VGSHIM_PARAM_CONTEXT_INIT", VWS_REQUIRE_CONTEXT_INIT },
	};

	for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
		struct vws_device *dev;

		tc_model_use("fixed", cases[n].param, "0", NULL);
		assert_int_equal(open_ci((struct vws_device_create_info){
					     .require = cases[n].require }, &dev), -EOPNOTSUPP);
		assert_null(dev);
		/* Not required: fine. */
		assert_int_equal(open_ci((struct vws_device_create_info){ 0 }, &dev), 0);
		vws_device_unref(dev);
		assert_int_equal(tw_counters().live_files, 0);
	}
}

static void device_capset_errors(void **state)
{
	struct vws_device *dev;
	uint8_t buf[256];
	uint32_t ver = 99;

	/* Not offered (the model offers Venus and gfxstream, not DRM). */
	assert_int_equal(open_ci((struct vws_device_create_info){
				     .capset_id = VIRTGPU_CAPSET_DRM }, &dev), -EOPNOTSUPP);
	assert_int_equal(open_ci((struct vws_device_create_info){ .capset_id = 63 }, &dev),
			 -EOPNOTSUPP);
	assert_int_equal(open_ci((struct vws_device_create_info){ .capset_id = 64 }, &dev),
			 -EOPNOTSUPP);
	/* No CONTEXT_INIT: a capset cannot be had. */
	tc_model_use("fixed", "VGSHIM_PARAM_CONTEXT_INIT", "0", NULL);
	assert_int_equal(open_ci((struct vws_device_create_info){
				     .capset_id = VIRTGPU_CAPSET_VENUS }, &dev), -EOPNOTSUPP);
	assert_int_equal(tw_counters().live_files, 0);

	tc_model_use("fixed", NULL);
	dev = tw_open(0, VWS_DEFER_DEFAULT);
	assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_VENUS, 8, buf, sizeof(buf),
					       &ver), 0);
	assert_true(ver <= 8);
	/* "Any version": the highest ones are tried too, no overflow, and a
	 * bounded number of tries. */
	{
		uint64_t before = tw_counters().ioctls_total;

		ver = 99;
		assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_VENUS, UINT32_MAX, buf,
						       sizeof(buf), &ver), 0);
		assert_int_equal(ver, 0); /* the model's Venus capset: version 0 */
		assert_true(tw_counters().ioctls_total - before <= 256);
		ver = 99;
		assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_VENUS, UINT32_MAX - 1,
						       buf, sizeof(buf), &ver), 0);
		assert_int_equal(ver, 0);
	}
	assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_DRM, 8, buf, sizeof(buf),
					       &ver), -EOPNOTSUPP);
	assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_VENUS, 0, NULL, 4, &ver),
			 -EINVAL);
	vws_device_unref(dev);
}

static void device_gfxstream_context(void **state)
{
	struct vws_device *dev;
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_GFXSTREAM_VULKAN,
		.num_rings = 2,
		.ring_poll_mask = 0x3,
		.debug_name = "a-rather-long-debug-name-that-is-longer-than-the-kernel-keeps-xx",
	};

	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_int_equal(vws_device_get_info(dev)->capset_id, VIRTGPU_CAPSET_GFXSTREAM_VULKAN);
	assert_true(vws_device_get_info(dev)->context_initialised);
	vws_device_unref(dev);
}

/* The device outlives its last caller reference while objects live. */
static void device_lifetime(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = tw_guest(dev, 4096);
	uint8_t *p;

	assert_ptr_equal(vws_device_ref(dev), dev);
	vws_device_unref(dev);
	vws_device_unref(dev);
	assert_int_equal(tw_counters().live_files, 1);
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	p[0] = 1;
	vws_bo_unref(bo);
	assert_int_equal(tw_counters().live_files, 0);
}

static void bo_create_errors(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	const struct vws_bo_create_info bad[] = {
		{ .blob_mem = 0, .size = 4096 },
		{ .blob_mem = 4, .size = 4096 },
		{ .blob_mem = VIRTGPU_BLOB_MEM_GUEST, .size = 0 },
		{ .blob_mem = VIRTGPU_BLOB_MEM_GUEST, .size = 4096, .blob_flags = 0x8 },
		{ .blob_mem = VIRTGPU_BLOB_MEM_GUEST, .size = 4096, .blob_id = 5 },
		{ .blob_mem = VIRTGPU_BLOB_MEM_HOST3D, .size = 4096, .cmd_size = 3,
		  .cmd = "abc" },
		{ .blob_mem = VIRTGPU_BLOB_MEM_HOST3D, .size = 4096, .cmd_size = 8 },
		{ .blob_mem = VIRTGPU_BLOB_MEM_GUEST, .size = 4096, .flags = 0x100 },
	};
	struct vgshim_counters before = tw_counters();

	for (size_t n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
		struct vws_bo *bo = NULL;

		assert_int_equal(vws_bo_create(dev, &bad[n], &bo), -EINVAL);
		assert_null(bo);
	}
	/* Refused before reaching the kernel. */
	assert_int_equal(tw_counters().ioctls_total, before.ioctls_total);
	vws_device_unref(dev);

	/* Without blob support: a clear -EOPNOTSUPP. */
	tc_model_use("fixed", "VGSHIM_PARAM_RESOURCE_BLOB", "0", NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	{
		struct vws_bo_create_info ci = { .blob_mem = VIRTGPU_BLOB_MEM_GUEST,
						 .size = 4096 };
		struct vws_bo *bo = NULL;

		assert_int_equal(vws_bo_create(dev, &ci, &bo), -EOPNOTSUPP);
	}
	vws_device_unref(dev);
}

/* A kernel failure at creation leaves nothing behind. */
static void bo_create_kernel_error(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = NULL;
	struct vws_stats st;

	assert_int_equal(vgshim_set_fail("CREATE_BLOB:*:ENOMEM"), 0);
	assert_int_equal(tw_host3d(dev, 4096, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0, &bo), -ENOMEM);
	assert_null(bo);
	assert_int_equal(vgshim_set_fail(NULL), 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.region_bytes_held, 0);
	vws_device_unref(dev);
}

/* VK_EXT_memory_budget's definition: the budget is what this process may
 * hold in the heap, current usage included (the heap size, as nothing
 * tells what other processes hold), never below the usage. */
static void budget(void **state)
{
	struct vws_device *dev;
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.host_visible_size = 256 * TW_MIB,
	};
	struct vws_bo *a, *b, *c[3];
	uint64_t usage, bud;

	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_int_equal(vws_device_get_info(dev)->host_visible_size, 256 * TW_MIB);
	vws_device_get_budget(dev, 256 * TW_MIB, &usage, &bud);
	assert_int_equal(usage, 0);
	assert_int_equal(bud, 256 * TW_MIB);
	assert_int_equal(tw_host3d(dev, 8 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0, &a), 0);
	assert_int_equal(tw_host3d(dev, 8 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &b), 0);
	vws_device_get_budget(dev, 256 * TW_MIB, &usage, &bud);
	assert_int_equal(usage, 8 * TW_MIB); /* b is deferred */
	assert_int_equal(bud, 256 * TW_MIB);
	/* 192 MiB held of a 256 MiB heap: the budget still includes them, so
	 * the process is at 3/4 of its budget, not at it. */
	vws_bo_unref(a);
	for (int i = 0; i < 3; i++)
		assert_int_equal(tw_host3d(dev, 64 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0,
					   &c[i]), 0);
	vws_device_get_budget(dev, 256 * TW_MIB, &usage, &bud);
	assert_int_equal(usage, 192 * TW_MIB);
	assert_int_equal(bud, 256 * TW_MIB);
	/* A heap smaller than the usage: the budget is never below it. */
	vws_device_get_budget(dev, 100 * TW_MIB, &usage, &bud);
	assert_int_equal(bud, 192 * TW_MIB);
	for (int i = 0; i < 3; i++)
		vws_bo_unref(c[i]);
	vws_bo_unref(b);
	vws_device_unref(dev);
}


/* VWS_DEBUG=init says why a device failed; nothing is printed without it. */
static void debug_log(void **state)
{
	const char *log;
	int ret;

	log = tw_open_log("init", (struct vws_device_create_info){ .path = "/dev/null" }, &ret);
	assert_int_equal(ret, -ENODEV);
	assert_non_null(strstr(log, "vws: init: /dev/null: not a DRM device"));
	log = tw_open_log("config,init", (struct vws_device_create_info){
			       .capset_id = VIRTGPU_CAPSET_DRM }, &ret);
	assert_int_equal(ret, -EOPNOTSUPP);
	assert_non_null(strstr(log, "capset 6 not offered"));
	log = tw_open_log("all", (struct vws_device_create_info){ .capset_id = VIRTGPU_CAPSET_VENUS },
		       &ret);
	assert_int_equal(ret, 0);
	assert_non_null(strstr(log, "vws: init: hint support validated"));
	assert_non_null(strstr(log, "vws: config: defer policy auto (from default)"));
	/* Quiet by default, on failure and on success. */
	log = tw_open_log(NULL, (struct vws_device_create_info){ .path = "/dev/null" }, &ret);
	assert_string_equal(log, "");
	log = tw_open_log(NULL, (struct vws_device_create_info){ .capset_id = VIRTGPU_CAPSET_VENUS },
		       &ret);
	assert_string_equal(log, "");
	/* Only categories asked for. */
	log = tw_open_log("bo", (struct vws_device_create_info){ .path = "/dev/null" }, &ret);
	assert_string_equal(log, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_TEST(device_bad_paths),
		TW_ALL_GENS(device_scan_finds_model),
		TW_ALL_GENS(device_params),
		TW_TEST(device_param_absent),
		TW_TEST(device_require),
		TW_TEST(device_capset_errors),
		TW_TEST(device_gfxstream_context),
		TW_TEST(device_lifetime),
		TW_TEST(bo_create_errors),
		TW_TEST(bo_create_kernel_error),
		TW_TEST(budget),
		TW_TEST(debug_log),
	};

	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
