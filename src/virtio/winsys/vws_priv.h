/* SPDX-License-Identifier: MIT */
/*
 * Shared internals of the winsys: the device and object structures and the
 * helpers every part (and every backend) uses.
 */
#ifndef VWS_PRIV_H
#define VWS_PRIV_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "vws/vws.h"
#include "vws_backend.h"

/* VWS_DEBUG categories */
enum vws_debug_flag {
	VWS_DEBUG_INIT = 1u << 0,
	VWS_DEBUG_BO = 1u << 1,
	VWS_DEBUG_MAP = 1u << 2,
	VWS_DEBUG_EXPORT = 1u << 3,
	VWS_DEBUG_IMPORT = 1u << 4,
	VWS_DEBUG_CONFIG = 1u << 5,
	VWS_DEBUG_SUBMIT = 1u << 6,
};

/* Counts kept per thread and folded on read (vws_stats.c). */
enum vws_count {
	VWS_COUNT_OBJECTS,
	VWS_COUNT_IMPORTED,
	VWS_COUNT_MAPPED,
	VWS_COUNT_DEFERRED,
	VWS_COUNT_BYTES_DEFERRED,
	VWS_COUNT_MAP_CALLS,
	VWS_COUNT_MAP_IOCTLS,
	VWS_COUNT_MMAPS,
	VWS_COUNT_FORCED_MAPS,
	VWS_COUNT_EXPORTS,
	VWS_COUNT_IMPORTS,
	VWS_COUNT_NUM,
};

/* Work counters a backend bumps (see vws_backend.h). */
enum vws_stat_counter {
	VWS_STAT_MAP_IOCTL = VWS_COUNT_MAP_IOCTLS,
	VWS_STAT_MMAP = VWS_COUNT_MMAPS,
};

struct vws_shard;

/* "config:" and a whole path (never cut short). */
#define VWS_SOURCE_MAX (PATH_MAX + 16)
#define VWS_REASON_MAX 160

/* A hash map from table key to object, sized by the live objects. */
struct vws_table {
	uint32_t *keys;
	struct vws_bo **vals;    /* NULL: free slot */
	uint32_t cap, count;
};

struct vws_device {
	atomic_uint refcount;
	const struct vws_backend_ops *ops;
	void *backend;
	uint32_t debug;          /* VWS_DEBUG flags, read once at creation */

	struct vws_device_info info;
	char policy_source[VWS_SOURCE_MAX];
	char hint_reason[VWS_REASON_MAX];

	/* Objects by table key (GEM handle, vtest res id): vws_table.c.
	 * Import, the final unref and creation take table_lock for the table
	 * only, never across a syscall: a spinlock, as the DRM file's
	 * table_lock is. An import waiting for a closing object's key sleeps
	 * on close_cond (close_lock). import_lock serialises imports (the DRM
	 * file's prime lock does in the kernel), across their syscalls. See
	 * vws_bo.c for the protocol. */
	_Atomic uint32_t table_lock;
	pthread_mutex_t close_lock;
	pthread_cond_t close_cond;
	_Atomic uint32_t close_waiters;
	/* Closes finished (an object out of the table after its key was
	 * closed): written under table_lock, read by imports before asking
	 * the kernel for a key. */
	_Atomic uint64_t closes;
	bool blob_ok;                   /* RESOURCE_BLOB is on (vws_probe) */
	bool hint_ok;                   /* policy and probe allow the hint (vws_probe) */
	struct vws_table table;
	pthread_mutex_t import_lock;

	/* Accounting (vws_stats.c): counts per thread, folded on read */
	uint64_t id;                    /* unique for the process's life */
	pthread_mutex_t shards_lock;    /* the list; taken by a thread's first count and reads */
	struct vws_shard *shards;
	_Atomic uint64_t spill[VWS_COUNT_NUM]; /* when a thread's copy cannot be made */
	_Atomic uint64_t region_held, region_peak;
	/* Region bytes of first maps admitted and not finished yet
	 * (vws_stats_region_admit). admit_lock. */
	pthread_mutex_t admit_lock;
	uint64_t region_bytes_admitted;
};

