/* SPDX-License-Identifier: MIT */
/*
 * Accounting of the host-visible region as the winsys sees it, and of the
 * work done.
 *
 * Only HOST3D + MAPPABLE objects created through this device use the
 * region. An object created without the hint is mapped by the kernel at
 * creation, so it holds its range from then on; a hinted object only
 * reserves the right to a range ("deferred") until its first mapping.
 * Imported objects are not counted: whoever created them holds the range.
 * Caveat: a kernel that ignores the hint (old kernel, policy always) maps
 * at creation anyway; the winsys cannot tell and counts such objects as
 * deferred (docs/winsys.md).
 *
 * No device-wide lock on a hot path: counts are kept per thread (each
 * thread bumps its own copy, found through a small thread-local cache of
 * the devices it used) and folded when read; the region's bytes held and
 * its peak are atomics. An object's deferred -> held step happens once,
 * under its map lock (or before it is shared, or after its last
 * reference). Only the admission of deferred maps on a kernel that may
 * hang (rare: vws_stats_region_admit) takes a lock, to check and reserve in
 * one step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vws_priv.h"

static _Atomic uint64_t vws_next_device_id = 1;

#define VWS_SHARD_CACHE 4

/* initial-exec: a few words, and the library's TLS must cost nothing on
 * the cached map path (a dlopen'ed driver's static TLS surplus has room
 * for this). The last device first; a few more behind it. */
__thread struct vws_shard_last vws_shard_last __attribute__((tls_model("initial-exec")));
static __thread struct vws_shard_last vws_shard_cache[VWS_SHARD_CACHE]
	__attribute__((tls_model("initial-exec")));
static __thread unsigned vws_shard_victim __attribute__((tls_model("initial-exec")));

_Atomic uint64_t vws_page_bytes;

uint64_t vws_page_size_slow(void)
{
	uint64_t p = (uint64_t)sysconf(_SC_PAGESIZE);

	atomic_store_explicit(&vws_page_bytes, p, memory_order_relaxed);
	return p;
}

int vws_stats_init(struct vws_device *dev)
{
	dev->id = atomic_fetch_add(&vws_next_device_id, 1);
	pthread_mutex_init(&dev->shards_lock, NULL);
	pthread_mutex_init(&dev->admit_lock, NULL);
	return 0;
}

void vws_stats_fini(struct vws_device *dev)
{
	while (dev->shards) {
		struct vws_shard *s = dev->shards;

		dev->shards = s->next;
		free(s->spare);
		free(s);
	}
	pthread_mutex_destroy(&dev->shards_lock);
	pthread_mutex_destroy(&dev->admit_lock);
}

/* This thread's shard of dev: its own from earlier, or a new one; NULL
 * when none can be allocated (the device's spill counts then). */
static struct vws_shard *vws_shard_find(struct vws_device *dev)
{
	pthread_t self = pthread_self();
	struct vws_shard *s;
	unsigned slot;

	pthread_mutex_lock(&dev->shards_lock);
	for (s = dev->shards; s; s = s->next)
		if (pthread_equal(s->owner, self))
			break;
	if (!s) {
		s = aligned_alloc(_Alignof(struct vws_shard), sizeof(*s));
		if (s) {
			memset(s, 0, sizeof(*s));
			s->owner = self;
			s->next = dev->shards;
			dev->shards = s;
		}
	}
	pthread_mutex_unlock(&dev->shards_lock);
	if (s) {
		slot = vws_shard_victim++ % VWS_SHARD_CACHE;
		vws_shard_cache[slot].id = dev->id;
		vws_shard_cache[slot].shard = s;
	}
	return s;
}

struct vws_shard *vws_shard_lookup(struct vws_device *dev)
{
	struct vws_shard *s = NULL;

	for (unsigned i = 0; i < VWS_SHARD_CACHE && !s; i++)
		if (vws_shard_cache[i].id == dev->id)
			s = vws_shard_cache[i].shard;
	if (!s)
		s = vws_shard_find(dev);
	if (s)
		vws_shard_last = (struct vws_shard_last){ dev->id, s };
	return s;
}

static uint64_t vws_counts_sum(struct vws_device *dev, enum vws_count c)
{
	uint64_t sum = atomic_load_explicit(&dev->spill[c], memory_order_relaxed);

	for (struct vws_shard *s = dev->shards; s; s = s->next)
		sum += atomic_load_explicit(&s->v[c], memory_order_relaxed);
	return sum;
}

