/* SPDX-License-Identifier: MIT */
/*
 * vws-bench: eager vs lazy-blob vs deferred, side by side.
 *
 * Runs on a virtio-gpu render node when there is one, otherwise re-executes
 * itself on the kernel model (generation "fixed", or --kernel), where it
 * also sets the region size and the host's map latency per workload.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vws_bench.h"

void vws_bench_cleanup_config(void);

static const char *const vws_bench_workload_names[VWS_BENCH_NUM_WORKLOADS] = {
	"window", "alloc", "steady", "scale", "threads", "cached", "overhead", "memory", "budget",
};

static void vws_bench_usage(FILE *f)
{
	fprintf(f,
		"usage: vws-bench [options]\n"
		"  --workload LIST     comma-separated: window,alloc,steady,scale,threads,\n"
		"                      cached,overhead,memory,budget, or all (default)\n"
		"  --objects N         window: objects to allocate (512)\n"
		"  --size BYTES        window: object size, K/M/G suffixes (1M)\n"
		"  --region MIB        window: host-visible region on the model (256)\n"
		"  --fractions LIST    window: fractions mapped (0,0.01,0.1,0.5,1)\n"
		"  --plot-fraction F   window: the fraction drawn by --plot (0.1)\n"
		"  --latency-us L      alloc: host MAP_BLOB latency on the model (%u)\n"
		"  --create-latency-us L  alloc: host creation latency on the model (%u)\n"
		"  --cycles N          alloc: cycles per size and strategy (200)\n"
		"  --steady-calls N    steady: map calls (1000000)\n"
		"  --scale LIST        scale: live object counts (1000,10000,100000)\n"
		"  --scale-sample N    scale: sampled object lives per count (1000)\n"
		"  --thread-iters N    threads: iterations per thread (5000)\n"
		"  --rounds N          threads, cached: interleaved rounds (5)\n"
		"  --overhead-iters N  overhead: lives per path (20000)\n"
		"  --no-callgrind      overhead: no instruction counts (valgrind)\n"
		"  --memory-objects N  memory: live objects measured (10000)\n"
		"  --budget LIST       budget: two allocation counts (1000,100000)\n"
		"  --quick             small sizes for a smoke run\n"
		"  --device PATH       render node (default: scan, else the model)\n"
		"  --model             run on the kernel model even if a device exists\n"
		"  --kernel GEN        model generation for the run (fixed)\n"
		"  --json              JSON instead of the table\n"
		"  --json-file PATH    the JSON written there too\n"
		"  --plot FILE.png     draw region held vs allocations (gnuplot)\n"
		"  --help\n", VWS_BENCH_MAP_LATENCY_US, VWS_BENCH_CREATE_LATENCY_US);
}

static int vws_bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end || !v)
		return -EINVAL;
	*out = v;
	return 0;
}

static int vws_bench_parse_list(const char *s, double *out, unsigned max, unsigned *n)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		double v = strtod(t, &end);

		if (*end || end == t || *n == max || v < 0 || v > 1e9)
			return -EINVAL;
		out[(*n)++] = v;
	}
	return *n ? 0 : -EINVAL;
}

struct vws_bench_cli {
	struct vws_bench_opts o;
	bool force_model;
	const char *kernel;
};

static int vws_bench_parse(int argc, char **argv, struct vws_bench_cli *c)
{
	enum { O_WORKLOAD = 256, O_OBJECTS, O_SIZE, O_REGION, O_FRACTIONS, O_PLOT_FRACTION,
	       O_LATENCY, O_CYCLES, O_STEADY, O_SCALE, O_SCALE_SAMPLE, O_THREAD_ITERS,
	       O_OVERHEAD_ITERS, O_QUICK, O_DEVICE, O_MODEL, O_KERNEL, O_JSON, O_PLOT,
	       O_CREATE_LATENCY, O_ROUNDS, O_NO_CALLGRIND, O_MEMORY_OBJECTS, O_BUDGET,
	       O_JSON_FILE };
	static const struct option longopts[] = {
		{ "workload", required_argument, NULL, O_WORKLOAD },
		{ "objects", required_argument, NULL, O_OBJECTS },
		{ "size", required_argument, NULL, O_SIZE },
		{ "region", required_argument, NULL, O_REGION },
		{ "fractions", required_argument, NULL, O_FRACTIONS },
		{ "plot-fraction", required_argument, NULL, O_PLOT_FRACTION },
		{ "latency-us", required_argument, NULL, O_LATENCY },
		{ "cycles", required_argument, NULL, O_CYCLES },
		{ "steady-calls", required_argument, NULL, O_STEADY },
		{ "scale", required_argument, NULL, O_SCALE },
		{ "scale-sample", required_argument, NULL, O_SCALE_SAMPLE },
		{ "thread-iters", required_argument, NULL, O_THREAD_ITERS },
		{ "overhead-iters", required_argument, NULL, O_OVERHEAD_ITERS },
		{ "create-latency-us", required_argument, NULL, O_CREATE_LATENCY },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "no-callgrind", no_argument, NULL, O_NO_CALLGRIND },
		{ "memory-objects", required_argument, NULL, O_MEMORY_OBJECTS },
		{ "budget", required_argument, NULL, O_BUDGET },
		{ "json-file", required_argument, NULL, O_JSON_FILE },
		{ "quick", no_argument, NULL, O_QUICK },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "model", no_argument, NULL, O_MODEL },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "json", no_argument, NULL, O_JSON },
		{ "plot", required_argument, NULL, O_PLOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vws_bench_opts *o = &c->o;
	double list[8];
	unsigned n;
	uint64_t v;
	int opt;

	*o = (struct vws_bench_opts){
		.workloads = (1u << VWS_BENCH_NUM_WORKLOADS) - 1,
		.objects = 512, .size = 1 << 20, .region_mib = 256,
		.fractions = { 0, 0.01, 0.1, 0.5, 1 }, .num_fractions = 5, .plot_fraction = 0.1,
		.latency_us = VWS_BENCH_MAP_LATENCY_US, .create_latency_us = VWS_BENCH_CREATE_LATENCY_US,
		.alloc_cycles = 200,
		.small_size = 64 << 10, .large_size = 16 << 20,
		.steady_calls = 1000000,
		.scale_sizes = { 1000, 10000, 100000 }, .num_scale_sizes = 3, .scale_sample = 1000,
		.thread_iterations = 5000, .overhead_iterations = 20000, .rounds = 5,
		.budget_sizes = { 1000, 100000 }, .memory_objects = 10000, .callgrind = true,
		.progress = isatty(STDERR_FILENO),
	};
	c->kernel = "fixed";
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_WORKLOAD: {
			char buf[128], *save = NULL;

			snprintf(buf, sizeof(buf), "%s", optarg);
			o->workloads = 0;
			for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				unsigned w;

				if (!strcmp(t, "all")) {
					o->workloads = (1u << VWS_BENCH_NUM_WORKLOADS) - 1;
					continue;
				}
				for (w = 0; w < VWS_BENCH_NUM_WORKLOADS; w++)
					if (!strcmp(t, vws_bench_workload_names[w]))
						break;
				if (w == VWS_BENCH_NUM_WORKLOADS) {
					fprintf(stderr, "vws-bench: unknown workload '%s'\n", t);
					return -1;
				}
				o->workloads |= 1u << w;
			}
			break;
		}
		case O_OBJECTS: case O_REGION: case O_CYCLES: case O_STEADY: case O_SCALE_SAMPLE:
		case O_THREAD_ITERS: case O_OVERHEAD_ITERS: case O_LATENCY: case O_CREATE_LATENCY:
		case O_ROUNDS: case O_MEMORY_OBJECTS:
			if ((opt == O_LATENCY || opt == O_CREATE_LATENCY) && !strcmp(optarg, "0")) {
				if (opt == O_LATENCY)
					o->latency_us = 0;
				else
					o->create_latency_us = 0;
				break;
			}
			if (vws_bench_parse_size(optarg, &v) || v > (1u << 30)) {
				fprintf(stderr, "vws-bench: bad number '%s'\n", optarg);
				return -1;
			}
			if (opt == O_OBJECTS) o->objects = v;
			else if (opt == O_REGION) o->region_mib = v;
			else if (opt == O_CYCLES) o->alloc_cycles = (unsigned)v;
			else if (opt == O_STEADY) o->steady_calls = (unsigned)v;
			else if (opt == O_SCALE_SAMPLE) o->scale_sample = (unsigned)v;
			else if (opt == O_THREAD_ITERS) o->thread_iterations = (unsigned)v;
			else if (opt == O_OVERHEAD_ITERS) o->overhead_iterations = (unsigned)v;
			else if (opt == O_CREATE_LATENCY) o->create_latency_us = v;
			else if (opt == O_ROUNDS) o->rounds = (unsigned)v;
			else if (opt == O_MEMORY_OBJECTS) o->memory_objects = v;
			else o->latency_us = v;
			break;
		case O_NO_CALLGRIND: o->callgrind = false; break;
		case O_BUDGET:
			if (vws_bench_parse_list(optarg, list, 2, &n) || n != 2 || list[0] < 1 ||
			    list[1] < 1 || list[0] > 1e6 || list[1] > 1e6) {
				fprintf(stderr, "vws-bench: --budget N,M (1..1000000)\n");
				return -1;
			}
			o->budget_sizes[0] = (uint64_t)list[0];
			o->budget_sizes[1] = (uint64_t)list[1];
			break;
		case O_SIZE:
			if (vws_bench_parse_size(optarg, &o->size)) {
				fprintf(stderr, "vws-bench: bad size '%s'\n", optarg);
				return -1;
			}
			break;
		case O_FRACTIONS:
			if (vws_bench_parse_list(optarg, o->fractions, 8, &o->num_fractions)) {
				fprintf(stderr, "vws-bench: bad fraction list '%s'\n", optarg);
				return -1;
			}
			for (unsigned i = 0; i < o->num_fractions; i++)
				if (o->fractions[i] > 1) {
					fprintf(stderr, "vws-bench: fractions are 0..1\n");
					return -1;
				}
			break;
		case O_PLOT_FRACTION:
			if (vws_bench_parse_list(optarg, list, 1, &n) || list[0] > 1) {
				fprintf(stderr, "vws-bench: bad fraction '%s'\n", optarg);
				return -1;
			}
			o->plot_fraction = list[0];
			break;
		case O_SCALE:
			if (vws_bench_parse_list(optarg, list, 4, &n)) {
				fprintf(stderr, "vws-bench: bad list '%s'\n", optarg);
				return -1;
			}
			for (unsigned i = 0; i < n; i++) {
				if (list[i] < 1 || list[i] > 1e6) {
					fprintf(stderr, "vws-bench: scale counts are 1..1000000\n");
					return -1;
				}
				o->scale_sizes[i] = (uint64_t)list[i];
			}
			o->num_scale_sizes = n;
			break;
		case O_QUICK:
			o->objects = 64; o->size = 1 << 20; o->region_mib = 32;
			o->alloc_cycles = 20; o->large_size = 4 << 20;
			o->steady_calls = 10000;
			o->scale_sizes[0] = 100; o->scale_sizes[1] = 1000; o->num_scale_sizes = 2;
			o->scale_sample = 100;
			o->thread_iterations = 300; o->overhead_iterations = 500; o->rounds = 1;
			o->budget_sizes[0] = 100; o->budget_sizes[1] = 1000; o->memory_objects = 500;
			o->callgrind = false;
			break;
		case O_DEVICE: o->device = optarg; break;
		case O_MODEL: c->force_model = true; break;
		case O_KERNEL:
			if (strcmp(optarg, "legacy") && strcmp(optarg, "v1") && strcmp(optarg, "v2") &&
			    strcmp(optarg, "fixed")) {
				fprintf(stderr, "vws-bench: --kernel legacy|v1|v2|fixed\n");
				return -1;
			}
			c->kernel = optarg;
			c->force_model = true;
			break;
		case O_JSON: o->json = true; break;
		case O_JSON_FILE: o->json_file = optarg; break;
		case O_PLOT: o->plot = optarg; break;
		case 'h':
			vws_bench_usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vws-bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (c->force_model && o->device) {
		fprintf(stderr, "vws-bench: --device and --model/--kernel exclude each other\n");
		return -1;
	}
	return 0;
}

/* 100k live objects need more fds than the default soft limit on the
 * model (and dma-buf exports do on any kernel). */
