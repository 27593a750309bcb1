/* SPDX-License-Identifier: MIT */
/*
 * The bad-input table of docs/reliability.md at the winsys API: every entry
 * gets a clear errno, leaks nothing and leaves the other objects working.
 * (Kernel-side bad input: tests/shim; Vulkan valid usage: tests/vulkan.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vws/vws.h"

static struct vws_bo *make(struct vws_device *dev, uint32_t flags, uint64_t size)
{
	struct vws_bo_create_info bi = { .blob_mem = VIRTGPU_BLOB_MEM_HOST3D, .blob_flags = flags,
					 .size = size };
	struct vws_bo *bo = NULL;

	assert_int_equal(vws_bo_create(dev, &bi, &bo), 0);
	return bo;
}

static void bad_input(void **state)
{
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1 };
	struct tc_leak_baseline b;
	struct vws_device *dev, *other;
	struct vws_bo *good, *nomap, *bo = NULL;
	struct vws_bo_create_info bi = { .blob_mem = VIRTGPU_BLOB_MEM_HOST3D, .size = 4096 };
	unsigned char *p;
	void *q;
	int fd, pfd[2], closed;

	(void)state;
	tc_model_use("fixed", NULL);
	tc_leak_begin(&b);
	assert_int_equal(vws_device_create(&ci, &dev), 0);
	assert_int_equal(vws_device_create(&ci, &other), 0);
	good = make(dev, VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE, 65536);
	assert_int_equal(vws_bo_map(good, (void **)&p), 0);
	memset(p, 0x6b, 65536);

	/* NULL where the API forbids it */
	assert_int_equal(vws_device_create(NULL, &dev), -EINVAL);
	assert_int_equal(vws_bo_create(NULL, &bi, &bo), -EINVAL);
	assert_int_equal(vws_bo_create(dev, NULL, &bo), -EINVAL);
	assert_int_equal(vws_bo_create(dev, &bi, NULL), -EINVAL);
	assert_true(vws_bo_map(good, NULL) < 0);
	assert_true(vws_bo_export_fd(good, NULL) < 0);
	assert_true(vws_bo_import_fd(dev, 0, 0, NULL) < 0);
	assert_true(vws_bo_get_info(good, NULL) < 0);
	vws_bo_unref(NULL);
	vws_device_unref(NULL);

	/* sizes: 0, wrapping when page-rounded, larger than any region */
	bi.size = 0;
	assert_int_equal(vws_bo_create(dev, &bi, &bo), -EINVAL);
	bi.size = UINT64_MAX - 100;
	assert_true(vws_bo_create(dev, &bi, &bo) < 0);
	assert_null(bo);
	bi.size = 1ull << 40;
	bi.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE;
	bi.flags = VWS_BO_DEVICE_LOCAL;
	/* deferred: created, and its map fails cleanly; else refused at once */
	if (!vws_bo_create(dev, &bi, &bo)) {
		assert_true(vws_bo_map(bo, &q) < 0);
		vws_bo_unref(bo);
		bo = NULL;
	}
	/* unknown flags, hints-as-flags, blob_mem */
	bi = (struct vws_bo_create_info){ .blob_mem = 9, .size = 4096 };
	assert_int_equal(vws_bo_create(dev, &bi, &bo), -EINVAL);
	bi = (struct vws_bo_create_info){ .blob_mem = VIRTGPU_BLOB_MEM_HOST3D, .size = 4096,
					  .blob_flags = 0x80 };
	assert_int_equal(vws_bo_create(dev, &bi, &bo), -EINVAL);
	bi.blob_flags = 0;
	bi.flags = 0x8000;
	assert_int_equal(vws_bo_create(dev, &bi, &bo), -EINVAL);

	/* map of non-mappable memory: the kernel's EINVAL, object still fine */
	nomap = make(dev, VIRTGPU_BLOB_FLAG_USE_SHAREABLE, 4096);
	assert_int_equal(vws_bo_map(nomap, &q), -EINVAL);
	assert_int_equal(vws_bo_map(nomap, &q), -EINVAL);
	assert_int_equal(vws_bo_unmap_placed(nomap, false), -EINVAL); /* nothing placed */

	/* import: invalid, closed, non-dma-buf fds, wrong size, another device's */
	assert_true(vws_bo_import_fd(dev, -1, 0, &bo) < 0);
	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(closed);
	assert_true(vws_bo_import_fd(dev, closed, 0, &bo) < 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_true(vws_bo_import_fd(dev, pfd[0], 0, &bo) < 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(vws_bo_export_fd(good, &fd), 0);
	assert_int_equal(vws_bo_import_fd(dev, fd, 65536 * 2, &bo), -EINVAL);
	assert_null(bo);
	/* another device of the same kernel: a new object, same bytes */
	assert_int_equal(vws_bo_import_fd(other, fd, 65536, &bo), 0);
	assert_int_equal(vws_bo_map(bo, &q), 0);
	assert_int_equal(((unsigned char *)q)[65535], 0x6b);
	vws_bo_unref(bo);
	close(fd);

	/* everything else still works */
	assert_int_equal(vws_bo_map(good, &q), 0);
	assert_ptr_equal(q, p);
	assert_int_equal(p[100], 0x6b);
	assert_int_equal(vws_bo_export_fd(good, &fd), 0);
	close(fd);

	/* a device unref'd while objects live: the objects keep it alive */
	vws_device_unref(dev);
	assert_int_equal(vws_bo_map(good, &q), 0);
	vws_bo_unref(nomap);
	vws_bo_unref(good);
	vws_device_unref(other);
	tc_leak_check(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_input),
	};

	return cmocka_run_group_tests_name("bad-input", tests, NULL, NULL);
}
