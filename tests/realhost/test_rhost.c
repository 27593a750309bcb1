/* SPDX-License-Identifier: MIT */
/*
 * The kernel model with its real host (VGSHIM_VTEST_SOCKET): raw ioctls
 * through libdrm, a real virglrenderer server behind the model. Run by
 * the real-host stage (tests/realhost/run.sh), which starts the server
 * with scripts/host-lib.sh and passes its socket and pid; without them the
 * test skips (77).
 *
 * What is checked: capsets and contexts come from the server; every
 * kernel rule still holds (region reservation per generation, -ENOSPC,
 * whole-object mmap); a blob's pages are the server's fd; submissions
 * complete through the server's fences; objects are UNREFed there; a
 * server that refuses a command, stops answering or dies turns the calls
 * into -EIO with nothing leaked and nothing hanging. The cases that stop
 * or kill the server run last.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts.h"

#define TR_POLL_MS 20000

static const char *tr_generation(void **state)
{
	return *state;
}

static int tr_setup(void **state)
{
	tc_model_use(tr_generation(state), NULL);
	return 0;
}

static struct tc_leak_baseline tr_leak;

static int tr_setup_leak(void **state)
{
	tr_setup(state);
	tc_leak_begin(&tr_leak);
	return 0;
}

static int tr_teardown_leak(void **state)
{
	(void)state;
	tc_leak_check(&tr_leak);
	return 0;
}

#define TR_GEN(fn, gen) \
	cmocka_unit_test_prestate_setup_teardown(fn, tr_setup_leak, tr_teardown_leak, (void *)gen)
#define TR_ALL_GENS(fn) TR_GEN(fn, "legacy"), TR_GEN(fn, "v1"), TR_GEN(fn, "v2"), TR_GEN(fn, "fixed")

static int tr_execbuffer(int fd, uint32_t ring, const void *cmd, uint32_t size,
			 const uint32_t *bos, uint32_t num_bos, int *fence_fd)
{
	struct drm_virtgpu_execbuffer e = {
		.flags = VIRTGPU_EXECBUF_RING_IDX | (fence_fd ? VIRTGPU_EXECBUF_FENCE_FD_OUT : 0),
		.size = size,
		.command = (uintptr_t)cmd,
		.bo_handles = (uintptr_t)bos,
		.num_bo_handles = num_bos,
		.fence_fd = -1,
		.ring_idx = ring,
	};
	int ret = ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e);

	if (!ret && fence_fd)
		*fence_fd = e.fence_fd;
	return ret;
}

/* The server's Venus capset, through the kernel's GET_CAPS. */
static void tr_caps(void **state)
{
	int fd = ts_open(0);
	uint64_t ids = 0;
	uint32_t caps[40];
	struct drm_virtgpu_getparam g = { VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs, (uintptr_t)&ids };
	struct drm_virtgpu_get_caps c = { VIRTGPU_CAPSET_VENUS, 0, (uintptr_t)caps, sizeof(caps), 0 };
	struct drm_virtgpu_get_caps gfx = { VIRTGPU_CAPSET_GFXSTREAM_VULKAN, 0, (uintptr_t)caps,
					    sizeof(caps), 0 };

	(void)state;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &g), 0);
	assert_int_equal((uint32_t)ids, 1u << VIRTGPU_CAPSET_VENUS);
	memset(caps, 0xff, sizeof(caps));
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &c), 0);
	/* wire format 1 (what Venus 25 requires), a vk.xml 1.x version */
	assert_int_equal(caps[0], 1);
	assert_int_equal(caps[1] >> 22, 1);
	/* not offered by this host: refused by the kernel, never forwarded */
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gfx), -EINVAL);
	assert_int_equal(ts_counters().host_connections, 1);
	close(fd);
}

/* Venus's shared memory (HOST3D, blob_id 0): the server's pages, with the
 * region reserved as each generation does it. */
