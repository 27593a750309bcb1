/* SPDX-License-Identifier: MIT */
/*
 * The model of the host's /dev/udmabuf (libvgshim-udmabuf.so, linked in):
 * a buffer shares the memfd's pages both ways, the kernel's checks give the
 * kernel's errors, what the model cannot share is refused, and no error
 * leaves an fd behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/udmabuf.h>

#include "vgshim_udmabuf.h"

#define TU_PAGE 4096u

static int tu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static int tu_device(void)
{
	int fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* A memfd of size bytes with the given seals added (0: none). */
static int tu_memfd(size_t size, int seals)
{
	int fd = memfd_create("tu", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/* -errno of UDMABUF_CREATE, or the new fd. */
static int tu_create(int dev, int memfd, uint32_t flags, uint64_t offset, uint64_t size)
{
	struct udmabuf_create c = {
		.memfd = (uint32_t)memfd, .flags = flags, .offset = offset, .size = size,
	};
	int ret = ioctl(dev, UDMABUF_CREATE, &c);

	return ret < 0 ? -errno : ret;
}

static void test_device_opens_and_others_pass_through(void **state)
{
	int dev, dup_dev, null_fd, pipe_fds[2], avail = -1;

	(void)state;
	dev = tu_device();
	assert_true(fcntl(dev, F_GETFD) & FD_CLOEXEC);
	/* other paths and other ioctls are libc's */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	assert_int_equal(write(pipe_fds[1], "abc", 3), 3);
	assert_int_equal(ioctl(pipe_fds[0], FIONREAD, &avail), 0);
	assert_int_equal(avail, 3);
	/* udmabuf's request on something that is not the device: the real
	 * file's answer */
	assert_int_equal(tu_create(null_fd, 0, 0, 0, TU_PAGE), -ENOTTY);
	/* an unknown request of the device */
	assert_int_equal(ioctl(dev, _IO('u', 0x50)), -1);
	assert_int_equal(errno, ENOTTY);
	/* a dup is the same device */
	dup_dev = fcntl(dev, F_DUPFD_CLOEXEC, 0);
	assert_true(dup_dev >= 0);
	int mfd = tu_memfd(TU_PAGE, F_SEAL_SHRINK);
	int buf = tu_create(dup_dev, mfd, UDMABUF_FLAGS_CLOEXEC, 0, TU_PAGE);
	assert_true(buf >= 0);
	close(buf);
	close(mfd);
	close(dup_dev);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	close(null_fd);
	close(dev);
}

static void test_buffer_shares_the_memfd_pages(void **state)
{
	const size_t size = 3 * TU_PAGE;
	int dev = tu_device(), mfd = tu_memfd(size, F_SEAL_SHRINK), buf;
	uint8_t *a, *b;

	unsigned long made = vgshim_udmabuf_created();

	(void)state;
	buf = tu_create(dev, mfd, UDMABUF_FLAGS_CLOEXEC, 0, size);
	assert_true(buf >= 0);
	assert_int_equal(vgshim_udmabuf_created(), made + 1);
	assert_true(fcntl(buf, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(lseek(buf, 0, SEEK_END), (off_t)size);
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	assert_true(a != MAP_FAILED && b != MAP_FAILED);
	for (size_t i = 0; i < size; i++)
		a[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(b[i], (uint8_t)(i * 7 + 1));
	b[size - 1] = 0x5a;
	assert_int_equal(a[size - 1], 0x5a);
	munmap(a, size);
	munmap(b, size);
	/* the buffer outlives the memfd's fd, as a dma-buf holds its pages */
	close(mfd);
	b = mmap(NULL, size, PROT_READ, MAP_SHARED, buf, 0);
	assert_true(b != MAP_FAILED);
	assert_int_equal(b[size - 1], 0x5a);
	munmap(b, size);
	close(buf);
	close(dev);
}

static void test_cloexec_only_when_asked(void **state)
{
	int dev = tu_device(), mfd = tu_memfd(TU_PAGE, F_SEAL_SHRINK);
	int buf = tu_create(dev, mfd, 0, 0, TU_PAGE);

	(void)state;
	assert_true(buf >= 0);
	assert_false(fcntl(buf, F_GETFD) & FD_CLOEXEC);
	close(buf);
	close(mfd);
	close(dev);
}

static void test_kernel_checks_and_their_errors(void **state)
{
	int dev = tu_device(), before;
	int ok = tu_memfd(2 * TU_PAGE, F_SEAL_SHRINK);
	int unsealed = tu_memfd(TU_PAGE, 0);
	int write_sealed = tu_memfd(TU_PAGE, F_SEAL_SHRINK | F_SEAL_WRITE);
	int big = tu_memfd((64u << 20) + TU_PAGE, F_SEAL_SHRINK);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int closed = dup(null_fd);

	(void)state;
	close(closed);
	unsigned long made = vgshim_udmabuf_created();

	before = tu_count_fds();
	assert_int_equal(tu_create(dev, ok, 0x2, 0, TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, ok, 0, 100, TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, ok, 0, 0, 100), -EINVAL);
	assert_int_equal(tu_create(dev, ok, 0, 0, 0), -EINVAL);
	assert_int_equal(tu_create(dev, ok, 0, TU_PAGE, 2 * TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, ok, 0, 4 * TU_PAGE, TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, unsealed, 0, 0, TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, write_sealed, 0, 0, TU_PAGE), -EINVAL);
	assert_int_equal(tu_create(dev, null_fd, 0, 0, TU_PAGE), -EBADFD);
	assert_int_equal(tu_create(dev, closed, 0, 0, TU_PAGE), -EBADF);
	/* over size_limit_mb (64) */
	assert_int_equal(tu_create(dev, big, 0, 0, (64u << 20) + TU_PAGE), -EINVAL);
	/* valid for the kernel, not shareable by the model: part of a memfd */
	assert_int_equal(tu_create(dev, ok, 0, 0, TU_PAGE), -EOPNOTSUPP);
	assert_int_equal(tu_create(dev, ok, 0, TU_PAGE, TU_PAGE), -EOPNOTSUPP);
	assert_int_equal(ioctl(dev, UDMABUF_CREATE, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(tu_count_fds(), before);
	assert_int_equal(vgshim_udmabuf_created(), made);
	/* and the device still works */
	int buf = tu_create(dev, ok, 0, 0, 2 * TU_PAGE);
	assert_true(buf >= 0);
	close(buf);
	close(null_fd);
	close(big);
	close(write_sealed);
	close(unsealed);
	close(ok);
	close(dev);
}

static void test_create_list(void **state)
{
	int dev = tu_device(), mfd = tu_memfd(2 * TU_PAGE, F_SEAL_SHRINK), before, buf;
	struct udmabuf_create_list *l = calloc(1, sizeof(*l) + 1025 * sizeof(l->list[0]));

	(void)state;
	assert_non_null(l);
	before = tu_count_fds();
	l->count = 0;
	assert_int_equal(ioctl(dev, UDMABUF_CREATE_LIST, l), -1);
	assert_int_equal(errno, EINVAL);
	l->count = 1025; /* over list_limit, checked before the items */
	assert_int_equal(ioctl(dev, UDMABUF_CREATE_LIST, l), -1);
	assert_int_equal(errno, EINVAL);
	/* two items are fine for the kernel; the model cannot join them */
	l->count = 2;
	l->list[0] = (struct udmabuf_create_item){ .memfd = (uint32_t)mfd, .size = TU_PAGE };
	l->list[1] = (struct udmabuf_create_item){ .memfd = (uint32_t)mfd, .offset = TU_PAGE,
						   .size = TU_PAGE };
	assert_int_equal(ioctl(dev, UDMABUF_CREATE_LIST, l), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(tu_count_fds(), before);
	/* one whole memfd through the list */
	l->count = 1;
	l->flags = UDMABUF_FLAGS_CLOEXEC;
	l->list[0].size = 2 * TU_PAGE;
	buf = ioctl(dev, UDMABUF_CREATE_LIST, l);
	assert_true(buf >= 0);
	assert_int_equal(lseek(buf, 0, SEEK_END), (off_t)(2 * TU_PAGE));
	close(buf);
	free(l);
	close(mfd);
	close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_opens_and_others_pass_through),
		cmocka_unit_test(test_buffer_shares_the_memfd_pages),
		cmocka_unit_test(test_cloexec_only_when_asked),
		cmocka_unit_test(test_kernel_checks_and_their_errors),
		cmocka_unit_test(test_create_list),
	};

	return cmocka_run_group_tests_name("udmabuf", tests, NULL, NULL);
}
