/* SPDX-License-Identifier: MIT */
/*
 * The raw baselines: what the winsys does for an object, as bare libdrm
 * ioctls and mmap on a DRM fd (the model's or a real kernel's), with no
 * winsys in between; and a counter of the syscalls a thread makes, read
 * from the kernel's raw_syscalls:sys_enter tracepoint (root or a low
 * perf_event_paranoid), which also sees the futex calls of contended
 * locks, not only the calls the model intercepts.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_bench.h"

int vws_bench_raw_open(const struct vws_bench_env *env)
{
	const char *path = env->o->device ? env->o->device : "/dev/dri/renderD128";
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int vws_bench_raw_create(int fd, uint64_t size, uint32_t *handle)
{
	struct drm_virtgpu_resource_create_blob c = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = size,
		.blob_hints = VIRTGPU_BLOB_HINT_DEFER_MAPPING,
	};

	if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c))
		return -errno;
	*handle = c.bo_handle;
	return 0;
}

void *vws_bench_raw_map(int fd, uint32_t handle, uint64_t size)
{
	struct drm_virtgpu_map m = { .handle = handle };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_MAP, &m))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	return p == MAP_FAILED ? NULL : p;
}

int vws_bench_raw_export(int fd, uint32_t handle, int *dmabuf)
{
	struct drm_prime_handle p = { .handle = handle, .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };

	if (drmIoctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		return -errno;
	*dmabuf = p.fd;
	return 0;
}

int vws_bench_raw_import(int fd, int dmabuf, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = dmabuf };

	if (drmIoctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p))
		return -errno;
	*handle = p.handle;
	return 0;
}

int vws_bench_raw_close(int fd, uint32_t handle)
{
	struct drm_gem_close g = { .handle = handle };

	return drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &g) ? -errno : 0;
}

/* ---- syscalls of the calling thread ---- */

static long vws_bench_tracepoint_id(const char *event)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char path[160];
		FILE *f;
		long id;

		snprintf(path, sizeof(path), "%s/events/%s/id", roots[i], event);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
		if (id >= 0)
			return id;
	}
	return -1;
}

static int vws_bench_perf_open(long id)
{
	struct perf_event_attr a;
	long fd;

	if (id < 0)
		return -ENOTSUP;
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_TRACEPOINT;
	a.size = sizeof(a);
	a.config = (uint64_t)id;
	a.disabled = 1;
	a.exclude_hv = 1;
	fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

/* raw_syscalls/sys_enter: every syscall; syscalls/sys_enter_futex: the
 * waits and wakes of contended locks. */
static int vws_bench_tracepoint_open(const char *event, long *id)
{
	if (*id == -2)
		*id = vws_bench_tracepoint_id(event);
	return vws_bench_perf_open(*id);
}

int vws_bench_syscalls_open(void)
{
	static long id = -2;

	return vws_bench_tracepoint_open("raw_syscalls/sys_enter", &id);
}

int vws_bench_futex_open(void)
{
	static long id = -2;

	return vws_bench_tracepoint_open("syscalls/sys_enter_futex", &id);
}

void vws_bench_syscalls_start(int fd)
{
	if (fd >= 0) {
		ioctl(fd, PERF_EVENT_IOC_RESET, 0);
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	}
}

/* Syscalls since start (the disable ioctl itself is not counted: the
 * tracepoint fires on entry, before it takes effect, and is the one
 * subtracted; a futex counter sees no ioctl). */
static int64_t vws_bench_counter_stop(int fd, bool all_syscalls)
{
	uint64_t n = 0;

	if (fd < 0)
		return -1;
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return -1;
	return n && all_syscalls ? (int64_t)n - 1 : (int64_t)n;
}

int64_t vws_bench_syscalls_stop(int fd)
{
	return vws_bench_counter_stop(fd, true);
}

int64_t vws_bench_futex_stop(int fd)
{
	return vws_bench_counter_stop(fd, false);
}
