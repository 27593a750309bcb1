/* SPDX-License-Identifier: MIT */
/*
 * Workloads "threads" and "cached": two threads against one, each next to
 * its raw baseline measured in the same rounds.
 *
 * threads: each thread allocates a 64 KiB object, maps it, writes a byte
 * and frees it, over and over, on one shared device. Three stacks:
 *   raw syscalls  the same memfd/mmap/write/munmap/close, no model, no
 *                 winsys: what this machine's kernel lets two threads do;
 *   raw ioctls    CREATE_BLOB, MAP, mmap, munmap, GEM_CLOSE on the DRM fd,
 *                 no winsys (on the model: the model's own scaling);
 *   winsys        vws_bo_create, vws_bo_map, vws_bo_unref.
 * Then the same without the mapping (create and free only), where the
 * kernel's mm lock is out of the picture and on the model no syscall is
 * made at all; its baseline is a call doing the same amount of work on
 * nothing shared.
 * cached: vws_bo_map of objects that are already mapped (vkMapMemory of
 * mapped memory), each thread on its own object and both on one object;
 * the baseline is a call of the same shape with nothing shared (what the
 * machine's two CPUs give right now). Syscalls are counted by the
 * kernel's tracepoint per thread, futexes included.
 *
 * The machine is shared and noisy: every figure is the median of rounds
 * that interleave the stacks, and a speed-up is taken within a round.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vws_bench.h"

#define VWS_BENCH_THREAD_SIZE (64u << 10)
#define VWS_BENCH_MAX_ROUNDS 15

struct vws_bench_worker {
	void *(*fn)(void *);
	struct vws_device *dev;   /* winsys stacks */
	int fd;                   /* raw ioctls */
	struct vws_bo *bo;        /* cached: the object it maps */
	void *ptr;                /* cached: what the map must return */
	unsigned iterations;
	int ret;
	bool futex_only;          /* count futex calls (lock waits), not all syscalls */
	int counter;              /* the counter's fd */
	int64_t syscalls;         /* -1: not countable */
	uint64_t t0, t1;          /* its loop, CLOCK_MONOTONIC ns */
	pthread_barrier_t *go;
	pthread_t thread;
};

/* A worker's loop starts: everyone at once, timed and counted. */
static void vws_bench_worker_begin(struct vws_bench_worker *w)
{
	w->counter = w->futex_only ? vws_bench_futex_open() : vws_bench_syscalls_open();
	pthread_barrier_wait(w->go);
	vws_bench_syscalls_start(w->counter);
	w->t0 = vws_bench_now_ns();
}

static void vws_bench_worker_end(struct vws_bench_worker *w)
{
	w->t1 = vws_bench_now_ns();
	w->syscalls = w->futex_only ? vws_bench_futex_stop(w->counter) :
				      vws_bench_syscalls_stop(w->counter);
	if (w->counter >= 0)
		close(w->counter);
}

static void *vws_bench_raw_syscalls_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		int fd = memfd_create("vws-bench", MFD_CLOEXEC);
		char *p;

		if (fd < 0 || ftruncate(fd, VWS_BENCH_THREAD_SIZE)) {
			w->ret = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		p = mmap(NULL, VWS_BENCH_THREAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			w->ret = -errno;
		} else {
			p[0] = (char)i;
			munmap(p, VWS_BENCH_THREAD_SIZE);
		}
		close(fd);
	}
	vws_bench_worker_end(w);
	return NULL;
}

static void *vws_bench_raw_ioctls_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		uint32_t h;
		char *p;

		w->ret = vws_bench_raw_create(w->fd, VWS_BENCH_THREAD_SIZE, &h);
		if (w->ret)
			break;
		p = vws_bench_raw_map(w->fd, h, VWS_BENCH_THREAD_SIZE);
		if (!p) {
			w->ret = -errno;
		} else {
			p[0] = (char)i;
			munmap(p, VWS_BENCH_THREAD_SIZE);
		}
		if (vws_bench_raw_close(w->fd, h) && !w->ret)
			w->ret = -EIO;
	}
	vws_bench_worker_end(w);
	return NULL;
}