/* Laid out so that what a creation writes as zero lies in few words
 * (vws_bo_alloc), and what a map of mapped memory reads (dev, map_ptr) in
 * the first 24 bytes. */
struct vws_bo {
	struct vws_device *dev;
	atomic_uint refcount;
	/* map_lock serialises first maps, placed maps and the deferred ->
	 * held transition; map_ptr is read without it once set. */
	_Atomic uint32_t map_lock;       /* vws_mtx */
	_Atomic(void *) map_ptr;

	uint32_t handle;
	uint32_t res_id;
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint64_t size;

	/* Final unrefs that must back off because an import revived the
	 * object after they dropped it to zero. table_lock. */
	uint32_t revivals;
	/* Its last reference is gone and its key is being closed (munmap,
	 * GEM_CLOSE): still in the table, never revived. table_lock. */
	bool closing;
	bool region_held;        /* counted in region_bytes_held */
	bool region_admitted;    /* counted in region_bytes_admitted; map_lock */
	/* Whether the object's size is in its user's account (below).
	 * map_lock. */
	bool charged;
	bool hinted;
	bool imported;
	/* blob_flags are the object's: false for an object another device
	 * created (RESOURCE_INFO does not report flags). */
	bool flags_known;
	/* HOST3D + MAPPABLE, created here: uses the host-visible region. */
	bool in_region;
	/* Where it is in the table (vws_table.h). table_lock. */
	uint32_t slot;

	void *placed_ptr;
	/* The user's account of the bytes the object holds
	 * (vws_bo_set_account). map_lock. */
	uint64_t *account;

	uint64_t backend_data;
	void *backend_ptr;
};

/* A mutex in one word, for the per-object lock (Mesa's simple_mtx, after
 * Drepper's "Futexes are tricky"): 0 free, 1 held, 2 held and someone may
 * sleep on it. Uncontended: one compare-and-swap and one decrement, where
 * a pthread mutex costs some fifty instructions a pair; contended, the
 * waiter sleeps in the kernel (a map holds it across MAP and mmap, which
 * can wait for the host). Zero is the initial state; nothing to destroy. */
void vws_mtx_lock_slow(_Atomic uint32_t *m, uint32_t c);
void vws_mtx_unlock_slow(_Atomic uint32_t *m);
static inline void vws_mtx_lock(_Atomic uint32_t *m)
{
	uint32_t c = 0;

	if (!atomic_compare_exchange_strong_explicit(m, &c, 1, memory_order_acquire,
						     memory_order_relaxed))
		vws_mtx_lock_slow(m, c);
}
static inline void vws_mtx_unlock(_Atomic uint32_t *m)
{
	if (atomic_fetch_sub_explicit(m, 1, memory_order_release) != 1)
		vws_mtx_unlock_slow(m);
}

/* For sections of a few instructions: spins, yields to a holder that is
 * not running (vws_device.c). */
void vws_spin_lock_slow(_Atomic uint32_t *l);
static inline void vws_spin_lock(_Atomic uint32_t *l)
{
	if (atomic_exchange_explicit(l, 1, memory_order_acquire))
		vws_spin_lock_slow(l);
}
static inline void vws_spin_unlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* Logging (vws_log.c) */
uint32_t vws_debug_parse(const char *s);
/* cold: the compiler moves a call's argument set-up off the object paths,
 * which log only under VWS_DEBUG. */
void vws_log_print(const struct vws_device *dev, uint32_t flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), cold));
/* A debug line when VWS_DEBUG asks for flag's category; otherwise not even
 * its arguments are evaluated (the object paths log on every call). dev is
 * never NULL: every caller logs for a device it was given and checked, or
 * made (a test of it here would cost the object paths a branch a line). */
#define vws_log(dev, flag, ...)                                                   \
	do {                                                                      \
		const struct vws_device *vws_log_dev_ = (dev);                    \
		if (vws_log_dev_->debug & (flag))                                 \
			vws_log_print(vws_log_dev_, (flag), __VA_ARGS__);         \
	} while (0)
