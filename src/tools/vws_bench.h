/* SPDX-License-Identifier: MIT */
/*
 * vws-bench: what deferred mapping saves, measured side by side.
 *
 * Three strategies allocate "device-local host-visible" memory:
 *  - eager:     blob at allocation, no hint: the kernel maps at creation;
 *  - lazy-blob: no blob until the first map, then create + map (Venus today);
 *  - deferred:  blob at allocation with the defer hint, kernel maps on first
 *               map (this project).
 * Each workload runs all three in one process and reports them side by
 * side. On the kernel model the model is reset between runs and its
 * counters are read; on a real device the winsys's own counters are used.
 */
#ifndef VWS_BENCH_H
#define VWS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vws/vws.h"
#include "vws_tool_model.h"

/* The model's host latencies for the alloc workload, calibrated on the
 * real host (docs/performance.md, "Host latencies"). */
#define VWS_BENCH_MAP_LATENCY_US 0
#define VWS_BENCH_CREATE_LATENCY_US 95

enum vws_bench_strategy {
	VWS_BENCH_EAGER,
	VWS_BENCH_LAZY,
	VWS_BENCH_DEFERRED,
	VWS_BENCH_NUM_STRATEGIES,
};

struct vws_bench_opts {
	unsigned workloads;            /* bit per workload, 1 << VWS_BENCH_W_* */
	const char *device;            /* NULL: scan, or the model */
	uint64_t objects;              /* window: N */
	uint64_t size;                 /* window: S bytes */
	uint64_t region_mib;           /* window: R (model only) */
	double fractions[8];
	unsigned num_fractions;
	double plot_fraction;          /* the fraction whose series is plotted */
	uint64_t latency_us;           /* alloc: host map latency (model only) */
	uint64_t create_latency_us;    /* alloc: host creation latency (model only) */
	unsigned alloc_cycles;
	uint64_t small_size, large_size;
	unsigned steady_calls;
	uint64_t scale_sizes[4];
	unsigned num_scale_sizes;
	unsigned scale_sample;
	unsigned thread_iterations;
	unsigned overhead_iterations;
	unsigned rounds;               /* threads, cached: interleaved rounds */
	uint64_t budget_sizes[2];      /* budget: allocation counts compared */
	uint64_t memory_objects;       /* memory: live objects measured */
	bool callgrind;                /* overhead: instruction counts too */
	bool json;
	const char *json_file;         /* also write the JSON there */
	const char *plot;              /* PNG path or NULL */
	bool progress;                 /* stderr is a terminal */
};

enum {
	VWS_BENCH_W_WINDOW,
	VWS_BENCH_W_ALLOC,
	VWS_BENCH_W_STEADY,
	VWS_BENCH_W_SCALE,
	VWS_BENCH_W_THREADS,
	VWS_BENCH_W_CACHED,
	VWS_BENCH_W_OVERHEAD,
	VWS_BENCH_W_MEMORY,
	VWS_BENCH_W_BUDGET,
	VWS_BENCH_NUM_WORKLOADS,
};

/* One memory object of a strategy: lazy-blob objects have no bo until mapped. */
struct vws_bench_obj {
	struct vws_bo *bo;
	uint64_t size;
	void *ptr;
};

struct vws_bench_env {
	const struct vws_bench_opts *o;
	struct vws_tool_model model;   /* members NULL on a real device */
	bool on_model;
	bool real_host;                /* the model forwards to a real host (vtest) */
	bool create_latency_set;       /* the model's creation latency is not 0 */
	const char *model_kernel;      /* generation the model runs */
	FILE *out;                     /* the table (stdout) */
	const char *argv0;             /* for re-running under callgrind */
	double steady_syscalls;        /* per cached map, worst strategy */
	double thread_speedup[3];      /* raw syscalls, raw ioctls, winsys */
	double cached_base_speedup;
	unsigned targets_missed;
};

/* --- strategies (vws_bench_strategy.c) --- */
const char *vws_bench_strategy_name(enum vws_bench_strategy s);
/* Opens a device for strategy s; on the model first resets it with the
 * given region size (MiB, 0 = default) and, with host_latency, the
 * options' host latencies (none otherwise, and none on a real host). */
