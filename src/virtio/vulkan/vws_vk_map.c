/* SPDX-License-Identifier: MIT */
/*
 * vkMapMemory and friends. The first map of an allocation maps the whole
 * blob (MAP ioctl + mmap, which is when a deferred blob finally takes its
 * slice of the host-visible window); vkUnmapMemory keeps that kernel
 * mapping: munmap would not give the window space back (only freeing the
 * blob does), and the next vkMapMemory is then a pointer return with no
 * syscall. Placed maps (VK_EXT_map_memory_placed) are the exception: the
 * application owns that address range, so unmapping really unmaps it.
 * Memory is coherent on virtio-gpu (the host maps it into the guest), so
 * flush and invalidate only check their arguments.
 */
#include <errno.h>

#include "vws_vk_priv.h"

/* from -> BUSY, or false when the memory is not in state from */
static bool vws_vk_map_claim(struct vws_vk_memory *m, uint32_t from)
{
	return __atomic_compare_exchange_n(&m->map_state, &from, VWS_VK_MAP_BUSY, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static bool vws_vk_is_mapped(const struct vws_vk_memory *m)
{
	return __atomic_load_n(&m->map_state, __ATOMIC_ACQUIRE) == VWS_VK_MAPPED;
}

static VkResult vws_vk_map(struct vws_vk_device *vdev, struct vws_vk_memory *m,
			   VkDeviceSize offset, VkDeviceSize size, VkMemoryMapFlags flags,
			   void *placed, void **data)
{
	VkDeviceSize end;
	void *base;
	int ret;

	if (!(m->props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
		vws_vk_report(vdev, "VUID-vkMapMemory-memory-00682",
			      "memory type %u is not HOST_VISIBLE", m->type_index);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if (offset >= m->size) {
		vws_vk_report(vdev, "VUID-vkMapMemory-offset-00679",
			      "offset %llu >= allocation size %llu", (unsigned long long)offset,
			      (unsigned long long)m->size);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if (size != VK_WHOLE_SIZE && (!size || size > m->size - offset)) {
		vws_vk_report(vdev, "VUID-vkMapMemory-size-00681",
			      "offset %llu + size %llu beyond allocation size %llu",
			      (unsigned long long)offset, (unsigned long long)size,
			      (unsigned long long)m->size);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if (!m->bo) {
		/* imported memory of a host-visible type always has a bo; this
		 * is only reachable with inconsistent memory properties */
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	end = size == VK_WHOLE_SIZE ? m->size : offset + size;
	/* One compare-and-swap claims the map: no device lock (the memory
	 * is the application's to synchronise; this only catches misuse). */
	if (!vws_vk_map_claim(m, VWS_VK_UNMAPPED)) {
		vws_vk_report(vdev, "VUID-vkMapMemory-memory-00678", "memory is already host mapped");
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if (flags & VWS_VK_MEMORY_MAP_PLACED_BIT_EXT) {
		ret = vws_bo_map_placed(m->bo, placed);
		base = placed;
	} else {
		ret = vws_bo_map(m->bo, &base);
	}
	if (ret) {
		__atomic_store_n(&m->map_state, VWS_VK_UNMAPPED, __ATOMIC_RELEASE);
		return vws_vk_result_map(ret);
	}
	m->placed = flags & VWS_VK_MEMORY_MAP_PLACED_BIT_EXT;
	m->placed_addr = m->placed ? placed : NULL;
	__atomic_store_n(&m->map_offset, offset, __ATOMIC_RELAXED);
	__atomic_store_n(&m->map_size, end - offset, __ATOMIC_RELAXED);
	/* release: whoever sees MAPPED sees the range */
	__atomic_store_n(&m->map_state, VWS_VK_MAPPED, __ATOMIC_RELEASE);
	*data = (char *)base + offset;
	return VK_SUCCESS;
}

VkResult vws_vk_MapMemory(struct vws_vk_device *vdev, VkDeviceMemory mem, VkDeviceSize offset,
			  VkDeviceSize size, VkMemoryMapFlags flags, void **data)
{
	if (!vdev || mem == VK_NULL_HANDLE || !data)
		return VK_ERROR_MEMORY_MAP_FAILED;
	if (flags) {
		vws_vk_report(vdev, "VUID-vkMapMemory-flags-09568",
			      "flags 0x%x need vkMapMemory2KHR", flags);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	return vws_vk_map(vdev, vws_vk_mem(mem), offset, size, 0, NULL, data);
}

VkResult vws_vk_MapMemory2KHR(struct vws_vk_device *vdev, const VkMemoryMapInfoKHR *info,
			      void **data)
{
	const VkMemoryMapPlacedInfoEXT *placed = NULL;
	struct vws_vk_memory *m;
	VkDeviceSize align;

	if (!vdev || !info || info->memory == VK_NULL_HANDLE || !data)
		return VK_ERROR_MEMORY_MAP_FAILED;
	m = vws_vk_mem(info->memory);
	if (info->flags & ~(VkMemoryMapFlags)VWS_VK_MEMORY_MAP_PLACED_BIT_EXT) {
		vws_vk_report(vdev, "VUID-VkMemoryMapInfoKHR-flags-parameter", "flags 0x%x",
			      info->flags);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if (!(info->flags & VWS_VK_MEMORY_MAP_PLACED_BIT_EXT))
		return vws_vk_map(vdev, m, info->offset, info->size, 0, NULL, data);

	placed = vws_vk_find(info->pNext, VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_PLACED_INFO_EXT);
	align = vws_vk_min_placed_alignment(vdev);
	if (!placed || !placed->pPlacedAddress) {
		vws_vk_report(vdev, "VUID-VkMemoryMapInfoKHR-flags-09570",
			      "PLACED without a VkMemoryMapPlacedInfoEXT address");
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if ((uintptr_t)placed->pPlacedAddress % align) {
		vws_vk_report(vdev, "VUID-VkMemoryMapPlacedInfoEXT-flags-09577",
			      "address %p not aligned to %llu", placed->pPlacedAddress,
			      (unsigned long long)align);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	/* memoryMapRangePlaced is not offered: whole allocations only (the
	 * kernels before 6.15 map whole objects only). */
	if (info->offset || (info->size != VK_WHOLE_SIZE && info->size != m->size)) {
		vws_vk_report(vdev, "VUID-VkMemoryMapInfoKHR-flags-09571",
			      "placed maps cover the whole allocation");
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	return vws_vk_map(vdev, m, 0, VK_WHOLE_SIZE, info->flags, placed->pPlacedAddress, data);
}

static VkResult vws_vk_unmap(struct vws_vk_device *vdev, struct vws_vk_memory *m, bool reserve)
{
	bool placed;
	int ret = 0;

	if (!vws_vk_map_claim(m, VWS_VK_MAPPED)) {
		vws_vk_report(vdev, "VUID-vkUnmapMemory-memory-00689", "memory is not host mapped");
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	placed = m->placed;
	if (placed)
		ret = vws_bo_unmap_placed(m->bo, reserve);
	/* else: the kernel mapping stays cached in the winsys */
	m->placed = false;
	m->placed_addr = NULL;
	__atomic_store_n(&m->map_state, VWS_VK_UNMAPPED, __ATOMIC_RELEASE);
	return ret ? VK_ERROR_MEMORY_MAP_FAILED : VK_SUCCESS;
}

void vws_vk_UnmapMemory(struct vws_vk_device *vdev, VkDeviceMemory mem)
{
	if (vdev && mem != VK_NULL_HANDLE)
		vws_vk_unmap(vdev, vws_vk_mem(mem), false);
}

VkResult vws_vk_UnmapMemory2KHR(struct vws_vk_device *vdev, const VkMemoryUnmapInfoKHR *info)
{
	struct vws_vk_memory *m;

	if (!vdev || !info || info->memory == VK_NULL_HANDLE)
		return VK_ERROR_MEMORY_MAP_FAILED;
	m = vws_vk_mem(info->memory);
	if (info->flags & ~(VkMemoryUnmapFlagsKHR)VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT) {
		vws_vk_report(vdev, "VUID-VkMemoryUnmapInfoKHR-flags-parameter", "flags 0x%x",
			      info->flags);
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	if ((info->flags & VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT) &&
	    (!vws_vk_is_mapped(m) || !m->placed)) {
		vws_vk_report(vdev, "VUID-VkMemoryUnmapInfoKHR-flags-09579",
			      "RESERVE on memory that was not placed");
		return VK_ERROR_MEMORY_MAP_FAILED;
	}
	return vws_vk_unmap(vdev, m, info->flags & VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT);
}

/* The valid usage of VkMappedMemoryRange, for flush and invalidate. */
static VkResult vws_vk_check_ranges(struct vws_vk_device *vdev, uint32_t count,
				    const VkMappedMemoryRange *ranges)
{
	VkResult res = VK_SUCCESS;

	if (count && !ranges)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	for (uint32_t i = 0; i < count; i++) {
		const VkMappedMemoryRange *r = &ranges[i];
		struct vws_vk_memory *m = r->memory ? vws_vk_mem(r->memory) : NULL;
		VkDeviceSize map_offset, map_end;

		if (!m || !vws_vk_is_mapped(m)) {
			vws_vk_report(vdev, "VUID-VkMappedMemoryRange-memory-00684",
				      "range %u: memory is not host mapped", i);
			res = VK_ERROR_OUT_OF_HOST_MEMORY;
			continue;
		}
		map_offset = __atomic_load_n(&m->map_offset, __ATOMIC_RELAXED);
		map_end = map_offset + __atomic_load_n(&m->map_size, __ATOMIC_RELAXED);
		if (r->offset % vdev->atom) {
			vws_vk_report(vdev, "VUID-VkMappedMemoryRange-offset-00687",
				      "range %u: offset %llu not a multiple of nonCoherentAtomSize %llu",
				      i, (unsigned long long)r->offset, (unsigned long long)vdev->atom);
			res = VK_ERROR_OUT_OF_HOST_MEMORY;
		}
		if (r->size == VK_WHOLE_SIZE) {
			if (r->offset < map_offset || r->offset >= map_end) {
				vws_vk_report(vdev, "VUID-VkMappedMemoryRange-size-00686",
					      "range %u: offset outside the mapped range", i);
				res = VK_ERROR_OUT_OF_HOST_MEMORY;
			}
			/* "to the end of the mapping" is a range only if that end
			 * is an atom boundary or the end of the memory */
			if (map_end % vdev->atom && map_end != m->size) {
				vws_vk_report(vdev, "VUID-VkMappedMemoryRange-size-01389",
					      "range %u: VK_WHOLE_SIZE, and the mapping ends at %llu: "
					      "not a multiple of nonCoherentAtomSize %llu nor the end "
					      "of the memory (%llu)", i, (unsigned long long)map_end,
					      (unsigned long long)vdev->atom,
					      (unsigned long long)m->size);
				res = VK_ERROR_OUT_OF_HOST_MEMORY;
			}
		} else if (r->offset < map_offset || r->size > map_end - map_offset ||
			   r->offset - map_offset > map_end - map_offset - r->size) {
			vws_vk_report(vdev, "VUID-VkMappedMemoryRange-size-00685",
				      "range %u: [%llu, +%llu) outside the mapped range", i,
				      (unsigned long long)r->offset, (unsigned long long)r->size);
			res = VK_ERROR_OUT_OF_HOST_MEMORY;
		} else if (r->size % vdev->atom && r->offset + r->size != m->size) {
			vws_vk_report(vdev, "VUID-VkMappedMemoryRange-size-01390",
				      "range %u: size %llu not a multiple of nonCoherentAtomSize", i,
				      (unsigned long long)r->size);
			res = VK_ERROR_OUT_OF_HOST_MEMORY;
		}
	}
	/* Release builds: the memory is coherent, nothing was at stake. */
	return vdev->debug ? res : VK_SUCCESS;
}

VkResult vws_vk_FlushMappedMemoryRanges(struct vws_vk_device *vdev, uint32_t count,
					const VkMappedMemoryRange *ranges)
{
	return vws_vk_check_ranges(vdev, count, ranges);
}

VkResult vws_vk_InvalidateMappedMemoryRanges(struct vws_vk_device *vdev, uint32_t count,
					     const VkMappedMemoryRange *ranges)
{
	return vws_vk_check_ranges(vdev, count, ranges);
}
