/* SPDX-License-Identifier: MIT */
/* vws-info --backend vtest --socket PATH against a real vtest server. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vt_server.h"

extern char **environ;

static struct vt_server server;

static int group_setup(void **state)
{
	vt_server_start(&server, true);
	return 0;
}

static int group_teardown(void **state)
{
	vt_server_stop(&server);
	return 0;
}

/* Runs vws-info with args; returns its exit status, output in out. */
static int run_info(const char *const *args, char *out, size_t size)
{
	const char *bin = getenv("VWS_INFO_BIN");
	const char *argv[12];
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = -1, n = 0;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	assert_non_null(bin);
	argv[n++] = bin;
	while (*args && n < 11)
		argv[n++] = *args++;
	argv[n] = NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (got + 1 < size && (r = read(pipefd[0], out + got, size - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_info_text(void **state)
{
	const char *args[] = { "--backend", "vtest", "--socket", server.sock, NULL };
	static char out[16384];

	assert_int_equal(run_info(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "backend       = vtest"));
	assert_non_null(strstr(out, "driver        = vtest 3."));
	assert_non_null(strstr(out, "venus(4)"));
	assert_non_null(strstr(out, "context       = venus(4), capset version 0"));
	assert_non_null(strstr(out, "reason        = vtest has no kernel"));
	assert_non_null(strstr(out, "Self-check: PASSED"));
	assert_null(strstr(out, "KERNEL MODEL"));
}

static void test_info_json(void **state)
{
	const char *args[] = { "--backend", "vtest", "--socket", server.sock, "--json", NULL };
	static char out[16384];

	assert_int_equal(run_info(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"backend\": \"vtest\""));
	assert_non_null(strstr(out, "venus"));
}

static void test_info_errors(void **state)
{
	const char *none[] = { "--backend", "vtest", "--socket", "/nonexistent/vtest.sock", NULL };
	const char *bad[] = { "--socket", server.sock, NULL };
	const char *mixed[] = { "--backend", "vtest", "--kernel", "fixed", NULL };
	static char out[4096];

	assert_int_equal(run_info(none, out, sizeof(out)), 3);  /* no device */
	assert_int_equal(run_info(bad, out, sizeof(out)), 2);   /* usage */
	assert_int_equal(run_info(mixed, out, sizeof(out)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_text),
		cmocka_unit_test(test_info_json),
		cmocka_unit_test(test_info_errors),
	};

	return cmocka_run_group_tests_name("vtest_info", tests, group_setup, group_teardown);
}
