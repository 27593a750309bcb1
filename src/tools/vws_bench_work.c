/* SPDX-License-Identifier: MIT */
/*
 * Workloads 1-3: window pressure, allocation cost, steady-state maps.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
			int ret = vws_bench_open(env, s, o->region_mib, false, &dev);

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

/* Times one strategy's first maps right after allocating (cycles of
 * allocate, map, free) and long after (a batch allocated, the host given
 * time to finish, then mapped): medians in us. */
static int vws_bench_alloc_one(struct vws_bench_env *env, enum vws_bench_strategy s, uint64_t size,
			       double out[5])
{
	const struct vws_bench_opts *o = env->o;
	/* a batch takes at most half the region: every strategy fits it */
	unsigned cycles = o->alloc_cycles, batch = (unsigned)((o->region_mib << 19) / size);
	double *t = calloc((size_t)cycles * 5, sizeof(*t));
	struct vws_bench_obj *objs = calloc(cycles, sizeof(*objs));
	struct vws_device *dev;
	unsigned done = 0;
	int ret = !t || !objs ? -ENOMEM : 0;

	if (!ret)
		ret = vws_bench_open(env, s, o->region_mib, true, &dev);
	if (ret) {
		free(t);
		free(objs);
		return ret;
	}
	batch = batch ? (batch < cycles ? batch : cycles) : 1;
	/* right after: allocate, map, free */
	for (unsigned i = 0; i < cycles && !ret; i++) {
		struct vws_bench_obj obj;
		uint64_t t0, t1, t2, t3;

		if (i % 16 == 0)
			vws_bench_progress(env, "[alloc] %llu KiB %s %u/%u",
					   (unsigned long long)(size >> 10),
					   vws_bench_strategy_name(s), i, cycles);
		t0 = vws_bench_now_ns();
		ret = vws_bench_alloc(dev, s, size, &obj);
		t1 = vws_bench_now_ns();
		if (!ret)
			ret = vws_bench_map(dev, s, &obj);
		t2 = vws_bench_now_ns();
		vws_bench_free(&obj);
		t3 = vws_bench_now_ns();
		t[i] = (double)(t1 - t0);
		t[cycles + i] = (double)(t2 - t1);
		t[2 * cycles + i] = (double)(t3 - t2);
	}
	/* long after: the host has finished creating (and, for eager,
	 * mapping) before the application maps */
	while (done < cycles && !ret) {
		unsigned b = cycles - done < batch ? cycles - done : batch;
		struct timespec pause = { 0, 0 };
		uint64_t wait_us = env->real_host ? 1000 :
				   o->latency_us + o->create_latency_us + 1000;

		vws_bench_progress(env, "[alloc] %llu KiB %s, mapped later %u/%u",
				   (unsigned long long)(size >> 10), vws_bench_strategy_name(s), done,
				   cycles);
		for (unsigned i = 0; i < b && !ret; i++)
			ret = vws_bench_alloc(dev, s, size, &objs[i]);
		pause.tv_sec = (time_t)(wait_us / 1000000);
		pause.tv_nsec = (long)(wait_us % 1000000) * 1000;
		nanosleep(&pause, NULL);
		for (unsigned i = 0; i < b && !ret; i++) {
			uint64_t t0 = vws_bench_now_ns();

			ret = vws_bench_map(dev, s, &objs[i]);
			t[3 * cycles + done + i] = (double)(vws_bench_now_ns() - t0);
		}
		for (unsigned i = 0; i < b; i++)
			vws_bench_free(&objs[i]);
		done += b;
	}
	vws_bench_close(env, dev);
	for (int k = 0; k < 4 && !ret; k++)
		out[k] = vws_bench_median(t + (size_t)k * cycles, cycles) / 1000.0;
	free(t);
	free(objs);
	return ret;
}

/* 2. allocate / first map / free with a host that takes time: lazy-blob
 * creates at the first map, deferred at allocation. */
