/* SPDX-License-Identifier: MIT */
/*
 * Workloads 1-3: window pressure, allocation cost, steady-state maps.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vws_bench.h"

#define NSTRAT VWS_BENCH_NUM_STRATEGIES

/* Maps objects evenly: object i is mapped when it crosses a multiple of
 * 1/f, so any prefix of the run has mapped about f of what it allocated. */
static bool vws_bench_selected(uint64_t i, double f)
{
	return floor((double)(i + 1) * f) > floor((double)i * f);
}

/* 1. How many objects fit, and what they hold, when a fraction is mapped. */
int vws_bench_window(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	struct vws_bench_obj *objs = calloc(o->objects, sizeof(*objs));

	if (!objs)
		return -ENOMEM;
	vws_bench_note("window", "%llu objects of %llu KiB (%.0f MiB) into a %llu MiB region%s",
		       (unsigned long long)o->objects, (unsigned long long)(o->size >> 10),
		       (double)(o->objects * o->size) / (1 << 20),
		       (unsigned long long)o->region_mib,
		       env->on_model ? "" : " (region size set by the host, not by us)");
	for (unsigned fi = 0; fi < o->num_fractions; fi++) {
		double f = o->fractions[fi];
		double allocs[NSTRAT], maps[NSTRAT], peak[NSTRAT], cmds[NSTRAT], held[NSTRAT];
		char row[32];

		for (int s = 0; s < NSTRAT; s++) {
			struct vws_device *dev;
			struct vws_bench_counts c0, c;
			uint64_t ok = 0, mapped = 0;
			int ret = vws_bench_open(env, s, o->region_mib, 0, &dev);

			if (ret) {
				free(objs);
				return ret;
			}
			vws_bench_counts(env, dev, &c0);
			for (uint64_t i = 0; i < o->objects; i++) {
				if (i % 64 == 0)
					vws_bench_progress(env, "[window] f=%g%% %s %llu/%llu",
							   f * 100, vws_bench_strategy_name(s),
							   (unsigned long long)i,
							   (unsigned long long)o->objects);
				if (vws_bench_alloc(dev, s, o->size, &objs[i]))
					continue;
				ok++;
				if (vws_bench_selected(i, f) && !vws_bench_map(dev, s, &objs[i]))
					mapped++;
				if (f == o->plot_fraction) {
					vws_bench_counts(env, dev, &c);
					vws_bench_series_point(s, i + 1, c.region_in_use);
				}
			}
			vws_bench_counts(env, dev, &c);
			allocs[s] = (double)ok;
			maps[s] = (double)mapped;
			held[s] = (double)c.region_in_use / (1 << 20);
			peak[s] = (double)c.region_peak / (1 << 20);
			cmds[s] = (double)(c.host_map_cmds - c0.host_map_cmds);
			for (uint64_t i = 0; i < o->objects; i++)
				vws_bench_free(&objs[i]);
			vws_bench_close(env, dev);
		}
		snprintf(row, sizeof(row), "mapped %g%%", f * 100);
		vws_bench_triple("window", row, "allocations ok", "", allocs);
		vws_bench_triple("window", row, "maps ok", "", maps);
		vws_bench_triple("window", row, "region held at end", "MiB", held);
		vws_bench_triple("window", row, "region peak", "MiB", peak);
		vws_bench_triple("window", row, "host map commands", "", cmds);
	}
	vws_bench_progress_done(env);
	free(objs);
	return 0;
}

