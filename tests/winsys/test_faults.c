/* SPDX-License-Identifier: MIT */
/*
 * Every kernel failure the winsys meets comes back as that errno, leaks
 * nothing and leaves the objects usable (fault injection in the model).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tw.h"

static void inject(const char *rules)
{
	assert_int_equal(vgshim_set_fail(rules), 0);
}

/* A failed MAP ioctl or mmap: the error, no mapping, and a later map
 * works without redoing what had succeeded. */
static void map_fault_retry(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct vgshim_counters before, after;
	struct vws_bo_info bi;
	struct vws_stats st;
	struct vws_bo *bo;
	void *p = NULL;
	int fds;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	fds = tc_count_fds();
	inject("MAP:1:ENOMEM");
	assert_int_equal(vws_bo_map(bo, &p), -ENOMEM);
	assert_null(p);
	inject("mmap:1:EIO");
	assert_int_equal(vws_bo_map(bo, &p), -EIO);
	assert_null(p);
	inject(NULL);
	assert_int_equal(tc_count_fds(), fds);
	assert_int_equal(tw_counters().live_mappings, 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_false(bi.mapped);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.mapped_objects, 0);

	/* The offset from the MAP that worked is kept: only the mmap again. */
	before = tw_counters();
	assert_int_equal(vws_bo_map(bo, &p), 0);
	after = tw_counters();
	assert_int_equal(after.ioctls[TW_NR_MAP] - before.ioctls[TW_NR_MAP], 0);
	assert_int_equal(after.mmaps - before.mmaps, 1);
	memset(p, 0x77, TW_MIB);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.mapped_objects, 1);
	assert_int_equal(st.region_bytes_held, TW_MIB);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* The winsys's region accounting follows what the kernel holds. On the
 * fixed kernel the MAP ioctl of a hinted object reserves its range; an
 * mmap failing after it (ENOMEM, vm.max_map_count) leaves the range
 * reserved, so the object is held, not deferred. On Linux 7.2 as merged
 * (v2) MAP only looks up the offset and the mmap is what reserves: a failed
 * mmap leaves it deferred. Either way the winsys and the model agree. */
static void failed_mmap_accounting(void **state)
{
	const char *gen = tw_gen(state);
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct vws_bo_info bi;
	struct vws_stats st;
	struct vws_bo *bo;
	uint64_t budget_usage, budget;
	void *p = NULL;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	vgshim_host_drain();
	assert_int_equal(tw_counters().region_bytes_in_use, 0);
	inject("mmap:1:ENOMEM");
	assert_int_equal(vws_bo_map(bo, &p), -ENOMEM);
	inject(NULL);
	vgshim_host_drain();
	vws_device_get_stats(dev, &st);
	vws_device_get_budget(dev, 64 * TW_MIB, &budget_usage, &budget);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	/* what the kernel holds is what the winsys says it holds */
	assert_int_equal(st.region_bytes_held, tw_counters().region_bytes_in_use);
	assert_int_equal(st.region_bytes_held + st.region_bytes_deferred, TW_MIB);
	assert_int_equal(budget_usage, st.region_bytes_held);
	if (!strcmp(gen, "fixed")) {
		assert_int_equal(st.region_bytes_held, TW_MIB);
		assert_false(bi.deferred);
		assert_int_equal(st.deferred_objects, 0);
	} else {
		assert_int_equal(st.region_bytes_held, 0);
		assert_true(bi.deferred);
	}
	assert_false(bi.mapped);
	assert_int_equal(st.mapped_objects, 0);
	/* the map works later, and counts nothing twice */
	assert_int_equal(vws_bo_map(bo, &p), 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.region_bytes_held, TW_MIB);
	assert_int_equal(st.region_bytes_deferred, 0);
	assert_int_equal(st.mapped_objects, 1);
	assert_int_equal(st.region_bytes_held, tw_counters().region_bytes_in_use);
	vws_bo_unref(bo);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.region_bytes_held, 0);
	vws_device_unref(dev);
}

/* Export: a failed forced host mapping (the fixed kernel's MAP ioctl; the
 * mmap of a kernel that reserves there), then a failed PRIME call; no fd
 * either time, and the export works afterwards. */
