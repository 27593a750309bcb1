/* SPDX-License-Identifier: MIT */
/*
 * Workloads 4 and 5: cost per operation against the number of live
 * objects, and two threads against one.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vws_bench.h"

enum { OP_ALLOC, OP_MAP, OP_EXPORT, OP_IMPORT, OP_FREE, NUM_OPS };
static const char *const vws_bench_op_names[NUM_OPS] = {
	"allocate", "first map", "export", "import", "free",
};

/* One sample: a fresh object through its whole life, each step timed. */
static int vws_bench_scale_sample(struct vws_device *dev, uint64_t t[NUM_OPS])
{
	struct vws_bench_obj obj;
	struct vws_bo *imp = NULL;
	uint64_t t0, t1;
	int fd = -1, ret;

	t0 = vws_bench_now_ns();
	ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, 4096, &obj);
	t1 = vws_bench_now_ns();
	if (ret)
		return ret;
	t[OP_ALLOC] += t1 - t0;
	ret = vws_bench_map(dev, VWS_BENCH_DEFERRED, &obj);
	t0 = vws_bench_now_ns();
	t[OP_MAP] += t0 - t1;
	if (!ret)
		ret = vws_bo_export_fd(obj.bo, &fd);
	t1 = vws_bench_now_ns();
	t[OP_EXPORT] += t1 - t0;
	if (!ret)
		ret = vws_bo_import_fd(dev, fd, 4096, &imp);
	t0 = vws_bench_now_ns();
	t[OP_IMPORT] += t0 - t1;
	if (!ret && imp != obj.bo)
		ret = -EIO; /* one kernel object must be one winsys object */
	if (fd >= 0)
		close(fd);
	if (imp)
		vws_bo_unref(imp);
	vws_bench_free(&obj);
	t1 = vws_bench_now_ns();
	t[OP_FREE] += t1 - t0;
	return ret;
}

int vws_bench_scale(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	double first[NUM_OPS] = { 0 }, last[NUM_OPS] = { 0 };
	char row[32];

	vws_bench_note("scale", "deferred strategy, 4 KiB objects; %u sampled lives per size "
				"(allocate, map, export, import, free) among N live unmapped objects",
		       o->scale_sample);
	for (unsigned z = 0; z < o->num_scale_sizes; z++) {
		uint64_t n = o->scale_sizes[z], t[NUM_OPS] = { 0 };
		struct vws_bench_obj *live = calloc(n, sizeof(*live));
		struct vws_device *dev;
		int ret;

		if (!live)
			return -ENOMEM;
		/* Live objects are never mapped: a region as large as them all
		 * is not needed, but the sample's maps need a little room. */
		ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, 0, &dev);
		if (ret) {
			free(live);
			return ret;
		}
		for (uint64_t i = 0; i < n && !ret; i++) {
			if (i % 1024 == 0)
				vws_bench_progress(env, "[scale] creating %llu/%llu live objects",
						   (unsigned long long)i, (unsigned long long)n);
			ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, 4096, &live[i]);
		}
		for (unsigned i = 0; i < o->scale_sample && !ret; i++) {
			if (i % 64 == 0)
				vws_bench_progress(env, "[scale] N=%llu sample %u/%u",
						   (unsigned long long)n, i, o->scale_sample);
			ret = vws_bench_scale_sample(dev, t);
		}
		for (uint64_t i = 0; i < n; i++)
			vws_bench_free(&live[i]);
		free(live);
		vws_bench_close(env, dev);
		if (ret) {
			vws_bench_progress_done(env);
			fprintf(stderr, "vws-bench: scale with %llu live objects: %s\n",
				(unsigned long long)n, strerror(-ret));
			return ret;
		}
		snprintf(row, sizeof(row), "%llu live", (unsigned long long)n);
		for (int op = 0; op < NUM_OPS; op++) {
			double us = (double)t[op] / o->scale_sample / 1000.0;

			vws_bench_single("scale", row, vws_bench_op_names[op], "us", us);
			if (z == 0)
				first[op] = us;
			last[op] = us;
		}
	}
	vws_bench_progress_done(env);
	if (o->num_scale_sizes > 1) {
		snprintf(row, sizeof(row), "%llu vs %llu",
			 (unsigned long long)o->scale_sizes[o->num_scale_sizes - 1],
			 (unsigned long long)o->scale_sizes[0]);
		env->scale_growth = 0;
		for (int op = 0; op < NUM_OPS; op++) {
			double g = first[op] > 0 ? last[op] / first[op] : 0;

			vws_bench_single("scale", row, vws_bench_op_names[op], "x (growth)", g);
			if (g > env->scale_growth)
				env->scale_growth = g;
		}
	}
	return 0;
}

