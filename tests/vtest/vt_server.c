/* SPDX-License-Identifier: MIT */
/* The real vtest server as a test fixture (see vt_server.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vt_server.h"

#define VT_START_TIMEOUT_MS 30000
#define VT_STOP_TIMEOUT_MS 5000
/* How often a connect is retried while the socket exists but does not
 * accept yet (between bind and listen); inotify wakes us otherwise. */
#define VT_RETRY_MS 50
#define VT_LVP_ICD "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"

/* Servers started and not yet stopped, so that a test that fails (cmocka
 * jumps out of it) between start and stop does not leave its server
 * running: an atexit handler kills what is left. */
#define VT_MAX_LIVE 16
static struct {
	pid_t pid;
	char *dir;
} vt_live[VT_MAX_LIVE];

static void vt_kill_session(pid_t sid);
static void vt_cleanup_at_exit(void);

static void vt_live_add(pid_t pid, const char *dir)
{
	static bool registered;

	if (!registered) {
		atexit(vt_cleanup_at_exit);
		registered = true;
	}
	for (int i = 0; i < VT_MAX_LIVE; i++) {
		if (!vt_live[i].pid) {
			vt_live[i].pid = pid;
			vt_live[i].dir = strdup(dir);
			return;
		}
	}
}

static void vt_live_remove(pid_t pid)
{
	for (int i = 0; i < VT_MAX_LIVE; i++) {
		if (vt_live[i].pid == pid) {
			vt_live[i].pid = 0;
			free(vt_live[i].dir);
			vt_live[i].dir = NULL;
		}
	}
}

static int64_t vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vt_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			char p[512];

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static char *vt_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = malloc(256);

	assert_non_null(dir);
	snprintf(dir, 256, "%s/vws-vtest-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void vt_print_log(const struct vt_server *s)
{
	char buf[2048];
	FILE *f = fopen(s->log, "re");
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	fprintf(stderr, "# virgl_test_server log (%s):\n%s\n", s->log, buf);
}

static bool vt_try_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Child side: never returns. Reports an exec failure through errpipe. */
static void vt_exec_server(const struct vt_server *s, bool venus, int errpipe)
{
	const char *bin = getenv("VWS_TEST_VIRGL_SERVER");
	char sockarg[160];
	const char *argv[8];
	int n = 0, fd, err;

	/* A session of its own: the render server it spawns moves to its own
	 * process group but stays in this session, so the session is exactly
	 * what we started. */
	setsid();
	fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	if (!getenv("VK_ICD_FILENAMES"))
		setenv("VK_ICD_FILENAMES", VT_LVP_ICD, 1);
	/* The '=' matters: with a space the path is taken as a replay file. */
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", s->sock);
	argv[n++] = bin && bin[0] ? bin : "virgl_test_server";
	if (venus)
		argv[n++] = "--venus";
	argv[n++] = "--render-server";
	argv[n++] = "--use-egl-surfaceless";
	argv[n++] = sockarg;
	argv[n] = NULL;
	execvp(argv[0], (char *const *)argv);
	err = errno;
	if (write(errpipe, &err, sizeof(err)) < 0)
		_exit(126);
	_exit(127);
}

void vt_server_start(struct vt_server *s, bool venus)
{
	int pipefd[2], err = 0, ino;
	int64_t deadline;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->pidfd = -1;
	s->dir = vt_mkdtemp();
	snprintf(s->sock, sizeof(s->sock), "%s/vtest.sock", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
	if (!venus || access(VT_LVP_ICD, R_OK) == 0 || getenv("VK_ICD_FILENAMES")) {
		/* fine */
	} else {
		fail_msg("lavapipe ICD %s missing: install mesa-vulkan-drivers "
			 "(bash scripts/deps.sh)", VT_LVP_ICD);
	}

	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	assert_true(ino >= 0);
	assert_true(inotify_add_watch(ino, s->dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) >= 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0)
		vt_exec_server(s, venus, pipefd[1]);
	close(pipefd[1]);
	n = read(pipefd[0], &err, sizeof(err));
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(err)) {
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		close(ino);
		fail_msg("cannot run virgl_test_server: %s (install virgl-server: "
			 "bash scripts/deps.sh)", strerror(err));
	}
	vt_live_add(s->pid, s->dir);
	/* -1 where pidfds are missing (valgrind): then waitpid tells. */
	s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);

	deadline = vt_now_ms() + VT_START_TIMEOUT_MS;
	for (;;) {
		struct pollfd p[2] = { { .fd = ino, .events = POLLIN },
				       { .fd = s->pidfd, .events = POLLIN } };
		char evbuf[4096];
		int64_t left = deadline - vt_now_ms();

		if (access(s->sock, F_OK) == 0 && vt_try_connect(s->sock))
			break;
		if (left <= 0) {
			vt_print_log(s);
			close(ino);
			vt_server_stop(s);
			fail_msg("virgl_test_server did not accept connections within %d ms",
				 VT_START_TIMEOUT_MS);
		}
		poll(p, s->pidfd >= 0 ? 2 : 1, left < VT_RETRY_MS ? (int)left : VT_RETRY_MS);
		if ((p[1].revents & POLLIN) ||
		    (s->pidfd < 0 && waitpid(s->pid, NULL, WNOHANG) == s->pid)) {
			vt_print_log(s);
			close(ino);
			vt_server_stop(s);
			fail_msg("virgl_test_server exited during start-up");
		}
		while (read(ino, evbuf, sizeof(evbuf)) > 0)
			;
	}
	close(ino);
}

