/* SPDX-License-Identifier: MIT */
/*
 * CPU mappings: one cached whole-object mapping per object, made on the
 * first map (or forced by an export) and kept until the object goes, plus
 * at most one placed mapping at a caller-chosen address.
 *
 * The first mapping of a hinted object is what makes the kernel reserve its
 * range of the host-visible region, so accounting moves the object from
 * "deferred" to "held" here. Failures leave the object as it was, so a map
 * that failed for lack of region space can be retried later.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vws_priv.h"

static bool vws_bo_has_mapping(struct vws_bo *bo)
{
	return atomic_load_explicit(&bo->map_ptr, memory_order_relaxed) || bo->placed_ptr;
}

/* The backend's map, after the region admission (map_lock held). s: this
 * thread's copy of the counts (vws_shard), looked up once per call. */
static inline __attribute__((always_inline)) int
vws_bo_backend_map(struct vws_bo *bo, struct vws_shard *s, void *fixed_addr, void **out)
{
	struct vws_device *dev = bo->dev;
	int ret = vws_stats_region_admit(dev, bo);

	if (ret)
		return ret;
	ret = dev->ops->bo_map(dev, bo, fixed_addr, out, s);
	if (!ret && !vws_bo_has_mapping(bo))
		vws_stats_bo_mapped(dev, s, bo);
	vws_stats_region_admit_end(dev, bo);
	return ret;
}

/* map_lock held. */
static inline __attribute__((always_inline)) int
vws_bo_map_locked(struct vws_bo *bo, struct vws_shard *s, void **ptr, bool forced)
{
	struct vws_device *dev = bo->dev;
	void *p = atomic_load_explicit(&bo->map_ptr, memory_order_relaxed);
	int ret;

	if (p) {
		*ptr = p;
		return 0;
	}
	ret = vws_bo_backend_map(bo, s, NULL, &p);
	if (ret) {
		vws_log(dev, VWS_DEBUG_MAP, "handle %u%s map failed: %s", bo->handle,
			forced ? " (forced by export)" : "", strerror(-ret));
		return ret;
	}
	if (forced)
		vws_shard_add(dev, s, VWS_COUNT_FORCED_MAPS, 1);
	/* Release: a thread that sees the pointer without the lock sees the
	 * mapping complete. */
	atomic_store_explicit(&bo->map_ptr, p, memory_order_release);
	vws_log(dev, VWS_DEBUG_MAP, "handle %u mapped at %p (%llu bytes)%s", bo->handle, p,
		(unsigned long long)bo->size, forced ? ", forced by export" : "");
	*ptr = p;
	return 0;
}

static inline __attribute__((always_inline)) int
vws_bo_map_cached_on(struct vws_bo *bo, struct vws_shard *s, void **ptr, bool forced)
{
	int ret;

	vws_mtx_lock(&bo->map_lock);
	ret = vws_bo_map_locked(bo, s, ptr, forced);
	vws_mtx_unlock(&bo->map_lock);
	return ret;
}

/* What an export needs first, decided by the probe's result: a kernel
 * that validates hints makes the host mapping in the MAP ioctl, so that
 * ioctl alone (bo_reserve) does it and the CPU mapping waits for a real
 * map; a kernel that ignores hints (Linux 7.2 as merged, v1) reserves the
 * range only in mmap, so the object is mapped (the cached mapping). */
int vws_bo_force_map(struct vws_bo *bo)
{
	struct vws_device *dev = bo->dev;
	void *p;
	int ret = 0;

	vws_mtx_lock(&bo->map_lock);
	/* A placed mapping also made the kernel map it: nothing to force. */
	if (bo->hinted && !bo->region_held) {
		if (dev->info.hint_support == VWS_HINT_VALIDATED && dev->ops->bo_reserve) {
			ret = dev->ops->bo_reserve(dev, bo, vws_shard(dev));
			if (!ret)
				vws_count(dev, VWS_COUNT_FORCED_MAPS, 1);
			vws_log(dev, VWS_DEBUG_MAP, "handle %u: host mapping forced by export%s%s",
				bo->handle, ret ? " failed: " : " (MAP ioctl, no mmap)",
				ret ? strerror(-ret) : "");
		} else {
			ret = vws_bo_map_locked(bo, vws_shard(dev), &p, true);
		}
	}
	vws_mtx_unlock(&bo->map_lock);
	return ret;
}

