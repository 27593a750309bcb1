/* SPDX-License-Identifier: MIT */
/*
 * Workload 6: the winsys's own CPU cost. The same life (create with the
 * hint, MAP, mmap, munmap, GEM_CLOSE) is run through the winsys and as bare
 * libdrm ioctls on the same fd. Both loops are separate, never-inlined
 * functions so that `valgrind --tool=callgrind` can report the inclusive
 * instruction count of each (scripts/bench.sh does), which is repeatable
 * on a noisy machine where CPU time is not.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_bench.h"

#define VWS_BENCH_OVERHEAD_SIZE (64u << 10)

__attribute__((noinline)) int vws_bench_overhead_raw_loop(int fd, unsigned iters);
__attribute__((noinline)) int vws_bench_overhead_vws_loop(struct vws_device *dev,
							  unsigned iters);

__attribute__((noinline)) int vws_bench_overhead_raw_loop(int fd, unsigned iters)
{
	for (unsigned i = 0; i < iters; i++) {
		struct drm_virtgpu_resource_create_blob c = {
			.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
			.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
			.size = VWS_BENCH_OVERHEAD_SIZE,
			.blob_hints = VIRTGPU_BLOB_HINT_DEFER_MAPPING,
		};
		struct drm_virtgpu_map m = { 0 };
		struct drm_gem_close g = { 0 };
		void *p;

		if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c))
			return -errno;
		m.handle = c.bo_handle;
		g.handle = c.bo_handle;
		if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_MAP, &m)) {
			int err = -errno;

			drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &g);
			return err;
		}
		p = mmap(NULL, VWS_BENCH_OVERHEAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 (off_t)m.offset);
		if (p == MAP_FAILED) {
			int err = -errno;

			drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &g);
			return err;
		}
		munmap(p, VWS_BENCH_OVERHEAD_SIZE);
		if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &g))
			return -errno;
	}
	return 0;
}

__attribute__((noinline)) int vws_bench_overhead_vws_loop(struct vws_device *dev, unsigned iters)
{
	for (unsigned i = 0; i < iters; i++) {
		struct vws_bench_obj obj;
		int ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, VWS_BENCH_OVERHEAD_SIZE, &obj);

		if (ret)
			return ret;
		ret = vws_bench_map(dev, VWS_BENCH_DEFERRED, &obj);
		vws_bench_free(&obj);
		if (ret)
			return ret;
	}
	return 0;
}

int vws_bench_overhead(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	/* Interleaved rounds, so that drift of the machine hits both. */
	const unsigned rounds = 10, per = o->overhead_iterations / rounds ? o->overhead_iterations / rounds : 1;
	uint64_t raw = 0, vws = 0;
	struct vws_device *dev;
	int ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, 0, &dev);
	int fd;

	if (ret)
		return ret;
	fd = vws_device_get_fd(dev);
	if (vws_device_get_info(dev)->hint_support != VWS_HINT_VALIDATED)
		vws_bench_note("overhead", "the kernel does not validate hints: both paths still "
					   "send the hint, it may be ignored");
	/* Warm both paths once (first-touch allocations, lazy symbol binding). */
	ret = vws_bench_overhead_raw_loop(fd, 8);
	if (!ret)
		ret = vws_bench_overhead_vws_loop(dev, 8);
	for (unsigned r = 0; r < rounds && !ret; r++) {
		uint64_t t0, t1, t2;

		vws_bench_progress(env, "[overhead] round %u/%u", r + 1, rounds);
		t0 = vws_bench_cpu_ns();
		ret = vws_bench_overhead_raw_loop(fd, per);
		t1 = vws_bench_cpu_ns();
		if (!ret)
			ret = vws_bench_overhead_vws_loop(dev, per);
		t2 = vws_bench_cpu_ns();
		raw += t1 - t0;
		vws += t2 - t1;
	}
	vws_bench_progress_done(env);
	vws_bench_close(env, dev);
	if (ret) {
		fprintf(stderr, "vws-bench: overhead: %s\n", strerror(-ret));
		return ret;
	}
	vws_bench_note("overhead", "%u lives of a 64 KiB hinted blob (create, MAP, mmap, munmap, "
				   "close); CPU time includes the %s", rounds * per,
		       env->on_model ? "kernel model, the same for both" : "kernel's work");
	vws_bench_single("overhead", "raw libdrm ioctls", "CPU per life", "us",
			 (double)raw / (rounds * per) / 1000.0);
	vws_bench_single("overhead", "winsys", "CPU per life", "us",
			 (double)vws / (rounds * per) / 1000.0);
	env->overhead_ratio = raw ? (double)vws / (double)raw : 0;
	vws_bench_single("overhead", "winsys vs raw", "ratio", "x (target <= 1.10)",
			 env->overhead_ratio);
	return 0;
}
