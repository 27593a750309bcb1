/* SPDX-License-Identifier: MIT */
/* dma-bufs and handles: lifetime across handles, dma-buf fds and
 * mappings, import of our own buffers, bad fds, dup/close, and what a
 * foreign importer sees of a never-mapped object on each generation. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts.h"

#define HOST3D VIRTGPU_BLOB_MEM_HOST3D
#define MAPPABLE VIRTGPU_BLOB_FLAG_USE_MAPPABLE
#define SHAREABLE VIRTGPU_BLOB_FLAG_USE_SHAREABLE
#define DEFER VIRTGPU_BLOB_HINT_DEFER_MAPPING

/* libdrm's PRIME helpers return -1 and set errno: make them -errno. */
static int imp(int fd, int dfd, uint32_t *h)
{
	return drmPrimeFDToHandle(fd, dfd, h) ? -errno : 0;
}

static int exp_(int fd, uint32_t h, uint32_t flags, int *dfd)
{
	return drmPrimeHandleToFD(fd, h, flags, dfd) ? -errno : 0;
}

static void dmabuf_keeps_object(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), dfd, dfd2;
	uint32_t h, h2;
	unsigned char *p, *q;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE | SHAREABLE, TS_MIB, DEFER, 0, &h), 0);
	p = ts_mmap(fd, h, TS_MIB);
	assert_non_null(p);
	memset(p, 0x3c, TS_MIB);
	assert_int_equal(exp_(fd, h, DRM_CLOEXEC | DRM_RDWR, &dfd), 0);
	assert_true(fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	/* a second export is another fd of the same dma-buf */
	assert_int_equal(exp_(fd, h, DRM_CLOEXEC, &dfd2), 0);
	assert_int_equal(ts_counters().live_dmabufs, 1);
	close(dfd2);
	/* the handle and the mapping go; the dma-buf keeps the object */
	munmap(p, TS_MIB);
	assert_int_equal(ts_close_handle(fd, h), 0);
	vgshim_host_drain();
	assert_int_equal(ts_counters().live_objects, 1);
	q = mmap(NULL, TS_MIB, PROT_READ, MAP_SHARED, dfd, 0);
	assert_true(q != MAP_FAILED);
	assert_int_equal(q[TS_MIB - 1], 0x3c);
	/* importing it back gives a handle to the same object */
	assert_int_equal(imp(fd, dfd, &h2), 0);
	assert_int_equal(ts_counters().live_objects, 1);
	assert_int_equal(ts_close_handle(fd, h2), 0);
	close(dfd);
	/* the mapping of the dma-buf still holds the object */
	assert_int_equal(ts_counters().live_objects, 1);
	munmap(q, TS_MIB);
	vgshim_host_drain();
	assert_int_equal(ts_counters().live_objects, 0);
	close(fd);
}

/* Importing the same dma-buf twice gives the same handle and no new
 * reference: one GEM_CLOSE drops it. */
static void import_dedup(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), other = ts_open(VIRTGPU_CAPSET_VENUS), dfd;
	uint32_t h, i1, i2, o1;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE | SHAREABLE, TS_MIB, 0, 0, &h), 0);
	assert_int_equal(exp_(fd, h, DRM_CLOEXEC, &dfd), 0);
	assert_int_equal(imp(fd, dfd, &i1), 0);
	assert_int_equal(i1, h);
	assert_int_equal(imp(fd, dfd, &i2), 0);
	assert_int_equal(i2, h);
	/* another file gets its own handle to the same object */
	assert_int_equal(imp(other, dfd, &o1), 0);
	{
		struct vgshim_object_info oi;

		assert_int_equal(vgshim_object_info(other, o1, &oi), 0);
		assert_int_equal(oi.handles, 2);
	}
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_close_handle(fd, h), -EINVAL);
	assert_int_equal(ts_close_handle(other, o1), 0);
	close(dfd);
	close(fd);
	close(other);
}

