/* SPDX-License-Identifier: MIT */
/*
 * The winsys public API on the vtest backend, against a real
 * virgl_test_server (Venus on lavapipe), plus its error paths: no server,
 * a server killed mid-session, a server sending garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vt_server.h"
#include "vws/vws.h"

#define PAGE 4096u

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

static int open_dev(const char *path, uint32_t capset, enum vws_defer_policy defer,
		    struct vws_device **dev)
{
	struct vws_device_create_info ci = {
		.backend = VWS_BACKEND_VTEST,
		.path = path,
		.capset_id = capset,
		.num_rings = capset ? 2 : 0,
		.defer = defer,
		.debug_name = "test_vtest_backend",
	};

	return vws_device_create(&ci, dev);
}

static struct vws_device *venus_dev(void)
{
	struct vws_device *dev = NULL;

	assert_int_equal(open_dev(server.sock, VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT, &dev), 0);
	return dev;
}

static struct vws_bo *shmem_bo(struct vws_device *dev, uint64_t size)
{
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = size,
	};
	struct vws_bo *bo = NULL;

	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	assert_non_null(bo);
	return bo;
}

/* Whether any mapping of this process is backed by the file of fd. */
static bool fd_is_mapped(int fd)
{
	struct stat st;
	char line[512];
	bool found = false;
	FILE *f;

	assert_int_equal(fstat(fd, &st), 0);
	f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long ino = 0;
		char dev[16];

		if (sscanf(line, "%*s %*s %*s %15s %lu", dev, &ino) == 2 &&
		    ino == (unsigned long)st.st_ino)
			found = true;
	}
	fclose(f);
	return found;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void test_device_info(void **state)
{
	int fds = tc_count_fds();
	struct vws_device *dev = venus_dev();
	const struct vws_device_info *info = vws_device_get_info(dev);

	assert_int_equal(info->backend, VWS_BACKEND_VTEST);
	assert_string_equal(info->driver_name, "vtest");
	assert_int_equal(info->driver_major, 3);
	assert_true(info->supported_capsets & (1ull << VIRTGPU_CAPSET_VENUS));
	assert_true(info->param_present[VIRTGPU_PARAM_RESOURCE_BLOB]);
	assert_int_equal(info->param[VIRTGPU_PARAM_CONTEXT_INIT], 1);
	assert_true(info->context_initialised);
	assert_int_equal(info->capset_id, VIRTGPU_CAPSET_VENUS);
	assert_int_equal(info->capset_version, 0);
	/* No kernel, no hint: NONE, and the reason says why. */
	assert_int_equal(info->hint_support, VWS_HINT_NONE);
	assert_non_null(strstr(info->hint_reason, "vtest"));
	assert_int_equal(info->defer_policy, VWS_DEFER_AUTO);
	assert_int_equal(vws_device_get_fd(dev), -1);
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_backend_from_environment(void **state)
{
	struct vws_device_create_info ci = { .backend = VWS_BACKEND_DEFAULT };
	struct vws_device *dev = NULL;

	setenv("VWS_BACKEND", "vtest", 1);
	setenv("VWS_VTEST_SOCKET", server.sock, 1);
	assert_int_equal(vws_device_create(&ci, &dev), 0);
	unsetenv("VWS_BACKEND");
	unsetenv("VWS_VTEST_SOCKET");
	assert_int_equal(vws_device_get_info(dev)->backend, VWS_BACKEND_VTEST);
	assert_string_equal(vws_device_get_info(dev)->path, server.sock);
	/* No context asked for: none made. */
	assert_false(vws_device_get_info(dev)->context_initialised);
	vws_device_unref(dev);
}

static void test_venus_capset(void **state)
{
	struct vws_device *dev = venus_dev();
	uint32_t caps[256], version = 99;

	assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_VENUS, 4, caps, sizeof(caps),
					       &version), 0);
	assert_int_equal(version, 0);
	assert_int_equal((caps[1] >> 22) & 0x7f, 1); /* vk.xml 1.x */
	assert_true(caps[3] != 0);                   /* Venus protocol spec */
	assert_int_equal(caps[4], 1);                /* blob_id 0 supported */
	/* A capset the server does not offer. */
	assert_int_equal(vws_device_get_capset(dev, VIRTGPU_CAPSET_CROSS_DOMAIN, 0, caps,
					       sizeof(caps), NULL), -EOPNOTSUPP);
	vws_device_unref(dev);
}

