/* SPDX-License-Identifier: MIT */
/*
 * Blob objects: creation (where the defer decision is made), the
 * device-wide table and the reference counting protocol.
 *
 * The table (vws_table.c) maps a GEM handle to the one vws_bo that owns it. The kernel
 * gives an imported buffer the handle it already has in this file, with no
 * extra reference, so one GEM handle must be one vws_bo with our own count.
 * Import and the final unref race; the protocol (table_lock guards the
 * table and these fields, and is never held across a syscall):
 *  - import looks the handle up and takes a reference, even from zero; a
 *    0 -> 1 step is a "revival" and is counted in bo->revivals;
 *  - every unref that drops the count to zero then takes table_lock: if
 *    revivals is non-zero it consumes one and backs off (a later unref
 *    owns the destruction), otherwise it marks the object closing and
 *    leaves it in the table while it unmaps and closes the handle outside
 *    the lock, then takes it out;
 *  - an import whose handle is a closing object's cannot tell whether the
 *    kernel gave it the handle being closed or, once closed, the same
 *    number anew: it waits until the object is out of the table and asks
 *    the kernel again; so does an import during which any close finished
 *    (dev->closes moved): the handle it was given may be the one closed,
 *    or a creation's that took the number over;
 *  - a creation that gets a closing object's number takes the slot over:
 *    the kernel gives a number only once it is free.
 * Each zero-crossing is thus matched by exactly one destroy-or-back-off,
 * whatever the interleaving, and no import ever holds a handle that a
 * destruction is about to close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_priv.h"
#include "vws_table.h"

static bool vws_bo_wants_hint(const struct vws_device *dev, const struct vws_bo_create_info *ci)
{
	/* dev->hint_ok: the policy and the probe allow it (vws_probe):
	 * always, or auto with a kernel that validates hints */
	return (ci->flags & VWS_BO_DEVICE_LOCAL) && ci->blob_mem == VIRTGPU_BLOB_MEM_HOST3D &&
	       (ci->blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE) && dev->hint_ok;
}

bool vws_bo_would_hint(const struct vws_device *dev, const struct vws_bo_create_info *info)
{
	return dev && info && vws_bo_wants_hint(dev, info);
}

static int vws_bo_check(const struct vws_device *dev, const struct vws_bo_create_info *ci)
{
	const char *why = NULL;

	/* The common case in a few tests; the reason is looked for below only
	 * when one fails. */
	if (__builtin_expect(ci->blob_mem - VIRTGPU_BLOB_MEM_GUEST <=
				     VIRTGPU_BLOB_MEM_HOST3D_GUEST - VIRTGPU_BLOB_MEM_GUEST &&
			     !((ci->blob_flags & ~(uint32_t)VIRTGPU_BLOB_FLAG_USE_MASK) |
			       (ci->flags & ~(uint32_t)VWS_BO_DEVICE_LOCAL) | (ci->cmd_size % 4)) &&
			     ci->size && (ci->cmd || !ci->cmd_size) &&
			     (ci->blob_mem != VIRTGPU_BLOB_MEM_GUEST ||
			      !(ci->blob_id | ci->cmd_size)) &&
			     dev->blob_ok, 1))
		return 0;

	if (ci->blob_mem < VIRTGPU_BLOB_MEM_GUEST || ci->blob_mem > VIRTGPU_BLOB_MEM_HOST3D_GUEST)
		why = "blob_mem is not GUEST, HOST3D or HOST3D_GUEST";
	else if (ci->blob_flags & ~(uint32_t)VIRTGPU_BLOB_FLAG_USE_MASK)
		why = "unknown blob_flags";
	else if (!ci->size)
		why = "size 0";
	else if (ci->cmd_size % 4 || (ci->cmd_size && !ci->cmd))
		why = "cmd_size not a multiple of 4, or no cmd";
	else if (ci->blob_mem == VIRTGPU_BLOB_MEM_GUEST && (ci->blob_id || ci->cmd_size))
		why = "GUEST blobs take no blob_id and no command";
	else if (ci->flags & ~(uint32_t)VWS_BO_DEVICE_LOCAL)
		why = "unknown VWS_BO_* flags";
	if (why) {
		vws_log(dev, VWS_DEBUG_BO, "create: %s", why);
		return -EINVAL;
	}
	if (!dev->info.param_present[VIRTGPU_PARAM_RESOURCE_BLOB] ||
	    !dev->info.param[VIRTGPU_PARAM_RESOURCE_BLOB]) {
		vws_log(dev, VWS_DEBUG_BO, "create: the device has no blob resources");
		return -EOPNOTSUPP;
	}
	return 0;
}

