/* SPDX-License-Identifier: MIT */
/*
 * Workload "overhead": the winsys's own cost. The same life (create with
 * the hint, MAP, mmap, munmap, GEM_CLOSE) is run through the winsys and as
 * bare libdrm ioctls on the same fd. Both loops are separate, never-inlined
 * functions, so that callgrind can count the instructions of each,
 * inclusive of everything they call: the run re-executes itself under
 * `valgrind --tool=callgrind --toggle-collect=LOOP` once per loop (when
 * valgrind is installed). Instructions are repeatable on a noisy machine
 * where CPU time is not; CPU time is reported beside them.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
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

#define VWS_BENCH_OVERHEAD_ROUNDS 10
#define VWS_BENCH_OVERHEAD_WARM 8

/* Lives each loop runs for --overhead-iters iters (warm-up included). */
static unsigned vws_bench_overhead_lives(unsigned iters)
{
	unsigned per = iters / VWS_BENCH_OVERHEAD_ROUNDS ? iters / VWS_BENCH_OVERHEAD_ROUNDS : 1;

	return VWS_BENCH_OVERHEAD_WARM + VWS_BENCH_OVERHEAD_ROUNDS * per;
}

/* Instructions of one loop function: this program again under callgrind,
 * collecting inside fn only. 0 when it cannot be counted. */
static uint64_t vws_bench_callgrind(struct vws_bench_env *env, const char *fn, unsigned iters)
{
	char out[] = "/tmp/vws-bench-callgrind-XXXXXX", exe[4096], arg_out[80], arg_fn[96],
	     arg_iters[32], line[256];
	uint64_t ir = 0;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd = mkstemp(out), status;
	FILE *f;
	pid_t pid;

	if (fd < 0 || n <= 0) {
		if (fd >= 0) {
			close(fd);
			unlink(out);
		}
		return 0;
	}
	close(fd);
	exe[n] = 0;
	snprintf(arg_out, sizeof(arg_out), "--callgrind-out-file=%s", out);
	snprintf(arg_fn, sizeof(arg_fn), "--toggle-collect=%s", fn);
	snprintf(arg_iters, sizeof(arg_iters), "%u", iters);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		char *argv[] = { "valgrind", "--tool=callgrind", "--collect-atstart=no", arg_fn,
				 arg_out, exe, "--workload", "overhead", "--overhead-iters",
				 arg_iters, "--no-callgrind",
				 env->o->device ? "--device" : NULL, (char *)env->o->device, NULL };

		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp("valgrind", argv);
		_exit(127);
	}
	if (pid < 0) {
		unlink(out);
		return 0;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	f = fopen(out, "re");
	if (f && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "totals: %llu", &v) == 1 || sscanf(line, "summary: %llu", &v) == 1)
				ir = v;
		}
	}
	if (f)
		fclose(f);
	unlink(out);
	return ir;
}

int vws_bench_overhead(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	/* Interleaved rounds, so that drift of the machine hits both. */
	const unsigned rounds = VWS_BENCH_OVERHEAD_ROUNDS,
		       per = o->overhead_iterations / rounds ? o->overhead_iterations / rounds : 1;
	uint64_t raw = 0, vws = 0;
	struct vws_device *dev;
	int ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &dev);
	int fd;

	if (ret)
		return ret;
	fd = vws_device_get_fd(dev);
	if (vws_device_get_info(dev)->hint_support != VWS_HINT_VALIDATED)
		vws_bench_note("overhead", "the kernel does not validate hints: both paths still "
					   "send the hint, it may be ignored");
	/* Warm both paths once (first-touch allocations, lazy symbol binding). */
	ret = vws_bench_overhead_raw_loop(fd, VWS_BENCH_OVERHEAD_WARM);
	if (!ret)
		ret = vws_bench_overhead_vws_loop(dev, VWS_BENCH_OVERHEAD_WARM);
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
	vws_bench_single("overhead", "winsys vs raw", "CPU ratio", "x",
			 raw ? (double)vws / (double)raw : NAN);
	if (o->callgrind) {
		/* fewer lives: callgrind runs everything some 50 times slower */
		unsigned iters = o->overhead_iterations < 2000 ? o->overhead_iterations : 2000;
		unsigned lives = vws_bench_overhead_lives(iters);
		uint64_t ir_raw, ir_vws = 0;

		vws_bench_progress(env, "[overhead] callgrind: raw loop");
		ir_raw = vws_bench_callgrind(env, "vws_bench_overhead_raw_loop", iters);
		if (ir_raw) {
			vws_bench_progress(env, "[overhead] callgrind: winsys loop");
			ir_vws = vws_bench_callgrind(env, "vws_bench_overhead_vws_loop", iters);
		}
		vws_bench_progress_done(env);
		if (ir_raw && ir_vws) {
			vws_bench_note("overhead", "instructions: callgrind, %u lives per loop, "
						   "inclusive of what each loop calls (%s)", lives,
				       env->on_model ? "the kernel model's work, the same for both"
						     : "userspace only");
			vws_bench_single("overhead", "raw libdrm ioctls", "instructions per life", "",
					 (double)ir_raw / lives);
			vws_bench_single("overhead", "winsys", "instructions per life", "",
					 (double)ir_vws / lives);
			vws_bench_single("overhead", "winsys - raw", "instructions per life", "",
					 ((double)ir_vws - (double)ir_raw) / lives);
			vws_bench_single("overhead", "winsys vs raw", "instruction ratio", "x",
					 (double)ir_vws / (double)ir_raw);
			vws_bench_target(env, "instructions per object life, winsys vs raw ioctls (x)",
					 (double)ir_vws / (double)ir_raw, "<=", 1.10);
		} else {
			vws_bench_note("overhead", "instructions: not counted (valgrind's callgrind "
						   "did not run: install valgrind)");
			vws_bench_target(env, "instructions per object life, winsys vs raw ioctls (x)",
					 NAN, "<=", 1.10);
		}
	}
	return 0;
}