/* The user's account takes the bytes a deferred object holds from now on
 * (vws_bo_set_account). map_lock held. */
void vws_stats_bo_charge(struct vws_bo *bo)
{
	if (!bo->charged) {
		__atomic_fetch_add(bo->account, bo->size, __ATOMIC_RELAXED);
		bo->charged = true;
	}
}

void vws_stats_bo_held(struct vws_device *dev, struct vws_bo *bo)
{
	vws_stats_bo_held_on(dev, vws_shard(dev), bo);
}

void vws_stats_bo_unmapped(struct vws_device *dev)
{
	vws_count(dev, VWS_COUNT_MAPPED, -1);
}

int vws_stats_region_admit_slow(struct vws_device *dev, struct vws_bo *bo)
{
	uint64_t region = dev->info.host_visible_size;
	uint64_t held, admitted;
	int ret = 0;

	/* Only a deferred map on a kernel that may hang needs admitting (the
	 * inline part checked that much). A validating kernel fails a full
	 * region with -ENOSPC itself; without the region's size nothing can be
	 * judged (docs/winsys.md). */
	if (!bo->in_region || !region)
		return 0;
	pthread_mutex_lock(&dev->admit_lock);
	held = atomic_load(&dev->region_held);
	admitted = dev->region_bytes_admitted;
	if (held + admitted > region || bo->size > region - held - admitted) {
		ret = -ENOSPC;
	} else {
		dev->region_bytes_admitted += bo->size;
		bo->region_admitted = true;
	}
	pthread_mutex_unlock(&dev->admit_lock);
	if (ret)
		vws_log(dev, VWS_DEBUG_MAP,
			"handle %u: %llu bytes do not fit: %llu held, %llu being mapped, region "
			"%llu; refused before the kernel (a kernel that does not validate hints "
			"would wait forever)", bo->handle, (unsigned long long)bo->size,
			(unsigned long long)held, (unsigned long long)admitted,
			(unsigned long long)region);
	return ret;
}

void vws_stats_region_admit_end_slow(struct vws_device *dev, struct vws_bo *bo)
{
	pthread_mutex_lock(&dev->admit_lock);
	dev->region_bytes_admitted -= bo->size;
	pthread_mutex_unlock(&dev->admit_lock);
	bo->region_admitted = false;
}

void vws_device_get_stats(struct vws_device *dev, struct vws_stats *out)
{
	if (!dev || !out)
		return;
	pthread_mutex_lock(&dev->shards_lock);
	*out = (struct vws_stats){
		.objects = vws_counts_sum(dev, VWS_COUNT_OBJECTS),
		.imported_objects = vws_counts_sum(dev, VWS_COUNT_IMPORTED),
		.mapped_objects = vws_counts_sum(dev, VWS_COUNT_MAPPED),
		.deferred_objects = vws_counts_sum(dev, VWS_COUNT_DEFERRED),
		.region_bytes_deferred = vws_counts_sum(dev, VWS_COUNT_BYTES_DEFERRED),
		.map_calls = vws_counts_sum(dev, VWS_COUNT_MAP_CALLS),
		.map_ioctls = vws_counts_sum(dev, VWS_COUNT_MAP_IOCTLS),
		.mmaps = vws_counts_sum(dev, VWS_COUNT_MMAPS),
		.forced_maps = vws_counts_sum(dev, VWS_COUNT_FORCED_MAPS),
		.exports = vws_counts_sum(dev, VWS_COUNT_EXPORTS),
		.imports = vws_counts_sum(dev, VWS_COUNT_IMPORTS),
	};
	pthread_mutex_unlock(&dev->shards_lock);
	out->region_bytes_held = atomic_load(&dev->region_held);
	out->region_bytes_peak = atomic_load(&dev->region_peak);
}

void vws_device_get_budget(struct vws_device *dev, uint64_t heap_size,
			   uint64_t *usage, uint64_t *budget)
{
	uint64_t held = dev ? atomic_load_explicit(&dev->region_held, memory_order_relaxed) : 0;

	if (usage)
		*usage = held;
	/* VK_EXT_memory_budget: the budget is what the process may hold in the
	 * heap, its current usage included. Nothing tells what other processes
	 * hold, so that is the heap; never below what is already held. */
	if (budget)
		*budget = heap_size > held ? heap_size : held;
}