static void *vws_bench_raw_create_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		uint32_t h;

		w->ret = vws_bench_raw_create(w->fd, VWS_BENCH_THREAD_SIZE, &h);
		if (!w->ret && vws_bench_raw_close(w->fd, h))
			w->ret = -EIO;
	}
	vws_bench_worker_end(w);
	return NULL;
}

static void *vws_bench_winsys_create_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		struct vws_bench_obj obj;

		w->ret = vws_bench_alloc(w->dev, VWS_BENCH_DEFERRED, VWS_BENCH_THREAD_SIZE, &obj);
		vws_bench_free(&obj);
	}
	vws_bench_worker_end(w);
	return NULL;
}

/* Work of a create/free's size on memory of its own: an allocation, some
 * stores, a free. */
static void *vws_bench_cpu_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		volatile uint64_t *p = malloc(256);

		if (!p) {
			w->ret = -ENOMEM;
			break;
		}
		for (int k = 0; k < 32; k++)
			p[k] = i + (unsigned)k;
		free((void *)p);
	}
	vws_bench_worker_end(w);
	return NULL;
}

static void *vws_bench_winsys_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations && !w->ret; i++) {
		struct vws_bench_obj obj;

		w->ret = vws_bench_alloc(w->dev, VWS_BENCH_DEFERRED, VWS_BENCH_THREAD_SIZE, &obj);
		if (w->ret)
			break;
		w->ret = vws_bench_map(w->dev, VWS_BENCH_DEFERRED, &obj);
		if (!w->ret)
			((volatile char *)obj.ptr)[0] = (char)i;
		vws_bench_free(&obj);
	}
	vws_bench_worker_end(w);
	return NULL;
}

/* The cached map's baseline: a call of the same shape (an object pointer
 * in, its mapping out, through a function the compiler cannot inline)
 * with nothing shared between threads. */
__attribute__((noinline)) void *vws_bench_baseline_map(void *const *slot);
__attribute__((noinline)) void *vws_bench_baseline_map(void *const *slot)
{
	return *(void *const volatile *)slot;
}

static void *vws_bench_baseline_loop(void *arg)
{
	struct vws_bench_worker *w = arg;

	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations; i++)
		if (vws_bench_baseline_map(&w->ptr) != w->ptr)
			w->ret = -EIO;
	vws_bench_worker_end(w);
	return NULL;
}

static void *vws_bench_cached_loop(void *arg)
{
	struct vws_bench_worker *w = arg;
	void *first;

	/* A thread's first call on a device makes its copy of the device's
	 * counts (an allocation, maybe a new malloc arena: syscalls), once
	 * per thread: not the cached path, so made before the counting. */
	if (vws_bo_map(w->bo, &first))
		w->ret = -EIO;
	vws_bench_worker_begin(w);
	for (unsigned i = 0; i < w->iterations; i++) {
		void *p;

		if (vws_bo_map(w->bo, &p) || p != w->ptr) {
			w->ret = -EIO;
			break;
		}
	}
	vws_bench_worker_end(w);
	return NULL;
}

/* Runs n workers (copies of proto, per-worker bo/ptr from bos/ptrs when
 * given); returns the time from the first loop's start to the last one's
 * end in ns (thread start-up and counter set-up excluded), or 0. */
static uint64_t vws_bench_run_workers(const struct vws_bench_worker *proto, unsigned n,
				      struct vws_bo *const *bos, void *const *ptrs,
				      int64_t *syscalls, int *ret)
{
	struct vws_bench_worker w[2];
	pthread_barrier_t go;
	uint64_t t0 = UINT64_MAX, t1 = 0;
	unsigned started = 0;

	*ret = 0;
	if (syscalls)
		*syscalls = 0;
	if (pthread_barrier_init(&go, NULL, n + 1))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		w[i] = *proto;
		w[i].go = &go;
		w[i].syscalls = -1;
		if (bos)
			w[i].bo = bos[i];
		if (ptrs)
			w[i].ptr = ptrs[i];
		if (pthread_create(&w[i].thread, NULL, w[i].fn, &w[i])) {
			/* cannot go on: the barrier waits for n; abort the run */
			fprintf(stderr, "vws-bench: cannot start a thread\n");
			exit(1);
		}
		started++;
	}
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		if (w[i].ret && !*ret)
			*ret = w[i].ret;
		if (syscalls)
			*syscalls = *syscalls < 0 || w[i].syscalls < 0 ? -1 : *syscalls + w[i].syscalls;
		if (w[i].t0 < t0)
			t0 = w[i].t0;
		if (w[i].t1 > t1)
			t1 = w[i].t1;
	}
	pthread_barrier_destroy(&go);
	return t1 > t0 ? t1 - t0 : 0;
}