static void tr_shmem(void **state)
{
	const char *gen = tr_generation(state);
	bool defers = strcmp(gen, "legacy") != 0;
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct drm_virtgpu_resource_info ri = { 0 };
	uint32_t h, h2;
	uint64_t *p;

	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 128 * 1024, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h), 0);
	assert_int_equal(ts_counters().region_bytes_in_use, defers ? 0 : 128 * 1024);
	assert_int_equal(ts_counters().blobs_deferred, defers ? 1 : 0);
	p = ts_mmap(fd, h, 128 * 1024);
	assert_non_null(p);
	assert_int_equal(ts_counters().region_bytes_in_use, 128 * 1024);
	for (int i = 0; i < 16384; i++)
		p[i] = 0x5eed0000ull + (uint64_t)i;
	for (int i = 0; i < 16384; i++)
		assert_int_equal(p[i], 0x5eed0000ull + (uint64_t)i);
	/* the resource id is the server's */
	ri.bo_handle = h;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_INFO, &ri), 0);
	assert_true(ri.res_handle != 0);
	assert_int_equal(ri.size, 128 * 1024);
	/* a second object is another resource */
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h2), 0);
	assert_int_equal(munmap(p, 128 * 1024), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_close_handle(fd, h2), 0);
	vgshim_host_drain();
	assert_int_equal(ts_counters().host_unref_cmds, 2);
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	close(fd);
}

/* Guest blobs: the server's shared memory behind the guest pages. */
static void tr_guest(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t h;
	char *p;

	(void)state;
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 8192, 0, 0, &h), 0);
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	p = ts_mmap(fd, h, 8192);
	assert_non_null(p);
	memset(p, 0x3c, 8192);
	assert_int_equal(p[8191], 0x3c);
	assert_int_equal(munmap(p, 8192), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* The region stays the model's: a full one refuses the eager create. */
static void tr_region_full(void **state)
{
	int fd;
	uint32_t h[3];

	(void)state;
	tc_model_use("legacy", "VGSHIM_HOSTMEM", "1M", NULL);
	tc_leak_begin(&tr_leak);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	for (int i = 0; i < 2; i++)
		assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D,
					 VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 512 * 1024, 0, 0, &h[i]),
				 0);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 512 * 1024, 0, 0, &h[2]), -ENOSPC);
	/* the refused one was created on the server and is unreferenced there */
	assert_int_equal(ts_counters().blobs_created, 2);
	assert_int_equal(ts_counters().host_unref_cmds, 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(ts_close_handle(fd, h[i]), 0);
	close(fd);
}

/* A submission's out-fence turns readable when the server is done; its
 * objects are busy until then. */
static void tr_fence(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), fence = -1;
	struct pollfd p;
	struct drm_virtgpu_3d_wait w = { 0 };
	uint32_t h;

	(void)state;
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(tr_execbuffer(fd, 0, NULL, 0, &h, 1, &fence), 0);
		assert_true(fence >= 0);
		p = (struct pollfd){ .fd = fence, .events = POLLIN };
		assert_int_equal(poll(&p, 1, TR_POLL_MS), 1);
		close(fence);
		w.handle = h;
		/* completion is seen by the model before the fd turns readable */
		assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &w), 0);
	}
	/* without a fence or objects: nothing to watch, still forwarded */
	assert_int_equal(tr_execbuffer(fd, 0, NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(ts_counters().host_submits, 9);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* Closing a file with a submission in flight neither hangs nor leaks. */
static void tr_close_in_flight(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), fence = -1;
	struct pollfd p;
	uint32_t h;

	(void)state;
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), 0);
	assert_int_equal(tr_execbuffer(fd, 0, NULL, 0, &h, 1, &fence), 0);
	close(fd);
	p = (struct pollfd){ .fd = fence, .events = POLLIN };
	assert_int_equal(poll(&p, 1, TR_POLL_MS), 1);
	close(fence);
}

/* Two files are two host contexts; each has its own connection. */
static void tr_two_files(void **state)
{
	int a = ts_open(VIRTGPU_CAPSET_VENUS), b = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t ha, hb;
	char *pa, *pb;

	(void)state;
	assert_int_equal(ts_counters().host_connections, 2);
	assert_int_equal(ts_blob(a, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &ha), 0);
	assert_int_equal(ts_blob(b, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &hb), 0);
	pa = ts_mmap(a, ha, 4096);
	pb = ts_mmap(b, hb, 4096);
	assert_non_null(pa);
	assert_non_null(pb);
	strcpy(pa, "file a");
	strcpy(pb, "file b");
	assert_string_equal(pa, "file a");
	assert_string_equal(pb, "file b");
	munmap(pa, 4096);
	munmap(pb, 4096);
	close(a); /* releases ha with its file */
	assert_int_equal(ts_close_handle(b, hb), 0);
	close(b);
}

