/* SPDX-License-Identifier: MIT */
/*
 * The layer's decisions as a driver with its own VkDeviceMemory sees them
 * (vws_vk_plan_blob, vws_vk_result): they must be exactly what the layer
 * itself does, on every generation, profile, type and export request.
 */
#include <string.h>

#include "tv.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT

static const VkExternalMemoryHandleTypeFlags exports[] = {
	0,
	VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
	VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT,
};

/* The plan and the layer's own allocation agree on blob, flags and hint. */
static void plan_matches_layer(void **state)
{
	for (int p = 0; p < TV_NUM_PROFILES; p++) {
		struct tv t;

		tv_open(&t, p);
		for (uint32_t type = 0; type < t.props.memoryTypeCount; type++) {
			VkMemoryPropertyFlags props = t.props.memoryTypes[type].propertyFlags;

			for (size_t e = 0; e < sizeof(exports) / sizeof(exports[0]); e++) {
				const VkExportMemoryAllocateInfo exp = {
					.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
					.handleTypes = exports[e],
				};
				struct vws_vk_blob_plan plan;
				struct vws_bo_info bi;
				VkDeviceMemory m;
				struct vws_bo *bo;

				assert_int_equal(vws_vk_plan_blob(t.dev, props, exports[e], TV_MIB,
								  VWS_VK_HINT_DEVICE_LOCAL, false, &plan),
						 VK_SUCCESS);
				assert_int_equal(tv_alloc(&t, type, TV_MIB, exports[e] ? &exp : NULL, &m),
						 VK_SUCCESS);
				bo = vws_vk_memory_bo(m);
				assert_int_equal(plan.needed, bo != NULL);
				if (bo) {
					assert_int_equal(vws_bo_get_info(bo, &bi), 0);
					assert_int_equal(plan.create.blob_mem, bi.blob_mem);
					assert_int_equal(plan.create.blob_flags, bi.blob_flags);
					assert_int_equal(plan.create.size, TV_MIB);
					assert_int_equal(plan.hinted, bi.hinted);
					/* the hint only for device-local host-visible types */
					if (plan.hinted)
						assert_int_equal(props & (DL | HV), DL | HV);
				} else {
					assert_false(props & HV);
					assert_int_equal(exports[e], 0);
				}
				vws_vk_FreeMemory(t.vk, m, NULL);
			}
		}
		tv_close(&t);
	}
	(void)state;
}

/* The scope narrows or widens the request; the policy still decides. */
static void plan_scopes(void **state)
{
	const bool validated = !strcmp(*state, "fixed");
	struct vws_vk_blob_plan plan;
	struct tv t;

	tv_open(&t, TV_DISCRETE_SMALL_BAR);
	assert_int_equal(vws_vk_plan_blob(t.dev, HV, 0, TV_MIB, VWS_VK_HINT_ALL_HOST_VISIBLE,
					  false, &plan), VK_SUCCESS);
	assert_int_equal(plan.create.flags, VWS_BO_DEVICE_LOCAL);
	assert_int_equal(plan.hinted, validated);
	assert_int_equal(vws_vk_plan_blob(t.dev, DL | HV, 0, TV_MIB, VWS_VK_HINT_NONE, false,
					  &plan), VK_SUCCESS);
	assert_int_equal(plan.create.flags, 0);
	assert_false(plan.hinted);
	/* device-only exportable memory: a blob, nothing to map, no hint */
	assert_int_equal(vws_vk_plan_blob(t.dev, DL, VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
					  TV_MIB, VWS_VK_HINT_ALL_HOST_VISIBLE, true, &plan),
			 VK_SUCCESS);
	assert_true(plan.needed);
	assert_int_equal(plan.create.blob_flags, VIRTGPU_BLOB_FLAG_USE_SHAREABLE);
	assert_false(plan.hinted);
	/* bad arguments */
	assert_int_equal(vws_vk_plan_blob(NULL, HV, 0, TV_MIB, VWS_VK_HINT_DEVICE_LOCAL, false,
					  &plan), VK_ERROR_INITIALIZATION_FAILED);
	assert_int_equal(vws_vk_plan_blob(t.dev, HV, 0, TV_MIB, VWS_VK_HINT_DEVICE_LOCAL, false,
					  NULL), VK_ERROR_INITIALIZATION_FAILED);
	tv_close(&t);
}

/* The documented errno -> VkResult table (docs/vulkan-memory.md). */
static void result_table(void **state)
{
	static const struct {
		enum vws_vk_op op;
		int err;
		VkResult res;
	} rows[] = {
		{ VWS_VK_OP_ALLOCATE, 0, VK_SUCCESS },
		{ VWS_VK_OP_ALLOCATE, -ENOSPC, VK_ERROR_OUT_OF_DEVICE_MEMORY },
		{ VWS_VK_OP_ALLOCATE, -ENOMEM, VK_ERROR_OUT_OF_DEVICE_MEMORY },
		{ VWS_VK_OP_ALLOCATE, -EMFILE, VK_ERROR_TOO_MANY_OBJECTS },
		{ VWS_VK_OP_MAP, 0, VK_SUCCESS },
		{ VWS_VK_OP_MAP, -ENOSPC, VK_ERROR_MEMORY_MAP_FAILED },
		{ VWS_VK_OP_MAP, -EINVAL, VK_ERROR_MEMORY_MAP_FAILED },
		{ VWS_VK_OP_EXPORT, -ENOSPC, VK_ERROR_TOO_MANY_OBJECTS },
		{ VWS_VK_OP_EXPORT, -ENOMEM, VK_ERROR_OUT_OF_HOST_MEMORY },
		{ VWS_VK_OP_IMPORT, -EINVAL, VK_ERROR_INVALID_EXTERNAL_HANDLE },
		{ VWS_VK_OP_IMPORT, -ENODEV, VK_ERROR_INVALID_EXTERNAL_HANDLE },
		{ VWS_VK_OP_IMPORT, -EBADF, VK_ERROR_INVALID_EXTERNAL_HANDLE },
		{ VWS_VK_OP_IMPORT, -ENOMEM, VK_ERROR_OUT_OF_HOST_MEMORY },
		{ VWS_VK_OP_SUBMIT, 0, VK_SUCCESS },
		{ VWS_VK_OP_SUBMIT, -ECONNRESET, VK_ERROR_DEVICE_LOST },
		{ VWS_VK_OP_SUBMIT, -EIO, VK_ERROR_DEVICE_LOST },
		{ VWS_VK_OP_SUBMIT, -ENODEV, VK_ERROR_DEVICE_LOST },
		{ VWS_VK_OP_SUBMIT, -ENOMEM, VK_ERROR_OUT_OF_HOST_MEMORY },
		{ VWS_VK_OP_WAIT, 0, VK_SUCCESS },
		{ VWS_VK_OP_WAIT, -ETIME, VK_TIMEOUT },
		{ VWS_VK_OP_WAIT, -ETIMEDOUT, VK_ERROR_DEVICE_LOST },
		{ VWS_VK_OP_WAIT, -ECONNRESET, VK_ERROR_DEVICE_LOST },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(vws_vk_result(rows[i].op, rows[i].err), rows[i].res);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TV_ALL_GENS(plan_matches_layer),
		TV_ALL_GENS(plan_scopes),
		TV_GEN(result_table, "fixed"),
	};

	return cmocka_run_group_tests_name("vulkan-plan", tests, NULL, NULL);
}
