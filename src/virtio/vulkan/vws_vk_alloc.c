/* SPDX-License-Identifier: MIT */
/*
 * vkAllocateMemory / vkFreeMemory / vkGetMemoryFdKHR. vkAllocateMemory
 * never maps.
 *
 * Policy (docs/vulkan-memory.md; decided in vws_vk_plan.c):
 *   HOST_VISIBLE                -> HOST3D blob, MAPPABLE
 *   + DEVICE_LOCAL              -> the defer hint (hint_scope decides)
 *   exportable (dma-buf/opaque) -> SHAREABLE (+ CROSS_DEVICE if asked, offered)
 *   not HOST_VISIBLE, exportable-> HOST3D blob without MAPPABLE
 *   not HOST_VISIBLE, private   -> no blob at all: the host object is enough
 *                                  (no GEM handle, no fd, no kernel work)
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vk_priv.h"

#define VWS_VK_EXT_TYPES \
	(VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT | VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)

static void vws_vk_link(struct vws_vk_device *vdev, struct vws_vk_memory *m)
{
	pthread_mutex_lock(&vdev->lock);
	m->next = vdev->memories;
	if (m->next)
		m->next->prev = m;
	vdev->memories = m;
	pthread_mutex_unlock(&vdev->lock);
}

static void vws_vk_unlink(struct vws_vk_device *vdev, struct vws_vk_memory *m)
{
	pthread_mutex_lock(&vdev->lock);
	if (m->prev)
		m->prev->next = m->next;
	else
		vdev->memories = m->next;
	if (m->next)
		m->next->prev = m->prev;
	pthread_mutex_unlock(&vdev->lock);
}

/* Charges the memory to its heap. Memory in the host-visible window
 * counts only while the kernel holds its range (a deferred allocation holds
 * nothing until its first map or export), and then its blob's page-rounded
 * size, as the winsys's accounting counts it (vws_device_get_budget gives
 * the same numbers for the window heap): the winsys keeps that account,
 * since a first map may come through the blob itself. Everything else
 * counts its size from allocation to free. */