/* Session id of a process from /proc/PID/stat; -1 if gone or a zombie
 * (a zombie has closed its files already). */
static pid_t vt_session_of(pid_t pid)
{
	char path[64], buf[512], state;
	const char *p;
	int ppid, pgrp, sid;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may contain anything; fields resume after ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) != 4 ||
	    state == 'Z')
		return -1;
	return sid;
}

/* Without pidfds (valgrind does not know them): signal by pid (the
 * session check just before keeps the reuse window tiny) and watch /proc
 * until the process is gone, bounded. */
static void vt_kill_and_wait_nopidfd(pid_t pid, pid_t sid)
{
	int64_t deadline = vt_now_ms() + VT_STOP_TIMEOUT_MS;

	if (vt_session_of(pid) != sid || kill(pid, SIGKILL))
		return;
	while (vt_session_of(pid) == sid && vt_now_ms() < deadline)
		poll(NULL, 0, 1);
}

/* SIGKILLs every live process of session sid and waits until each has
 * exited (pidfd), so its sockets are closed when this returns. */
static void vt_kill_session(pid_t sid)
{
	bool found = true;

	/* Rounds catch processes forked while we scanned; bounded so that an
	 * unkillable process cannot hang the test. */
	for (int round = 0; found && round < 20; round++) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		found = false;
		assert_non_null(d);
		while ((e = readdir(d))) {
			pid_t pid = (pid_t)atoi(e->d_name);
			struct pollfd p;
			int pidfd;

			if (pid <= 0 || vt_session_of(pid) != sid)
				continue;
			pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
			if (pidfd < 0) {
				vt_kill_and_wait_nopidfd(pid, sid);
				found = true;
				continue;
			}
			/* The pidfd pins the process: the signal cannot hit a
			 * reused pid. Recheck that it is still in the session. */
			if (vt_session_of(pid) == sid &&
			    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0) {
				p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
				poll(&p, 1, VT_STOP_TIMEOUT_MS);
				found = true;
			}
			close(pidfd);
		}
		closedir(d);
	}
}

static void vt_reap(struct vt_server *s)
{
	if (s->pid > 0) {
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		s->pid = 0;
	}
	if (s->pidfd >= 0) {
		close(s->pidfd);
		s->pidfd = -1;
	}
}

void vt_server_kill(struct vt_server *s)
{
	if (s->pid <= 0)
		return;
	vt_kill_session(s->pid);
	vt_live_remove(s->pid);
	vt_reap(s);
}

static void vt_cleanup_at_exit(void)
{
	for (int i = 0; i < VT_MAX_LIVE; i++) {
		if (!vt_live[i].pid)
			continue;
		vt_kill_session(vt_live[i].pid);
		waitpid(vt_live[i].pid, NULL, 0);
		if (vt_live[i].dir)
			vt_remove_dir(vt_live[i].dir);
		vt_live_remove(vt_live[i].pid);
	}
}

void vt_server_stop(struct vt_server *s)
{
	vt_server_kill(s);
	if (s->dir) {
		vt_remove_dir(s->dir);
		free(s->dir);
		s->dir = NULL;
	}
}
