/* SPDX-License-Identifier: MIT */
/* RESOURCE_CREATE_BLOB: every verify_blob rule and its errno, the 48- and
 * 56-byte calls, hint validation, sizes, on every generation. */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ts.h"

#define HOST3D VIRTGPU_BLOB_MEM_HOST3D
#define GUEST VIRTGPU_BLOB_MEM_GUEST
#define H3DG VIRTGPU_BLOB_MEM_HOST3D_GUEST
#define MAPPABLE VIRTGPU_BLOB_FLAG_USE_MAPPABLE

static bool is(void **state, const char *gen)
{
	return !strcmp(*state, gen);
}

static void verify_blob_rules(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct drm_virtgpu_resource_create_blob c;
	uint32_t h;

	/* blob_mem: 0 and anything past HOST3D_GUEST */
	assert_int_equal(ts_blob(fd, 0, 0, 4096, 0, 0, NULL), -EINVAL);
	assert_int_equal(ts_blob(fd, 4, 0, 4096, 0, 0, NULL), -EINVAL);
	/* unknown blob_flags */
	assert_int_equal(ts_blob(fd, HOST3D, 0x8, 4096, 0, 0, NULL), -EINVAL);
	/* CROSS_DEVICE without the resource-UUID feature */
	assert_int_equal(ts_blob(fd, HOST3D, VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE, 4096, 0, 0, NULL),
			 -EINVAL);
	/* GUEST: no blob_id, no command */
	assert_int_equal(ts_blob(fd, GUEST, 0, 4096, 0, 7, NULL), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.blob_mem = GUEST;
	c.size = 4096;
	c.cmd_size = 4;
	c.cmd = (uintptr_t)&h;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c), -EINVAL);
	/* HOST3D: cmd_size a multiple of 4 */
	c.blob_mem = HOST3D;
	c.cmd_size = 6;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c), -EINVAL);
	/* a command without a pointer */
	c.cmd_size = 4;
	c.cmd = 0;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c), -EFAULT);
	/* size: 0 and a size that wraps when page-rounded fail later, ENOSPC */
	assert_int_equal(ts_blob(fd, HOST3D, 0, 0, 0, 0, NULL), -ENOSPC);
	assert_int_equal(ts_blob(fd, HOST3D, 0, UINT64_MAX - 10, 0, 0, NULL), -ENOSPC);
	/* guest pages are pinned: more than the guest has is ENOMEM */
	assert_int_equal(ts_blob(fd, GUEST, 0, 4ull << 40, 0, 0, NULL), -ENOMEM);
	/* valid blobs of all three kinds */
	assert_int_equal(ts_blob(fd, GUEST, MAPPABLE, 4096, 0, 0, &h), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_blob(fd, H3DG, MAPPABLE, 4096, 0, 0, &h), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE, 5000, 0, 0,
				 &h), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

static void verify_blob_features(void **state)
{
	int fd;

	/* no blob feature: every blob is EINVAL */
	tc_model_use(*state, "VGSHIM_PARAM_RESOURCE_BLOB", "0", NULL);
	fd = ts_open(0);
	assert_int_equal(ts_blob(fd, GUEST, 0, 4096, 0, 0, NULL), -EINVAL);
	close(fd);
	/* no 3D: HOST3D blobs are EINVAL, GUEST ones work */
	tc_model_use(*state, "VGSHIM_PARAM_3D_FEATURES", "0", "VGSHIM_PARAM_CONTEXT_INIT", "0",
		     NULL);
	fd = ts_open(0);
	assert_int_equal(ts_blob(fd, HOST3D, 0, 4096, 0, 0, NULL), -EINVAL);
	assert_int_equal(ts_blob(fd, H3DG, 0, 4096, 0, 0, NULL), -EINVAL);
	{
		uint32_t h;

		assert_int_equal(ts_blob(fd, GUEST, 0, 4096, 0, 0, &h), 0);
		assert_int_equal(ts_close_handle(fd, h), 0);
	}
	close(fd);
	/* with the UUID feature CROSS_DEVICE is accepted */
	tc_model_use(*state, "VGSHIM_PARAM_CROSS_DEVICE", "1", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	{
		uint32_t h;

		assert_int_equal(ts_blob(fd, HOST3D, VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE |
					 VIRTGPU_BLOB_FLAG_USE_SHAREABLE, 4096, 0, 0, &h), 0);
		assert_int_equal(ts_close_handle(fd, h), 0);
	}
	close(fd);
}

/* Unknown hint bits: only the fixed kernel rejects them (the probe). */
static void hint_validation(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t h;
	int ret = ts_blob(fd, GUEST, 0, 4096, 1u << 31, 0, &h);

	if (is(state, "fixed")) {
		assert_int_equal(ret, -EINVAL);
		assert_int_equal(ts_blob(fd, GUEST, 0, 4096, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h), 0);
	} else {
		assert_int_equal(ret, 0);
	}
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* The 56-byte call on a kernel that knows 48 bytes: the hint is not seen
 * and the blob is mapped at creation; the 48-byte call on a kernel with
 * the field: blob_hints is 0. Both land in the counters and last_blob. */
static void call_sizes(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct vgshim_object_info oi;
	struct drm_virtgpu_resource_create_blob raw;
	uint32_t h;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0,
				 &h), 0);
	assert_int_equal(vgshim_last_create_blob(&raw, sizeof(raw)), 56);
	assert_int_equal(raw.blob_hints, VIRTGPU_BLOB_HINT_DEFER_MAPPING);
	assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
	if (is(state, "legacy")) {
		assert_int_equal(oi.blob_hints, 0);
		assert_true(oi.region_reserved);
	} else {
		assert_int_equal(oi.blob_hints, VIRTGPU_BLOB_HINT_DEFER_MAPPING);
		assert_false(oi.region_reserved);
	}
	assert_int_equal(ts_close_handle(fd, h), 0);

	assert_int_equal(ts_blob48(fd, HOST3D, MAPPABLE, TS_MIB, &h), 0);
	assert_int_equal(vgshim_last_create_blob(&raw, sizeof(raw)), 48);
	assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
	assert_int_equal(oi.blob_hints, 0);
	assert_true(oi.region_reserved);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_counters().create_blob_48, 1);
	assert_int_equal(ts_counters().create_blob_56, 1);
	close(fd);
}

/* The hint means nothing for guest memory: it never uses the region. */
static void hint_on_guest_blobs(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct vgshim_object_info oi;
	uint32_t h;
	void *p;

	assert_int_equal(ts_blob(fd, GUEST, MAPPABLE, TS_MIB, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h),
			 0);
	p = ts_mmap(fd, h, TS_MIB);
	assert_non_null(p);
	assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
	assert_false(oi.region_reserved);
	assert_int_equal(oi.map_state, -1);
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	munmap(p, TS_MIB);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_ALL_GENS(verify_blob_rules),
		TS_ALL_GENS(verify_blob_features),
		TS_ALL_GENS(hint_validation),
		TS_ALL_GENS(call_sizes),
		TS_ALL_GENS(hint_on_guest_blobs),
	};

	return cmocka_run_group_tests_name("shim-blob", tests, NULL, NULL);
}
