/* SPDX-License-Identifier: MIT */
/*
 * GEM objects and DRM files: handles, reference counting, and the
 * host-visible mapping of vram objects as each kernel generation does it.
 *
 * An object's lifetime is its reference count (a kref): handles, mappings,
 * submissions, its dma-buf and calls in flight each hold one. Tables that
 * can find an object without holding a reference (the offset table) take
 * one only while it is not zero, as kref_get_unless_zero. Handles are per
 * file under the file's lock; the mapping state is the device's.
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
	uint32_t id;

	if (!obj)
		return NULL;
	atomic_init(&obj->kref, 1);
	atomic_init(&obj->memfd, -1);
	/* resource ids wrap, skipping 0 */
	do
		id = atomic_fetch_add_explicit(&vgshim_dev.next_res_id, 1, memory_order_relaxed);
	while (!id);
	obj->res_id = id;
	return obj;
}

bool vgshim_obj_tryget(struct vgshim_obj *obj)
{
	uint32_t k = atomic_load_explicit(&obj->kref, memory_order_relaxed);

	while (k)
		if (atomic_compare_exchange_weak_explicit(&obj->kref, &k, k + 1, memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

/* Nothing refers to the object any more (a lookup by offset finds it
 * dying): its UNREF goes to the host, which answers it later (the range is
 * free only then); it leaves the offset table in the same section. */
static void vgshim_obj_destroy(struct vgshim_obj *obj)
{
	VGSHIM_INC(host_unref_cmds);
	if (obj->rhost)
		vgshim_rhost_obj_destroyed(obj);
	vgshim_host_send(VGSHIM_EV_UNREF, obj, NULL);
}

void vgshim_obj_put(struct vgshim_obj *obj)
{
	if (atomic_fetch_sub_explicit(&obj->kref, 1, memory_order_acq_rel) == 1)
		vgshim_obj_destroy(obj);
}

void vgshim_obj_discard(struct vgshim_obj *obj)
{
	if (obj->rhost) {
		/* the host made the resource: it hears of its end */
		VGSHIM_INC(host_unref_cmds);
		vgshim_rhost_obj_destroyed(obj);
	}
	if (atomic_load(&obj->memfd) >= 0)
		vgshim_real_close(atomic_load(&obj->memfd));
	vgshim_obj_free(obj);
}

void vgshim_obj_free(struct vgshim_obj *obj)
{
	free(obj->more_files);
	free(obj);
}

struct vgshim_obj *vgshim_obj_by_offset(uint64_t off, uint64_t *obj_off)
{
	struct vgshim_obj *obj;

	vgshim_lock();
	obj = vgshim_offset_lookup(off, obj_off);
	/* dying (no reference left) is gone */
	if (obj && !vgshim_obj_tryget(obj))
		obj = NULL;
	vgshim_unlock();
	return obj;
}

struct vgshim_obj *vgshim_file_lookup(struct vgshim_file *f, uint32_t handle)
{
	struct vgshim_obj *obj = NULL;

	pthread_mutex_lock(&f->lock);
	if (handle && handle < f->num_handles && (obj = f->handles[handle]))
		vgshim_obj_get(obj);
	pthread_mutex_unlock(&f->lock);
	return obj;
}

/* f's handle to obj, or 0. */
static uint32_t vgshim_obj_file_handle(struct vgshim_obj *obj, const struct vgshim_file *f)
{
	uint32_t h = 0;

	vgshim_spin_lock(&obj->files_lock);
	if (obj->file0.file == f)
		h = obj->file0.handle;
	for (uint32_t i = 0; i < obj->num_more_files && !h; i++)
		if (obj->more_files[i].file == f)
			h = obj->more_files[i].handle;
	vgshim_spin_unlock(&obj->files_lock);
	return h;
}

static int vgshim_obj_file_add(struct vgshim_obj *obj, struct vgshim_file *f, uint32_t h)
{
	struct vgshim_obj_handle *spare = NULL, *old;
	uint32_t cap = 0;

	/* a second file's entry: the array is made outside the spinlock */
	for (;;) {
		vgshim_spin_lock(&obj->files_lock);
		if (!obj->file0.file) {
			obj->file0 = (struct vgshim_obj_handle){ f, h };
			vgshim_spin_unlock(&obj->files_lock);
			free(spare);
			return 0;
		}
		if (spare && obj->num_more_files < cap) {
			old = obj->more_files;
			if (obj->num_more_files)
				memcpy(spare, old, obj->num_more_files * sizeof(*spare));
			spare[obj->num_more_files++] = (struct vgshim_obj_handle){ f, h };
			obj->more_files = spare;
			vgshim_spin_unlock(&obj->files_lock);
			free(old);
			return 0;
		}
		cap = obj->num_more_files + 1;
		vgshim_spin_unlock(&obj->files_lock);
		free(spare);
		spare = vgshim_calloc(cap, sizeof(*spare));
		if (!spare)
			return -ENOMEM;
	}
}

static void vgshim_obj_file_del(struct vgshim_obj *obj, const struct vgshim_file *f)
{
	vgshim_spin_lock(&obj->files_lock);
	if (obj->file0.file == f) {
		obj->file0 = obj->num_more_files ? obj->more_files[--obj->num_more_files] :
						   (struct vgshim_obj_handle){ NULL, 0 };
	} else {
		for (uint32_t i = 0; i < obj->num_more_files; i++) {
			if (obj->more_files[i].file == f) {
				obj->more_files[i] = obj->more_files[--obj->num_more_files];
				break;
			}
		}
	}
	vgshim_spin_unlock(&obj->files_lock);
}

uint32_t vgshim_obj_handles(struct vgshim_obj *obj)
{
	uint32_t n;

	vgshim_spin_lock(&obj->files_lock);
	n = (obj->file0.file != NULL) + obj->num_more_files;
	vgshim_spin_unlock(&obj->files_lock);
	return n;
}

bool vgshim_file_has_handle(struct vgshim_file *f, struct vgshim_obj *obj)
{
	return vgshim_obj_file_handle(obj, f) != 0;
}

static int vgshim_add_handle_locked(struct vgshim_file *f, struct vgshim_obj *obj,
				    uint32_t *handle)
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
	if (vgshim_obj_file_add(obj, f, h))
		return -ENOMEM;
	f->handles[h] = obj;
	f->first_free = h + 1;
	vgshim_obj_get(obj);
	VGSHIM_INC(live_handles);
	*handle = h;
	return 0;
}

int vgshim_file_add_handle(struct vgshim_file *f, struct vgshim_obj *obj, uint32_t *handle)
{
	int ret;

	pthread_mutex_lock(&f->lock);
	ret = vgshim_add_handle_locked(f, obj, handle);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int vgshim_file_find_or_add(struct vgshim_file *f, struct vgshim_obj *obj, uint32_t *handle)
{
	int ret = 0;

	/* one section: two imports racing in one file get one handle */
	pthread_mutex_lock(&f->lock);
	*handle = vgshim_obj_file_handle(obj, f);
	if (!*handle)
		ret = vgshim_add_handle_locked(f, obj, handle);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* Takes handle out of the table, lock held; returns its object (whose
 * reference the caller drops), or NULL for a bad handle. */
static struct vgshim_obj *vgshim_remove_handle_locked(struct vgshim_file *f, uint32_t handle)
{
	struct vgshim_obj *obj = handle && handle < f->num_handles ? f->handles[handle] : NULL;

	if (!obj)
		return NULL;
	f->handles[handle] = NULL;
	vgshim_obj_file_del(obj, f);
	if (handle < f->first_free || !f->first_free)
		f->first_free = handle;
	VGSHIM_DEC(live_handles);
	return obj;
}

int vgshim_file_close_handle(struct vgshim_file *f, uint32_t handle)
{
	struct vgshim_obj *obj;

	pthread_mutex_lock(&f->lock);
	obj = vgshim_remove_handle_locked(f, handle);
	pthread_mutex_unlock(&f->lock);
	if (!obj)
		return -EINVAL;
	vgshim_obj_put(obj);
	return 0;
}

/* Released files, kept for reuse (type-stable memory). */
static struct {
	pthread_mutex_t lock;
	struct vgshim_file *free;
} vgshim_files = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct vgshim_file *vgshim_file_new(void)
{
	struct vgshim_file *f;

	pthread_mutex_lock(&vgshim_files.lock);
	f = vgshim_files.free;
	if (f)
		vgshim_files.free = f->next_free;
	pthread_mutex_unlock(&vgshim_files.lock);
	if (!f) {
		f = vgshim_calloc(1, sizeof(*f));
		if (!f)
			return NULL;
		vgshim_mutex_init(&f->lock);
		vgshim_mutex_init(&f->ctx_lock);
	}
	/* refs last: a stale lookup may be trying this memory */
	atomic_store(&f->refs, 1);
	VGSHIM_INC(live_files);
	return f;
}

bool vgshim_file_tryget(struct vgshim_file *f)
{
	uint32_t r = atomic_load_explicit(&f->refs, memory_order_relaxed);

	while (r)
		if (atomic_compare_exchange_weak_explicit(&f->refs, &r, r + 1, memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

/* The last fd is closed and no call runs on the file: release it. */
static void vgshim_file_release(struct vgshim_file *f)
{
	/* the context goes: what the real host still owes completes now */
	vgshim_rhost_file_closed(f);
	vgshim_lock();
	/* submissions still in flight signal nothing in a closed file */
	for (struct vgshim_fence *fence = f->fences; fence; fence = fence->file_next)
		fence->file = NULL;
	f->fences = NULL;
	vgshim_file_free_syncobjs(f);
	vgshim_unlock();
	for (uint32_t h = 1; h < f->num_handles; h++) {
		struct vgshim_obj *obj;

		pthread_mutex_lock(&f->lock);
		obj = vgshim_remove_handle_locked(f, h);
		pthread_mutex_unlock(&f->lock);
		if (obj)
			vgshim_obj_put(obj);
	}
	free(f->handles);
	/* everything but refs (0 now) and the locks (kept initialised) */
	f->rhost = NULL;
	f->handles = NULL;
	f->num_handles = f->first_free = 0;
	f->ctx = VGSHIM_CTX_NONE;
	f->capset_id = f->num_rings = 0;
	f->poll_mask = 0;
	f->debug_name = false;
	f->syncobjs = NULL;
	f->num_syncobjs = 0;
	f->fences = NULL;
	VGSHIM_DEC(live_files);
	pthread_mutex_lock(&vgshim_files.lock);
	f->next_free = vgshim_files.free;
	vgshim_files.free = f;
	pthread_mutex_unlock(&vgshim_files.lock);
}

void vgshim_file_put(struct vgshim_file *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		vgshim_file_release(f);
}

int vgshim_obj_memfd(struct vgshim_obj *obj)
{
	int fd = atomic_load_explicit(&obj->memfd, memory_order_acquire), expected = -1;

	if (fd >= 0)
		return fd;
	if (obj->host_missing)
		return -EINVAL;
	/* Host memory of a blob_id 0 object, allocated on first need. Two
	 * threads racing here both make one; the loser's goes. */
	fd = memfd_create("vgshim-obj", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)obj->size)) {
		int err = -errno;

		vgshim_real_close(fd);
		return err == -EFBIG || err == -EINVAL ? -ENOMEM : err;
	}
	if (!atomic_compare_exchange_strong_explicit(&obj->memfd, &expected, fd,
						     memory_order_acq_rel, memory_order_acquire)) {
		vgshim_real_close(fd);
		return expected;
	}
	return fd;
}

void vgshim_vram_prepare(struct vgshim_obj *obj)
{
	/* with a latency the host thread makes it, off the caller's time */
	if (!vgshim_dev.cfg.map_latency_us && !vgshim_obj_region_reserved(obj))
		vgshim_obj_memfd(obj); /* a failure is the host's answer (ERR) */
}

/* What virtio_gpu_vram_map does: reserve a range, send MAP_BLOB. */
int vgshim_vram_map(struct vgshim_obj *obj)
{
	struct vgshim_dev *d = &vgshim_dev;
	uint64_t start;
	int ret;

	if (!d->cfg.param[VIRTGPU_PARAM_HOST_VISIBLE])
		return -EINVAL;
	ret = vgshim_region_alloc(&d->region, obj->size, &start);
	if (ret)
		return ret;
	obj->region_offset = start;
	obj->map_sent = true;
	obj->map_lost = false;
	obj->map_state = VGSHIM_MAP_INITIALIZING;
	__atomic_store_n(&obj->region_reserved, true, __ATOMIC_RELEASE);
	d->region_in_use += obj->size;
	if (d->region_in_use > d->region_peak)
		d->region_peak = d->region_in_use;
	VGSHIM_INC(host_map_cmds);
	vgshim_host_send_map(obj);
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
		if (!obj->map_sent && vgshim_now_ns() >= deadline) {
			VGSHIM_INC(hangs_detected);
			vgshim_log("a real kernel would hang here: mmap of res %u waits "
				   "uninterruptibly for a deferred map that failed and was never "
				   "sent (%s kernel, review bug 2); failing with EDEADLK after %llu ms\n",
				   obj->res_id,
				   d->cfg.kernel == VGSHIM_KERNEL_V1 ? "v1" : "v2",
				   (unsigned long long)d->cfg.hang_ms);
			return -EDEADLK;
		}
		if (obj->map_sent)
			pthread_cond_wait(&d->cond, &d->lock);
		else
			vgshim_wait_until(deadline);
	}
	return obj->map_state == VGSHIM_MAP_OK ? 0 : -EINVAL;
}
