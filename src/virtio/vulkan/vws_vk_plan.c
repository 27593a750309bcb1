/* SPDX-License-Identifier: MIT */
/*
 * Memory type -> blob: the policy of docs/vulkan-memory.md in one place,
 * used by the layer's own vkAllocateMemory and by drivers that keep their
 * own VkDeviceMemory (Venus) but must decide the same way.
 */
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vk_priv.h"

#define VWS_VK_EXT_TYPES \
	(VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)

static bool vws_vk_scope_hints(enum vws_vk_hint_scope scope, VkMemoryPropertyFlags props)
{
	if (!(props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
		return false;
	switch (scope) {
	case VWS_VK_HINT_ALL_HOST_VISIBLE:
		return true;
	case VWS_VK_HINT_NONE:
		return false;
	default:
		return props & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
	}
}

VkResult vws_vk_plan_blob(struct vws_device *dev, VkMemoryPropertyFlags props,
			  VkExternalMemoryHandleTypeFlags export_types, VkDeviceSize size,
			  enum vws_vk_hint_scope scope, bool cross_device,
			  struct vws_vk_blob_plan *out)
{
	const struct vws_device_info *di;
	bool visible = props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
	bool exportable = export_types & VWS_VK_EXT_TYPES;
	const VkDeviceSize page = (VkDeviceSize)sysconf(_SC_PAGESIZE);

	if (!dev || !out)
		return VK_ERROR_INITIALIZATION_FAILED;
	di = vws_device_get_info(dev);
	memset(out, 0, sizeof(*out));
	out->needed = visible || exportable;
	if (!out->needed)
		return VK_SUCCESS;
	/* Blobs are page granular (the kernel rounds them up, and the first
	 * map maps the whole blob), so the host object gets the blob's size:
	 * one of allocationSize bytes would be smaller than the blob that
	 * names it, and a host refuses to map that. */
	if (size > UINT64_MAX - (page - 1))
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	out->create.blob_mem = VIRTGPU_BLOB_MEM_HOST3D;
	out->create.size = (size + page - 1) & ~(page - 1);
	if (visible)
		out->create.blob_flags |= VIRTGPU_BLOB_FLAG_USE_MAPPABLE;
	if (exportable)
		out->create.blob_flags |= VIRTGPU_BLOB_FLAG_USE_SHAREABLE;
	if (cross_device && (export_types & VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT) &&
	    di->param_present[VIRTGPU_PARAM_CROSS_DEVICE] && di->param[VIRTGPU_PARAM_CROSS_DEVICE])
		out->create.blob_flags |= VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE;
	if (vws_vk_scope_hints(scope, props))
		out->create.flags |= VWS_BO_DEVICE_LOCAL;
	out->hinted = vws_bo_would_hint(dev, &out->create);
	return VK_SUCCESS;
}