static int vws_bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double vws_bench_median(double *v, unsigned n)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), vws_bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { STACK_SYSCALLS, STACK_IOCTLS, STACK_WINSYS, STACK_CPU, STACK_CREATE_IOCTLS,
       STACK_CREATE_WINSYS, NUM_STACKS };

int vws_bench_threads(struct vws_bench_env *env)
{
	static const char *const names[NUM_STACKS] = {
		"raw syscalls", "raw ioctls", "winsys",
		"no map: baseline", "no map: raw ioctls", "no map: winsys",
	};
	const struct vws_bench_opts *o = env->o;
	double ops[NUM_STACKS][2][VWS_BENCH_MAX_ROUNDS], up[NUM_STACKS][VWS_BENCH_MAX_ROUNDS];
	unsigned rounds = o->rounds < VWS_BENCH_MAX_ROUNDS ? o->rounds : VWS_BENCH_MAX_ROUNDS;
	/* without the mapping an object's life is some 10 times shorter */
	struct vws_bench_worker proto[NUM_STACKS] = {
		{ .fn = vws_bench_raw_syscalls_loop, .iterations = o->thread_iterations },
		{ .fn = vws_bench_raw_ioctls_loop, .iterations = o->thread_iterations },
		{ .fn = vws_bench_winsys_loop, .iterations = o->thread_iterations },
		{ .fn = vws_bench_cpu_loop, .iterations = 10 * o->thread_iterations },
		{ .fn = vws_bench_raw_create_loop, .iterations = 10 * o->thread_iterations },
		{ .fn = vws_bench_winsys_create_loop, .iterations = 10 * o->thread_iterations },
	};
	int64_t futex[NUM_STACKS] = { 0 };
	struct vws_device *dev;
	char row[64];
	double rel;
	int ret;

	ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &dev);
	if (ret)
		return ret;
	for (int s = 0; s < NUM_STACKS; s++) {
		proto[s].futex_only = true;
		proto[s].dev = dev;
		/* the raw ioctls go to the winsys's own DRM file, as a second
		 * user of one device would */
		proto[s].fd = vws_device_get_fd(dev);
	}
	for (unsigned r = 0; r < rounds && !ret; r++) {
		for (int s = 0; s < NUM_STACKS && !ret; s++) {
			for (unsigned n = 1; n <= 2 && !ret; n++) {
				int64_t fx;
				uint64_t ns;

				vws_bench_progress(env, "[threads] round %u/%u: %s, %u thread%s", r + 1,
						   rounds, names[s], n, n > 1 ? "s" : "");
				ns = vws_bench_run_workers(&proto[s], n, NULL, NULL, &fx, &ret);
				ops[s][n - 1][r] = ns ? (double)n * proto[s].iterations * 1e9 / ns : 0;
				if (n == 2)
					futex[s] = fx < 0 || futex[s] < 0 ? -1 : futex[s] + fx;
			}
			up[s][r] = ops[s][0][r] ? ops[s][1][r] / ops[s][0][r] : 0;
		}
		if (env->model.host_drain)
			env->model.host_drain();
	}
	vws_bench_progress_done(env);
	vws_bench_close(env, dev);
	if (ret) {
		fprintf(stderr, "vws-bench: threads: %s\n", strerror(-ret));
		return ret;
	}
	vws_bench_note("threads", "each thread: %u x (allocate 64 KiB, map, write, free) on its own "
				  "objects, one shared device; %ld CPUs; median of %u interleaved rounds",
		       o->thread_iterations, sysconf(_SC_NPROCESSORS_ONLN), rounds);
	vws_bench_note("threads", "raw syscalls: memfd/mmap/write/munmap/close, no model, no winsys; "
				  "raw ioctls: CREATE_BLOB/MAP/mmap/munmap/GEM_CLOSE on the DRM fd%s",
		       env->on_model ? " (the kernel model)" : "");
	vws_bench_note("threads", "no map: %u x (allocate, free) per thread; baseline: malloc, 32 "
				  "stores, free", 10 * o->thread_iterations);
	vws_bench_note("threads", "futex calls: lock waits and wakes (kernel tracepoint), all "
				  "rounds of the 2-thread runs, per object life");
	for (int s = 0; s < NUM_STACKS; s++) {
		snprintf(row, sizeof(row), "%s, 1 thread", names[s]);
		vws_bench_single("threads", row, "throughput", "ops/s",
				 vws_bench_median(ops[s][0], rounds));
		snprintf(row, sizeof(row), "%s, 2 threads", names[s]);
		vws_bench_single("threads", row, "throughput", "ops/s",
				 vws_bench_median(ops[s][1], rounds));
		snprintf(row, sizeof(row), "%s 2 vs 1", names[s]);
		vws_bench_single("threads", row, "speed-up", "x", vws_bench_median(up[s], rounds));
		/* a thread waiting for the other's lock: what serialises them,
		 * seen even when the machine has no second CPU to give */
		snprintf(row, sizeof(row), "%s, 2 threads", names[s]);
		vws_bench_single("threads", row, "futex calls per op", "",
				 futex[s] < 0 ? NAN : (double)futex[s] / ((double)rounds * 2 *
									   proto[s].iterations));
	}
	for (int s = 0; s < 3; s++)
		env->thread_speedup[s] = vws_bench_median(up[s], rounds);
	rel = env->thread_speedup[STACK_WINSYS] / env->thread_speedup[STACK_SYSCALLS];
	vws_bench_single("threads", "winsys vs raw syscalls", "speed-up ratio", "x", rel);
	vws_bench_target(env, "create/map/free, 2 threads: winsys speed-up vs raw syscalls' (x)", rel,
			 ">=", 0.9);
	vws_bench_single("threads", "raw ioctls vs raw syscalls", "speed-up ratio", "x",
			 env->thread_speedup[STACK_IOCTLS] / env->thread_speedup[STACK_SYSCALLS]);
	return 0;
}