/* dma-buf export of a real-host object: the same pages, mappable; its
 * import into the same file dedups, into another file is refused. */
static void tr_export(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), dmabuf = -1;
	struct drm_prime_handle ph = { .flags = DRM_CLOEXEC | DRM_RDWR };
	uint32_t h, h2;
	char *p, *q;

	(void)state;
	/* blob_id 0 is Venus's shared memory, which the server makes only
	 * for MAPPABLE alone */
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), 0);
	p = ts_mmap(fd, h, 4096);
	assert_non_null(p);
	strcpy(p, "shared");
	ph.handle = h;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph), 0);
	dmabuf = ph.fd;
	q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, dmabuf, 0);
	assert_true(q != MAP_FAILED);
	assert_string_equal(q, "shared");
	/* importing it back is the same object */
	ph.handle = 0;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph), 0);
	h2 = ph.handle;
	assert_int_equal(h2, h);
	/* another DRM file is another host context, which cannot name this
	 * resource over vtest: refused, and both files carry on */
	int fd2 = ts_open(VIRTGPU_CAPSET_VENUS);
	struct drm_prime_handle ph2 = { .fd = dmabuf };
	uint32_t h3;

	assert_int_equal(ts_ioctl(fd2, DRM_IOCTL_PRIME_FD_TO_HANDLE, &ph2), -EOPNOTSUPP);
	assert_int_equal(ts_blob(fd2, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h3), 0);
	assert_int_equal(ts_close_handle(fd2, h3), 0);
	close(fd2);
	assert_string_equal(q, "shared");
	munmap(q, 4096);
	munmap(p, 4096);
	close(dmabuf);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* The server's process (scripts/host-lib.sh: its PID namespace's holder,
 * whose death ends every process of the server). */
static pid_t tr_server_pid(void)
{
	const char *s = getenv("VWS_HOST_PID");

	return s ? (pid_t)atol(s) : 0;
}

/* pid and every process it started, parents first (the server forks one
 * per client, which runs a render server): found through /proc. */
static void tr_tree(pid_t pid, pid_t *out, unsigned *n, unsigned max)
{
	char path[64];
	DIR *tasks;
	struct dirent *t;

	if (*n == max)
		return;
	out[(*n)++] = pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	while (tasks && (t = readdir(tasks))) {
		char cpath[sizeof(path) + sizeof(t->d_name) + 16];
		FILE *f;
		int child;

		if (t->d_name[0] == '.')
			continue;
		snprintf(cpath, sizeof(cpath), "%s/%s/children", path, t->d_name);
		f = fopen(cpath, "re");
		if (!f)
			continue;
		while (fscanf(f, "%d", &child) == 1)
			tr_tree(child, out, n, max);
		fclose(f);
	}
	if (tasks)
		closedir(tasks);
}

/* Signals the server's whole tree. With SIGKILL, also waits (pidfds,
 * bounded) until every process of it has exited: a signal is delivered
 * later, and a server not yet dead may still answer. The tree is listed
 * before anything is signalled: a dead parent lists no children. A child
 * may be gone before it is signalled (its namespace died with its parent):
 * that is no error. */
static void tr_signal_tree(pid_t pid, int sig)
{
	pid_t pids[64];
	int fds[64];
	unsigned n = 0;
	bool ok = true;

	tr_tree(pid, pids, &n, 64);
	for (unsigned i = 0; i < n; i++)
		fds[i] = sig == SIGKILL ? (int)syscall(SYS_pidfd_open, pids[i], 0) : -1;
	for (unsigned i = 0; i < n; i++)
		ok &= !kill(pids[i], sig) || (i && errno == ESRCH);
	for (unsigned i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };

		if (fds[i] < 0)
			continue;
		ok &= poll(&p, 1, TR_POLL_MS) == 1;
		close(fds[i]);
	}
	assert_true(ok);
}