/* Always printed: a setting the user gave that the winsys could not use. */
void vws_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Policy and configuration (vws_config.c) */
void vws_policy_resolve(struct vws_device *dev, const struct vws_device_create_info *ci);
uint64_t vws_host_visible_size_resolve(const struct vws_device_create_info *ci);

/* Accounting (vws_stats.c) */
int vws_stats_init(struct vws_device *dev);
void vws_stats_fini(struct vws_device *dev);

/* A thread's copy of one device's counts, written by that thread only; on
 * cache lines of its own (two threads' copies side by side in the heap
 * would make every count a write to a shared line). */
struct __attribute__((aligned(64))) vws_shard {
	_Atomic uint64_t v[VWS_COUNT_NUM];
	pthread_t owner;
	struct vws_shard *next;
	/* An object this thread freed, kept for its next creation or import
	 * on the device (vws_bo_alloc); the device frees it at its end. */
	struct vws_bo *spare;
};
/* The device this thread counted for last, and its copy there (never
 * NULL: a thread whose copy could not be made is not cached). */
struct vws_shard_last {
	uint64_t id;
	struct vws_shard *shard;
};
extern __thread struct vws_shard_last vws_shard_last __attribute__((tls_model("initial-exec")));
/* The slow way: this thread's copy for dev (NULL: the device's spill). */
struct vws_shard *vws_shard_lookup(struct vws_device *dev);

/* This thread's copy of dev's counts, or NULL for the shared spill. */
static inline struct vws_shard *vws_shard(struct vws_device *dev)
{
	return vws_shard_last.id == dev->id ? vws_shard_last.shard : vws_shard_lookup(dev);
}

/* The same when dev is the thread's last device (the copy, never NULL
 * then: no test for the spill), else NULL: for a caller that takes another
 * way then (vws_bo_map). */
static inline struct vws_shard *vws_shard_hit(const struct vws_device *dev)
{
	return vws_shard_last.id == dev->id ? vws_shard_last.shard : NULL;
}

static inline void vws_shard_add(struct vws_device *dev, struct vws_shard *s, enum vws_count c,
				 int64_t n)
{
	if (!s) {
		atomic_fetch_add_explicit(&dev->spill[c], (uint64_t)n, memory_order_relaxed);
		return;
	}
	/* the owner's store; readers fold with loads (modulo 2^64 sums) */
	atomic_store_explicit(&s->v[c],
			      atomic_load_explicit(&s->v[c], memory_order_relaxed) + (uint64_t)n,
			      memory_order_relaxed);
}

static inline void vws_count(struct vws_device *dev, enum vws_count c, int64_t n)
{
	vws_shard_add(dev, vws_shard(dev), c, n);
}

static inline void vws_stats_count(struct vws_device *dev, enum vws_stat_counter c)
{
	vws_count(dev, (enum vws_count)c, 1);
}
/* The same on s, the copy of the counts an op was handed. */
static inline void vws_stats_count_on(struct vws_device *dev, struct vws_shard *s,
				      enum vws_stat_counter c)
{
	vws_shard_add(dev, s, (enum vws_count)c, 1);
}
/* bytes more held in the region (and the peak) */
static inline void vws_stats_hold(struct vws_device *dev, uint64_t bytes)
{
	uint64_t held = atomic_fetch_add(&dev->region_held, bytes) + bytes;
	uint64_t peak = atomic_load_explicit(&dev->region_peak, memory_order_relaxed);

	while (held > peak && !atomic_compare_exchange_weak(&dev->region_peak, &peak, held))
		;
}
/* A new object, before it is shared; s: this thread's copy (vws_shard).
 * Created here: */