enum { CACHED_BASE_1, CACHED_BASE_2, CACHED_OWN_1, CACHED_OWN_2, CACHED_SHARED_2, NUM_CACHED };

int vws_bench_cached(struct vws_bench_env *env)
{
	static const char *const names[NUM_CACHED] = {
		"baseline, 1 thread", "baseline, 2 threads", "winsys, 1 thread",
		"winsys, 2 threads own", "winsys, 2 threads shared",
	};
	const struct vws_bench_opts *o = env->o;
	unsigned rounds = o->rounds < VWS_BENCH_MAX_ROUNDS ? o->rounds : VWS_BENCH_MAX_ROUNDS;
	double ns_call[NUM_CACHED][VWS_BENCH_MAX_ROUNDS], up_base[VWS_BENCH_MAX_ROUNDS];
	double up_own[VWS_BENCH_MAX_ROUNDS], up_shared[VWS_BENCH_MAX_ROUNDS];
	int64_t sys[NUM_CACHED] = { 0 };
	struct vws_bench_obj objs[3] = { 0 };
	struct vws_bo *own[2], *shared[2];
	void *own_ptr[2], *shared_ptr[2];
	struct vws_device *dev;
	double med[NUM_CACHED], own_up, shared_up, base_up, worst_sys;
	int ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &dev);

	if (ret)
		return ret;
	for (int i = 0; i < 3 && !ret; i++) {
		ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, 1 << 20, &objs[i]);
		if (!ret)
			ret = vws_bench_map(dev, VWS_BENCH_DEFERRED, &objs[i]);
	}
	for (int i = 0; i < 2; i++) {
		own[i] = objs[i].bo;
		own_ptr[i] = objs[i].ptr;
		shared[i] = objs[2].bo;
		shared_ptr[i] = objs[2].ptr;
	}
	for (unsigned r = 0; r < rounds && !ret; r++) {
		for (int c = 0; c < NUM_CACHED && !ret; c++) {
			struct vws_bench_worker proto = {
				.fn = c <= CACHED_BASE_2 ? vws_bench_baseline_loop : vws_bench_cached_loop,
				.iterations = o->steady_calls,
			};
			unsigned n = c == CACHED_BASE_1 || c == CACHED_OWN_1 ? 1 : 2;
			int64_t s;
			uint64_t ns;

			vws_bench_progress(env, "[cached] round %u/%u: %s", r + 1, rounds, names[c]);
			ns = vws_bench_run_workers(&proto, n, c == CACHED_SHARED_2 ? shared : own,
						   c == CACHED_SHARED_2 ? shared_ptr : own_ptr, &s, &ret);
			/* time per call as one thread sees it */
			ns_call[c][r] = (double)ns / o->steady_calls;
			sys[c] = s < 0 || sys[c] < 0 ? -1 : sys[c] + s;
		}
		up_base[r] = 2 * ns_call[CACHED_BASE_1][r] / ns_call[CACHED_BASE_2][r];
		up_own[r] = 2 * ns_call[CACHED_OWN_1][r] / ns_call[CACHED_OWN_2][r];
		up_shared[r] = 2 * ns_call[CACHED_OWN_1][r] / ns_call[CACHED_SHARED_2][r];
	}
	vws_bench_progress_done(env);
	for (int i = 0; i < 3; i++)
		vws_bench_free(&objs[i]);
	vws_bench_close(env, dev);
	if (ret) {
		fprintf(stderr, "vws-bench: cached: %s\n", strerror(-ret));
		return ret;
	}
	vws_bench_note("cached", "%u vws_bo_map calls per thread of an already-mapped 1 MiB object; "
				 "median of %u interleaved rounds; syscalls from the kernel's "
				 "raw_syscalls tracepoint per thread (each thread's first call, "
				 "which makes its copy of the device's counts, made before)%s",
		       o->steady_calls, rounds,
		       sys[0] < 0 ? " (unavailable here: not counted)" : "");
	vws_bench_note("cached", "baseline: a call of the same shape with nothing shared (what "
				 "two CPUs of this machine give now)");
	for (int c = 0; c < NUM_CACHED; c++) {
		med[c] = vws_bench_median(ns_call[c], rounds);
		vws_bench_single("cached", names[c], "time per call", "ns", med[c]);
	}
	base_up = vws_bench_median(up_base, rounds);
	own_up = vws_bench_median(up_own, rounds);
	shared_up = vws_bench_median(up_shared, rounds);
	vws_bench_single("cached", "baseline 2 vs 1", "speed-up", "x", base_up);
	vws_bench_single("cached", "own objects 2 vs 1", "speed-up", "x", own_up);
	vws_bench_single("cached", "shared object 2 vs 1", "speed-up", "x", shared_up);
	worst_sys = 0;
	for (int c = CACHED_OWN_1; c < NUM_CACHED; c++) {
		double per = sys[c] < 0 ? NAN :
			     (double)sys[c] / ((double)rounds * o->steady_calls *
					       (c == CACHED_OWN_1 ? 1 : 2));

		vws_bench_single("cached", names[c], "syscalls per call", "", per);
		if (isnan(per))
			worst_sys = NAN;
		else if (per > worst_sys)
			worst_sys = per;
	}
	vws_bench_target(env, "cached map, 2 threads on own objects vs 1 (x)", own_up, ">=", 1.8);
	vws_bench_target(env, "cached map, 2 threads on one object vs 1 (x)", shared_up, ">=", 1.6);
	vws_bench_target(env, "cached map syscalls per call, 1 and 2 threads", worst_sys, "<=", 0);
	env->cached_base_speedup = base_up;
	return 0;
}
