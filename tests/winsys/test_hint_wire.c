/* SPDX-License-Identifier: MIT */
/*
 * The hint is on the wire exactly when the policy says so, checked on the
 * bytes the model received, for every generation and policy.
 */
#include <string.h>

#include "tw.h"

static const enum vws_defer_policy policies[] = {
	VWS_DEFER_AUTO, VWS_DEFER_ALWAYS, VWS_DEFER_NEVER,
};

static bool expect_hint(const char *gen, enum vws_defer_policy p)
{
	return p == VWS_DEFER_ALWAYS || (p == VWS_DEFER_AUTO && !strcmp(gen, "fixed"));
}

/* Creates one blob and checks the call the model saw. */
static void check_create(const char *gen, struct vws_device *dev, bool host3d,
			 uint32_t blob_flags, uint32_t bo_flags, bool hinted, bool validated)
{
	struct drm_virtgpu_resource_create_blob last;
	struct vws_bo_info bi;
	struct vws_bo *bo = NULL;
	size_t size;

	if (host3d) {
		assert_int_equal(tw_host3d(dev, TW_MIB, blob_flags, bo_flags, &bo), 0);
	} else {
		struct vws_bo_create_info ci = {
			.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
			.blob_flags = blob_flags,
			.size = TW_MIB,
			.flags = bo_flags,
		};

		assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
	}
	size = tw_last_blob(&last);
	/* 56 bytes when hinting or when the kernel knows the field for sure;
	 * otherwise the call every kernel has always known. */
	assert_int_equal(size, hinted || validated ? 56 : 48);
	if (size == 56)
		assert_int_equal(last.blob_hints, hinted ? VIRTGPU_BLOB_HINT_DEFER_MAPPING : 0);
	assert_int_equal(last.blob_flags, blob_flags);
	/* A legacy kernel never sees the field, whatever was sent. */
	assert_int_equal(tw_object(dev, bo).blob_hints,
			 hinted && tw_gen_defers(gen) ? VIRTGPU_BLOB_HINT_DEFER_MAPPING : 0);
	assert_int_equal(vws_bo_get_info(bo, &bi), 0);
	assert_int_equal(bi.hinted, hinted);
	assert_int_equal(bi.deferred, hinted);
	vws_bo_unref(bo);
}

static void hint_on_wire(void **state)
{
	const char *gen = tw_gen(state);
	const uint32_t mappable = VIRTGPU_BLOB_FLAG_USE_MAPPABLE;
	const uint32_t shareable = VIRTGPU_BLOB_FLAG_USE_SHAREABLE;

	for (size_t n = 0; n < sizeof(policies) / sizeof(policies[0]); n++) {
		struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, policies[n]);
		bool validated = vws_device_get_info(dev)->hint_support == VWS_HINT_VALIDATED;
		bool hint = expect_hint(gen, policies[n]);

		assert_int_equal(vws_device_get_info(dev)->defer_policy, policies[n]);
		/* Device-local, HOST3D, mappable: the only case for the hint. */
		check_create(gen, dev, true, mappable, VWS_BO_DEVICE_LOCAL, hint, validated);
		check_create(gen, dev, true, mappable | shareable, VWS_BO_DEVICE_LOCAL, hint, validated);
		/* Not asked for, not mappable, or not HOST3D: never. */
		check_create(gen, dev, true, mappable, 0, false, validated);
		check_create(gen, dev, true, shareable, VWS_BO_DEVICE_LOCAL, false, validated);
		check_create(gen, dev, false, mappable, VWS_BO_DEVICE_LOCAL, false, validated);
		vws_device_unref(dev);
	}
}

/* The kernels with the hang bug (v1, v2) never get the hint under auto,
 * whatever the workload. */
static void auto_never_hints_buggy_kernels(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	struct vgshim_counters c;

	for (int n = 0; n < 16; n++) {
		struct vws_bo *bo;

		assert_int_equal(tw_host3d(dev, 64 * 1024, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
					   VWS_BO_DEVICE_LOCAL, &bo), 0);
		assert_int_equal(tw_object(dev, bo).blob_hints, 0);
		vws_bo_unref(bo);
	}
	c = tw_counters();
	/* Only the probe used the 56-byte call. */
	assert_int_equal(c.create_blob_56, 1);
	assert_int_equal(c.create_blob_48, 16);
	vws_device_unref(dev);
}

/* vws_bo_would_hint() predicts exactly what vws_bo_create() then sends,
 * for every policy and blob kind, and never for bad arguments. */
static void would_hint_predicts(void **state)
{
	const uint32_t mappable = VIRTGPU_BLOB_FLAG_USE_MAPPABLE;
	const uint32_t shareable = VIRTGPU_BLOB_FLAG_USE_SHAREABLE;
	const struct {
		uint32_t blob_flags, bo_flags;
	} kinds[] = {
		{ mappable, VWS_BO_DEVICE_LOCAL },
		{ mappable | shareable, VWS_BO_DEVICE_LOCAL },
		{ mappable, 0 },
		{ shareable, VWS_BO_DEVICE_LOCAL },
	};
	const char *gen = tw_gen(state);

	for (size_t n = 0; n < sizeof(policies) / sizeof(policies[0]); n++) {
		struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, policies[n]);

		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			bool expected = expect_hint(gen, policies[n]) &&
					kinds[k].bo_flags && (kinds[k].blob_flags & mappable);
			struct drm_virtgpu_resource_create_blob last;
			struct vws_bo_info bi;
			struct vws_bo *bo;
			size_t size;

			/* the same request tw_host3d makes */
			struct vws_bo_create_info ci = {
				.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
				.blob_flags = kinds[k].blob_flags,
				.size = TW_MIB,
				.flags = kinds[k].bo_flags,
			};

			assert_int_equal(vws_bo_would_hint(dev, &ci), expected);
			assert_int_equal(tw_host3d(dev, TW_MIB, kinds[k].blob_flags,
						   kinds[k].bo_flags, &bo), 0);
			size = tw_last_blob(&last);
			assert_int_equal(size == 56 && last.blob_hints, expected);
			assert_int_equal(vws_bo_get_info(bo, &bi), 0);
			assert_int_equal(bi.hinted, expected);
			vws_bo_unref(bo);
			/* a GUEST blob never gets it */
			ci.blob_mem = VIRTGPU_BLOB_MEM_GUEST;
			assert_false(vws_bo_would_hint(dev, &ci));
			assert_false(vws_bo_would_hint(NULL, &ci));
		}
		assert_false(vws_bo_would_hint(dev, NULL));
		vws_device_unref(dev);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(hint_on_wire),
		TW_ALL_GENS(would_hint_predicts),
		TW_GEN(auto_never_hints_buggy_kernels, "v1"),
		TW_GEN(auto_never_hints_buggy_kernels, "v2"),
		TW_GEN(auto_never_hints_buggy_kernels, "legacy"),
	};

	return cmocka_run_group_tests_name("hint_wire", tests, NULL, NULL);
}
