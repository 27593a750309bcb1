/* SPDX-License-Identifier: MIT */
/* Error mapping, pNext walking, allocation callbacks, debug reports. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vk_priv.h"

void vws_vk_report(struct vws_vk_device *vdev, const char *vuid, const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&vdev->reports, 1, __ATOMIC_RELAXED);
	if (!vdev->debug)
		return;
	fprintf(stderr, "vws-vk: invalid usage (%s): ", vuid);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *vws_vk_alloc(const struct vws_vk_device *vdev, const VkAllocationCallbacks *a,
		   size_t size)
{
	if (!a && vdev->have_alloc)
		a = &vdev->alloc;
	if (a)
		return a->pfnAllocation(a->pUserData, size, 16, VK_SYSTEM_ALLOCATION_SCOPE_OBJECT);
	return calloc(1, size);
}

void vws_vk_free(const struct vws_vk_device *vdev, const VkAllocationCallbacks *a, void *p)
{
	if (!a && vdev->have_alloc)
		a = &vdev->alloc;
	if (a)
		a->pfnFree(a->pUserData, p);
	else
		free(p);
}

const void *vws_vk_find(const void *chain, VkStructureType type)
{
	for (const VkBaseInStructure *s = chain; s; s = s->pNext)
		if (s->sType == type)
			return s;
	return NULL;
}

/* vkAllocateMemory: the kernel or the host is out of room for the blob
 * (including a region full at creation on kernels that map eagerly). */
VkResult vws_vk_result_alloc(int err)
{
	switch (err) {
	case 0:
		return VK_SUCCESS;
	case -EMFILE:
	case -ENFILE:
		return VK_ERROR_TOO_MANY_OBJECTS;
	default:
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
}

/* vkMapMemory: region exhausted, host refused, anything: the map failed. */
VkResult vws_vk_result_map(int err)
{
	return err ? VK_ERROR_MEMORY_MAP_FAILED : VK_SUCCESS;
}

VkResult vws_vk_result_export(int err)
{
	switch (err) {
	case 0:
		return VK_SUCCESS;
	case -ENOMEM:
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	default:
		return VK_ERROR_TOO_MANY_OBJECTS;
	}
}

VkResult vws_vk_result_import(int err)
{
	switch (err) {
	case 0:
		return VK_SUCCESS;
	case -ENOMEM:
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	case -EMFILE:
	case -ENFILE:
		return VK_ERROR_TOO_MANY_OBJECTS;
	default:
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	}
}

/* Guest pages (GUEST, HOST3D_GUEST) are always mappable; host memory only
 * with MAPPABLE. An object another device created carries no flags the
 * kernel would tell (RESOURCE_INFO has none): it is assumed mappable, and a
 * map of one that is not fails at vkMapMemory (docs/vulkan-memory.md). */
bool vws_vk_bo_mappable(struct vws_bo *bo)
{
	struct vws_bo_info bi;

	if (vws_bo_get_info(bo, &bi))
		return false;
	return bi.blob_mem != VIRTGPU_BLOB_MEM_HOST3D || !bi.flags_known ||
	       (bi.blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE);
}

/* Submission and syncs: the host refusing work or the transport going
 * away leaves the context in an unknown state, which Vulkan calls a lost
 * device. */
static VkResult vws_vk_result_submit(int err)
{
	switch (err) {
	case 0:
		return VK_SUCCESS;
	case -ENOMEM:
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	default:
		return VK_ERROR_DEVICE_LOST;
	}
}

/* A wait: only its own deadline (-ETIME) is a timeout; -ETIMEDOUT is a
 * transport that stopped answering. */
static VkResult vws_vk_result_wait(int err)
{
	return err == -ETIME ? VK_TIMEOUT : vws_vk_result_submit(err);
}

VkResult vws_vk_result(enum vws_vk_op op, int err)
{
	switch (op) {
	case VWS_VK_OP_ALLOCATE:
		return vws_vk_result_alloc(err);
	case VWS_VK_OP_MAP:
		return vws_vk_result_map(err);
	case VWS_VK_OP_EXPORT:
		return vws_vk_result_export(err);
	case VWS_VK_OP_IMPORT:
		return vws_vk_result_import(err);
	case VWS_VK_OP_SUBMIT:
		return vws_vk_result_submit(err);
	case VWS_VK_OP_WAIT:
		return vws_vk_result_wait(err);
	}
	return err ? VK_ERROR_UNKNOWN : VK_SUCCESS;
}
