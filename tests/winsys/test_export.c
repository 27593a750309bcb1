/* SPDX-License-Identifier: MIT */
/* dma-buf export: the forced host mapping, its failure, and the v1/v2 hang. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tw.h"

#define TW_REGION_SMALL "8M"

/* Export of a hinted, never-mapped object makes its host mapping first, so
 * a foreign device attaching the dma-buf sees a real range (never the bogus
 * one): the MAP ioctl alone on a kernel that validates hints, MAP + mmap on
 * one that reserves in mmap. */
static void export_forces_map(void **state)
{
	const char *gen = tw_gen(state);
	bool fixed = !strcmp(gen, "fixed");
	enum vws_defer_policy pol = fixed ? VWS_DEFER_AUTO : VWS_DEFER_ALWAYS;
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, pol);
	struct vws_bo_info bi;
	struct vws_stats st;
	struct vws_bo *bo;
	uint64_t addr = 0, size = 0;
	void *p;
	int fd = -1;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &bo), 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_true(bi.hinted);
	assert_false(tw_object(dev, bo).region_reserved);

	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_true(tw_object(dev, bo).region_reserved);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.forced_maps, 1);
	assert_int_equal(st.exports, 1);
	assert_int_equal(st.region_bytes_held, TW_MIB);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_false(bi.deferred);
	/* Per the probe: the fixed kernel's MAP ioctl makes the host mapping,
	 * so nothing is mmap'ed for the export; the others reserve the range
	 * in mmap, so the object is mapped (the cached mapping). */
	assert_int_equal(bi.mapped, !fixed);
	assert_int_equal(st.map_ioctls, 1);
	assert_int_equal(st.mmaps, fixed ? 0 : 1);

	assert_int_equal(vgshim_dmabuf_attach(fd, &addr, &size), 0);
	assert_int_equal(size, TW_MIB);
	assert_int_equal(tw_counters().bogus_attaches, 0);

	/* Mapping now costs no ioctl: an mmap on the fixed kernel (the
	 * offset is known), nothing at all elsewhere (the cached mapping). */
	{
		struct vgshim_counters before = tw_counters();

		assert_int_equal(vws_bo_map(bo, &p), 0);
		assert_int_equal(tw_counters().ioctls_total, before.ioctls_total);
		assert_int_equal(tw_counters().mmaps, before.mmaps + (fixed ? 1 : 0));
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.map_ioctls, 1);
		assert_int_equal(st.mmaps, 1);
		assert_int_equal(st.region_bytes_held, TW_MIB);
	}
	/* A second export does not map again. */
	{
		int fd2 = -1;

		assert_int_equal(vws_bo_export_fd(bo, &fd2), 0);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.forced_maps, 1);
		close(fd2);
	}
	close(fd);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* Without the hint nothing is forced, on every generation. */
static void export_unhinted(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_NEVER);
	struct vws_bo *bo, *g = tw_guest(dev, 64 * 1024);
	struct vws_stats st;
	uint64_t addr, size;
	int fd, gfd;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &bo), 0);
	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	assert_int_equal(vws_bo_export_fd(g, &gfd), 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.forced_maps, 0);
	assert_int_equal(st.mmaps, 0);
	assert_int_equal(vgshim_dmabuf_attach(fd, &addr, &size), 0);
	assert_int_equal(size, TW_MIB);
	assert_int_equal(tw_counters().bogus_attaches, 0);
	close(fd);
	close(gfd);
	vws_bo_unref(bo);
	vws_bo_unref(g);
	vws_device_unref(dev);
}

/* A forced map that fails fails the export: no fd, nothing leaked, and
 * the object exports fine once there is room. */
static void export_forced_map_fails(void **state)
{
	struct vws_device *dev;
	struct vws_bo *a, *b;
	struct vws_stats st;
	int fds, fd = -7;
	void *p;

	tc_model_use("fixed", "VGSHIM_HOSTMEM", TW_REGION_SMALL, NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &b), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);

	fds = tc_count_fds();
	assert_int_equal(vws_bo_export_fd(b, &fd), -ENOSPC);
	assert_int_equal(fd, -7);
	assert_int_equal(tc_count_fds(), fds);
	assert_int_equal(tw_counters().live_dmabufs, 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.exports, 0);
	assert_int_equal(st.forced_maps, 0);

	vws_bo_unref(a);
	vgshim_host_drain();
	assert_int_equal(vws_bo_export_fd(b, &fd), 0);
	close(fd);
	vws_bo_unref(b);
	vws_device_unref(dev);
}

/*
 * The reason for auto: on v1/v2 a deferred map that finds the region full
 * makes mmap wait forever. The model turns the hang into a counted,
 * bounded failure, which the winsys returns as an error.
 */
static void always_hangs_on_full_region(void **state)
{
	struct vws_device *dev;
	struct vws_bo *a, *b;
	int fd = -1;
	void *p;

	tc_model_use(tw_gen(state), "VGSHIM_HOSTMEM", TW_REGION_SMALL, "VGSHIM_HANG_MS", "20",
		     NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	assert_int_equal(vws_device_get_info(dev)->hint_support, VWS_HINT_IGNORED);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &b), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);

	assert_true(vws_bo_map(b, &p) < 0);
	assert_true(tw_counters().hangs_detected >= 1);
	/* Export's forced map runs into the same hang: an error, no fd. */
	assert_true(vws_bo_export_fd(b, &fd) < 0);
	assert_int_equal(fd, -1);
	vws_bo_unref(a);
	vws_bo_unref(b);
	vws_device_unref(dev);
}

/* The same workload under auto: no hint on v1/v2, so the full region is
 * an ordinary -ENOSPC at creation and nothing hangs. */
static void auto_does_not_hang(void **state)
{
	struct vws_device *dev;
	struct vws_bo *a, *b = NULL;
	void *p;

	tc_model_use(tw_gen(state), "VGSHIM_HOSTMEM", TW_REGION_SMALL, NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &b), -ENOSPC);
	assert_int_equal(tw_counters().hangs_detected, 0);
	vws_bo_unref(a);
	vws_device_unref(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_GEN(export_forces_map, "fixed"),
		TW_GEN(export_forces_map, "v2"),
		TW_GEN(export_forces_map, "v1"),
		TW_ALL_GENS(export_unhinted),
		TW_TEST(export_forced_map_fails),
		TW_GEN(always_hangs_on_full_region, "v2"),
		TW_GEN(always_hangs_on_full_region, "v1"),
		TW_GEN(auto_does_not_hang, "v2"),
		TW_GEN(auto_does_not_hang, "v1"),
	};

	return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
