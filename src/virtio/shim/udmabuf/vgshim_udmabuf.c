/* SPDX-License-Identifier: MIT */
/*
 * A model of the host kernel's /dev/udmabuf, preloaded into the real host
 * renderer (virgl_test_server and its render server), for machines that
 * have no udmabuf module: docs/kernel-model.md, "The host's udmabuf".
 *
 * Lavapipe 25 offers dma-buf export (VK_EXT_external_memory_dma_buf with
 * VK_EXT_image_drm_format_modifier) only when it can open /dev/udmabuf, and
 * Venus offers its guests external memory only when the host driver has
 * both. Without the device neither exists, and the guest side of exporting
 * memory cannot be exercised at all. The host driver, the renderer and
 * Venus stay real; only the kernel device under them is modelled, as the
 * guest's virtio-gpu device is by libvirtgpu-shim.so.
 *
 * What a real udmabuf gives is a dma-buf whose pages are the memfd's pages.
 * Without a kernel exporter the model returns the memfd itself, opened
 * again (a new open file of the same pages, sized as the buffer): exactly
 * right for a buffer covering the whole memfd, which is what lavapipe and
 * virglrenderer create. A buffer of part of a memfd, or of several, cannot
 * share pages that way and is refused with EOPNOTSUPP and a message,
 * rather than handed out with the wrong size or contents. The kernel's
 * checks come first, with its errors: unknown flags, unaligned offset or
 * size, a list longer than list_limit (1024) or larger than size_limit_mb
 * (64) EINVAL; an fd that is not a memfd EBADFD; a memfd without
 * F_SEAL_SHRINK or with F_SEAL_WRITE EINVAL; a range past the memfd's end
 * EINVAL. The model's buffers are plain files: dma-buf ioctls on them
 * (DMA_BUF_IOCTL_EXPORT_SYNC_FILE...) fail with ENOTTY, so a host driver
 * keeps the implicit-sync features it has without udmabuf.
 *
 * The device is a memfd named "vgshim-udmabuf": recognised by its name on
 * each udmabuf ioctl, so dup()ed and inherited device fds work and nothing
 * needs to track close(). Set VGSHIM_UDMABUF_LOG=1 for a line per buffer.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/udmabuf.h>

#include "vgshim_udmabuf.h"

#define VGSHIM_UDMABUF_PATH "/dev/udmabuf"
#define VGSHIM_UDMABUF_NAME "vgshim-udmabuf"
#define VGSHIM_UDMABUF_LIST_LIMIT 1024u
#define VGSHIM_UDMABUF_SIZE_LIMIT (64ull << 20)

/* Buffers handed out so far: what a test asks the model (and what makes a
 * program that only calls libc functions link the model at all). */
static atomic_ulong vgshim_udmabuf_count;

unsigned long vgshim_udmabuf_created(void)
{
	return atomic_load(&vgshim_udmabuf_count);
}

typedef int (*vgshim_openat_fn)(int, const char *, int, ...);
typedef int (*vgshim_ioctl_fn)(int, unsigned long, ...);

/* libc's functions behind ours, found once, before the first call needs
 * one (whichever thread gets there first: pthread_once orders the rest) */
static vgshim_openat_fn vgshim_udmabuf_openat_fn;
static vgshim_ioctl_fn vgshim_udmabuf_ioctl_fn;
static pthread_once_t vgshim_udmabuf_once = PTHREAD_ONCE_INIT;

static void vgshim_udmabuf_load(void)
{
	void *o = dlsym(RTLD_NEXT, "openat"), *i = dlsym(RTLD_NEXT, "ioctl");

	memcpy(&vgshim_udmabuf_openat_fn, &o, sizeof(o));
	memcpy(&vgshim_udmabuf_ioctl_fn, &i, sizeof(i));
}

static vgshim_openat_fn vgshim_udmabuf_next_openat(void)
{
	pthread_once(&vgshim_udmabuf_once, vgshim_udmabuf_load);
	return vgshim_udmabuf_openat_fn;
}

static vgshim_ioctl_fn vgshim_udmabuf_next_ioctl(void)
{
	pthread_once(&vgshim_udmabuf_once, vgshim_udmabuf_load);
	return vgshim_udmabuf_ioctl_fn;
}

static int vgshim_udmabuf_log(void)
{
	const char *v = getenv("VGSHIM_UDMABUF_LOG");

	return v && strcmp(v, "0") != 0;
}

static int vgshim_udmabuf_is_path(int dirfd, const char *path)
{
	/* only the absolute name: nothing opens the device relative to a
	 * directory fd, and resolving one would cost every open a syscall */
	(void)dirfd;
	return path && strcmp(path, VGSHIM_UDMABUF_PATH) == 0;
}

static int vgshim_udmabuf_open_device(int flags)
{
	unsigned int mfd = (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0;
	int acc = flags & O_ACCMODE;

	/* the real node is crw------- root: any access mode opens it */
	if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) {
		errno = EINVAL;
		return -1;
	}
	return memfd_create(VGSHIM_UDMABUF_NAME, mfd);
}