/* Out of line, so that a map of mapped memory saves no registers; called
 * last (a jump), with the thread's copy of the counts already found. */
static __attribute__((noinline)) int vws_bo_map_first(struct vws_bo *bo, struct vws_shard *s,
						      void **ptr)
{
	return vws_bo_map_cached_on(bo, s, ptr, false);
}

/* vws_bo_map with the thread's copy of the counts s (NULL: the spill). */
static inline __attribute__((always_inline)) int vws_bo_map_on(struct vws_bo *bo,
							       struct vws_shard *s, void **ptr)
{
	void *p;

	vws_shard_add(bo->dev, s, VWS_COUNT_MAP_CALLS, 1);
	p = atomic_load_explicit(&bo->map_ptr, memory_order_acquire);
	if (__builtin_expect(p != NULL, 1)) {
		*ptr = p;
		return 0;
	}
	return vws_bo_map_first(bo, s, ptr);
}

/* vws_bo_map when the thread last counted for another device: the full
 * lookup, out of line (it is a call), so that the usual vws_bo_map makes
 * none and needs no stack frame. */
static __attribute__((noinline)) int vws_bo_map_lookup(struct vws_bo *bo, void **ptr)
{
	return vws_bo_map_on(bo, vws_shard_lookup(bo->dev), ptr);
}

int vws_bo_map(struct vws_bo *bo, void **ptr)
{
	struct vws_shard *s;

	if (!bo || !ptr)
		return -EINVAL;
	s = vws_shard_hit(bo->dev);
	if (__builtin_expect(!s, 0))
		return vws_bo_map_lookup(bo, ptr);
	/* s is not NULL: vws_shard_add's test for the spill goes */
	return vws_bo_map_on(bo, s, ptr);
}

int vws_bo_map_placed(struct vws_bo *bo, void *addr)
{
	struct vws_device *dev;
	uint64_t page = vws_page_size();
	void *p;
	int ret;

	if (!bo || !addr || ((uintptr_t)addr & (page - 1)))
		return -EINVAL;
	dev = bo->dev;
	vws_count(dev, VWS_COUNT_MAP_CALLS, 1);
	vws_mtx_lock(&bo->map_lock);
	if (bo->placed_ptr) {
		ret = -EBUSY;
		goto out;
	}
	ret = vws_bo_backend_map(bo, vws_shard(dev), addr, &p);
	if (ret) {
		vws_log(dev, VWS_DEBUG_MAP, "handle %u placed map at %p failed: %s", bo->handle,
			addr, strerror(-ret));
		goto out;
	}
	bo->placed_ptr = p;
	vws_log(dev, VWS_DEBUG_MAP, "handle %u placed at %p", bo->handle, p);
out:
	vws_mtx_unlock(&bo->map_lock);
	return ret;
}

int vws_bo_unmap_placed(struct vws_bo *bo, bool reserve)
{
	struct vws_device *dev;
	int ret = 0;

	if (!bo)
		return -EINVAL;
	dev = bo->dev;
	vws_mtx_lock(&bo->map_lock);
	if (!bo->placed_ptr) {
		ret = -EINVAL;
		goto out;
	}
	if (reserve) {
		/* Replacing the pages in one call keeps the range ours: no
		 * other mapping can slip in between. */
		if (mmap(bo->placed_ptr, bo->size, PROT_NONE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
			 0) == MAP_FAILED) {
			ret = -errno;
			goto out;
		}
	} else if (munmap(bo->placed_ptr, bo->size)) {
		ret = -errno;
		goto out;
	}
	bo->placed_ptr = NULL;
	if (!vws_bo_has_mapping(bo))
		vws_stats_bo_unmapped(dev);
	vws_log(dev, VWS_DEBUG_MAP, "handle %u placed mapping removed%s", bo->handle,
		reserve ? " (range kept reserved)" : "");
out:
	vws_mtx_unlock(&bo->map_lock);
	return ret;
}
