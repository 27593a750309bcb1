/* SPDX-License-Identifier: MIT */
/*
 * The VkDeviceMemory layer of virtio-winsys: what a guest Vulkan driver
 * (Venus, gfxstream) calls from its vkAllocateMemory .. vkGetMemoryFdKHR.
 *
 * The driver gives the physical device's memory properties and callbacks
 * that create the host-side memory object; the layer decides blob flags and
 * the defer-mapping hint from the memory type, maps only in vkMapMemory,
 * forces the mapping before a dma-buf export, and turns every winsys errno
 * into a VkResult. Entry points take the Vulkan structs with their pNext
 * chains. Thread-safe like the Vulkan commands they serve (external
 * synchronisation of one VkDeviceMemory is the application's, as the spec
 * says; the layer still never corrupts itself when it is not).
 */
#ifndef VWS_VWS_VK_H
#define VWS_VWS_VK_H

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "vws/vws.h"

#ifdef __cplusplus
extern "C" {
#endif

/* VK_KHR_map_memory2 and VK_EXT_map_memory_placed, for headers older than
 * 1.3.246/1.3.277 (Debian 12 has 1.3.239). Values from the registry:
 * extensions 272 and 273. */
#ifndef VK_KHR_map_memory2
#define VK_KHR_map_memory2 1
#define VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR ((VkStructureType)1000271000)
#define VWS_VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR ((VkStructureType)1000271001)
typedef VkFlags VkMemoryUnmapFlagsKHR;
typedef struct VkMemoryMapInfoKHR {
	VkStructureType sType;
	const void *pNext;
	VkMemoryMapFlags flags;
	VkDeviceMemory memory;
	VkDeviceSize offset;
	VkDeviceSize size;
} VkMemoryMapInfoKHR;
typedef struct VkMemoryUnmapInfoKHR {
	VkStructureType sType;
	const void *pNext;
	VkMemoryUnmapFlagsKHR flags;
	VkDeviceMemory memory;
} VkMemoryUnmapInfoKHR;
#else
#define VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR
#define VWS_VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR
#endif

#ifndef VK_EXT_map_memory_placed
#define VK_EXT_map_memory_placed 1
#define VWS_VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAP_MEMORY_PLACED_FEATURES_EXT ((VkStructureType)1000272000)
#define VWS_VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAP_MEMORY_PLACED_PROPERTIES_EXT ((VkStructureType)1000272001)
#define VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_PLACED_INFO_EXT ((VkStructureType)1000272002)
#define VWS_VK_MEMORY_MAP_PLACED_BIT_EXT 0x00000001u
#define VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT 0x00000001u
typedef struct VkMemoryMapPlacedInfoEXT {
	VkStructureType sType;
	const void *pNext;
	void *pPlacedAddress;
} VkMemoryMapPlacedInfoEXT;
#else
#define VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_PLACED_INFO_EXT VK_STRUCTURE_TYPE_MEMORY_MAP_PLACED_INFO_EXT
#define VWS_VK_MEMORY_MAP_PLACED_BIT_EXT VK_MEMORY_MAP_PLACED_BIT_EXT
#define VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT VK_MEMORY_UNMAP_RESERVE_BIT_EXT
#endif

struct vws_vk_device;

/* The driver's side of the host: its protocol creates the host memory
 * object (Venus: vkAllocateMemory on the host) whose blob_id the blob
 * names. Called for every allocation that gets a blob. */
struct vws_vk_host_callbacks {
	void *user;
	/* Creates the host object; writes its blob_id, and optionally a
	 * creation command (cmd, at most *cmd_size bytes; *cmd_size = bytes
	 * used, a multiple of 4, 0 for none) that the kernel submits before
	 * creating the blob. Returns VK_SUCCESS or an allocation error. */
	VkResult (*create_memory)(void *user, uint32_t memory_type_index, VkDeviceSize size,
				  uint64_t *blob_id, void *cmd, uint32_t *cmd_size);
	/* Destroys it (vkFreeMemory, or a failed allocation). */
	void (*destroy_memory)(void *user, uint64_t blob_id);
};

/* Which host-visible memory types get the defer-mapping hint. */
enum vws_vk_hint_scope {
	VWS_VK_HINT_DEVICE_LOCAL = 0, /* DEVICE_LOCAL | HOST_VISIBLE (default) */
	VWS_VK_HINT_ALL_HOST_VISIBLE,
	VWS_VK_HINT_NONE,
};

struct vws_vk_device_create_info {
	struct vws_device *dev;               /* a reference is taken */
	const VkPhysicalDeviceMemoryProperties *memory_properties;
	struct vws_vk_host_callbacks host;
	VkDeviceSize non_coherent_atom_size;  /* 0: 64 */
	enum vws_vk_hint_scope hint_scope;
	/* Ask for USE_CROSS_DEVICE on exportable dma-buf memory when the
	 * kernel offers it (VIRTGPU_PARAM_CROSS_DEVICE). */
	bool cross_device;
	/* Valid-usage checks with messages (always on in debug builds, or
	 * with VWS_VK_DEBUG=1). Violations never crash: they fail the call. */
	bool debug_checks;
	const VkAllocationCallbacks *allocator;
};

VkResult vws_vk_device_create(const struct vws_vk_device_create_info *info,
			      struct vws_vk_device **out);
void vws_vk_device_destroy(struct vws_vk_device *vdev);
/* Number of valid-usage violations reported so far (tests). */
uint64_t vws_vk_debug_reports(const struct vws_vk_device *vdev);
/* The placed-map alignment the layer needs (VkPhysicalDeviceMapMemoryPlacedPropertiesEXT). */
VkDeviceSize vws_vk_min_placed_alignment(const struct vws_vk_device *vdev);

VkResult vws_vk_AllocateMemory(struct vws_vk_device *vdev, const VkMemoryAllocateInfo *info,
			       const VkAllocationCallbacks *allocator, VkDeviceMemory *mem);
void vws_vk_FreeMemory(struct vws_vk_device *vdev, VkDeviceMemory mem,
		       const VkAllocationCallbacks *allocator);
VkResult vws_vk_MapMemory(struct vws_vk_device *vdev, VkDeviceMemory mem, VkDeviceSize offset,
			  VkDeviceSize size, VkMemoryMapFlags flags, void **data);
VkResult vws_vk_MapMemory2KHR(struct vws_vk_device *vdev, const VkMemoryMapInfoKHR *info,
			      void **data);
void vws_vk_UnmapMemory(struct vws_vk_device *vdev, VkDeviceMemory mem);
VkResult vws_vk_UnmapMemory2KHR(struct vws_vk_device *vdev, const VkMemoryUnmapInfoKHR *info);
VkResult vws_vk_FlushMappedMemoryRanges(struct vws_vk_device *vdev, uint32_t count,
					const VkMappedMemoryRange *ranges);
VkResult vws_vk_InvalidateMappedMemoryRanges(struct vws_vk_device *vdev, uint32_t count,
					     const VkMappedMemoryRange *ranges);
void vws_vk_GetDeviceMemoryCommitment(struct vws_vk_device *vdev, VkDeviceMemory mem,
				      VkDeviceSize *committed);
VkResult vws_vk_GetMemoryFdKHR(struct vws_vk_device *vdev, const VkMemoryGetFdInfoKHR *info,
			       int *fd);
VkResult vws_vk_GetMemoryFdPropertiesKHR(struct vws_vk_device *vdev,
					 VkExternalMemoryHandleTypeFlagBits type, int fd,
					 VkMemoryFdPropertiesKHR *props);
/* VK_EXT_memory_budget: fills heapBudget/heapUsage of budget. */
void vws_vk_GetMemoryBudget(struct vws_vk_device *vdev,
			    VkPhysicalDeviceMemoryBudgetPropertiesEXT *budget);

/* The winsys object behind a VkDeviceMemory (NULL if it has none). */
struct vws_bo *vws_vk_memory_bo(VkDeviceMemory mem);

/* ------------------------------------------------------------------ */
/* For drivers that keep their own VkDeviceMemory objects (Venus)      */
/* ------------------------------------------------------------------ */

/* The layer's decisions for one allocation, without the layer's objects:
 * a driver whose VkDeviceMemory, host protocol and map bookkeeping are its
 * own (docs/venus.md) still takes the blob kind, its flags, the hint and
 * the error mapping from here, so that both make the same choices. */
struct vws_vk_blob_plan {
	/* false: device-private memory, no blob (the host object is enough) */
	bool needed;
	/* blob_mem, blob_flags, size and flags filled; the caller adds
	 * blob_id (and a creation command) and calls vws_bo_create(). size
	 * is the allocation's, rounded up to the page: the host object the
	 * blob names must have that size, or the host refuses to map it. */
	struct vws_bo_create_info create;
	/* the winsys will send the defer hint for it (scope, policy and
	 * probe): the blob holds no region space until its first map or
	 * export, so creating it in vkAllocateMemory costs nothing there */
	bool hinted;
};

/* props: the memory type's flags; export_types: the handle types of a
 * VkExportMemoryAllocateInfo (0 if none); cross_device: ask for
 * USE_CROSS_DEVICE on exportable dma-buf memory when the kernel has it.
 * VK_SUCCESS, VK_ERROR_INITIALIZATION_FAILED for NULL dev/out, or
 * VK_ERROR_OUT_OF_DEVICE_MEMORY for a size that cannot be page-rounded. */
VkResult vws_vk_plan_blob(struct vws_device *dev, VkMemoryPropertyFlags props,
			  VkExternalMemoryHandleTypeFlags export_types, VkDeviceSize size,
			  enum vws_vk_hint_scope scope, bool cross_device,
			  struct vws_vk_blob_plan *out);

/* Where a winsys errno arose, for vws_vk_result(). */
enum vws_vk_op {
	VWS_VK_OP_ALLOCATE, /* blob creation in vkAllocateMemory */
	VWS_VK_OP_MAP,      /* vkMapMemory */
	VWS_VK_OP_EXPORT,   /* vkGetMemoryFdKHR */
	VWS_VK_OP_IMPORT,   /* vkAllocateMemory with VkImportMemoryFdInfoKHR */
	VWS_VK_OP_SUBMIT,   /* queue submission, sync creation and signalling */
	VWS_VK_OP_WAIT,     /* a wait with a timeout */
};

/* A winsys errno (0 or negative) as the VkResult docs/vulkan-memory.md
 * documents for that operation. */
VkResult vws_vk_result(enum vws_vk_op op, int err);

#ifdef __cplusplus
}
#endif

#endif /* VWS_VWS_VK_H */