static void test_context_rings_checked(void **state)
{
	struct vws_device_create_info ci = {
		.backend = VWS_BACKEND_VTEST,
		.path = server.sock,
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.num_rings = 65, /* the server has 64 timelines */
	};
	struct vws_device *dev = NULL;
	int fds = tc_count_fds();

	assert_int_equal(vws_device_create(&ci, &dev), -EINVAL);
	assert_null(dev);
	ci.capset_id = VIRTGPU_CAPSET_GFXSTREAM_VULKAN;
	ci.num_rings = 1;
	assert_int_equal(vws_device_create(&ci, &dev), -EOPNOTSUPP);
	assert_int_equal(tc_count_fds(), fds);
}

/* Several sizes: created unmapped, mapped only by the first map, then the
 * cached pointer; writes visible through the object's own memory. */
static void test_blobs_lazy_map_write_read(void **state)
{
	static const uint64_t sizes[] = { PAGE, 3 * PAGE + 100, 1u << 20, 16u << 20 };
	int fds = tc_count_fds();
	struct vws_device *dev = venus_dev();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t rounded = (sizes[i] + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		struct vws_bo *bo = shmem_bo(dev, sizes[i]);
		struct vws_stats before, after;
		struct vws_bo_info bi;
		uint8_t *p = NULL, *q = NULL, byte = 0;
		int fd = -1;

		assert_int_equal(vws_bo_get_info(bo, &bi), 0);
		assert_int_equal(bi.size, rounded);
		assert_true(bi.res_id != 0);
		assert_false(bi.mapped);
		assert_false(bi.hinted);
		/* The object's memory is not mapped anywhere in this process. */
		assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
		assert_false(fd_is_mapped(fd));

		vws_device_get_stats(dev, &before);
		assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
		assert_true(fd_is_mapped(fd));
		assert_int_equal(vws_bo_map(bo, (void **)&q), 0);
		assert_ptr_equal(p, q);
		vws_device_get_stats(dev, &after);
		assert_int_equal(after.mmaps - before.mmaps, 1);
		assert_int_equal(after.map_calls - before.map_calls, 2);

		memset(p, (int)(0x11 * (i + 1)), rounded);
		p[rounded - 1] = 0xee;
		/* Read back through the file, not the mapping. */
		assert_int_equal(pread(fd, &byte, 1, 0), 1);
		assert_int_equal(byte, (uint8_t)(0x11 * (i + 1)));
		assert_int_equal(pread(fd, &byte, 1, (off_t)rounded - 1), 1);
		assert_int_equal(byte, 0xee);
		/* And the other way round. */
		byte = 0x42;
		assert_int_equal(pwrite(fd, &byte, 1, 17), 1);
		assert_int_equal(p[17], 0x42);

		assert_int_equal(vws_bo_get_info(bo, &bi), 0);
		assert_true(bi.mapped);
		close(fd);
		vws_bo_unref(bo);
	}
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_export_import(void **state)
{
	struct vws_device *dev = venus_dev();
	struct vws_bo *bo = shmem_bo(dev, 2 * PAGE), *same = NULL, *none = NULL;
	struct stat a, b;
	int fd1 = -1, fd2 = -1, foreign;
	uint8_t *p, *q;

	assert_int_equal(vws_bo_export_fd(bo, &fd1), 0);
	assert_int_equal(vws_bo_export_fd(bo, &fd2), 0);
	assert_true(fd1 != fd2);
	assert_true(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd1, &a), 0);
	assert_int_equal(fstat(fd2, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* dups of one object */
	assert_int_equal(fcntl(fd1, F_GETFL) & O_ACCMODE, O_RDWR);

	/* Our own export comes back as the same object. */
	assert_int_equal(vws_bo_import_fd(dev, fd1, 2 * PAGE, &same), 0);
	assert_ptr_equal(same, bo);
	assert_int_equal(vws_bo_import_fd(dev, fd1, 3 * PAGE, &none), -EINVAL);
	assert_null(none);
	vws_bo_unref(same);

	/* A foreign fd is refused like another driver's dma-buf. */
	foreign = memfd_create("foreign", MFD_CLOEXEC);
	assert_true(foreign >= 0);
	assert_int_equal(ftruncate(foreign, PAGE), 0);
	assert_int_equal(vws_bo_import_fd(dev, foreign, 0, &none), -ENODEV);
	close(foreign);

	/* The exported fd maps the same memory as the object. */
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	q = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	assert_true(q != MAP_FAILED);
	p[PAGE + 3] = 0x77;
	assert_int_equal(q[PAGE + 3], 0x77);
	munmap(q, 2 * PAGE);
	close(fd1);
	close(fd2);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* After the last unref the server has freed the resource: it hands the
 * same resource id to the next blob. */
static void test_unref_frees_on_server(void **state)
{
	int fds = tc_count_fds();
	struct vws_device *dev = venus_dev();
	struct vws_bo *a = shmem_bo(dev, PAGE), *b, *c;
	struct vws_bo_info ia, ib, ic;
	struct vws_stats st;

	assert_int_equal(vws_bo_get_info(a, &ia), 0);
	b = shmem_bo(dev, PAGE);
	assert_int_equal(vws_bo_get_info(b, &ib), 0);
	assert_true(ia.res_id != ib.res_id);
	vws_bo_unref(a);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 1);
	c = shmem_bo(dev, PAGE);
	assert_int_equal(vws_bo_get_info(c, &ic), 0);
	assert_int_equal(ic.res_id, ia.res_id);
	vws_bo_unref(b);
	vws_bo_unref(c);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 0);
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_policy_and_hint(void **state)
{
	struct vws_device *dev = NULL;
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = PAGE,
		.flags = VWS_BO_DEVICE_LOCAL,
	};
	struct vws_bo *bo = NULL;
	struct vws_bo_info bi;
	void *p;

	/* auto: NONE means no hint. */
	dev = venus_dev();
	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_false(bi.hinted);
	vws_bo_unref(bo);
	vws_device_unref(dev);

	/* always: the winsys "sends" it; vtest has no field and maps lazily
	 * anyway, so the object behaves as deferred until the first map. */
	assert_int_equal(open_dev(server.sock, VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS, &dev), 0);
	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_true(bi.hinted);
	assert_true(bi.deferred);
	assert_int_equal(vws_bo_map(bo, &p), 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_false(bi.deferred);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* Requests the server would answer by dropping the connection are refused
 * locally, and the device stays usable. */
static void test_refused_blob_keeps_device(void **state)
{
	struct vws_device *dev = venus_dev();
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = PAGE,
	};
	struct vws_bo *bo = NULL;

	assert_int_equal(vws_bo_create(dev, &ci, &bo), -EINVAL);
	assert_null(bo);
	ci.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE;
	assert_int_equal(vws_bo_create(dev, &ci, &bo), -EINVAL);
	bo = shmem_bo(dev, PAGE);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

static void test_syncobjs(void **state)
{
	struct vws_device *dev = venus_dev();
	uint32_t s = 0, t = 0, both[2];

	assert_int_equal(vws_syncobj_create(dev, false, &s), 0);
	assert_int_equal(vws_syncobj_create(dev, true, &t), 0);
	assert_int_equal(vws_syncobj_wait(dev, &t, 1, now_ns() + 5000000000ll, true), 0);
	/* Unsignalled: a deadline already past times out at once. */
	assert_int_equal(vws_syncobj_wait(dev, &s, 1, now_ns(), true), -ETIME);
	both[0] = s;
	both[1] = t;
	assert_int_equal(vws_syncobj_wait(dev, both, 2, now_ns(), true), -ETIME);
	assert_int_equal(vws_syncobj_wait(dev, both, 2, now_ns() + 5000000000ll, false), 0);
	assert_int_equal(vws_syncobj_signal(dev, &s, 1), 0);
	assert_int_equal(vws_syncobj_wait(dev, both, 2, INT64_MAX, true), 0);
	/* Unknown handles fail here instead of killing the connection. */
	both[0] = 0xdead;
	assert_int_equal(vws_syncobj_wait(dev, both, 2, now_ns(), true), -EINVAL);
	assert_int_equal(vws_syncobj_signal(dev, both, 1), -EINVAL);
	assert_int_equal(vws_syncobj_destroy(dev, s), 0);
	assert_int_equal(vws_syncobj_destroy(dev, s), -EINVAL);
	assert_int_equal(vws_syncobj_destroy(dev, t), 0);
	vws_device_unref(dev);
}

static void test_submit(void **state)
{
	struct vws_device *dev = venus_dev();
	struct vws_bo *bo = shmem_bo(dev, PAGE);
	struct vws_syncobj_point in = { 0 }, out = { 0 };
	struct vws_submit_info si = { .in_fence_fd = -1 };
	int fence = -1;

	assert_int_equal(vws_syncobj_create(dev, false, &out.handle), 0);
	assert_int_equal(vws_syncobj_create(dev, true, &in.handle), 0);
	in.reset = true;
	/* An empty batch on ring 0 that signals `out` when it completes. (A
	 * fence on ring N > 0 completes only once the Venus stream has bound a
	 * VkQueue to that ring, which an empty batch cannot do.) */
	si.use_ring = true;
	si.ring_idx = 0;
	si.bos = &bo;
	si.num_bos = 1;
	si.in_syncobjs = &in;
	si.num_in_syncobjs = 1;
	si.out_syncobjs = &out;
	si.num_out_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), 0);
	assert_int_equal(vws_syncobj_wait(dev, &out.handle, 1, now_ns() + 20000000000ll, true), 0);
	/* The in-syncobj was reset after the wait. */
	assert_int_equal(vws_syncobj_wait(dev, &in.handle, 1, now_ns(), true), -ETIME);

	/* What vtest cannot do, refused cleanly. */
	si.num_in_syncobjs = 0;
	si.ring_idx = 2; /* the context has 2 rings */
	assert_int_equal(vws_submit(dev, &si), -EINVAL);
	si.ring_idx = 0;
	si.out_fence_fd = &fence;
	assert_int_equal(vws_submit(dev, &si), -EOPNOTSUPP);
	assert_int_equal(fence, -1);
	si.out_fence_fd = NULL;
	assert_int_equal(vws_bo_wait(bo, true), 0);
	assert_int_equal(vws_bo_wait(bo, false), 0);
	vws_syncobj_destroy(dev, in.handle);
	vws_syncobj_destroy(dev, out.handle);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* vws_submit on its own thread, so that a submission that blocks fails the
 * test (after a generous bound) instead of hanging it. Heap-allocated: a
 * thread left blocked after a failure must not point into a dead frame. */
struct bounded_submit {
	struct vws_device *dev;
	struct vws_submit_info si;
	struct vws_syncobj_point in, out;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
};

static void *bounded_submit_main(void *arg)
{
	struct bounded_submit *b = arg;
	int ret = vws_submit(b->dev, &b->si);

	pthread_mutex_lock(&b->lock);
	b->ret = ret;
	b->done = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* An empty batch on ring 0 waiting for in (unless in.handle is 0) and
 * setting out (unless out.handle is 0); the result of vws_submit. */
static int submit_bounded(struct vws_device *dev, struct vws_syncobj_point in,
			  struct vws_syncobj_point out)
{
	struct bounded_submit *b = calloc(1, sizeof(*b));
	struct timespec ts;
	pthread_t t;
	int ret = 0;

	assert_non_null(b);
	b->dev = dev;
	b->in = in;
	b->out = out;
	b->si = (struct vws_submit_info){ .in_fence_fd = -1, .use_ring = true };
	if (in.handle) {
		b->si.in_syncobjs = &b->in;
		b->si.num_in_syncobjs = 1;
	}
	if (out.handle) {
		b->si.out_syncobjs = &b->out;
		b->si.num_out_syncobjs = 1;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	assert_int_equal(pthread_create(&t, NULL, bounded_submit_main, b), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	pthread_mutex_lock(&b->lock);
	while (!b->done && !ret)
		ret = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
	pthread_mutex_unlock(&b->lock);
	if (!b->done) {
		/* b stays allocated: the thread still uses it. */
		pthread_detach(t);
		fail_msg("vws_submit still blocked after 60 s (wait-before-signal)");
	}
	pthread_join(t, NULL);
	ret = b->ret;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
	return ret;
}

/* A submission whose in-syncobj nothing submitted so far will signal
 * (wait-before-signal) is refused at once with -EINVAL, as the kernel
 * refuses an in-syncobj without a fence; one whose signaller was already
 * submitted waits for it and goes through. Binary and timeline points. */
static void test_submit_wait_before_signal(void **state)
{
	struct vws_device *dev = venus_dev();
	struct vws_syncobj_point none = { 0 }, in = { 0 }, out = { 0 };
	uint32_t first, later;

	assert_int_equal(vws_syncobj_create(dev, false, &first), 0);
	assert_int_equal(vws_syncobj_create(dev, false, &later), 0);
	in.handle = first;
	/* Binary: nothing will signal `in` yet. */
	assert_int_equal(submit_bounded(dev, in, none), -EINVAL);
	/* The device is fine, and the submission that signals it now... */
	out.handle = in.handle;
	assert_int_equal(submit_bounded(dev, none, out), 0);
	/* ...makes the waiting one valid (it waits for that batch). */
	assert_int_equal(submit_bounded(dev, in, none), 0);
	/* Timeline points: `later` is promised point 5 by a batch. */
	out = (struct vws_syncobj_point){ .handle = later, .point = 5 };
	assert_int_equal(submit_bounded(dev, none, out), 0);
	in = (struct vws_syncobj_point){ .handle = later, .point = 7 };
	assert_int_equal(submit_bounded(dev, in, none), -EINVAL);
	in.point = 5;
	assert_int_equal(submit_bounded(dev, in, none), 0);
	in.point = 3;
	in.reset = true;
	assert_int_equal(submit_bounded(dev, in, none), 0);
	/* Reset: nothing promises it any more, as after a kernel reset. */
	in.reset = false;
	assert_int_equal(submit_bounded(dev, in, none), -EINVAL);
	/* A host-side signal promises it again. */
	assert_int_equal(vws_syncobj_signal(dev, &later, 1), 0);
	in.point = 0;
	assert_int_equal(submit_bounded(dev, in, none), 0);
	assert_int_equal(vws_syncobj_destroy(dev, first), 0);
	assert_int_equal(vws_syncobj_destroy(dev, later), 0);
	vws_device_unref(dev);
}

struct worker {
	struct vws_device *dev;
	int failures;
	unsigned seed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 30; i++) {
		struct vws_bo_create_info ci = {
			.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
			.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
			.size = PAGE * (1 + (rand_r(&w->seed) % 8)),
		};
		struct vws_bo *bo = NULL;
		uint32_t *p = NULL;

		if (vws_bo_create(w->dev, &ci, &bo) || vws_bo_map(bo, (void **)&p)) {
			w->failures++;
			if (bo)
				vws_bo_unref(bo);
			continue;
		}
		p[0] = w->seed;
		if (p[0] != w->seed)
			w->failures++;
		vws_bo_unref(bo);
	}
	return NULL;
}

static void test_threads(void **state)
{
	int fds = tc_count_fds();
	struct vws_device *dev = venus_dev();
	struct worker w[4];
	pthread_t t[4];
	struct vws_stats st;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .dev = dev, .seed = 1234u + (unsigned)i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 0);
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

/* GUEST blobs (server shared memory) and a placed mapping at an address
 * the caller owns. */
static void test_guest_blob_and_placed_map(void **state)
{
	int fds = tc_count_fds();
	struct vws_device *dev = venus_dev();
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = 4 * PAGE,
	};
	struct vws_bo *bo = NULL;
	uint8_t *p = NULL, *range;

	assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	memset(p, 0x3c, 4 * PAGE);

	range = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(range != MAP_FAILED);
	assert_int_equal(vws_bo_map_placed(bo, range), 0);
	assert_int_equal(vws_bo_map_placed(bo, range), -EBUSY);
	assert_int_equal(range[3 * PAGE + 5], 0x3c); /* same memory, two places */
	range[0] = 0x99;
	assert_int_equal(p[0], 0x99);
	assert_int_equal(vws_bo_unmap_placed(bo, true), 0);
	assert_int_equal(vws_bo_unmap_placed(bo, true), -EINVAL);
	munmap(range, 4 * PAGE);
	vws_bo_unref(bo);
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

struct waiter {
	struct vws_device *dev;
	uint32_t sync;
	int ret;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->ret = vws_syncobj_wait(w->dev, &w->sync, 1, INT64_MAX, true);
	return NULL;
}

/* A thread blocked in an endless wait when the server dies gets an error
 * back instead of waiting forever. */
static void test_server_killed_during_wait(void **state)
{
	struct vt_server own;
	struct waiter w = { .ret = 1 };
	pthread_t t;

	vt_server_start(&own, true);
	assert_int_equal(open_dev(own.sock, VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT, &w.dev), 0);
	assert_int_equal(vws_syncobj_create(w.dev, false, &w.sync), 0);
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	vt_server_kill(&own);
	pthread_join(t, NULL);
	assert_true(w.ret == -ECONNRESET || w.ret == -EIO);
	vws_syncobj_destroy(w.dev, w.sync);
	vws_device_unref(w.dev);
	vt_server_stop(&own);
}

static void test_no_server(void **state)
{
	char *dir = tc_temp_dir();
	char path[256];
	struct vws_device *dev = NULL;
	int fds = tc_count_fds();

	snprintf(path, sizeof(path), "%s/absent.sock", dir);
	assert_int_equal(open_dev(path, VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT, &dev), -ENOENT);
	assert_null(dev);
	assert_int_equal(tc_count_fds(), fds);
	rmdir(dir);
	free(dir);
}

static void test_server_killed_mid_session(void **state)
{
	struct vt_server own;
	struct vws_device *dev = NULL;
	struct vws_bo *bo, *bo2 = NULL;
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = PAGE,
	};
	uint32_t s = 0;
	uint8_t *p;
	int fds = tc_count_fds(), ret;

	vt_server_start(&own, true);
	assert_int_equal(open_dev(own.sock, VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT, &dev), 0);
	bo = shmem_bo(dev, PAGE);
	assert_int_equal(vws_syncobj_create(dev, false, &s), 0);
	vt_server_kill(&own);

	ret = vws_bo_create(dev, &ci, &bo2);
	assert_true(ret == -ECONNRESET || ret == -EIO);
	assert_null(bo2);
	/* A wait with no deadline notices the server is gone. */
	ret = vws_syncobj_wait(dev, &s, 1, INT64_MAX, true);
	assert_true(ret == -ECONNRESET || ret == -EIO);
	assert_true(vws_syncobj_signal(dev, &s, 1) < 0);
	/* The memory we hold is ours: mapping it still works. */
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	p[0] = 1;
	vws_bo_unref(bo);
	vws_syncobj_destroy(dev, s);
	vws_device_unref(dev);
	vt_server_stop(&own);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_garbage_reply(void **state)
{
	struct vt_fake f;
	struct vws_device *dev = NULL;
	int fds = tc_count_fds();

	vt_fake_start(&f, VT_FAKE_GET_PARAM_GARBAGE);
	assert_int_equal(open_dev(f.sock, 0, VWS_DEFER_DEFAULT, &dev), -EPROTO);
	assert_null(dev);
	vt_fake_stop(&f);
	assert_int_equal(tc_count_fds(), fds);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static int blob_with_id(struct vws_device *dev, uint32_t id, struct vws_bo **bo)
{
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = PAGE,
		.blob_id = id, /* the fake server answers with it as res_id */
	};

	*bo = NULL;
	return vws_bo_create(dev, &ci, bo);
}

/* Resource ids come from the server: untrusted input. Any id costs the
 * client what one object costs (no table sized by the id: 0x04000000 used
 * to grow it by 1 GiB, 0x40000000 by 16 GiB); an id the server already
 * handed out for a live object is a protocol error for that call only. */
static void test_server_res_ids_untrusted(void **state)
{
	static const uint32_t ids[] = { 0x04000000u, 0x40000000u, 0xffffffffu, 7 };
	struct vws_bo *bo[4], *dup, *imp;
	struct vws_bo_info bi;
	struct vt_fake f;
	struct vws_device *dev = NULL;
	int fds = tc_count_fds(), fd;
	long before;
	uint8_t *p;

	vt_fake_start(&f, VT_FAKE_SERVE);
	assert_int_equal(open_dev(f.sock, 0, VWS_DEFER_DEFAULT, &dev), 0);
	before = maxrss_kib();
	for (int i = 0; i < 4; i++) {
		assert_int_equal(blob_with_id(dev, ids[i], &bo[i]), 0);
		assert_int_equal(vws_bo_get_info(bo[i], &bi), 0);
		assert_int_equal(bi.res_id, ids[i]);
		/* not a byte more than objects cost: far below one 1 GiB table */
		if (maxrss_kib() - before > 64 * 1024)
			fail_msg("res_id 0x%x: the client grew by %ld KiB", ids[i],
				 maxrss_kib() - before);
	}
	/* The same id again, while its object lives: refused, nothing
	 * replaced, no fd kept. */
	assert_int_equal(blob_with_id(dev, ids[0], &dup), -EPROTO);
	assert_null(dup);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vws_bo_map(bo[i], (void **)&p), 0);
		p[PAGE - 1] = (uint8_t)i;
	}
	/* Import finds an object by its fd whatever its id. */
	assert_int_equal(vws_bo_export_fd(bo[1], &fd), 0);
	assert_int_equal(vws_bo_import_fd(dev, fd, 0, &imp), 0);
	assert_ptr_equal(imp, bo[1]);
	vws_bo_unref(imp);
	close(fd);
	for (int i = 0; i < 4; i++)
		vws_bo_unref(bo[i]);
	vws_device_unref(dev);
	vt_fake_stop(&f);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_silent_server_times_out(void **state)
{
	struct vt_fake f;
	struct vws_device *dev = NULL;

	setenv("VWS_VTEST_TIMEOUT_MS", "1000", 1);
	vt_fake_start(&f, VT_FAKE_SILENT);
	assert_int_equal(open_dev(f.sock, 0, VWS_DEFER_DEFAULT, &dev), -ETIMEDOUT);
	unsetenv("VWS_VTEST_TIMEOUT_MS");
	assert_null(dev);
	vt_fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_backend_from_environment),
		cmocka_unit_test(test_venus_capset),
		cmocka_unit_test(test_context_rings_checked),
		cmocka_unit_test(test_blobs_lazy_map_write_read),
		cmocka_unit_test(test_export_import),
		cmocka_unit_test(test_unref_frees_on_server),
		cmocka_unit_test(test_policy_and_hint),
		cmocka_unit_test(test_refused_blob_keeps_device),
		cmocka_unit_test(test_syncobjs),
		cmocka_unit_test(test_submit),
		cmocka_unit_test(test_submit_wait_before_signal),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_guest_blob_and_placed_map),
		cmocka_unit_test(test_server_killed_during_wait),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_server_killed_mid_session),
		cmocka_unit_test(test_garbage_reply),
		cmocka_unit_test(test_server_res_ids_untrusted),
		cmocka_unit_test(test_silent_server_times_out),
	};

	return cmocka_run_group_tests_name("vtest_backend", tests, group_setup, group_teardown);
}
