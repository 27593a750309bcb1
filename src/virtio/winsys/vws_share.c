/* SPDX-License-Identifier: MIT */
/*
 * dma-buf export and import.
 *
 * Export forces the deferred mapping first: a kernel's dma-buf path reads
 * the object's region range, which a never-mapped hinted object does not
 * have yet (review finding 3; Linux 7.2 hands importers a bogus range).
 * Import keeps one vws_bo per GEM handle (see vws_bo.c for the protocol).
 */
#include <errno.h>
#include <string.h>

#include "vws_priv.h"
#include "vws_table.h"

int vws_bo_export_fd(struct vws_bo *bo, int *fd)
{
	struct vws_device *dev;
	int ret;

	if (!bo || !fd)
		return -EINVAL;
	dev = bo->dev;
	ret = vws_bo_force_map(bo);
	if (ret) {
		vws_log(dev, VWS_DEBUG_EXPORT, "handle %u: forced map failed, no export: %s",
			bo->handle, strerror(-ret));
		return ret;
	}
	ret = dev->ops->bo_export(dev, bo, fd);
	if (ret) {
		vws_log(dev, VWS_DEBUG_EXPORT, "handle %u: export failed: %s", bo->handle,
			strerror(-ret));
		return ret;
	}
	vws_count(dev, VWS_COUNT_EXPORTS, 1);
	vws_log(dev, VWS_DEBUG_EXPORT, "handle %u res %u exported as fd %d", bo->handle,
		bo->res_id, *fd);
	return 0;
}

/* The handle is not in the table; import_lock held (no other import can
 * be given it meanwhile, and no creation: the kernel holds it open). */
static int vws_bo_import_new(struct vws_device *dev, int fd, uint32_t handle,
			     uint64_t expected_size, struct vws_bo **out)
{
	struct vws_shard *s = vws_shard(dev);
	struct vws_bo *bo = vws_bo_alloc(dev, s);
	int ret;

	if (!bo) {
		ret = -ENOMEM;
		goto abort;
	}
	ret = dev->ops->bo_query(dev, handle, fd, bo);
	if (ret) {
		vws_log(dev, VWS_DEBUG_IMPORT, "fd %d handle %u: query failed: %s", fd, handle,
			strerror(-ret));
		goto free;
	}
	if (expected_size > bo->size) {
		vws_log(dev, VWS_DEBUG_IMPORT, "fd %d: object has %llu bytes, %llu expected", fd,
			(unsigned long long)bo->size, (unsigned long long)expected_size);
		ret = -EINVAL;
		goto free;
	}
	/* RESOURCE_INFO reports no blob flags; whoever created the object
	 * holds its region range */
	bo->blob_flags = 0;
	bo->hinted = false;
	bo->imported = true;
	bo->flags_known = false;
	bo->in_region = false;
	vws_spin_lock(&dev->table_lock);
	ret = vws_table_insert_locked(dev, bo);
	vws_spin_unlock(&dev->table_lock);
	if (ret)
		goto free;
	vws_device_get(dev);
	vws_stats_bo_imported(dev, s);
	vws_log(dev, VWS_DEBUG_IMPORT, "fd %d: new object handle %u res %u mem %u size %llu",
		fd, bo->handle, bo->res_id, bo->blob_mem, (unsigned long long)bo->size);
	*out = bo;
	return 0;
free:
	vws_bo_free(s, bo);
abort:
	dev->ops->bo_import_abort(dev, handle);
	return ret;
}

int vws_bo_import_fd(struct vws_device *dev, int fd, uint64_t expected_size,
		     struct vws_bo **out)
{
	struct vws_bo *bo;
	uint32_t handle;
	int ret;

	if (!dev || fd < 0 || !out)
		return -EINVAL;
	pthread_mutex_lock(&dev->import_lock);
	for (;;) {
		uint64_t closes = atomic_load(&dev->closes);

		ret = dev->ops->bo_import(dev, fd, &handle);
		if (ret) {
			pthread_mutex_unlock(&dev->import_lock);
			vws_log(dev, VWS_DEBUG_IMPORT, "fd %d: import failed: %s", fd,
				strerror(-ret));
			return ret;
		}
		vws_spin_lock(&dev->table_lock);
		bo = vws_table_lookup_locked(dev, handle);
		if (atomic_load(&dev->closes) != closes) {
			/* a close finished while the kernel answered: the
			 * handle may be the one it closed */
			vws_spin_unlock(&dev->table_lock);
			continue;
		}
		if (!bo || !bo->closing)
			break;
		vws_spin_unlock(&dev->table_lock);
		/* The handle of an object being destroyed: the kernel's answer
		 * may be the handle about to be closed. Once it is, ask again. */
		atomic_fetch_add(&dev->close_waiters, 1);
		pthread_mutex_lock(&dev->close_lock);
		for (;;) {
			bool closing;

			vws_spin_lock(&dev->table_lock);
			bo = vws_table_lookup_locked(dev, handle);
			closing = bo && bo->closing;
			vws_spin_unlock(&dev->table_lock);
			if (!closing)
				break;
			pthread_cond_wait(&dev->close_cond, &dev->close_lock);
		}
		pthread_mutex_unlock(&dev->close_lock);
		atomic_fetch_sub(&dev->close_waiters, 1);
	}
	if (!bo) {
		vws_spin_unlock(&dev->table_lock);
		ret = vws_bo_import_new(dev, fd, handle, expected_size, &bo);
		pthread_mutex_unlock(&dev->import_lock);
		if (ret)
			return ret;
	} else {
		/* Known object: our reference, even if its last one is being
		 * dropped right now (that unref will back off). */
		if (atomic_fetch_add(&bo->refcount, 1) == 0)
			bo->revivals++;
		vws_spin_unlock(&dev->table_lock);
		pthread_mutex_unlock(&dev->import_lock);
		if (expected_size > bo->size) {
			vws_log(dev, VWS_DEBUG_IMPORT, "fd %d: object has %llu bytes, %llu expected",
				fd, (unsigned long long)bo->size,
				(unsigned long long)expected_size);
			vws_bo_unref(bo);
			return -EINVAL;
		}
		vws_log(dev, VWS_DEBUG_IMPORT, "fd %d: known object handle %u", fd, bo->handle);
	}
	vws_count(dev, VWS_COUNT_IMPORTS, 1);
	*out = bo;
	return 0;
}