/* A request the server refuses (a resource naming host memory that does
 * not exist): vtest's only way to say no is to close the connection, so
 * that call and every later host call of the file fail with -EIO. (A
 * command stream its context rejects is not refused: the context stops
 * working and its fences never complete, as on a VM, where the guest
 * driver's own watchdog notices.) */
static void tr_refused(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t h;

	(void)state;
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0xdead, &h), -EIO);
	assert_int_equal(ts_counters().host_lost, 1);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), -EIO);
	assert_int_equal(tr_execbuffer(fd, 0, NULL, 0, NULL, 0, NULL), -EIO);
	close(fd);
	/* the server itself lives on: a new file works */
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* A server that stops answering: each call waits at most the timeout,
 * then the connection is given up. */
static void tr_silent(void **state)
{
	pid_t pid = tr_server_pid();
	uint32_t caps[8], h;
	struct drm_virtgpu_get_caps c = { VIRTGPU_CAPSET_VENUS, 0, (uintptr_t)caps, sizeof(caps), 0 };
	int fd;

	(void)state;
	if (pid <= 0)
		skip();
	tc_model_use("fixed", "VGSHIM_VTEST_TIMEOUT_MS", "300", NULL);
	tc_leak_begin(&tr_leak);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h), 0);
	tr_signal_tree(pid, SIGSTOP);
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &c), -EIO);
	assert_int_equal(ts_counters().host_lost, 1);
	tr_signal_tree(pid, SIGCONT);
	/* still -EIO: the reply stream is out of step for good */
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &c), -EIO);
	/* kernel-side calls on what exists still work */
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* The server dies: calls fail with -EIO, mappings stay readable (the
 * pages are ours), a new open fails, nothing hangs or leaks. */
static void tr_killed(void **state)
{
	pid_t pid = tr_server_pid();
	int fd, fence = -1;
	uint32_t caps[8], h;
	struct drm_virtgpu_get_caps c = { VIRTGPU_CAPSET_VENUS, 0, (uintptr_t)caps, sizeof(caps), 0 };
	char *m;

	(void)state;
	if (pid <= 0)
		skip();
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, &h), 0);
	m = ts_mmap(fd, h, 4096);
	assert_non_null(m);
	strcpy(m, "survives");
	tr_signal_tree(pid, SIGKILL);
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &c), -EIO);
	assert_int_equal(ts_counters().host_lost, 1);
	assert_int_equal(tr_execbuffer(fd, 0, NULL, 0, &h, 1, &fence), -EIO);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				 4096, 0, 0, NULL), -EIO);
	assert_string_equal(m, "survives");
	munmap(m, 4096);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
	/* a new file finds no server: the open fails, it does not hang */
	assert_int_equal(open(TS_NODE, O_RDWR | O_CLOEXEC), -1);
	assert_int_equal(errno, ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TR_GEN(tr_caps, "fixed"),
		TR_ALL_GENS(tr_shmem),
		TR_GEN(tr_guest, "fixed"),
		cmocka_unit_test_teardown(tr_region_full, tr_teardown_leak),
		TR_GEN(tr_fence, "fixed"),
		TR_GEN(tr_close_in_flight, "fixed"),
		TR_GEN(tr_two_files, "fixed"),
		TR_GEN(tr_export, "fixed"),
		TR_GEN(tr_refused, "fixed"),
		/* these two stop and kill the server: last */
		cmocka_unit_test_teardown(tr_silent, tr_teardown_leak),
		TR_GEN(tr_killed, "fixed"),
	};
	int fd;

	if (!getenv("VGSHIM_VTEST_SOCKET") || !getenv("VGSHIM_VTEST_SOCKET")[0]) {
		printf("1..0 # SKIP no real host (VGSHIM_VTEST_SOCKET): run tests/realhost/run.sh\n");
		return 77;
	}
	/* The model's watcher keeps one epoll fd for the life of the
	 * process: create it before any leak baseline is taken. */
	fd = open(TS_NODE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("Bail out! cannot open the model's node with its real host: %s\n",
		       strerror(errno));
		return 1;
	}
	close(fd);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
