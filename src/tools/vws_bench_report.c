/* SPDX-License-Identifier: MIT */
/*
 * Result collection and output: the terminal table, --json and --plot.
 * Workloads only record numbers; nothing here measures anything.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vws_bench.h"

struct vws_bench_row {
	char workload[16];
	char row[48];
	char metric[48];
	char unit[40];
	bool triple;
	double v[VWS_BENCH_NUM_STRATEGIES];
};

struct vws_bench_point {
	uint64_t allocs, bytes;
};

struct vws_bench_goal {
	char name[96];
	char op[4];
	double value, limit;
	int met; /* 1 met, 0 missed, -1 not measured */
};

static struct {
	struct vws_bench_row *rows;
	size_t num_rows, cap_rows;
	char **notes; /* "workload\tnote" */
	size_t num_notes;
	struct vws_bench_point *series[VWS_BENCH_NUM_STRATEGIES];
	size_t num_points[VWS_BENCH_NUM_STRATEGIES];
	size_t cap_points[VWS_BENCH_NUM_STRATEGIES];
	struct vws_bench_goal goals[32];
	size_t num_goals;
	bool oom;
} vws_bench_res;

void vws_bench_target(struct vws_bench_env *env, const char *name, double value,
		      const char *op, double limit)
{
	struct vws_bench_goal *g;

	if (vws_bench_res.num_goals == sizeof(vws_bench_res.goals) / sizeof(vws_bench_res.goals[0]))
		return;
	g = &vws_bench_res.goals[vws_bench_res.num_goals++];
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->op, sizeof(g->op), "%s", op);
	g->value = value;
	g->limit = limit;
	if (isnan(value))
		g->met = -1;
	else
		g->met = !strcmp(op, "<=") ? value <= limit : value >= limit;
	if (g->met == 0)
		env->targets_missed++;
}

static const char *vws_bench_goal_status(const struct vws_bench_goal *g)
{
	return g->met < 0 ? "not measured" : g->met ? "met" : "MISSED";
}

static struct vws_bench_row *vws_bench_new_row(const char *workload, const char *row,
					       const char *metric, const char *unit)
{
	struct vws_bench_row *r;

	if (vws_bench_res.num_rows == vws_bench_res.cap_rows) {
		size_t cap = vws_bench_res.cap_rows ? vws_bench_res.cap_rows * 2 : 64;
		struct vws_bench_row *n = realloc(vws_bench_res.rows, cap * sizeof(*n));

		if (!n) {
			vws_bench_res.oom = true;
			return NULL;
		}
		vws_bench_res.rows = n;
		vws_bench_res.cap_rows = cap;
	}
	r = &vws_bench_res.rows[vws_bench_res.num_rows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->workload, sizeof(r->workload), "%s", workload);
	snprintf(r->row, sizeof(r->row), "%s", row);
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	return r;
}

void vws_bench_triple(const char *workload, const char *row, const char *metric,
		      const char *unit, const double v[VWS_BENCH_NUM_STRATEGIES])
{
	struct vws_bench_row *r = vws_bench_new_row(workload, row, metric, unit);

	if (!r)
		return;
	r->triple = true;
	memcpy(r->v, v, sizeof(r->v));
}

void vws_bench_single(const char *workload, const char *row, const char *metric,
		      const char *unit, double v)
{
	struct vws_bench_row *r = vws_bench_new_row(workload, row, metric, unit);

	if (r)
		r->v[0] = v;
}

void vws_bench_note(const char *workload, const char *fmt, ...)
{
	char buf[512];
	char **n;
	va_list ap;
	int len;

	len = snprintf(buf, sizeof(buf), "%s\t", workload);
	va_start(ap, fmt);
	vsnprintf(buf + len, sizeof(buf) - (size_t)len, fmt, ap);
	va_end(ap);
	n = realloc(vws_bench_res.notes, (vws_bench_res.num_notes + 1) * sizeof(*n));
	if (!n || !(n[vws_bench_res.num_notes] = strdup(buf))) {
		if (n)
			vws_bench_res.notes = n;
		vws_bench_res.oom = true;
		return;
	}
	vws_bench_res.notes = n;
	vws_bench_res.num_notes++;
}

void vws_bench_series_point(enum vws_bench_strategy s, uint64_t allocs, uint64_t bytes)
{
	size_t *num = &vws_bench_res.num_points[s], *cap = &vws_bench_res.cap_points[s];

	if (*num == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct vws_bench_point *p = realloc(vws_bench_res.series[s], c * sizeof(*p));

		if (!p) {
			vws_bench_res.oom = true;
			return;
		}
		vws_bench_res.series[s] = p;
		*cap = c;
	}
	vws_bench_res.series[s][(*num)++] = (struct vws_bench_point){ allocs, bytes };
}