static void vws_bench_raise_fd_limit(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

static void vws_bench_targets(struct vws_bench_env *env)
{
	if (!isnan(env->steady_syscalls))
		vws_bench_target(env, "cached map syscalls per call, 1 thread, every strategy",
				 env->steady_syscalls, "<=", 0);
}

int main(int argc, char **argv)
{
	struct vws_bench_cli c;
	struct vws_bench_env env = {
		.out = stdout,
		.steady_syscalls = NAN,
		.thread_speedup = { NAN, NAN, NAN },
		.cached_base_speedup = NAN,
	};
	const char *marker = vws_tool_marker_path(VWS_TOOL_MODEL_ENV, NULL);
	int (*const run[VWS_BENCH_NUM_WORKLOADS])(struct vws_bench_env *) = {
		vws_bench_window, vws_bench_alloc_cost, vws_bench_steady,
		vws_bench_scale, vws_bench_threads, vws_bench_cached,
		vws_bench_overhead, vws_bench_memory, vws_bench_budget,
	};
	int ret = 0;

	if (vws_bench_parse(argc, argv, &c)) {
		vws_bench_usage(stderr);
		return 2;
	}
	env.o = &c.o;
	/* The strategies stand for fixed policies: no override from outside. */
	unsetenv("VWS_DEFER");

	if (!marker && !vws_tool_model_lookup(&env.model)) {
		bool need_model = c.force_model;

		if (!need_model) {
			struct vws_device_create_info ci = { .path = c.o.device };
			struct vws_device *dev;

			/* Is there a virtio-gpu node at all? */
			ret = vws_device_create(&ci, &dev);
			if (ret == -ENODEV && !c.o.device) {
				need_model = true;
			} else if (ret) {
				fprintf(stderr, "vws-bench: cannot open the device: %s\n",
					strerror(-ret));
				return 1;
			} else {
				vws_device_unref(dev);
			}
			ret = 0;
		}
		if (need_model) {
			const char *model = vws_tool_find_model(VWS_BENCH_SHIM_BUILD,
								VWS_BENCH_SHIM_INSTALLED);

			if (!model) {
				fprintf(stderr, "vws-bench: no virtio-gpu device and no kernel "
						"model (set VWS_SHIM_PATH)\n");
				return 1;
			}
			if (!c.force_model)
				fprintf(stderr, "vws-bench: no virtio-gpu render node: running on "
						"the kernel model (%s)\n", model);
			vws_tool_reexec_on_model("vws-bench", argv, model, c.kernel);
			return 1;
		}
	}
	env.on_model = vws_tool_model_lookup(&env.model);
	env.argv0 = argv[0];
	if (env.on_model) {
		const char *k = getenv("VGSHIM_KERNEL"), *sock = getenv("VGSHIM_VTEST_SOCKET");

		env.real_host = sock && sock[0];
		env.model_kernel = k && k[0] ? k : "fixed";
		if (!env.model.configure || !env.model.host_drain) {
			fprintf(stderr, "vws-bench: the kernel model lacks its test API\n");
			return 1;
		}
	}
	vws_bench_raise_fd_limit();
	fprintf(stderr, "vws-bench: on %s%s%s%s\n", env.on_model ? "the kernel model, generation " :
		"a real virtio-gpu device", env.on_model ? env.model_kernel : "",
		env.real_host ? ", real host over vtest" : "", c.o.device ? c.o.device : "");

	for (unsigned w = 0; w < VWS_BENCH_NUM_WORKLOADS && !ret; w++) {
		if (!(c.o.workloads & (1u << w)))
			continue;
		if (!c.o.progress)
			fprintf(stderr, "vws-bench: %s\n", vws_bench_workload_names[w]);
		ret = run[w](&env);
		if (ret)
			fprintf(stderr, "vws-bench: workload %s failed: %s\n",
				vws_bench_workload_names[w], strerror(-ret));
	}
	vws_bench_targets(&env);
	vws_bench_print(&env);
	if (!ret && c.o.plot && (c.o.workloads & (1u << VWS_BENCH_W_WINDOW)))
		ret = vws_bench_plot(&env, c.o.plot);
	vws_bench_report_free();
	vws_bench_cleanup_config();
	if (ret)
		return 1;
	/* A cached map that makes a syscall is a bug, not a slow machine;
	 * other targets are measurements, reported, not an exit status. */
	return env.steady_syscalls > 0 ? 3 : 0;
}
