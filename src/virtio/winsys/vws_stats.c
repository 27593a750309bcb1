/* SPDX-License-Identifier: MIT */
/*
 * Accounting of the host-visible region as the winsys sees it.
 *
 * Only HOST3D + MAPPABLE objects created through this device use the
 * region. An object created without the hint is mapped by the kernel at
 * creation, so it holds its range from then on; a hinted object only
 * reserves the right to a range ("deferred") until its first mapping.
 * Imported objects are not counted: whoever created them holds the range.
 * Caveat: a kernel that ignores the hint (old kernel, policy always) maps
 * at creation anyway; the winsys cannot tell and counts such objects as
 * deferred (docs/winsys.md).
 */
#include <errno.h>
#include <string.h>

#include "vws_priv.h"

void vws_stats_count(struct vws_device *dev, enum vws_stat_counter c)
{
	pthread_mutex_lock(&dev->stats_lock);
	switch (c) {
	case VWS_STAT_MAP_IOCTL:
		dev->stats.map_ioctls++;
		break;
	case VWS_STAT_MMAP:
		dev->stats.mmaps++;
		break;
	}
	pthread_mutex_unlock(&dev->stats_lock);
}

void vws_stats_add(struct vws_device *dev, uint64_t *field)
{
	pthread_mutex_lock(&dev->stats_lock);
	(*field)++;
	pthread_mutex_unlock(&dev->stats_lock);
}

static void vws_stats_hold_locked(struct vws_device *dev, uint64_t bytes)
{
	dev->stats.region_bytes_held += bytes;
	if (dev->stats.region_bytes_held > dev->stats.region_bytes_peak)
		dev->stats.region_bytes_peak = dev->stats.region_bytes_held;
}

void vws_stats_bo_added(struct vws_device *dev, struct vws_bo *bo)
{
	pthread_mutex_lock(&dev->stats_lock);
	dev->stats.objects++;
	if (bo->imported)
		dev->stats.imported_objects++;
	if (bo->in_region) {
		if (bo->hinted) {
			dev->stats.deferred_objects++;
			dev->stats.region_bytes_deferred += bo->size;
		} else {
			bo->region_held = true;
			vws_stats_hold_locked(dev, bo->size);
		}
	}
	pthread_mutex_unlock(&dev->stats_lock);
}

/* A deferred object's range is now the kernel's: deferred -> held. */
static void vws_stats_bo_held_locked(struct vws_device *dev, struct vws_bo *bo)
{
	if (bo->in_region && !bo->region_held) {
		bo->region_held = true;
		dev->stats.deferred_objects--;
		dev->stats.region_bytes_deferred -= bo->size;
		vws_stats_hold_locked(dev, bo->size);
	}
}

void vws_stats_bo_held(struct vws_device *dev, struct vws_bo *bo)
{
	pthread_mutex_lock(&dev->stats_lock);
	vws_stats_bo_held_locked(dev, bo);
	pthread_mutex_unlock(&dev->stats_lock);
}

void vws_stats_bo_mapped(struct vws_device *dev, struct vws_bo *bo)
{
	pthread_mutex_lock(&dev->stats_lock);
	dev->stats.mapped_objects++;
	vws_stats_bo_held_locked(dev, bo);
	pthread_mutex_unlock(&dev->stats_lock);
}

void vws_stats_bo_unmapped(struct vws_device *dev)
{
	pthread_mutex_lock(&dev->stats_lock);
	dev->stats.mapped_objects--;
	pthread_mutex_unlock(&dev->stats_lock);
}

void vws_stats_bo_removed(struct vws_device *dev, struct vws_bo *bo)
{
	pthread_mutex_lock(&dev->stats_lock);
	dev->stats.objects--;
	if (bo->imported)
		dev->stats.imported_objects--;
	if (atomic_load(&bo->map_ptr) || bo->placed_ptr)
		dev->stats.mapped_objects--;
	if (bo->in_region) {
		if (bo->region_held) {
			dev->stats.region_bytes_held -= bo->size;
		} else {
			dev->stats.deferred_objects--;
			dev->stats.region_bytes_deferred -= bo->size;
		}
	}
	pthread_mutex_unlock(&dev->stats_lock);
}

int vws_stats_region_admit(struct vws_device *dev, struct vws_bo *bo)
{
	uint64_t region = dev->info.host_visible_size;
	uint64_t held, admitted;
	int ret = 0;

	/* Only a deferred map on a kernel that may hang needs admitting. A
	 * validating kernel fails a full region with -ENOSPC itself; without
	 * the region's size nothing can be judged (docs/winsys.md). */
	if (!bo->hinted || !bo->in_region || bo->region_held || !region ||
	    dev->info.hint_support != VWS_HINT_IGNORED)
		return 0;
	pthread_mutex_lock(&dev->stats_lock);
	held = dev->stats.region_bytes_held;
	admitted = dev->region_bytes_admitted;
	if (held + admitted > region || bo->size > region - held - admitted) {
		ret = -ENOSPC;
	} else {
		dev->region_bytes_admitted += bo->size;
		bo->region_admitted = true;
	}
	pthread_mutex_unlock(&dev->stats_lock);
	if (ret)
		vws_log(dev, VWS_DEBUG_MAP,
			"handle %u: %llu bytes do not fit: %llu held, %llu being mapped, region "
			"%llu; refused before the kernel (a kernel that does not validate hints "
			"would wait forever)", bo->handle, (unsigned long long)bo->size,
			(unsigned long long)held, (unsigned long long)admitted,
			(unsigned long long)region);
	return ret;
}

void vws_stats_region_admit_end(struct vws_device *dev, struct vws_bo *bo)
{
	if (!bo->region_admitted)
		return;
	pthread_mutex_lock(&dev->stats_lock);
	dev->region_bytes_admitted -= bo->size;
	pthread_mutex_unlock(&dev->stats_lock);
	bo->region_admitted = false;
}

void vws_device_get_stats(struct vws_device *dev, struct vws_stats *out)
{
	if (!dev || !out)
		return;
	pthread_mutex_lock(&dev->stats_lock);
	*out = dev->stats;
	pthread_mutex_unlock(&dev->stats_lock);
}

void vws_device_get_budget(struct vws_device *dev, uint64_t heap_size,
			   uint64_t *usage, uint64_t *budget)
{
	uint64_t held = 0;

	if (dev) {
		pthread_mutex_lock(&dev->stats_lock);
		held = dev->stats.region_bytes_held;
		pthread_mutex_unlock(&dev->stats_lock);
	}
	if (usage)
		*usage = held;
	/* VK_EXT_memory_budget: the budget is what the process may hold in the
	 * heap, its current usage included. Nothing tells what other processes
	 * hold, so that is the heap; never below what is already held. */
	if (budget)
		*budget = heap_size > held ? heap_size : held;
}
