/* SPDX-License-Identifier: MIT */
/*
 * Workload "scale": the cost of each operation against the number of
 * live objects, for the winsys and for the raw ioctls beside it (on the
 * model, the model's own cost), so that growth in either is seen apart.
 *
 * For each count N, N unmapped objects are created and kept; then sampled
 * object lives run among them, alternating the two stacks: allocate,
 * first map, export, import (the same object back), free. Each step is
 * timed on its own and the median over the samples is reported: a timer
 * interrupt or a preemption on this shared machine moves a mean, not a
 * median.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vws_bench.h"

enum { OP_ALLOC, OP_MAP, OP_EXPORT, OP_IMPORT, OP_FREE, NUM_OPS };
static const char *const vws_bench_op_names[NUM_OPS] = {
	"allocate", "first map", "export", "import", "free",
};
enum { PATH_WINSYS, PATH_RAW, NUM_PATHS };
static const char *const vws_bench_path_names[NUM_PATHS] = { "winsys", "raw ioctls" };

#define VWS_BENCH_SCALE_SIZE 4096u

/* One winsys sample: a fresh object through its whole life. */
static int vws_bench_scale_winsys(struct vws_device *dev, double t[NUM_OPS])
{
	struct vws_bench_obj obj;
	struct vws_bo *imp = NULL;
	uint64_t t0, t1;
	int fd = -1, ret;

	t0 = vws_bench_now_ns();
	ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, VWS_BENCH_SCALE_SIZE, &obj);
	t1 = vws_bench_now_ns();
	if (ret)
		return ret;
	t[OP_ALLOC] = (double)(t1 - t0);
	ret = vws_bench_map(dev, VWS_BENCH_DEFERRED, &obj);
	t0 = vws_bench_now_ns();
	t[OP_MAP] = (double)(t0 - t1);
	if (!ret)
		ret = vws_bo_export_fd(obj.bo, &fd);
	t1 = vws_bench_now_ns();
	t[OP_EXPORT] = (double)(t1 - t0);
	if (!ret)
		ret = vws_bo_import_fd(dev, fd, VWS_BENCH_SCALE_SIZE, &imp);
	t0 = vws_bench_now_ns();
	t[OP_IMPORT] = (double)(t0 - t1);
	if (!ret && imp != obj.bo)
		ret = -EIO; /* one kernel object must be one winsys object */
	if (fd >= 0)
		close(fd);
	if (imp)
		vws_bo_unref(imp);
	vws_bench_free(&obj);
	t1 = vws_bench_now_ns();
	t[OP_FREE] = (double)(t1 - t0);
	return ret;
}

/* The same life as bare ioctls on the same DRM fd. */
static int vws_bench_scale_raw(int fd, double t[NUM_OPS])
{
	uint32_t h, h2 = 0;
	uint64_t t0, t1;
	void *p;
	int dmabuf = -1, ret;

	t0 = vws_bench_now_ns();
	ret = vws_bench_raw_create(fd, VWS_BENCH_SCALE_SIZE, &h);
	t1 = vws_bench_now_ns();
	if (ret)
		return ret;
	t[OP_ALLOC] = (double)(t1 - t0);
	p = vws_bench_raw_map(fd, h, VWS_BENCH_SCALE_SIZE);
	t0 = vws_bench_now_ns();
	t[OP_MAP] = (double)(t0 - t1);
	ret = p ? vws_bench_raw_export(fd, h, &dmabuf) : -errno;
	t1 = vws_bench_now_ns();
	t[OP_EXPORT] = (double)(t1 - t0);
	if (!ret)
		ret = vws_bench_raw_import(fd, dmabuf, &h2);
	t0 = vws_bench_now_ns();
	t[OP_IMPORT] = (double)(t0 - t1);
	if (!ret && h2 != h)
		ret = -EIO;
	if (dmabuf >= 0)
		close(dmabuf);
	if (p)
		munmap(p, VWS_BENCH_SCALE_SIZE);
	if (vws_bench_raw_close(fd, h) && !ret)
		ret = -EIO;
	t1 = vws_bench_now_ns();
	t[OP_FREE] = (double)(t1 - t0);
	return ret;
}

/* One round at one count: N live objects, then the samples; medians in
 * us into med[path][op]. */