static int vgshim_udmabuf_open_common(int dirfd, const char *path, int flags,
				      mode_t mode)
{
	vgshim_openat_fn next;

	if (vgshim_udmabuf_is_path(dirfd, path))
		return vgshim_udmabuf_open_device(flags);
	next = vgshim_udmabuf_next_openat();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(dirfd, path, flags, mode);
}

static mode_t vgshim_udmabuf_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = vgshim_udmabuf_mode(flags, ap);
	va_end(ap);
	return vgshim_udmabuf_open_common(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = vgshim_udmabuf_mode(flags, ap);
	va_end(ap);
	return vgshim_udmabuf_open_common(dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE's checked variants, called when no mode is passed */
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
	return vgshim_udmabuf_open_common(AT_FDCWD, path, flags, 0);
}

/* off_t is 64-bit here: the large-file names are the same functions */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));
int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

static int vgshim_udmabuf_is_device(int fd)
{
	static const char want[] = "/memfd:" VGSHIM_UDMABUF_NAME " (deleted)";
	char link[64], name[sizeof(want) + 1];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, name, sizeof(name));
	return n == (ssize_t)(sizeof(want) - 1) && memcmp(name, want, (size_t)n) == 0;
}

/* The kernel's order: the list's own limits, then each item's fd, seals
 * and range. *first_size: the first item's memfd's size. */
static int vgshim_udmabuf_check(uint32_t flags, const struct udmabuf_create_item *items,
				uint32_t count, uint64_t *first_size)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t total = 0;
	uint32_t i;

	if (flags & ~UDMABUF_FLAGS_CLOEXEC)
		return -EINVAL;
	if (count == 0 || count > VGSHIM_UDMABUF_LIST_LIMIT)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (items[i].offset % (uint64_t)page || items[i].size % (uint64_t)page ||
		    items[i].size == 0)
			return -EINVAL;
		if (items[i].size > VGSHIM_UDMABUF_SIZE_LIMIT - total)
			return -EINVAL;
		total += items[i].size;
	}
	for (i = 0; i < count; i++) {
		struct stat st;
		int seals;

		if (fstat((int)items[i].memfd, &st) != 0)
			return -EBADF;
		seals = fcntl((int)items[i].memfd, F_GET_SEALS);
		if (seals < 0)
			return -EBADFD; /* not shmem: sealing is theirs alone */
		if (!(seals & F_SEAL_SHRINK) || (seals & F_SEAL_WRITE))
			return -EINVAL;
		if (items[i].offset > (uint64_t)st.st_size ||
		    items[i].size > (uint64_t)st.st_size - items[i].offset)
			return -EINVAL;
		if (i == 0)
			*first_size = (uint64_t)st.st_size;
	}
	return 0;
}

static int vgshim_udmabuf_create(uint32_t flags, const struct udmabuf_create_item *items,
				 uint32_t count)
{
	uint64_t memfd_size = 0;
	char link[64];
	int ret, fd;

	ret = vgshim_udmabuf_check(flags, items, count, &memfd_size);
	if (ret)
		return ret;
	if (count != 1 || items[0].offset != 0 || items[0].size != memfd_size) {
		fprintf(stderr,
			"vgshim-udmabuf: only a buffer of one whole memfd is modelled "
			"(%u item(s), first at %llu + %llu)\n",
			count, (unsigned long long)items[0].offset,
			(unsigned long long)items[0].size);
		return -EOPNOTSUPP;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%u", items[0].memfd);
	fd = vgshim_udmabuf_next_openat()(AT_FDCWD, link,
		O_RDWR | ((flags & UDMABUF_FLAGS_CLOEXEC) ? O_CLOEXEC : 0));
	if (fd < 0)
		return -errno;
	atomic_fetch_add(&vgshim_udmabuf_count, 1);
	if (vgshim_udmabuf_log())
		fprintf(stderr, "vgshim-udmabuf: buffer fd %d of %llu bytes from memfd %u\n",
			fd, (unsigned long long)items[0].size, items[0].memfd);
	return fd;
}

static int vgshim_udmabuf_ioctl(unsigned long req, void *arg)
{
	if (!arg)
		return -EFAULT;
	if (req == UDMABUF_CREATE) {
		const struct udmabuf_create *c = arg;
		struct udmabuf_create_item item = {
			.memfd = c->memfd, .offset = c->offset, .size = c->size,
		};

		return vgshim_udmabuf_create(c->flags, &item, 1);
	}
	if (req == UDMABUF_CREATE_LIST) {
		const struct udmabuf_create_list *l = arg;

		return vgshim_udmabuf_create(l->flags, l->list, l->count);
	}
	return -ENOTTY;
}

int ioctl(int fd, unsigned long req, ...)
{
	vgshim_ioctl_fn next;
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	/* only udmabuf's own requests look at the fd: every other ioctl of
	 * the process costs one comparison */
	if (_IOC_TYPE(req) == 'u' && vgshim_udmabuf_is_device(fd)) {
		ret = vgshim_udmabuf_ioctl(req, arg);
		if (ret < 0) {
			errno = -ret;
			return -1;
		}
		return ret;
	}
	next = vgshim_udmabuf_next_ioctl();
	if (!next) {
		errno = ENOSYS;
		return -1;
	}
	return next(fd, req, arg);
}