int vws_bench_open(struct vws_bench_env *env, enum vws_bench_strategy s,
		   uint64_t region_mib, bool host_latency, struct vws_device **dev);
void vws_bench_close(struct vws_bench_env *env, struct vws_device *dev);
int vws_bench_alloc(struct vws_device *dev, enum vws_bench_strategy s, uint64_t size,
		    struct vws_bench_obj *obj);
int vws_bench_map(struct vws_device *dev, enum vws_bench_strategy s, struct vws_bench_obj *obj);
void vws_bench_free(struct vws_bench_obj *obj);

/* Counters that mean the same on the model and on a real device. */
struct vws_bench_counts {
	uint64_t region_in_use;   /* bytes of the host-visible region held now */
	uint64_t region_peak;
	uint64_t host_map_cmds;
	uint64_t syscalls;        /* ioctls + mmaps + munmaps the kernel saw */
};
void vws_bench_counts(struct vws_bench_env *env, struct vws_device *dev,
		      struct vws_bench_counts *c);

/* --- time --- */
uint64_t vws_bench_now_ns(void);
uint64_t vws_bench_cpu_ns(void);

/* --- raw baselines (vws_bench_raw.c) --- */
int vws_bench_raw_open(const struct vws_bench_env *env);
/* HOST3D, mappable, shareable, with the defer hint; -errno */
int vws_bench_raw_create(int fd, uint64_t size, uint32_t *handle);
/* MAP + mmap; NULL with errno */
void *vws_bench_raw_map(int fd, uint32_t handle, uint64_t size);
int vws_bench_raw_export(int fd, uint32_t handle, int *dmabuf);
int vws_bench_raw_import(int fd, int dmabuf, uint32_t *handle);
int vws_bench_raw_close(int fd, uint32_t handle);
/* The calling thread's syscalls (kernel tracepoint): an fd, or -errno
 * when it cannot be counted here. stop returns the count, -1 if none. */
int vws_bench_syscalls_open(void);
void vws_bench_syscalls_start(int fd);
int64_t vws_bench_syscalls_stop(int fd);
/* The same for futex calls only (lock waits and wakes); start with
 * vws_bench_syscalls_start. */
int vws_bench_futex_open(void);
int64_t vws_bench_futex_stop(int fd);
/* Median of v (sorts it); NAN for n = 0. */
double vws_bench_median(double *v, unsigned n);

/* --- workloads (vws_bench_work.c, _scale.c, _threads.c, _overhead.c,
 * _memory.c) --- */
int vws_bench_window(struct vws_bench_env *env);
int vws_bench_alloc_cost(struct vws_bench_env *env);
int vws_bench_steady(struct vws_bench_env *env);
int vws_bench_scale(struct vws_bench_env *env);
int vws_bench_threads(struct vws_bench_env *env);
int vws_bench_cached(struct vws_bench_env *env);
int vws_bench_overhead(struct vws_bench_env *env);
int vws_bench_memory(struct vws_bench_env *env);
int vws_bench_budget(struct vws_bench_env *env);

/* --- reporting (vws_bench_report.c) --- */
void vws_bench_progress(struct vws_bench_env *env, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vws_bench_progress_done(struct vws_bench_env *env);
/* Results are collected and printed at the end, as a table or JSON. A
 * "triple" has one value per strategy (printed side by side, with ratios
 * to eager); a "single" is one number (threads, overhead). */
void vws_bench_triple(const char *workload, const char *row, const char *metric,
		      const char *unit, const double v[VWS_BENCH_NUM_STRATEGIES]);
void vws_bench_single(const char *workload, const char *row, const char *metric,
		      const char *unit, double v);
void vws_bench_note(const char *workload, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vws_bench_series_point(enum vws_bench_strategy s, uint64_t allocs, uint64_t bytes);
/* A target of the issue: value against "<=" or ">=" limit; NAN is "not
 * measured here". Printed in the targets section and the JSON. */
void vws_bench_target(struct vws_bench_env *env, const char *name, double value,
		      const char *op, double limit);
void vws_bench_print(struct vws_bench_env *env);
int vws_bench_plot(struct vws_bench_env *env, const char *png);
void vws_bench_report_free(void);

#endif