static inline void vws_stats_bo_created(struct vws_device *dev, struct vws_shard *s,
					struct vws_bo *bo)
{
	vws_shard_add(dev, s, VWS_COUNT_OBJECTS, 1);
	if (bo->in_region) {
		if (bo->hinted) {
			vws_shard_add(dev, s, VWS_COUNT_DEFERRED, 1);
			vws_shard_add(dev, s, VWS_COUNT_BYTES_DEFERRED, (int64_t)bo->size);
		} else {
			bo->region_held = true;
			vws_stats_hold(dev, bo->size);
		}
	}
}
/* Imported (never in the region: whoever created it holds its range): */
static inline void vws_stats_bo_imported(struct vws_device *dev, struct vws_shard *s)
{
	vws_shard_add(dev, s, VWS_COUNT_OBJECTS, 1);
	vws_shard_add(dev, s, VWS_COUNT_IMPORTED, 1);
}
/* An object after its last reference (nobody else has it). */
static inline void vws_stats_bo_removed(struct vws_device *dev, struct vws_shard *s,
					struct vws_bo *bo)
{
	vws_shard_add(dev, s, VWS_COUNT_OBJECTS, -1);
	if (bo->imported)
		vws_shard_add(dev, s, VWS_COUNT_IMPORTED, -1);
	if (atomic_load_explicit(&bo->map_ptr, memory_order_relaxed) || bo->placed_ptr)
		vws_shard_add(dev, s, VWS_COUNT_MAPPED, -1);
	if (bo->in_region) {
		if (bo->region_held) {
			atomic_fetch_sub(&dev->region_held, bo->size);
		} else {
			vws_shard_add(dev, s, VWS_COUNT_DEFERRED, -1);
			vws_shard_add(dev, s, VWS_COUNT_BYTES_DEFERRED, -(int64_t)bo->size);
		}
	}
}
void vws_stats_bo_charge(struct vws_bo *bo);
/* The kernel reserved the object's region range before (or without) a
 * mapping: a backend op whose map reserves in a step that can succeed
 * while the mmap after it fails says so here (vws_stats_bo_held; _on: with
 * this thread's copy of the counts, vws_shard). map_lock held. Inline: it
 * happens once in the life of every deferred object that is mapped. */
static inline void vws_stats_bo_held_on(struct vws_device *dev, struct vws_shard *s,
					struct vws_bo *bo)
{
	/* deferred -> held, once (held first: the second time, at the end of
	 * a first map, that alone decides) */
	if (bo->region_held || !bo->in_region)
		return;
	bo->region_held = true;
	vws_shard_add(dev, s, VWS_COUNT_DEFERRED, -1);
	vws_shard_add(dev, s, VWS_COUNT_BYTES_DEFERRED, -(int64_t)bo->size);
	vws_stats_hold(dev, bo->size);
	if (bo->account)
		vws_stats_bo_charge(bo);
}
void vws_stats_bo_held(struct vws_device *dev, struct vws_bo *bo);
/* First mapping (cached, placed or forced) of an object. map_lock held. */
static inline void vws_stats_bo_mapped(struct vws_device *dev, struct vws_shard *s,
				       struct vws_bo *bo)
{
	vws_shard_add(dev, s, VWS_COUNT_MAPPED, 1);
	vws_stats_bo_held_on(dev, s, bo);
}
/* The object's last mapping went away (its region range stays held). */
void vws_stats_bo_unmapped(struct vws_device *dev);
/* Before a first map that would make a kernel which does not validate hints
 * (Linux 7.2 as merged) do a deferred map: -ENOSPC when the caller gave the
 * region's size and the object cannot fit next to what this device holds
 * (such a kernel sleeps forever instead of failing). 0 otherwise; an
 * admitted object is counted until vws_stats_region_admit_end. map_lock. */
int vws_stats_region_admit_slow(struct vws_device *dev, struct vws_bo *bo);
void vws_stats_region_admit_end_slow(struct vws_device *dev, struct vws_bo *bo);
static inline int vws_stats_region_admit(struct vws_device *dev, struct vws_bo *bo)
{
	/* Only a deferred map on a kernel that may hang needs admitting (the
	 * device first: on any other kernel that alone decides). */
	if (dev->info.hint_support != VWS_HINT_IGNORED || !bo->hinted || bo->region_held)
		return 0;
	return vws_stats_region_admit_slow(dev, bo);
}
static inline void vws_stats_region_admit_end(struct vws_device *dev, struct vws_bo *bo)
{
	if (bo->region_admitted)
		vws_stats_region_admit_end_slow(dev, bo);
}

