/* SPDX-License-Identifier: MIT */
/*
 * vws-info end to end: it runs itself on the kernel model (no render node
 * here), from any directory, and reports what the winsys decided.
 * The binary comes from $VWS_INFO (set by meson).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

extern char **environ;

struct run {
	int status;     /* exit status, or -1 if killed */
	char out[65536];
};

enum stdout_kind { STDOUT_PIPE, STDOUT_FULL, STDOUT_CLOSED };

static void run_info_to(struct run *r, const char *const *args, enum stdout_kind out);

/* Runs vws-info with args from "/", stdout captured; stderr inherited. */
static void run_info(struct run *r, const char *const *args)
{
	run_info_to(r, args, STDOUT_PIPE);
}

/* The same with stdout a pipe (captured), /dev/full, or closed. */
static void run_info_to(struct run *r, const char *const *args, enum stdout_kind out)
{
	const char *bin = getenv("VWS_INFO");
	char *argv[16];
	posix_spawn_file_actions_t fa;
	int pipefd[2], st, n = 0;
	size_t len = 0;
	pid_t pid;
	ssize_t got;

	assert_non_null(bin);
	argv[n++] = (char *)bin;
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	if (out == STDOUT_PIPE)
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	else if (out == STDOUT_FULL)
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/full", O_WRONLY, 0);
	else
		posix_spawn_file_actions_addclose(&fa, 1);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while ((got = read(pipefd[0], r->out + len, sizeof(r->out) - 1 - len)) > 0)
		len += (size_t)got;
	r->out[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const struct run *r, const char *needle)
{
	if (!strstr(r->out, needle))
		print_error("missing '%s' in:\n%s\n", needle, r->out);
	assert_non_null(strstr(r->out, needle));
}

/* The model is a separate library: without it there is nothing to run
 * on here (no render node), and these cases are skipped, not passed. */
static void need_model(void)
{
	const char *shim = getenv("VWS_INFO_SHIM");
	const char *san = getenv("VWS_TEST_SANITIZER");

	if (!shim || access(shim, R_OK))
		skip();
	/* ThreadSanitizer cannot start a program whose LD_PRELOADed library
	 * (the instrumented model) comes before its runtime: the child dies
	 * in TSan's own initialisation. The same cases run in every other
	 * build. */
	if (san && !strcmp(san, "tsan"))
		skip();
}

static void info_json_per_generation(void **state)
{
	static const struct {
		const char *gen, *support, *create_note;
	} gens[] = {
		{ "legacy", "ignored", "no hint: the kernel maps it now" },
		{ "v1", "ignored", "no hint: the kernel maps it now" },
		{ "v2", "ignored", "no hint: the kernel maps it now" },
		{ "fixed", "validated", "hinted: mapping deferred to first use" },
	};

	need_model();
	unsetenv("VWS_DEFER");
	for (size_t n = 0; n < 4; n++) {
		const char *args[] = { "--kernel", gens[n].gen, "--json", NULL };
		char want[128];
		struct run *r = malloc(sizeof(*r));

		assert_non_null(r);
		run_info(r, args);
		assert_int_equal(r->status, 0);
		snprintf(want, sizeof(want), "\"generation\": \"%s\"", gens[n].gen);
		expect(r, want);
		snprintf(want, sizeof(want), "\"support\": \"%s\"", gens[n].support);
		expect(r, want);
		expect(r, "\"defer\": \"auto\", \"source\": \"");
		expect(r, gens[n].create_note);
		expect(r, "\"passed\": true");
		expect(r, "\"driver\": \"virtio_gpu\"");
		free(r);
	}
}

static void info_text_always_on_v2(void **state)
{
	const char *args[] = { "--kernel", "v2", "--defer", "always", NULL };
	struct run *r = malloc(sizeof(*r));

	need_model();
	assert_non_null(r);
	unsetenv("VWS_DEFER");
	run_info(r, args);
	assert_int_equal(r->status, 0);
	expect(r, "KERNEL MODEL");
	expect(r, "policy        = always (from caller)");
	expect(r, "hang");
	expect(r, "mapping forced first (deferred object)");
	expect(r, "Self-check: PASSED");
	/* The environment beats the command line's caller request. */
	setenv("VWS_DEFER", "never", 1);
	run_info(r, args);
	expect(r, "policy        = never (from environment)");
	unsetenv("VWS_DEFER");
	free(r);
}

static void info_usage_errors(void **state)
{
	static const char *const bad[][3] = {
		{ "--kernel", "v3", NULL },
		{ "--defer", "sometimes", NULL },
		{ "--capset", "virgl", NULL },
		{ "--bogus", NULL, NULL },
		{ "extra", NULL, NULL },
	};
	struct run *r = malloc(sizeof(*r));
	const char *help[] = { "--help", NULL };
	const char *null_dev[] = { "--device", "/dev/null", NULL };

	assert_non_null(r);
	for (size_t n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
		run_info(r, bad[n]);
		assert_int_equal(r->status, 2);
	}
	run_info(r, help);
	assert_int_equal(r->status, 0);
	expect(r, "usage: vws-info");
	run_info(r, null_dev);
	assert_int_equal(r->status, 3);
	free(r);
}

/* A report that cannot be written is a failure (exit 4), not success:
 * stdout on a full device, or closed (where the device's own files must
 * not become "stdout" either). */
static void info_output_errors(void **state)
{
	const char *help[] = { "--help", NULL };
	const char *report[] = { "--kernel", "fixed", NULL };
	const char *json[] = { "--kernel", "fixed", "--json", NULL };
	struct run *r = malloc(sizeof(*r));

	assert_non_null(r);
	run_info_to(r, help, STDOUT_FULL);
	assert_int_equal(r->status, 4);
	run_info_to(r, help, STDOUT_CLOSED);
	assert_int_equal(r->status, 4);
	need_model();
	run_info_to(r, report, STDOUT_FULL);
	assert_int_equal(r->status, 4);
	run_info_to(r, json, STDOUT_FULL);
	assert_int_equal(r->status, 4);
	run_info_to(r, report, STDOUT_CLOSED);
	assert_int_equal(r->status, 4);
	/* and the same run to a pipe is fine */
	run_info(r, report);
	assert_int_equal(r->status, 0);
	free(r);
}

/* VWS_INFO_ON_MODEL left in the environment by someone else (a parent
 * vws-info, a script) does not make --kernel a silent no-op: the report is
 * the requested generation's. */
static void info_stale_marker(void **state)
{
	const char *args[] = { "--kernel", "v1", "--json", NULL };
	struct run *r = malloc(sizeof(*r));

	need_model();
	assert_non_null(r);
	setenv("VWS_INFO_ON_MODEL", "/stale/libvirtgpu-shim.so", 1);
	run_info(r, args);
	unsetenv("VWS_INFO_ON_MODEL");
	if (r->status != 0)
		print_error("status %d, output:\n%s\n", r->status, r->out);
	assert_int_equal(r->status, 0);
	expect(r, "\"generation\": \"v1\"");
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(info_json_per_generation),
		cmocka_unit_test(info_text_always_on_v2),
		cmocka_unit_test(info_usage_errors),
		cmocka_unit_test(info_output_errors),
		cmocka_unit_test(info_stale_marker),
	};

	return cmocka_run_group_tests_name("vws_info", tests, NULL, NULL);
}