static void vws_vk_charge(struct vws_vk_device *vdev, struct vws_vk_memory *m)
{
	uint64_t *usage = &vdev->heap_usage[m->heap_index];

	if (m->bo && (m->props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !m->imported) {
		m->accounted = true;
		vws_bo_set_account(m->bo, usage);
	} else {
		__atomic_fetch_add(usage, m->size, __ATOMIC_RELAXED);
	}
}

static void vws_vk_uncharge(struct vws_vk_device *vdev, struct vws_vk_memory *m)
{
	if (m->accounted)
		vws_bo_set_account(m->bo, NULL);
	else
		__atomic_fetch_sub(&vdev->heap_usage[m->heap_index], m->size, __ATOMIC_RELAXED);
}

static VkResult vws_vk_import(struct vws_vk_device *vdev, struct vws_vk_memory *m,
			      const VkImportMemoryFdInfoKHR *imp)
{
	int ret;

	if (!(imp->handleType & VWS_VK_EXT_TYPES) ||
	    (imp->handleType & (imp->handleType - 1))) {
		vws_vk_report(vdev, "VUID-VkImportMemoryFdInfoKHR-handleType-00669",
			      "handle type 0x%x", imp->handleType);
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	}
	ret = vws_bo_import_fd(vdev->dev, imp->fd, m->size, &m->bo);
	if (ret)
		return vws_vk_result_import(ret);
	/* Only types vkGetMemoryFdPropertiesKHR offers: host-visible memory
	 * the CPU could never map is refused now, not at vkMapMemory. */
	if ((m->props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !vws_vk_bo_mappable(m->bo)) {
		vws_vk_report(vdev, "vws-vk-import-memory-type",
			      "memory type %u is HOST_VISIBLE, the imported buffer is not "
			      "mappable (not in vkGetMemoryFdPropertiesKHR's memoryTypeBits)",
			      m->type_index);
		vws_bo_unref(m->bo);
		m->bo = NULL;
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	}
	m->imported = true;
	m->export_types = imp->handleType;
	/* A successful import takes ownership of the fd. */
	close(imp->fd);
	return VK_SUCCESS;
}

static VkResult vws_vk_create_blob(struct vws_vk_device *vdev, struct vws_vk_memory *m)
{
	struct vws_vk_blob_plan plan;
	uint32_t cmd[64];
	uint32_t cmd_size = sizeof(cmd);
	VkResult res;
	int ret;

	res = vws_vk_plan_blob(vdev->dev, m->props, m->export_types, m->size, vdev->hint_scope,
			       vdev->cross_device, &plan);
	if (res != VK_SUCCESS || !plan.needed)
		return res; /* device-private memory: no blob */
	/* the host object gets the blob's page-rounded size (the plan's) */
	res = vdev->host.create_memory(vdev->host.user, m->type_index, plan.create.size,
				       &m->blob_id, cmd,
				       &cmd_size);
	if (res != VK_SUCCESS)
		return res;
	m->host_object = true;
	if (cmd_size > sizeof(cmd) || cmd_size % 4) {
		vws_vk_report(vdev, "vws-vk-host-callback", "create_memory wrote %u command bytes",
			      cmd_size);
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	plan.create.blob_id = m->blob_id;
	plan.create.cmd = cmd_size ? cmd : NULL;
	plan.create.cmd_size = cmd_size;
	ret = vws_bo_create(vdev->dev, &plan.create, &m->bo);
	return vws_vk_result_alloc(ret);
}

VkResult vws_vk_AllocateMemory(struct vws_vk_device *vdev, const VkMemoryAllocateInfo *info,
			       const VkAllocationCallbacks *allocator, VkDeviceMemory *mem)
{
	const VkExportMemoryAllocateInfo *exp;
	const VkImportMemoryFdInfoKHR *imp;
	struct vws_vk_memory *m;
	VkResult res;

	if (!vdev || !info || !mem)
		return VK_ERROR_INITIALIZATION_FAILED;
	if (info->memoryTypeIndex >= vdev->props.memoryTypeCount) {
		vws_vk_report(vdev, "VUID-vkAllocateMemory-pAllocateInfo-01714",
			      "memoryTypeIndex %u of %u types", info->memoryTypeIndex,
			      vdev->props.memoryTypeCount);
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	if (!info->allocationSize) {
		vws_vk_report(vdev, "VUID-VkMemoryAllocateInfo-allocationSize-07897",
			      "allocationSize is 0");
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	m = vws_vk_alloc(vdev, allocator, sizeof(*m));
	if (!m)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	memset(m, 0, sizeof(*m));
	m->vdev = vdev;
	m->type_index = info->memoryTypeIndex;
	m->heap_index = vdev->props.memoryTypes[m->type_index].heapIndex;
	m->props = vdev->props.memoryTypes[m->type_index].propertyFlags;
	m->size = info->allocationSize;
	/* Larger than its heap can ever hold: no blob can help. */
	if (m->size > vdev->props.memoryHeaps[m->heap_index].size) {
		vws_vk_free(vdev, allocator, m);
		return VK_ERROR_OUT_OF_DEVICE_MEMORY;
	}
	/* Dedicated, flags (device address), priority: accepted; nothing in
	 * the blob depends on them. Unknown structs are skipped. */
	exp = vws_vk_find(info->pNext, VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO);
	imp = vws_vk_find(info->pNext, VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR);
	if (exp) {
		if (exp->handleTypes & ~(VkExternalMemoryHandleTypeFlags)VWS_VK_EXT_TYPES) {
			vws_vk_report(vdev, "VUID-VkExportMemoryAllocateInfo-handleTypes-00656",
				      "handle types 0x%x", exp->handleTypes);
			vws_vk_free(vdev, allocator, m);
			return VK_ERROR_INVALID_EXTERNAL_HANDLE;
		}
		m->export_types = exp->handleTypes;
	}
	if (imp && imp->handleType)
		res = vws_vk_import(vdev, m, imp);
	else
		res = vws_vk_create_blob(vdev, m);
	if (res != VK_SUCCESS) {
		if (m->host_object)
			vdev->host.destroy_memory(vdev->host.user, m->blob_id);
		vws_vk_free(vdev, allocator, m);
		return res;
	}
	vws_vk_charge(vdev, m);
	vws_vk_link(vdev, m);
	*mem = vws_vk_handle(m);
	return VK_SUCCESS;
}

void vws_vk_FreeMemory(struct vws_vk_device *vdev, VkDeviceMemory mem,
		       const VkAllocationCallbacks *allocator)
{
	struct vws_vk_memory *m;

	if (!vdev || mem == VK_NULL_HANDLE)
		return;
	m = vws_vk_mem(mem);
	vws_vk_unlink(vdev, m);
	vws_vk_uncharge(vdev, m);
	/* Freeing mapped memory unmaps it implicitly (the spec allows it). */
	if (m->placed)
		vws_bo_unmap_placed(m->bo, false);
	if (m->bo)
		vws_bo_unref(m->bo);
	if (m->host_object)
		vdev->host.destroy_memory(vdev->host.user, m->blob_id);
	vws_vk_free(vdev, allocator, m);
}

void vws_vk_GetDeviceMemoryCommitment(struct vws_vk_device *vdev, VkDeviceMemory mem,
				      VkDeviceSize *committed)
{
	struct vws_vk_memory *m = vws_vk_mem(mem);

	if (!(m->props & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT))
		vws_vk_report(vdev, "VUID-vkGetDeviceMemoryCommitment-memory-00690",
			      "memory type %u is not lazily allocated", m->type_index);
	/* Nothing is allocated lazily here: all of it is committed. */
	*committed = m->size;
}

VkResult vws_vk_GetMemoryFdKHR(struct vws_vk_device *vdev, const VkMemoryGetFdInfoKHR *info,
			       int *fd)
{
	struct vws_vk_memory *m;
	int ret;

	if (!vdev || !info || !fd || info->memory == VK_NULL_HANDLE)
		return VK_ERROR_INITIALIZATION_FAILED;
	m = vws_vk_mem(info->memory);
	if (!(info->handleType & m->export_types) || !m->bo) {
		vws_vk_report(vdev, "VUID-VkMemoryGetFdInfoKHR-handleType-00671",
			      "handle type 0x%x was not requested at allocation (0x%x)",
			      info->handleType, m->export_types);
		return VK_ERROR_TOO_MANY_OBJECTS;
	}
	/* A deferred mappable object is mapped first (the kernel's dma-buf
	 * path needs the host mapping): the winsys does it. */
	ret = vws_bo_export_fd(m->bo, fd);
	return vws_vk_result_export(ret);
}