int vws_bo_create(struct vws_device *dev, const struct vws_bo_create_info *ci,
		  struct vws_bo **out)
{
	struct vws_blob_request req;
	struct vws_shard *s;
	struct vws_bo *bo;
	bool in_region;
	int ret;

	if (!dev || !ci || !out)
		return -EINVAL;
	ret = vws_bo_check(dev, ci);
	if (ret)
		return ret;

	req = (struct vws_blob_request){
		.blob_mem = ci->blob_mem,
		.blob_flags = ci->blob_flags,
		.size = ci->size,
		.blob_id = ci->blob_id,
		.cmd = ci->cmd,
		.cmd_size = ci->cmd_size,
	};
	/* HOST3D + MAPPABLE: the object uses the host-visible region, and only
	 * such an object can take the hint (vws_bo_wants_hint) */
	in_region = ci->blob_mem == VIRTGPU_BLOB_MEM_HOST3D &&
		    (ci->blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE);
	/* all three, without a branch each */
	if (in_region & ((ci->flags & VWS_BO_DEVICE_LOCAL) != 0) & dev->hint_ok)
		req.blob_hints = VIRTGPU_BLOB_HINT_DEFER_MAPPING;
	/* Without a hint, a kernel that does not validate hints gets the
	 * call it has always known; only a validating kernel, which knows
	 * the field for sure, gets the new one. */
	req.extended = req.blob_hints || dev->info.hint_support == VWS_HINT_VALIDATED;

	/* The object first, so that the backend describes the blob in it. */
	s = vws_shard(dev);
	bo = vws_bo_alloc(dev, s);
	if (!bo)
		return -ENOMEM;
	ret = dev->ops->bo_create(dev, &req, bo);
	if (ret) {
		vws_log(dev, VWS_DEBUG_BO, "create mem %u flags 0x%x size %llu%s: %s",
			ci->blob_mem, ci->blob_flags, (unsigned long long)ci->size,
			req.blob_hints ? " hinted" : "", strerror(-ret));
		vws_bo_free(s, bo);
		return ret;
	}
	bo->blob_flags = ci->blob_flags;
	bo->hinted = req.blob_hints != 0;
	bo->imported = false;
	bo->flags_known = true;
	bo->in_region = in_region;

	vws_spin_lock(&dev->table_lock);
	ret = vws_table_insert_locked(dev, bo);
	vws_spin_unlock(&dev->table_lock);
	if (ret) {
		if (ret == -EEXIST) {
			/* The kernel never does this; a vtest server can: the
			 * key is a live object's, so only what is new is
			 * released (never the key), and the call fails as the
			 * protocol error it is. */
			vws_log(dev, VWS_DEBUG_BO, "create: key %u is already a live object's: "
				"protocol error", bo->handle);
			bo->handle = bo->res_id = 0;
			ret = -EPROTO;
		} else {
			vws_log(dev, VWS_DEBUG_BO, "create: handle %u: table insert: %s",
				bo->handle, strerror(-ret));
		}
		/* never in the table nor exported: no import can hold its key */
		dev->ops->bo_close(dev, bo);
		vws_bo_free(s, bo);
		return ret;
	}
	vws_device_get(dev);
	vws_stats_bo_created(dev, s, bo);
	vws_log(dev, VWS_DEBUG_BO, "created handle %u res %u mem %u flags 0x%x size %llu%s%s",
		bo->handle, bo->res_id, bo->blob_mem, bo->blob_flags,
		(unsigned long long)bo->size, bo->hinted ? " hinted" : "",
		req.extended ? " (56-byte call)" : " (48-byte call)");
	*out = bo;
	return 0;
}