/* 2. allocate / first map / free cycles with a host that takes time. */
int vws_bench_alloc_cost(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	const uint64_t sizes[2] = { o->small_size, o->large_size };

	vws_bench_note("alloc", "%u cycles per size; host map latency %llu us%s", o->alloc_cycles,
		       (unsigned long long)o->latency_us,
		       env->on_model ? " (model)" : " (the real host's, not set by us)");
	for (int z = 0; z < 2; z++) {
		double t_alloc[NSTRAT], t_map[NSTRAT], t_free[NSTRAT];
		char row[32];

		for (int s = 0; s < NSTRAT; s++) {
			struct vws_device *dev;
			uint64_t a = 0, m = 0, fr = 0;
			unsigned done = 0;
			int ret = vws_bench_open(env, s, 0, o->latency_us, &dev);

			if (ret)
				return ret;
			for (unsigned i = 0; i < o->alloc_cycles; i++) {
				struct vws_bench_obj obj;
				uint64_t t0, t1, t2, t3;

				if (i % 16 == 0)
					vws_bench_progress(env, "[alloc] %llu KiB %s %u/%u",
							   (unsigned long long)(sizes[z] >> 10),
							   vws_bench_strategy_name(s), i, o->alloc_cycles);
				t0 = vws_bench_now_ns();
				if (vws_bench_alloc(dev, s, sizes[z], &obj))
					continue;
				t1 = vws_bench_now_ns();
				if (vws_bench_map(dev, s, &obj)) {
					vws_bench_free(&obj);
					continue;
				}
				t2 = vws_bench_now_ns();
				vws_bench_free(&obj);
				t3 = vws_bench_now_ns();
				a += t1 - t0;
				m += t2 - t1;
				fr += t3 - t2;
				done++;
			}
			vws_bench_close(env, dev);
			t_alloc[s] = done ? (double)a / done / 1000.0 : NAN;
			t_map[s] = done ? (double)m / done / 1000.0 : NAN;
			t_free[s] = done ? (double)fr / done / 1000.0 : NAN;
		}
		snprintf(row, sizeof(row), "%llu KiB objects", (unsigned long long)(sizes[z] >> 10));
		vws_bench_triple("alloc", row, "allocate", "us", t_alloc);
		vws_bench_triple("alloc", row, "first map", "us", t_map);
		vws_bench_triple("alloc", row, "free", "us", t_free);
		{
			double sum[NSTRAT];

			for (int s = 0; s < NSTRAT; s++)
				sum[s] = t_alloc[s] + t_map[s];
			vws_bench_triple("alloc", row, "allocate + first map", "us", sum);
		}
	}
	vws_bench_progress_done(env);
	return 0;
}

/* 3. Maps of memory that is already mapped: must cost no syscall. */
int vws_bench_steady(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	double t_call[NSTRAT], sys_call[NSTRAT];

	for (int s = 0; s < NSTRAT; s++) {
		struct vws_device *dev;
		struct vws_bench_obj obj;
		struct vws_bench_counts c0, c1;
		uint64_t t0, t1;
		int ret = vws_bench_open(env, s, 0, 0, &dev);

		if (ret)
			return ret;
		ret = vws_bench_alloc(dev, s, 1 << 20, &obj);
		if (!ret)
			ret = vws_bench_map(dev, s, &obj);
		if (ret) {
			vws_bench_free(&obj);
			vws_bench_close(env, dev);
			return ret;
		}
		vws_bench_progress(env, "[steady] %s", vws_bench_strategy_name(s));
		vws_bench_counts(env, dev, &c0);
		t0 = vws_bench_now_ns();
		for (unsigned i = 0; i < o->steady_calls; i++) {
			void *p;

			/* vkMapMemory of mapped memory, then vkUnmapMemory, which
			 * keeps the mapping: one winsys map call per pair. */
			if (vws_bo_map(obj.bo, &p) || p != obj.ptr) {
				fprintf(stderr, "vws-bench: steady map changed the pointer\n");
				ret = -EIO;
				break;
			}
		}
		t1 = vws_bench_now_ns();
		vws_bench_counts(env, dev, &c1);
		vws_bench_free(&obj);
		vws_bench_close(env, dev);
		if (ret)
			return ret;
		t_call[s] = (double)(t1 - t0) / o->steady_calls;
		sys_call[s] = (double)(c1.syscalls - c0.syscalls) / o->steady_calls;
	}
	vws_bench_progress_done(env);
	vws_bench_note("steady", "%u map calls of an already-mapped 1 MiB object", o->steady_calls);
	vws_bench_triple("steady", "map (cached)", "time per call", "ns", t_call);
	vws_bench_triple("steady", "map (cached)", "syscalls per call", "", sys_call);
	env->steady_syscalls = 0;
	for (int s = 0; s < NSTRAT; s++)
		if (sys_call[s] > env->steady_syscalls)
			env->steady_syscalls = sys_call[s];
	return 0;
}