int vws_bench_alloc_cost(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	const uint64_t sizes[2] = { o->small_size, o->large_size };

	if (env->real_host)
		vws_bench_note("alloc", "%u cycles per size; the real host's latencies (vtest "
					"server), the model adding none", o->alloc_cycles);
	else if (env->on_model)
		vws_bench_note("alloc", "%u cycles per size; host latency (model): MAP_BLOB %llu us, "
					"creation %llu us", o->alloc_cycles,
			       (unsigned long long)o->latency_us,
			       (unsigned long long)o->create_latency_us);
	else
		vws_bench_note("alloc", "%u cycles per size; the real host's latencies",
			       o->alloc_cycles);
	vws_bench_note("alloc", "medians; \"later\": a batch allocated, the host given time to "
				"finish its work, then each object mapped");
	for (int z = 0; z < 2; z++) {
		double r[NSTRAT][5], t_alloc[NSTRAT], t_map[NSTRAT], t_free[NSTRAT], t_later[NSTRAT];
		double sum[NSTRAT];
		char row[32];

		for (int s = 0; s < NSTRAT; s++) {
			int ret = vws_bench_alloc_one(env, s, sizes[z], r[s]);

			if (ret)
				return ret;
			t_alloc[s] = r[s][0];
			t_map[s] = r[s][1];
			t_free[s] = r[s][2];
			t_later[s] = r[s][3];
			sum[s] = t_alloc[s] + t_map[s];
		}
		snprintf(row, sizeof(row), "%llu KiB objects", (unsigned long long)(sizes[z] >> 10));
		vws_bench_triple("alloc", row, "allocate", "us", t_alloc);
		vws_bench_triple("alloc", row, "first map right after", "us", t_map);
		vws_bench_triple("alloc", row, "allocate + map right after", "us", sum);
		vws_bench_triple("alloc", row, "first map later", "us", t_later);
		vws_bench_triple("alloc", row, "free", "us", t_free);
	}
	vws_bench_progress_done(env);
	return 0;
}

/* 3. Maps of memory that is already mapped: must cost no syscall. */
int vws_bench_steady(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	double t_call[NSTRAT], sys_call[NSTRAT];
	bool traced = true;

	for (int s = 0; s < NSTRAT; s++) {
		struct vws_device *dev;
		struct vws_bench_obj obj;
		struct vws_bench_counts c0, c1;
		uint64_t t0, t1;
		int64_t sys;
		int sfd, ret = vws_bench_open(env, s, 0, false, &dev);

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
		sfd = vws_bench_syscalls_open();
		vws_bench_counts(env, dev, &c0);
		vws_bench_syscalls_start(sfd);
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
		sys = vws_bench_syscalls_stop(sfd);
		if (sfd >= 0)
			close(sfd);
		vws_bench_counts(env, dev, &c1);
		vws_bench_free(&obj);
		vws_bench_close(env, dev);
		if (ret)
			return ret;
		t_call[s] = (double)(t1 - t0) / o->steady_calls;
		if (sys < 0) {
			/* what the kernel (or its model) saw */
			traced = false;
			sys = (int64_t)(c1.syscalls - c0.syscalls);
		}
		sys_call[s] = (double)sys / o->steady_calls;
	}
	vws_bench_progress_done(env);
	vws_bench_note("steady", "%u map calls of an already-mapped 1 MiB object; syscalls: %s",
		       o->steady_calls, traced ? "all of the thread's (kernel tracepoint)" :
						 "ioctls, mmaps and munmaps the kernel saw");
	vws_bench_triple("steady", "map (cached)", "time per call", "ns", t_call);
	vws_bench_triple("steady", "map (cached)", "syscalls per call", "", sys_call);
	env->steady_syscalls = 0;
	for (int s = 0; s < NSTRAT; s++)
		if (sys_call[s] > env->steady_syscalls)
			env->steady_syscalls = sys_call[s];
	return 0;
}