static int vws_bench_scale_round(struct vws_bench_env *env, uint64_t n, double *samples,
				 double med[NUM_PATHS][NUM_OPS])
{
	const struct vws_bench_opts *o = env->o;
	struct vws_bench_obj *live = calloc(n, sizeof(*live));
	struct vws_device *dev;
	int ret, fd;

	if (!live)
		return -ENOMEM;
	ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &dev);
	if (ret) {
		free(live);
		return ret;
	}
	fd = vws_device_get_fd(dev);
	for (uint64_t i = 0; i < n && !ret; i++) {
		if (i % 1024 == 0)
			vws_bench_progress(env, "[scale] creating %llu/%llu live objects",
					   (unsigned long long)i, (unsigned long long)n);
		ret = vws_bench_alloc(dev, VWS_BENCH_DEFERRED, VWS_BENCH_SCALE_SIZE, &live[i]);
	}
	for (unsigned i = 0; i < o->scale_sample && !ret; i++) {
		double t[NUM_PATHS][NUM_OPS];

		if (i % 64 == 0)
			vws_bench_progress(env, "[scale] N=%llu sample %u/%u", (unsigned long long)n, i,
					   o->scale_sample);
		ret = (i & 1) ? vws_bench_scale_raw(fd, t[PATH_RAW]) :
				vws_bench_scale_winsys(dev, t[PATH_WINSYS]);
		if (!ret)
			ret = (i & 1) ? vws_bench_scale_winsys(dev, t[PATH_WINSYS]) :
					vws_bench_scale_raw(fd, t[PATH_RAW]);
		for (int p = 0; p < NUM_PATHS; p++)
			for (int op = 0; op < NUM_OPS; op++)
				samples[((size_t)p * NUM_OPS + op) * o->scale_sample + i] = t[p][op];
	}
	for (uint64_t i = 0; i < n; i++)
		vws_bench_free(&live[i]);
	free(live);
	vws_bench_close(env, dev);
	if (ret)
		return ret;
	for (int p = 0; p < NUM_PATHS; p++)
		for (int op = 0; op < NUM_OPS; op++)
			med[p][op] = vws_bench_median(samples + ((size_t)p * NUM_OPS + op) *
								o->scale_sample,
						      o->scale_sample) / 1000.0;
	return 0;
}

#define VWS_BENCH_SCALE_ROUNDS 3
#define VWS_BENCH_SCALE_MAX_SIZES 4

int vws_bench_scale(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	unsigned rounds = o->rounds < VWS_BENCH_SCALE_ROUNDS ? o->rounds : VWS_BENCH_SCALE_ROUNDS;
	double *samples = calloc((size_t)NUM_PATHS * NUM_OPS * o->scale_sample, sizeof(double));
	static double med[VWS_BENCH_SCALE_MAX_SIZES][VWS_BENCH_SCALE_ROUNDS][NUM_PATHS][NUM_OPS];
	double res[VWS_BENCH_SCALE_MAX_SIZES][NUM_PATHS][NUM_OPS];
	char row[48], metric[96];
	int ret = samples ? 0 : -ENOMEM;

	if (!rounds)
		rounds = 1;
	/* the counts one after the other, in rounds: a slow spell of this
	 * shared machine hits one round of one count, not the comparison */
	for (unsigned r = 0; r < rounds && !ret; r++)
		for (unsigned z = 0; z < o->num_scale_sizes && !ret; z++) {
			ret = vws_bench_scale_round(env, o->scale_sizes[z], samples, med[z][r]);
			if (ret)
				fprintf(stderr, "vws-bench: scale with %llu live objects: %s\n",
					(unsigned long long)o->scale_sizes[z], strerror(-ret));
		}
	vws_bench_progress_done(env);
	free(samples);
	if (ret)
		return ret;
	vws_bench_note("scale", "4 KiB objects; %u sampled lives per count, stack and round "
				"(allocate, map, export, import, free) among N live unmapped objects, the "
				"stacks alternating; the median over %u rounds of each round's median",
		       o->scale_sample, rounds);
	vws_bench_note("scale", "raw ioctls: the same life as bare ioctls on the winsys's DRM "
				"fd%s", env->on_model ? " (the kernel model's own cost)" : "");
	for (unsigned z = 0; z < o->num_scale_sizes; z++) {
		for (int p = 0; p < NUM_PATHS; p++) {
			snprintf(row, sizeof(row), "%llu live, %s",
				 (unsigned long long)o->scale_sizes[z], vws_bench_path_names[p]);
			for (int op = 0; op < NUM_OPS; op++) {
				double v[VWS_BENCH_SCALE_ROUNDS];

				for (unsigned r = 0; r < rounds; r++)
					v[r] = med[z][r][p][op];
				res[z][p][op] = vws_bench_median(v, rounds);
				vws_bench_single("scale", row, vws_bench_op_names[op], "us",
						 res[z][p][op]);
			}
		}
	}
	if (o->num_scale_sizes < 2)
		return 0;
	for (int p = 0; p < NUM_PATHS; p++) {
		unsigned last = o->num_scale_sizes - 1;
		double worst = 0;

		snprintf(row, sizeof(row), "%llu vs %llu, %s",
			 (unsigned long long)o->scale_sizes[last],
			 (unsigned long long)o->scale_sizes[0], vws_bench_path_names[p]);
		for (int op = 0; op < NUM_OPS; op++) {
			double g = res[0][p][op] > 0 ? res[last][p][op] / res[0][p][op] : NAN;

			vws_bench_single("scale", row, vws_bench_op_names[op], "x (growth)", g);
			if (g > worst)
				worst = g;
		}
		snprintf(metric, sizeof(metric), "per-op cost growth, most vs fewest live, %s (x)",
			 p == PATH_RAW ? (env->on_model ? "model (raw ioctls)" : "kernel (raw ioctls)")
				       : "winsys");
		vws_bench_target(env, metric, worst, "<=", 1.2);
	}
	return 0;
}