struct vws_bench_thread {
	struct vws_device *dev;
	unsigned iterations;
	int ret;
	pthread_t thread;
};

/* Allocate, map, touch and free distinct objects. */
static void *vws_bench_thread_main(void *arg)
{
	struct vws_bench_thread *t = arg;

	for (unsigned i = 0; i < t->iterations && !t->ret; i++) {
		struct vws_bench_obj obj;

		t->ret = vws_bench_alloc(t->dev, VWS_BENCH_DEFERRED, 64 << 10, &obj);
		if (t->ret)
			break;
		t->ret = vws_bench_map(t->dev, VWS_BENCH_DEFERRED, &obj);
		if (!t->ret)
			((volatile char *)obj.ptr)[0] = (char)i;
		vws_bench_free(&obj);
	}
	return NULL;
}

/* The same syscalls with no winsys and no model: memfd, mmap, a write,
 * munmap, close. What the machine's kernel allows two threads of one
 * process (mmap_lock, TLB shootdowns on munmap) bounds any winsys. */
static void *vws_bench_raw_thread(void *arg)
{
	struct vws_bench_thread *t = arg;

	for (unsigned i = 0; i < t->iterations && !t->ret; i++) {
		int fd = memfd_create("vws-bench", MFD_CLOEXEC);
		char *p;

		if (fd < 0 || ftruncate(fd, 64 << 10)) {
			t->ret = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		p = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			t->ret = -errno;
		} else {
			p[0] = (char)i;
			munmap(p, 64 << 10);
		}
		close(fd);
	}
	return NULL;
}

static int vws_bench_threads_run(struct vws_device *dev, unsigned nthreads, unsigned iters,
				 double *ops_per_s)
{
	void *(*fn)(void *) = dev ? vws_bench_thread_main : vws_bench_raw_thread;
	struct vws_bench_thread t[2];
	uint64_t t0, t1;
	int ret = 0;

	t0 = vws_bench_now_ns();
	for (unsigned i = 0; i < nthreads; i++) {
		t[i] = (struct vws_bench_thread){ .dev = dev, .iterations = iters };
		if (pthread_create(&t[i].thread, NULL, fn, &t[i])) {
			nthreads = i;
			ret = -EAGAIN;
			break;
		}
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(t[i].thread, NULL);
		if (t[i].ret && !ret)
			ret = t[i].ret;
	}
	t1 = vws_bench_now_ns();
	*ops_per_s = (double)nthreads * iters / ((double)(t1 - t0) / 1e9);
	return ret;
}

int vws_bench_threads(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	struct vws_device *dev;
	double one, two, raw1 = 0, raw2 = 0;
	int ret;

	vws_bench_progress(env, "[threads] raw syscall baseline");
	ret = vws_bench_threads_run(NULL, 1, o->thread_iterations, &raw1);
	if (!ret)
		ret = vws_bench_threads_run(NULL, 2, o->thread_iterations, &raw2);
	if (ret)
		return ret;
	ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, 0, &dev);
	if (ret)
		return ret;
	vws_bench_progress(env, "[threads] 1 thread");
	ret = vws_bench_threads_run(dev, 1, o->thread_iterations, &one);
	if (!ret) {
		vws_bench_progress(env, "[threads] 2 threads");
		ret = vws_bench_threads_run(dev, 2, o->thread_iterations, &two);
	}
	vws_bench_progress_done(env);
	vws_bench_close(env, dev);
	if (ret) {
		fprintf(stderr, "vws-bench: threads: %s\n", strerror(-ret));
		return ret;
	}
	vws_bench_note("threads", "deferred strategy; each thread: %u x (allocate 64 KiB, map, "
				  "write, free) on its own objects, one shared device; %ld CPUs",
		       o->thread_iterations, sysconf(_SC_NPROCESSORS_ONLN));
	vws_bench_single("threads", "1 thread", "throughput", "ops/s", one);
	vws_bench_single("threads", "2 threads", "throughput", "ops/s", two);
	vws_bench_single("threads", "2 vs 1", "speed-up", "x (target >= 1.6)", two / one);
	vws_bench_single("threads", "raw syscalls, 1 thread", "throughput", "ops/s", raw1);
	vws_bench_single("threads", "raw syscalls, 2 threads", "throughput", "ops/s", raw2);
	vws_bench_single("threads", "raw syscalls 2 vs 1", "speed-up", "x (the kernel's bound)",
			 raw2 / raw1);
	vws_bench_note("threads", "raw syscalls: the same memfd/mmap/write/munmap/close per op "
				  "with no winsys and no model");
	env->thread_speedup = two / one;
	return 0;
}