static void import_bad_fds(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), pfd[2], nfd;
	uint32_t h;

	assert_int_equal(imp(fd, -1, &h), -EBADF);
	nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(nfd);
	assert_int_equal(imp(fd, nfd, &h), -EBADF);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(imp(fd, pfd[0], &h), -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	/* a regular file and someone else's memfd are no dma-bufs either */
	nfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(nfd >= 0);
	assert_int_equal(imp(fd, nfd, &h), -EINVAL);
	close(nfd);
	nfd = memfd_create("not-ours", MFD_CLOEXEC);
	assert_true(nfd >= 0);
	assert_int_equal(ftruncate(nfd, 4096), 0);
	assert_int_equal(imp(fd, nfd, &h), -EINVAL);
	close(nfd);
	assert_int_equal(ts_counters().live_objects, 0);
	/* export: unknown handle, unknown flags */
	assert_int_equal(exp_(fd, 42, DRM_CLOEXEC, &nfd), -ENOENT);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 4096, 0, 0, &h), 0);
	{
		struct drm_prime_handle ph = { .handle = h, .flags = 0x4000000 };

		assert_int_equal(ts_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph), -EINVAL);
	}
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* dup'ed node fds are one DRM file; dma-buf fds may be dup'ed freely. */
static void dup_semantics(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), fd2, dfd, d2, d3;
	uint32_t h;
	struct vgshim_object_info oi;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, 0, 0, &h), 0);
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	close(fd);
	/* the handle lives in the file, reachable through the dup */
	assert_int_equal(vgshim_object_info(fd2, h, &oi), 0);
	assert_int_equal(exp_(fd2, h, DRM_CLOEXEC, &dfd), 0);
	d2 = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	d3 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(dup3(d2, d3, O_CLOEXEC) == d3);
	close(dfd);
	close(d2);
	assert_int_equal(ts_close_handle(fd2, h), 0);
	vgshim_host_drain();
	/* d3 still holds the dma-buf and so the object */
	assert_int_equal(ts_counters().live_objects, 1);
	assert_int_equal(ts_counters().live_dmabufs, 1);
	close(d3);
	close(fd2);
	vgshim_host_drain();
	assert_int_equal(ts_counters().live_objects, 0);
	assert_int_equal(ts_counters().live_files, 0);
}

/* Closing the file drops all its handles. */
static void close_file_releases(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);

	for (int i = 0; i < 10; i++)
		assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, VIRTGPU_BLOB_HINT_DEFER_MAPPING,
					 0, NULL), 0);
	assert_int_equal(ts_counters().live_handles, 10);
	close(fd);
	vgshim_host_drain();
	assert_int_equal(ts_counters().live_handles, 0);
	assert_int_equal(ts_counters().live_objects, 0);
}

/* The dma-buf path of a never-mapped deferred object (review bug 3). */
static void foreign_attach(void **state)
{
	const char *gen = *state;
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), dfd;
	uint32_t h;
	uint64_t addr = 1, size = 1;
	int ret;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE | SHAREABLE, TS_MIB, DEFER, 0, &h), 0);
	assert_int_equal(exp_(fd, h, DRM_CLOEXEC, &dfd), 0);
	ret = vgshim_dmabuf_attach(dfd, &addr, &size);
	assert_int_equal(ret, 0);
	if (!strcmp(gen, "v1") || !strcmp(gen, "v2")) {
		assert_int_equal(size, 0);
		assert_int_equal(ts_counters().bogus_attaches, 1);
	} else {
		/* legacy mapped at creation; fixed maps first */
		assert_int_equal(size, TS_MIB);
		assert_int_equal(ts_counters().bogus_attaches, 0);
		assert_int_equal(ts_counters().region_bytes_in_use, TS_MIB);
	}
	assert_int_equal(vgshim_dmabuf_attach(fd, &addr, &size), -EBADF);
	close(dfd);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* An fd passed to a child process imports there to the same pages. */
static void child_import(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), dfd, st;
	uint32_t h;
	unsigned char *p;
	pid_t pid;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE | SHAREABLE, TS_MIB, 0, 0, &h), 0);
	p = ts_mmap(fd, h, TS_MIB);
	assert_non_null(p);
	p[7] = 0x99;
	assert_int_equal(exp_(fd, h, DRM_CLOEXEC, &dfd), 0);
	pid = fork();
	if (pid == 0) {
		int cfd = open(TS_NODE, O_RDWR | O_CLOEXEC);
		uint32_t ch;
		unsigned char *cp;

		if (cfd < 0 || imp(cfd, dfd, &ch))
			_exit(1);
		cp = ts_mmap(cfd, ch, TS_MIB);
		_exit(cp && cp[7] == 0x99 ? 0 : 2);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	munmap(p, TS_MIB);
	close(dfd);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_ALL_GENS(dmabuf_keeps_object),
		TS_ALL_GENS(import_dedup),
		TS_TEST(import_bad_fds),
		TS_TEST(dup_semantics),
		TS_TEST(close_file_releases),
		TS_ALL_GENS(foreign_attach),
		TS_TEST(child_import),
	};

	return cmocka_run_group_tests_name("shim-prime", tests, NULL, NULL);
}
