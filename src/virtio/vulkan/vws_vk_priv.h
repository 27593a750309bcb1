/* SPDX-License-Identifier: MIT */
#ifndef VWS_VK_PRIV_H
#define VWS_VK_PRIV_H

#include <pthread.h>
#include <stdio.h>

#include "vws/vws_vk.h"

struct vws_vk_memory {
	struct vws_vk_device *vdev;
	uint32_t type_index, heap_index;
	VkMemoryPropertyFlags props;
	VkDeviceSize size;                 /* allocationSize */
	struct vws_bo *bo;                 /* NULL: host-only memory, no blob */
	uint64_t blob_id;
	bool host_object;                  /* destroy_memory owed at free */
	VkExternalMemoryHandleTypeFlags export_types;
	bool imported;
	/* What the memory counts against its heap (vws_vk_device.heap_usage):
	 * its size, charged at allocation, or (memory in the host-visible
	 * window) the winsys's account of its blob (vws_bo_set_account),
	 * charged once the kernel holds its range. */
	bool accounted;                    /* the blob's account; else size */
	/* vkMapMemory state (the kernel mapping itself is the winsys's):
	 * VWS_VK_UNMAPPED -> BUSY (one compare-and-swap claims a map or an
	 * unmap) -> MAPPED / UNMAPPED. The fields below are written while
	 * BUSY and read after seeing MAPPED (acquire), no lock. */
	uint32_t map_state;
	bool placed;
	VkDeviceSize map_offset, map_size;
	void *placed_addr;
	struct vws_vk_memory *prev, *next; /* the device's list (lock) */
};

enum {
	VWS_VK_UNMAPPED,
	VWS_VK_MAP_BUSY,
	VWS_VK_MAPPED,
};

struct vws_vk_device {
	struct vws_device *dev;
	VkPhysicalDeviceMemoryProperties props;
	struct vws_vk_host_callbacks host;
	VkDeviceSize atom;
	enum vws_vk_hint_scope hint_scope;
	bool cross_device;
	bool debug;
	VkAllocationCallbacks alloc;
	bool have_alloc;
	pthread_mutex_t lock;              /* the list of memories only */
	struct vws_vk_memory *memories;
	/* Bytes each heap holds, updated with atomic adds (allocation, free,
	 * and the winsys for window memory): vkGetMemoryBudget reads them. */
	uint64_t heap_usage[VK_MAX_MEMORY_HEAPS];
	uint64_t reports;
};

static inline struct vws_vk_memory *vws_vk_mem(VkDeviceMemory m)
{
	return (struct vws_vk_memory *)(uintptr_t)m;
}

static inline VkDeviceMemory vws_vk_handle(struct vws_vk_memory *m)
{
#if VK_USE_64_BIT_PTR_DEFINES == 1
	return (VkDeviceMemory)m;
#else
	return (VkDeviceMemory)(uintptr_t)m;
#endif
}

/* A valid-usage violation: reported (debug) and counted; the caller then
 * fails the command instead of crashing. */
void vws_vk_report(struct vws_vk_device *vdev, const char *vuid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void *vws_vk_alloc(const struct vws_vk_device *vdev, const VkAllocationCallbacks *a,
		   size_t size);
void vws_vk_free(const struct vws_vk_device *vdev, const VkAllocationCallbacks *a, void *p);

/* errno of the winsys -> VkResult, by command */
VkResult vws_vk_result_alloc(int err);
VkResult vws_vk_result_map(int err);
VkResult vws_vk_result_export(int err);
VkResult vws_vk_result_import(int err);

/* Whether the object behind imported memory can back a HOST_VISIBLE type
 * (false only when it is known not to be mappable). */
bool vws_vk_bo_mappable(struct vws_bo *bo);

/* finds a struct in a pNext chain */
const void *vws_vk_find(const void *chain, VkStructureType type);

#endif