void vws_bench_progress(struct vws_bench_env *env, const char *fmt, ...)
{
	va_list ap;

	if (!env->o->progress)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void vws_bench_progress_done(struct vws_bench_env *env)
{
	if (env->o->progress)
		fputs("\r\033[K", stderr);
}

static void vws_bench_fmt(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else if (v != 0 && (fabs(v) >= 1e7 || fabs(v) < 0.01))
		snprintf(buf, size, "%.3g", v);
	else if (v == floor(v))
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.2f", v);
}

static void vws_bench_ratio(char *buf, size_t size, double num, double den)
{
	if (isnan(num) || isnan(den) || den == 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.2fx", num / den);
}

static void vws_bench_print_table(struct vws_bench_env *env)
{
	FILE *f = env->out;
	const char *last = "";

	for (size_t i = 0; i < vws_bench_res.num_rows; i++) {
		const struct vws_bench_row *r = &vws_bench_res.rows[i];
		char a[32], b[32], c[32], d[32], e[32];

		if (strcmp(last, r->workload)) {
			last = r->workload;
			fprintf(f, "\n== %s\n", r->workload);
			for (size_t n = 0; n < vws_bench_res.num_notes; n++) {
				const char *t = strchr(vws_bench_res.notes[n], '\t');

				if (t && !strncmp(vws_bench_res.notes[n], r->workload,
						  (size_t)(t - vws_bench_res.notes[n])) &&
				    strlen(r->workload) == (size_t)(t - vws_bench_res.notes[n]))
					fprintf(f, "   %s\n", t + 1);
			}
			if (r->triple)
				fprintf(f, "   %-22s %-26s %12s %12s %12s %11s %11s\n", "", "",
					"eager", "lazy-blob", "deferred", "lazy/eager",
					"defer/eager");
		}
		if (r->triple) {
			char m[128];

			snprintf(m, sizeof(m), "%s%s%s%s", r->metric, r->unit[0] ? " (" : "",
				 r->unit, r->unit[0] ? ")" : "");
			vws_bench_fmt(a, sizeof(a), r->v[VWS_BENCH_EAGER]);
			vws_bench_fmt(b, sizeof(b), r->v[VWS_BENCH_LAZY]);
			vws_bench_fmt(c, sizeof(c), r->v[VWS_BENCH_DEFERRED]);
			vws_bench_ratio(d, sizeof(d), r->v[VWS_BENCH_LAZY], r->v[VWS_BENCH_EAGER]);
			vws_bench_ratio(e, sizeof(e), r->v[VWS_BENCH_DEFERRED],
					r->v[VWS_BENCH_EAGER]);
			fprintf(f, "   %-22s %-26s %12s %12s %12s %11s %11s\n", r->row, m, a, b, c,
				d, e);
		} else {
			vws_bench_fmt(a, sizeof(a), r->v[0]);
			fprintf(f, "   %-22s %-26s %12s %s\n", r->row, r->metric, a, r->unit);
		}
	}
}

static void vws_bench_print_targets(struct vws_bench_env *env)
{
	FILE *f = env->out;

	if (!vws_bench_res.num_goals)
		return;
	fprintf(f, "\n== targets\n");
	for (size_t i = 0; i < vws_bench_res.num_goals; i++) {
		const struct vws_bench_goal *g = &vws_bench_res.goals[i];
		char v[32], l[32];

		vws_bench_fmt(v, sizeof(v), g->value);
		vws_bench_fmt(l, sizeof(l), g->limit);
		fprintf(f, "   %-66s %8s  (%s %s)  %s\n", g->name, v, g->op, l,
			vws_bench_goal_status(g));
	}
}

static void vws_bench_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void vws_bench_json_num(FILE *f, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void vws_bench_print_json(struct vws_bench_env *env)
{
	FILE *f = env->out;

	fprintf(f, "{\n  \"on_model\": %s,\n  \"real_host\": %s,\n  \"model_kernel\": ",
		env->on_model ? "true" : "false", env->real_host ? "true" : "false");
	vws_bench_json_str(f, env->on_model ? env->model_kernel : "");
	fputs(",\n  \"notes\": [", f);
	for (size_t n = 0; n < vws_bench_res.num_notes; n++) {
		fputs(n ? ", " : "", f);
		vws_bench_json_str(f, vws_bench_res.notes[n]);
	}
	fputs("],\n  \"results\": [\n", f);
	for (size_t i = 0; i < vws_bench_res.num_rows; i++) {
		const struct vws_bench_row *r = &vws_bench_res.rows[i];

		fputs("    {\"workload\": ", f);
		vws_bench_json_str(f, r->workload);
		fputs(", \"row\": ", f);
		vws_bench_json_str(f, r->row);
		fputs(", \"metric\": ", f);
		vws_bench_json_str(f, r->metric);
		fputs(", \"unit\": ", f);
		vws_bench_json_str(f, r->unit);
		if (r->triple) {
			for (int s = 0; s < VWS_BENCH_NUM_STRATEGIES; s++) {
				fprintf(f, ", \"%s\": ", vws_bench_strategy_name(s));
				vws_bench_json_num(f, r->v[s]);
			}
		} else {
			fputs(", \"value\": ", f);
			vws_bench_json_num(f, r->v[0]);
		}
		fprintf(f, "}%s\n", i + 1 < vws_bench_res.num_rows ? "," : "");
	}
	fputs("  ],\n  \"targets\": [\n", f);
	for (size_t i = 0; i < vws_bench_res.num_goals; i++) {
		const struct vws_bench_goal *g = &vws_bench_res.goals[i];

		fputs("    {\"target\": ", f);
		vws_bench_json_str(f, g->name);
		fputs(", \"value\": ", f);
		vws_bench_json_num(f, g->value);
		fputs(", \"op\": ", f);
		vws_bench_json_str(f, g->op);
		fputs(", \"limit\": ", f);
		vws_bench_json_num(f, g->limit);
		fputs(", \"status\": ", f);
		vws_bench_json_str(f, vws_bench_goal_status(g));
		fprintf(f, "}%s\n", i + 1 < vws_bench_res.num_goals ? "," : "");
	}
	fputs("  ]\n}\n", f);
}

void vws_bench_print(struct vws_bench_env *env)
{
	if (env->o->json) {
		vws_bench_print_json(env);
	} else {
		vws_bench_print_table(env);
		vws_bench_print_targets(env);
	}
	if (env->o->json_file) {
		FILE *saved = env->out, *f = fopen(env->o->json_file, "we");

		if (!f) {
			fprintf(stderr, "vws-bench: cannot write %s: %s\n", env->o->json_file,
				strerror(errno));
		} else {
			env->out = f;
			vws_bench_print_json(env);
			env->out = saved;
			fclose(f);
		}
	}
	if (vws_bench_res.oom)
		fprintf(stderr, "vws-bench: out of memory while recording; results incomplete\n");
}

/* Writes the series as a data file and has gnuplot draw it. */
int vws_bench_plot(struct vws_bench_env *env, const char *png)
{
	char dat[] = "/tmp/vws-bench-plot-XXXXXX";
	int fd = mkstemp(dat);
	FILE *f;
	pid_t pid;
	int status;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(dat);
		return -ENOMEM;
	}
	/* One gnuplot data block per strategy, separated by two blank lines. */
	for (int s = 0; s < VWS_BENCH_NUM_STRATEGIES; s++) {
		for (size_t i = 0; i < vws_bench_res.num_points[s]; i++)
			fprintf(f, "%llu %.3f\n",
				(unsigned long long)vws_bench_res.series[s][i].allocs,
				(double)vws_bench_res.series[s][i].bytes / (1024.0 * 1024.0));
		fputs("\n\n", f);
	}
	fclose(f);

	pid = fork();
	if (pid == 0) {
		char script[1024];

		snprintf(script, sizeof(script),
			 "set terminal pngcairo size 900,540 noenhanced;"
			 "set output '%s';"
			 "set title 'Host-visible region held vs allocations (%.0f%% of objects mapped, %llu x %llu KiB, region %llu MiB)';"
			 "set xlabel 'allocations';set ylabel 'region held (MiB)';"
			 "set key top left;set grid;"
			 "plot '%s' index 0 with lines lw 2 title 'eager',"
			 " '' index 1 with lines lw 2 dt 2 title 'lazy-blob',"
			 " '' index 2 with lines lw 2 dt 3 title 'deferred'",
			 png, env->o->plot_fraction * 100,
			 (unsigned long long)env->o->objects,
			 (unsigned long long)(env->o->size / 1024),
			 (unsigned long long)env->o->region_mib, dat);
		execlp("gnuplot", "gnuplot", "-e", script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		unlink(dat);
		return -errno;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	unlink(dat);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "vws-bench: gnuplot failed (status %d)%s\n", status,
			WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
				": install gnuplot-nox" : "");
		return -EIO;
	}
	return 0;
}

void vws_bench_report_free(void)
{
	free(vws_bench_res.rows);
	for (size_t n = 0; n < vws_bench_res.num_notes; n++)
		free(vws_bench_res.notes[n]);
	free(vws_bench_res.notes);
	for (int s = 0; s < VWS_BENCH_NUM_STRATEGIES; s++)
		free(vws_bench_res.series[s]);
	memset(&vws_bench_res, 0, sizeof(vws_bench_res));
}
