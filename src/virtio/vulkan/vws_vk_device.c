/* SPDX-License-Identifier: MIT */
/* The memory device: creation, budgets, fd properties. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vk_priv.h"

VkResult vws_vk_device_create(const struct vws_vk_device_create_info *info,
			      struct vws_vk_device **out)
{
	struct vws_vk_device *vdev;
	const char *env = getenv("VWS_VK_DEBUG");

	if (!info || !info->dev || !info->memory_properties || !out ||
	    !info->host.create_memory || !info->host.destroy_memory ||
	    info->memory_properties->memoryTypeCount > VK_MAX_MEMORY_TYPES ||
	    info->memory_properties->memoryHeapCount > VK_MAX_MEMORY_HEAPS)
		return VK_ERROR_INITIALIZATION_FAILED;
	for (uint32_t i = 0; i < info->memory_properties->memoryTypeCount; i++)
		if (info->memory_properties->memoryTypes[i].heapIndex >=
		    info->memory_properties->memoryHeapCount)
			return VK_ERROR_INITIALIZATION_FAILED;
	vdev = info->allocator ?
		info->allocator->pfnAllocation(info->allocator->pUserData, sizeof(*vdev), 16,
					       VK_SYSTEM_ALLOCATION_SCOPE_DEVICE) :
		malloc(sizeof(*vdev));
	if (!vdev)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	memset(vdev, 0, sizeof(*vdev));
	vdev->dev = vws_device_ref(info->dev);
	vdev->props = *info->memory_properties;
	vdev->host = info->host;
	vdev->atom = info->non_coherent_atom_size ? info->non_coherent_atom_size : 64;
	vdev->hint_scope = info->hint_scope;
	vdev->cross_device = info->cross_device;
#ifdef NDEBUG
	vdev->debug = info->debug_checks || (env && env[0] == '1');
#else
	vdev->debug = true;
	(void)env;
#endif
	if (info->allocator) {
		vdev->alloc = *info->allocator;
		vdev->have_alloc = true;
	}
	pthread_mutex_init(&vdev->lock, NULL);
	*out = vdev;
	return VK_SUCCESS;
}

void vws_vk_device_destroy(struct vws_vk_device *vdev)
{
	if (!vdev)
		return;
	if (vdev->memories)
		vws_vk_report(vdev, "VUID-vkDestroyDevice-device-05137",
			      "device destroyed with VkDeviceMemory still allocated");
	/* Free what the application leaked, so the kernel objects go too. */
	while (vdev->memories)
		vws_vk_FreeMemory(vdev, vws_vk_handle(vdev->memories), NULL);
	pthread_mutex_destroy(&vdev->lock);
	vws_device_unref(vdev->dev);
	if (vdev->have_alloc)
		vdev->alloc.pfnFree(vdev->alloc.pUserData, vdev);
	else
		free(vdev);
}

uint64_t vws_vk_debug_reports(const struct vws_vk_device *vdev)
{
	return __atomic_load_n(&vdev->reports, __ATOMIC_RELAXED);
}

VkDeviceSize vws_vk_min_placed_alignment(const struct vws_vk_device *vdev)
{
	(void)vdev;
	return (VkDeviceSize)sysconf(_SC_PAGESIZE);
}

struct vws_bo *vws_vk_memory_bo(VkDeviceMemory mem)
{
	return mem == VK_NULL_HANDLE ? NULL : vws_vk_mem(mem)->bo;
}

/* O(1), no lock: each heap's usage is kept as allocations come, go and
 * take their window range (vws_vk_alloc.c, vws_vk_charge). */
void vws_vk_GetMemoryBudget(struct vws_vk_device *vdev,
			    VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget)
{
	for (uint32_t h = 0; h < VK_MAX_MEMORY_HEAPS; h++) {
		VkDeviceSize size, usage;

		if (h >= vdev->props.memoryHeapCount) {
			budget->heapBudget[h] = budget->heapUsage[h] = 0;
			continue;
		}
		size = vdev->props.memoryHeaps[h].size;
		usage = __atomic_load_n(&vdev->heap_usage[h], __ATOMIC_RELAXED);
		budget->heapUsage[h] = usage;
		/* the whole heap is this process's to use; never report a
		 * budget below what is already used */
		budget->heapBudget[h] = size > usage ? size : usage;
	}
}

VkResult vws_vk_GetMemoryFdPropertiesKHR(struct vws_vk_device *vdev,
					 VkExternalMemoryHandleTypeFlagBits type, int fd,
					 VkMemoryFdPropertiesKHR *props)
{
	struct vws_bo *bo;
	bool mappable;
	int ret;

	/* The spec: opaque fds have no properties to query. */
	if (type != VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT) {
		if (type != VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT)
			vws_vk_report(vdev, "VUID-vkGetMemoryFdPropertiesKHR-handleType-parameter",
				      "handle type 0x%x", type);
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	}
	if (!props)
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	/* Importing tells whether the fd is a dma-buf of this device, and what
	 * the buffer is. */
	ret = vws_bo_import_fd(vdev->dev, fd, 0, &bo);
	if (ret)
		return VK_ERROR_INVALID_EXTERNAL_HANDLE;
	mappable = vws_vk_bo_mappable(bo);
	vws_bo_unref(bo);
	props->memoryTypeBits = 0;
	for (uint32_t i = 0; i < vdev->props.memoryTypeCount; i++)
		if (mappable ||
		    !(vdev->props.memoryTypes[i].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
			props->memoryTypeBits |= 1u << i;
	return VK_SUCCESS;
}