struct vws_bo *vws_bo_ref(struct vws_bo *bo)
{
	if (bo)
		atomic_fetch_add(&bo->refcount, 1);
	return bo;
}

/* Final unref: nobody else has the object, and nothing reads its
 * mappings after this (a reused object starts anew: vws_bo_alloc). */
static inline void vws_bo_unmap_all(struct vws_bo *bo)
{
	void *p = atomic_load_explicit(&bo->map_ptr, memory_order_relaxed);

	if (p)
		munmap(p, bo->size);
	if (bo->placed_ptr)
		munmap(bo->placed_ptr, bo->size);
}

void vws_bo_unref(struct vws_bo *bo)
{
	struct vws_device *dev;
	struct vws_shard *s;

	if (!bo || atomic_fetch_sub(&bo->refcount, 1) != 1)
		return;
	dev = bo->dev;
	vws_spin_lock(&dev->table_lock);
	if (bo->revivals) {
		bo->revivals--;
		vws_spin_unlock(&dev->table_lock);
		return;
	}
	bo->closing = true;
	vws_spin_unlock(&dev->table_lock);
	s = vws_shard(dev);
	vws_stats_bo_removed(dev, s, bo);
	vws_bo_unmap_all(bo);
	dev->ops->bo_close(dev, bo);
	vws_spin_lock(&dev->table_lock);
	vws_table_remove_locked(dev, bo);
	atomic_fetch_add(&dev->closes, 1);
	vws_spin_unlock(&dev->table_lock);
	if (atomic_load(&dev->close_waiters)) {
		/* an import waits for this key: under close_lock, so that its
		 * check and its sleep are one step for us */
		pthread_mutex_lock(&dev->close_lock);
		pthread_cond_broadcast(&dev->close_cond);
		pthread_mutex_unlock(&dev->close_lock);
	}

	vws_log(dev, VWS_DEBUG_BO, "destroyed handle %u res %u", bo->handle, bo->res_id);
	vws_bo_free(s, bo);
	vws_device_put(dev);
}

void vws_bo_set_account(struct vws_bo *bo, uint64_t *account)
{
	if (!bo)
		return;
	vws_mtx_lock(&bo->map_lock);
	if (bo->account && bo->charged)
		__atomic_fetch_sub(bo->account, bo->size, __ATOMIC_RELAXED);
	bo->account = account;
	/* anything but a deferred object holds its memory now; a deferred
	 * one is charged at its deferred -> held step (vws_stats_bo_held) */
	bo->charged = account && !(bo->hinted && !bo->region_held);
	if (bo->charged)
		__atomic_fetch_add(account, bo->size, __ATOMIC_RELAXED);
	vws_mtx_unlock(&bo->map_lock);
}

int vws_bo_get_info(const struct vws_bo *bo, struct vws_bo_info *out)
{
	struct vws_bo *b = (struct vws_bo *)bo;

	if (!bo || !out)
		return -EINVAL;
	vws_mtx_lock(&b->map_lock);
	*out = (struct vws_bo_info){
		.gem_handle = bo->handle,
		.res_id = bo->res_id,
		.blob_mem = bo->blob_mem,
		.blob_flags = bo->blob_flags,
		.size = bo->size,
		.hinted = bo->hinted,
		.deferred = bo->hinted && !bo->region_held,
		.mapped = atomic_load(&b->map_ptr) != NULL,
		.imported = bo->imported,
		.flags_known = bo->flags_known,
	};
	vws_mtx_unlock(&b->map_lock);
	return 0;
}