static void export_faults(void **state)
{
	bool fixed = !strcmp(tw_gen(state), "fixed");
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS,
					 fixed ? VWS_DEFER_AUTO : VWS_DEFER_ALWAYS);
	struct vws_stats st;
	struct vws_bo *bo;
	int fd = -5, fds;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &bo), 0);
	fds = tc_count_fds();
	inject(fixed ? "MAP:1:EIO" : "mmap:1:EIO");
	assert_int_equal(vws_bo_export_fd(bo, &fd), -EIO);
	assert_int_equal(fd, -5);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.forced_maps, 0);
	assert_int_equal(st.region_bytes_held, 0);
	assert_int_equal(st.region_bytes_deferred, TW_MIB);
	/* the host mapping is made (and counted) before the PRIME call */
	inject("PRIME_HANDLE_TO_FD:1:EMFILE");
	assert_int_equal(vws_bo_export_fd(bo, &fd), -EMFILE);
	assert_int_equal(fd, -5);
	inject(NULL);
	assert_int_equal(tc_count_fds(), fds);
	assert_int_equal(tw_counters().live_dmabufs, 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.exports, 0);
	assert_int_equal(st.forced_maps, 1);
	assert_int_equal(st.region_bytes_held, TW_MIB);
	/* the fixed kernel needs no CPU mapping for it; v2 tried mmap twice
	 * (the injected failure, then this one) */
	assert_int_equal(st.mmaps, fixed ? 0 : 2);

	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.forced_maps, 1);
	{
		uint64_t addr = 0, size = 0;

		/* an importer sees the object's real range */
		assert_int_equal(vgshim_dmabuf_attach(fd, &addr, &size), 0);
		assert_int_equal(size, TW_MIB);
		assert_int_equal(tw_counters().bogus_attaches, 0);
	}
	close(fd);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* Import: the kernel refusing the fd, or RESOURCE_INFO failing for a new
 * object (whose handle must then be closed again). */
static void import_faults(void **state)
{
	struct vws_device *a = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_device *b = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = tw_guest(a, 4096), *imp = NULL;
	struct vws_stats st;
	int fd;

	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	inject("PRIME_FD_TO_HANDLE:1:ENOMEM");
	assert_int_equal(vws_bo_import_fd(b, fd, 0, &imp), -ENOMEM);
	inject("RESOURCE_INFO:1:EIO");
	assert_int_equal(vws_bo_import_fd(b, fd, 0, &imp), -EIO);
	inject(NULL);
	assert_null(imp);
	assert_int_equal(tw_counters().live_handles, 1);
	vws_device_get_stats(b, &st);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.imports, 0);

	assert_int_equal(vws_bo_import_fd(b, fd, 0, &imp), 0);
	assert_int_equal(tw_counters().live_handles, 2);
	close(fd);
	vws_bo_unref(imp);
	vws_bo_unref(bo);
	vws_device_unref(b);
	vws_device_unref(a);
}

/* The host refusing to map: an error, never a hang, on every generation. */
static void hostmap_fault(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct vws_bo *bo = NULL;
	void *p = NULL;

	inject("hostmap:*:EIO");
	/* Legacy maps at creation: the failure still shows at mmap. */
	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	assert_true(vws_bo_map(bo, &p) < 0);
	assert_null(p);
	inject(NULL);
	assert_int_equal(tw_counters().hangs_detected, 0);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* Device creation failing at each kernel step leaks nothing. */
static void device_create_faults(void **state)
{
	static const struct {
		const char *rule;
		int err;
	} cases[] = {
		{ "open:1:EACCES", -EACCES },
		{ "GET_CAPS:*:EIO", -EIO },
		{ "CONTEXT_INIT:1:ENOMEM", -ENOMEM },
	};

	for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
		struct vws_device *dev = NULL;
		struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS };

		inject(cases[n].rule);
		assert_int_equal(tw_try_open(&ci, &dev), cases[n].err);
		assert_null(dev);
		inject(NULL);
		assert_int_equal(tw_counters().live_files, 0);
	}
}

/* A GETPARAM error other than -EINVAL: the param is treated as absent
 * and the device still opens. */
static void getparam_fault(void **state)
{
	struct vws_device *dev = NULL;
	struct vws_device_create_info ci = { 0 };

	inject("GETPARAM:2:EIO");
	assert_int_equal(tw_try_open(&ci, &dev), 0);
	inject(NULL);
	assert_false(vws_device_get_info(dev)->param_present[VIRTGPU_PARAM_CAPSET_QUERY_FIX]);
	assert_true(vws_device_get_info(dev)->param_present[VIRTGPU_PARAM_3D_FEATURES]);
	vws_device_unref(dev);
}

/* No node where the scan looks: -ENODEV; the path itself still works. */
static void no_device(void **state)
{
	struct vws_device *dev = NULL;
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS };

	tc_model_use("fixed", "VGSHIM_NODE", "/dev/dri/renderD250", NULL);
	assert_int_equal(tw_try_open(&ci, &dev), -ENODEV);
	assert_null(dev);
	ci.path = "/dev/dri/renderD250";
	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_string_equal(vws_device_get_info(dev)->path, "/dev/dri/renderD250");
	vws_device_unref(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(map_fault_retry),
		TW_GEN(failed_mmap_accounting, "fixed"),
		TW_GEN(failed_mmap_accounting, "v2"),
		TW_GEN(export_faults, "fixed"),
		TW_GEN(export_faults, "v2"),
		TW_TEST(import_faults),
		TW_ALL_GENS(hostmap_fault),
		TW_TEST(device_create_faults),
		TW_TEST(getparam_fault),
		TW_TEST(no_device),
	};

	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
