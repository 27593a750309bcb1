/* SPDX-License-Identifier: MIT */
/* The defer-hint probe, per kernel generation. */
#include <errno.h>
#include <string.h>
#include <xf86drm.h>

#include "tw.h"

static void probe_result(void **state)
{
	const char *gen = tw_gen(state);
	bool fixed = !strcmp(gen, "fixed");
	struct drm_virtgpu_resource_create_blob last;
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	const struct vws_device_info *i = vws_device_get_info(dev);
	struct vgshim_counters c;

	assert_int_equal(i->hint_support, fixed ? VWS_HINT_VALIDATED : VWS_HINT_IGNORED);
	assert_non_null(i->hint_reason);
	assert_true(strlen(i->hint_reason) > 10);
	assert_true(i->context_initialised);

	/* What went over the wire: the probe uses the 56-byte call; the
	 * fixed kernel needs a second call without the bad bit. */
	c = tw_counters();
	assert_int_equal(c.create_blob_48, 0);
	assert_int_equal(c.create_blob_56, fixed ? 2 : 1);
	assert_int_equal(tw_last_blob(&last), 56);
	assert_int_equal(last.blob_mem, VIRTGPU_BLOB_MEM_GUEST);
	assert_int_equal(last.blob_flags, 0);
	assert_int_equal(last.blob_hints, fixed ? 0 : (1u << 31));

	/* Nothing left behind by the probe. */
	vgshim_host_drain();
	c = tw_counters();
	assert_int_equal(c.live_handles, 0);
	assert_int_equal(c.live_objects, 0);
	assert_int_equal(c.live_files, 1);
	vws_device_unref(dev);
}

static void probe_once_per_device(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vgshim_counters before = tw_counters(), after;
	struct vws_bo *bo[4];

	for (int n = 0; n < 4; n++)
		bo[n] = tw_guest(dev, 4096);
	after = tw_counters();
	/* Exactly one call per object: the probe did not run again. */
	assert_int_equal(after.ioctls[TW_NR_CREATE_BLOB] - before.ioctls[TW_NR_CREATE_BLOB], 4);
	for (int n = 0; n < 4; n++)
		vws_bo_unref(bo[n]);
	vws_device_unref(dev);
}

static void probe_no_blob(void **state)
{
	struct vws_device *dev;
	struct vgshim_counters c;

	tc_model_use(tw_gen(state), "VGSHIM_PARAM_RESOURCE_BLOB", "0", NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	assert_int_equal(vws_device_get_info(dev)->hint_support, VWS_HINT_NONE);
	assert_non_null(strstr(vws_device_get_info(dev)->hint_reason, "RESOURCE_BLOB"));
	c = tw_counters();
	assert_int_equal(c.create_blob_48 + c.create_blob_56, 0);
	vws_device_unref(dev);
}

/* capset 0: no CONTEXT_INIT. The probe must not give the device's file an
 * implicit context, so a later CONTEXT_INIT on it still works. */
static void probe_without_context(void **state)
{
	const char *gen = tw_gen(state);
	struct vws_device *dev = tw_open(0, VWS_DEFER_DEFAULT);
	const struct vws_device_info *i = vws_device_get_info(dev);
	struct drm_virtgpu_context_set_param p[2] = {
		{ VIRTGPU_CONTEXT_PARAM_CAPSET_ID, VIRTGPU_CAPSET_VENUS },
		{ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 1 },
	};
	struct drm_virtgpu_context_init init = {
		.num_params = 2,
		.ctx_set_params = (uint64_t)(uintptr_t)p,
	};

	assert_false(i->context_initialised);
	assert_int_equal(i->hint_support,
			 !strcmp(gen, "fixed") ? VWS_HINT_VALIDATED : VWS_HINT_IGNORED);
	assert_non_null(strstr(i->hint_reason, "private"));
	/* The private file is closed again. */
	assert_int_equal(tw_counters().live_files, 1);
	assert_int_equal(drmIoctl(vws_device_get_fd(dev), DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &init),
			 0);
	vws_device_unref(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(probe_result),
		TW_ALL_GENS(probe_without_context),
		TW_GEN(probe_once_per_device, "fixed"),
		TW_GEN(probe_once_per_device, "v2"),
		TW_GEN(probe_no_blob, "fixed"),
		TW_GEN(probe_no_blob, "legacy"),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
