/* SPDX-License-Identifier: MIT */
/*
 * GEM objects and DRM files: handles, reference counting, and the
 * host-visible mapping of vram objects as each kernel generation does it.
 * Everything here runs with the device lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vgshim_priv.h"

struct vgshim_obj *vgshim_obj_new(void)
{
	struct vgshim_obj *obj = vgshim_calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->memfd = -1;
	obj->res_id = vgshim_dev.next_res_id++;
	if (!vgshim_dev.next_res_id)
		vgshim_dev.next_res_id = 1;
	return obj;
}

/* Drops the object when nothing refers to it any more: no handle, no
 * dma-buf, no mapping, no submission in flight. The host answers the UNREF
 * later; the object is unreachable from now on. */
void vgshim_obj_maybe_destroy(struct vgshim_obj *obj)
{
	if (obj->handles || obj->dmabuf || obj->mappings || obj->busy || obj->dying)
		return;
	obj->dying = true;
	vgshim_hash_del(&vgshim_dev.by_offset, obj->offset);
	vgshim_dev.c.host_unref_cmds++;
	if (obj->rhost)
		vgshim_rhost_obj_destroyed(obj);
	vgshim_host_queue(VGSHIM_EV_UNREF, obj, NULL);
}

struct vgshim_obj *vgshim_file_lookup(struct vgshim_file *f, uint32_t handle)
{
	return handle && handle < f->num_handles ? f->handles[handle] : NULL;
}

uint32_t vgshim_file_find_handle(struct vgshim_file *f, const struct vgshim_obj *obj)
{
	void *v;

	if (!obj->handles)
		return 0;
	v = vgshim_hash_get(&f->by_obj, (uint64_t)(uintptr_t)obj);
	return v ? (uint32_t)((uintptr_t)v >> 2) : 0;
}

int vgshim_file_add_handle(struct vgshim_file *f, struct vgshim_obj *obj, uint32_t *handle)
{
	uint32_t h;

	/* The lowest free handle, as idr_alloc(..., 1, 0) gives. */
	for (h = f->first_free ? f->first_free : 1; h < f->num_handles; h++)
		if (!f->handles[h])
			break;
	if (h >= f->num_handles) {
		uint32_t n = f->num_handles ? f->num_handles * 2 : 64;
		struct vgshim_obj **t = vgshim_realloc(f->handles, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + f->num_handles, 0, (n - f->num_handles) * sizeof(*t));
		if (!f->num_handles)
			h = 1;
		f->handles = t;
		f->num_handles = n;
	}
	/* handle << 2 | 2: never NULL nor the hash's tombstone */
	if (vgshim_hash_put(&f->by_obj, (uint64_t)(uintptr_t)obj, (void *)(((uintptr_t)h << 2) | 2)))
		return -ENOMEM;
	f->handles[h] = obj;
	f->first_free = h + 1;
	obj->handles++;
	vgshim_dev.c.live_handles++;
	*handle = h;
	return 0;
}

int vgshim_file_close_handle(struct vgshim_file *f, uint32_t handle)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, handle);

	if (!obj)
		return -EINVAL;
	f->handles[handle] = NULL;
	vgshim_hash_del(&f->by_obj, (uint64_t)(uintptr_t)obj);
	if (handle < f->first_free || !f->first_free)
		f->first_free = handle;
	obj->handles--;
	vgshim_dev.c.live_handles--;
	vgshim_obj_maybe_destroy(obj);
	return 0;
}

struct vgshim_file *vgshim_file_new(void)
{
	struct vgshim_file *f = vgshim_calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fds = 1;
	vgshim_dev.live_files++;
	return f;
}

void vgshim_file_release(struct vgshim_file *f)
{
	/* submissions still in flight signal nothing in a closed file */
	for (struct vgshim_event *ev = vgshim_dev.events; ev; ev = ev->next)
		if (ev->fence && ev->fence->file == f)
			ev->fence->file = NULL;
	for (uint32_t h = 1; h < f->num_handles; h++)
		if (f->handles[h])
			vgshim_file_close_handle(f, h);
	vgshim_rhost_file_closed(f);
	vgshim_file_free_syncobjs(f);
	vgshim_hash_fini(&f->by_obj);
	free(f->handles);
	free(f);
	vgshim_dev.live_files--;
}

int vgshim_obj_memfd(struct vgshim_obj *obj)
{
	int fd;

	if (obj->memfd >= 0)
		return obj->memfd;
	if (obj->host_missing)
		return -EINVAL;
	/* Host memory of a blob_id 0 object, allocated on first need. */
	fd = memfd_create("vgshim-obj", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)obj->size)) {
		int err = -errno;

		vgshim_real_close(fd);
		return err == -EFBIG || err == -EINVAL ? -ENOMEM : err;
	}
	obj->memfd = fd;
	return fd;
}

/* What virtio_gpu_vram_map does: reserve a range, send MAP_BLOB. */
int vgshim_vram_map(struct vgshim_obj *obj)
{
	struct vgshim_counters *c = &vgshim_dev.c;
	uint64_t start;
	int ret;

	if (!vgshim_dev.cfg.param[VIRTGPU_PARAM_HOST_VISIBLE])
		return -EINVAL;
	ret = vgshim_region_alloc(&vgshim_dev.region, obj->size, &start);
	if (ret)
		return ret;
	obj->region_reserved = true;
	obj->region_offset = start;
	obj->map_sent = true;
	obj->map_lost = false;
	obj->map_state = VGSHIM_MAP_INITIALIZING;
	c->region_bytes_in_use += obj->size;
	if (c->region_bytes_in_use > c->region_bytes_peak)
		c->region_bytes_peak = c->region_bytes_in_use;
	c->host_map_cmds++;
	vgshim_host_queue(VGSHIM_EV_MAP, obj, NULL);
	return 0;
}

int vgshim_vram_map_deferred(struct vgshim_obj *obj)
{
	int ret;

	if (obj->region_reserved)
		return 0;
	ret = vgshim_vram_map(obj);
	if (!ret)
		return 0;
	if (vgshim_dev.cfg.kernel == VGSHIM_KERNEL_FIXED)
		return ret; /* propagated; the object stays unmapped, retryable */
	/* v1/v2: the error is dropped; nothing was sent, so nothing will ever
	 * move map_state out of INITIALIZING. */
	obj->map_lost = true;
	return 0;
}

int vgshim_vram_wait_mapped(struct vgshim_obj *obj)
{
	struct vgshim_dev *d = &vgshim_dev;
	uint64_t deadline = vgshim_now_ns() + d->cfg.hang_ms * 1000000ull;

	while (obj->map_state == VGSHIM_MAP_INITIALIZING) {
		struct timespec ts;

		if (!obj->map_sent && vgshim_now_ns() >= deadline) {
			d->c.hangs_detected++;
			vgshim_log("a real kernel would hang here: mmap of res %u waits "
				   "uninterruptibly for a deferred map that failed and was never "
				   "sent (%s kernel, review bug 2); failing with EDEADLK after %llu ms\n",
				   obj->res_id,
				   d->cfg.kernel == VGSHIM_KERNEL_V1 ? "v1" : "v2",
				   (unsigned long long)d->cfg.hang_ms);
			return -EDEADLK;
		}
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		if (obj->map_sent)
			pthread_cond_wait(&d->cond, &d->lock);
		else
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	return obj->map_state == VGSHIM_MAP_OK ? 0 : -EINVAL;
}
