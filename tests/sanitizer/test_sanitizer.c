/* SPDX-License-Identifier: MIT */
/*
 * The sanitizer stage reports races; it does not hang on them.
 *
 * Under ThreadSanitizer, racy-helper (one deliberate race, made while the
 * kernel model is busy and has node objects mapped) must be reported and
 * must end with TSan's exit code within a bound. A report that deadlocks
 * inside the model's interposed libc (the symbolizer unmapping an ELF view
 * through the model's munmap) is a failure here, after the bound, with the
 * helper killed. Without TSan the race goes unseen and the helper must end
 * normally: the same program, checked for running at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/* How long the helper may take; it needs a few seconds under TSan. */
#define HELPER_BOUND_MS 120000
#define TSAN_EXIT 66

extern char **environ;

struct helper_run {
	int status;         /* exit status; -1 if killed by a signal */
	bool hung;          /* killed by us at the bound */
	char err[65536];    /* its stderr (truncated) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the helper with TSAN_OPTIONS set, stderr captured, bounded. */
static void run_helper(struct helper_run *r)
{
	const char *bin = getenv("VWS_RACY_HELPER");
	char *argv[] = { (char *)bin, NULL };
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	int64_t end = now_ms() + HELPER_BOUND_MS;
	int pipefd[2], pidfd, st;
	bool exited = false, eof = false;
	pid_t pid;

	assert_non_null(bin);
	memset(r, 0, sizeof(*r));
	setenv("TSAN_OPTIONS", "halt_on_error=1:exitcode=66", 1);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	assert_true(pidfd >= 0);
	while (!(exited && eof)) {
		struct pollfd p[2] = { { .fd = pipefd[0], .events = POLLIN },
				       { .fd = pidfd, .events = POLLIN } };
		int64_t left = end - now_ms();

		if (left <= 0) {
			/* A hang: the helper is ours, stop it by its pid. */
			r->hung = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)left) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (p[0].revents) {
			ssize_t n = read(pipefd[0], r->err + len, sizeof(r->err) - 1 - len);

			if (n > 0)
				len += (size_t)n;
			else
				eof = true; /* EOF, or our buffer is full: stop reading */
			if (len == sizeof(r->err) - 1)
				eof = true;
		}
		if (p[1].revents)
			exited = true;
	}
	r->err[len] = '\0';
	close(pipefd[0]);
	close(pidfd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void race_is_reported(void **state)
{
	struct helper_run *r = malloc(sizeof(*r));

	assert_non_null(r);
	run_helper(r);
	if (r->hung || r->status != (VWS_TSAN ? TSAN_EXIT : 0))
		print_error("racy-helper: %s, status %d; its stderr:\n%s\n",
			    r->hung ? "HUNG (killed after the bound)" : "ended", r->status, r->err);
	assert_false(r->hung);
	if (VWS_TSAN) {
		assert_int_equal(r->status, TSAN_EXIT);
		assert_non_null(strstr(r->err, "WARNING: ThreadSanitizer: data race"));
		/* symbolized: the report names the racing function */
		assert_non_null(strstr(r->err, "racy_bump"));
	} else {
		assert_int_equal(r->status, 0);
		assert_non_null(strstr(r->err, "racy-helper: done"));
	}
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(race_is_reported),
	};

	return cmocka_run_group_tests_name("sanitizer", tests, NULL, NULL);
}