/* The object table (vws_table.c; insert, lookup and remove are inline in
 * vws_table.h), table_lock held. Next: iterates over live objects from
 * *pos = 0, NULL at the end. */
struct vws_bo *vws_table_next_locked(struct vws_device *dev, uint32_t *pos);
void vws_table_fini(struct vws_device *dev);

/* Objects (vws_bo.c) */
/* Objects: allocated and freed with s, this thread's copy of the counts
 * (vws_shard), where the spare is. */
/* The spare: one freed object per thread and device, reused by that
 * thread's next creation or import (an object's life is short on the paths
 * that matter, and malloc + free cost some 130 instructions where this
 * costs a few). Not under AddressSanitizer, which must see every object's
 * end. */
#if defined(__SANITIZE_ADDRESS__)
#define VWS_BO_SPARE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VWS_BO_SPARE 0
#endif
#endif
#ifndef VWS_BO_SPARE
#define VWS_BO_SPARE 1
#endif

/* A new object's memory, with what the shared code starts every object
 * with. Nothing is zero-filled first (this runs on every creation, and a
 * fill of the whole object and the stores after it cost twice the stores
 * alone), so every field is written once, by one of: here; the backend's
 * bo_create or bo_query (handle, res_id, blob_mem, size, backend_data,
 * backend_ptr); the caller (blob_flags, hinted, imported, flags_known,
 * in_region); the table insert (slot). A field added to struct vws_bo
 * must be given to one of them. */
static inline struct vws_bo *vws_bo_alloc(struct vws_device *dev, struct vws_shard *s)
{
	struct vws_bo *bo = VWS_BO_SPARE && s ? s->spare : NULL;

	if (bo)
		s->spare = NULL;
	else
		bo = malloc(sizeof(*bo));
	if (!bo)
		return NULL;
	bo->dev = dev;
	atomic_init(&bo->refcount, 1);
	atomic_init(&bo->map_lock, 0);
	atomic_init(&bo->map_ptr, NULL);
	bo->revivals = 0;
	bo->closing = false;
	bo->region_held = false;
	bo->region_admitted = false;
	bo->charged = false;
	bo->placed_ptr = NULL;
	bo->account = NULL;
	return bo;
}

static inline void vws_bo_free(struct vws_shard *s, struct vws_bo *bo)
{
	if (VWS_BO_SPARE && s && !s->spare)
		s->spare = bo;
	else
		free(bo);
}


/* The device references objects hold (vws_device_ref/unref, inline). */
void vws_device_destroy(struct vws_device *dev);
static inline void vws_device_get(struct vws_device *dev)
{
	atomic_fetch_add_explicit(&dev->refcount, 1, memory_order_relaxed);
}
static inline void vws_device_put(struct vws_device *dev)
{
	if (atomic_fetch_sub_explicit(&dev->refcount, 1, memory_order_acq_rel) == 1)
		vws_device_destroy(dev);
}

/* Mapping (vws_map.c). Export's rule: a hinted object the kernel has not
 * mapped yet is mapped now (and the mapping kept as the cached one). */
int vws_bo_force_map(struct vws_bo *bo);

/* The page size, asked once. */
extern _Atomic uint64_t vws_page_bytes;
uint64_t vws_page_size_slow(void);
static inline uint64_t vws_page_size(void)
{
	uint64_t p = atomic_load_explicit(&vws_page_bytes, memory_order_relaxed);

	return p ? p : vws_page_size_slow();
}

/* The kernel rounds blob sizes up to its page size; so do we. */
static inline uint64_t vws_page_round(uint64_t size)
{
	uint64_t page = vws_page_size();

	return (size + page - 1) & ~(page - 1);
}

#endif /* VWS_PRIV_H */
