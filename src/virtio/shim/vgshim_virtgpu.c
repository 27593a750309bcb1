/* SPDX-License-Identifier: MIT */
/*
 * The virtio-gpu driver ioctls, rule for rule as docs/kernel-model.md
 * states them (and kernel-uapi.md before it). Called with no lock held;
 * each takes the locks of what it touches: the file's context lock for the
 * context, the file's lock for its handles, short device sections for the
 * offsets, the region and the host's queue, and no lock at all across a
 * syscall or the real host's round trips (but the file's connection's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgshim_priv.h"

#define P(n) (vgshim_dev.cfg.param_present[n] ? vgshim_dev.cfg.param[n] : 0)

static int vgshim_getparam(struct drm_virtgpu_getparam *g)
{
	const struct vgshim_config *cfg = &vgshim_dev.cfg;
	int value;

	if (!g->param || g->param > VIRTGPU_PARAM_MAX || !cfg->param_present[g->param])
		return -EINVAL;
	if (g->param == VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs)
		value = (int)vgshim_capset_mask(cfg);
	else
		value = (int)cfg->param[g->param];
	if (!g->value)
		return -EFAULT;
	memcpy((void *)(uintptr_t)g->value, &value, sizeof(value));
	return 0;
}

/* Bytes of a capset: Venus's layout for Venus, a recognisable pattern
 * for the others. */
static void vgshim_capset_fill(uint32_t id, uint32_t version, unsigned char *out, size_t size)
{
	uint32_t venus[8] = {
		1,                                   /* wire format version */
		(1u << 22) | (3u << 12) | 239u,      /* vk.xml 1.3.239 */
		0,                                   /* command serialization spec */
		1,                                   /* venus protocol spec */
		1,                                   /* supports blob_id 0 */
		1,                                   /* allow vkWait syncs */
		1,                                   /* multiple timelines */
		0,                                   /* guest vram */
	};

	for (size_t i = 0; i < size; i++)
		out[i] = (unsigned char)(id * 16 + version + i);
	if (id == VIRTGPU_CAPSET_VENUS) {
		memset(out, 0, size);
		memcpy(out, venus, size < sizeof(venus) ? size : sizeof(venus));
	}
}

static int vgshim_get_caps(struct vgshim_file *f, struct drm_virtgpu_get_caps *c)
{
	const struct vgshim_config *cfg = &vgshim_dev.cfg;

	for (unsigned i = 0; i < cfg->num_capsets; i++) {
		const struct vgshim_capset *cs = &cfg->capsets[i];
		size_t size;

		if (cs->id != c->cap_set_id || cs->max_version < c->cap_set_ver)
			continue;
		size = c->size < cs->max_size ? c->size : cs->max_size;
		if (size && !c->addr)
			return -EFAULT;
		if (vgshim_real_host())
			return vgshim_rhost_get_caps(f, cs->id, c->cap_set_ver,
						     (void *)(uintptr_t)c->addr, size);
		vgshim_capset_fill(cs->id, c->cap_set_ver, (unsigned char *)(uintptr_t)c->addr, size);
		return 0;
	}
	return -EINVAL;
}

static int vgshim_context_init(struct vgshim_file *f, struct drm_virtgpu_context_init *ci)
{
	const struct drm_virtgpu_context_set_param *p =
		(const void *)(uintptr_t)ci->ctx_set_params;
	uint32_t capset = 0, num_rings = 0;
	uint64_t poll = 0, valid;
	bool name = false;
	uint32_t max = vgshim_dev.cfg.param_present[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME] ? 4 : 3;

	if (!P(VIRTGPU_PARAM_CONTEXT_INIT))
		return -EINVAL;
	if (ci->num_params > max)
		return -EINVAL;
	if (ci->num_params && !p)
		return -EFAULT;
	for (uint32_t i = 0; i < ci->num_params; i++) {
		uint64_t v = p[i].value;

		switch (p[i].param) {
		case VIRTGPU_CONTEXT_PARAM_CAPSET_ID:
			if (v > 63 || !(vgshim_capset_mask(&vgshim_dev.cfg) & (1ull << v)) || capset)
				return -EINVAL;
			capset = (uint32_t)v;
			break;
		case VIRTGPU_CONTEXT_PARAM_NUM_RINGS:
			if (v > VGSHIM_MAX_RINGS)
				return -EINVAL;
			num_rings = (uint32_t)v;
			break;
		case VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK:
			if (poll)
				return -EINVAL;
			poll = v;
			break;
		case VIRTGPU_CONTEXT_PARAM_DEBUG_NAME:
			if (!vgshim_dev.cfg.param_present[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME] || name)
				return -EINVAL;
			if (!v)
				return -EFAULT;
			name = true;
			break;
		default:
			return -EINVAL;
		}
	}
	valid = num_rings >= 64 ? ~0ull : (1ull << num_rings) - 1;
	if (poll & ~valid)
		return -EINVAL;
	/* one context per file: held across its creation on the host */
	pthread_mutex_lock(&f->ctx_lock);
	if (f->ctx != VGSHIM_CTX_NONE) {
		pthread_mutex_unlock(&f->ctx_lock);
		return -EEXIST;
	}
	if (vgshim_real_host()) {
		int ret = vgshim_rhost_context_init(f, capset);

		if (ret) {
			pthread_mutex_unlock(&f->ctx_lock);
			return ret;
		}
	}
	f->capset_id = capset;
	f->num_rings = num_rings;
	f->poll_mask = poll;
	f->debug_name = name;
	__atomic_store_n(&f->ctx, VGSHIM_CTX_INIT, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&f->ctx_lock);
	return 0;
}

/* The context a blob or a submission needs: created if there is none. */
static void vgshim_implicit_context(struct vgshim_file *f)
{
	/* without 3D there is no context to create */
	if (!P(VIRTGPU_PARAM_3D_FEATURES) ||
	    __atomic_load_n(&f->ctx, __ATOMIC_ACQUIRE) != VGSHIM_CTX_NONE)
		return;
	pthread_mutex_lock(&f->ctx_lock);
	if (f->ctx == VGSHIM_CTX_NONE)
		__atomic_store_n(&f->ctx, VGSHIM_CTX_IMPLICIT, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&f->ctx_lock);
}

static int vgshim_create_blob(struct vgshim_file *f, struct drm_virtgpu_resource_create_blob *rc)
{
	struct vgshim_dev *d = &vgshim_dev;
	bool guest, host3d, deferred;
	struct vgshim_obj *obj;
	uint64_t size, t0;
	uint32_t handle;
	int ret;

	/* verify_blob: every failure is -EINVAL */
	if (!P(VIRTGPU_PARAM_RESOURCE_BLOB) || rc->blob_flags & ~(uint32_t)VIRTGPU_BLOB_FLAG_USE_MASK)
		return -EINVAL;
	if ((rc->blob_flags & VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE) && !P(VIRTGPU_PARAM_CROSS_DEVICE))
		return -EINVAL;
	switch (rc->blob_mem) {
	case VIRTGPU_BLOB_MEM_GUEST:
		guest = true, host3d = false;
		break;
	case VIRTGPU_BLOB_MEM_HOST3D_GUEST:
		guest = true, host3d = true;
		break;
	case VIRTGPU_BLOB_MEM_HOST3D:
		guest = false, host3d = true;
		break;
	default:
		return -EINVAL;
	}
	if (host3d) {
		if (!P(VIRTGPU_PARAM_3D_FEATURES) || rc->cmd_size % 4)
			return -EINVAL;
	} else if (rc->blob_id || rc->cmd_size) {
		return -EINVAL;
	}
	/* the review's fix 1: unknown hint bits are rejected, so userspace
	 * can probe; every other generation takes any bits */
	if (d->cfg.kernel == VGSHIM_KERNEL_FIXED && (rc->blob_hints & ~(uint32_t)VIRTGPU_BLOB_HINT_MASK))
		return -EINVAL;

	vgshim_implicit_context(f);
	if (rc->cmd_size && !rc->cmd)
		return -EFAULT;
	t0 = vgshim_real_host() ? vgshim_now_ns() : 0;
	if (rc->cmd_size) {
		if (!vgshim_real_host())
			vgshim_host_run_cmds((const uint32_t *)(uintptr_t)rc->cmd, rc->cmd_size / 4);
		else if ((ret = vgshim_rhost_run_cmd(f, (const void *)(uintptr_t)rc->cmd,
						     rc->cmd_size)))
			return ret;
	}
	size = (rc->size + VGSHIM_PAGE - 1) & ~(VGSHIM_PAGE - 1);
	if (!size || size < rc->size)
		return -ENOSPC; /* no zero-page mmap offset */
	obj = vgshim_obj_new();
	if (!obj)
		return -ENOMEM;
	obj->blob_mem = rc->blob_mem;
	obj->blob_flags = rc->blob_flags;
	obj->blob_hints = d->cfg.kernel == VGSHIM_KERNEL_LEGACY ? 0 : rc->blob_hints;
	obj->blob_id = rc->blob_id;
	obj->size = size;
	obj->vram = !guest;
	obj->mappable = rc->blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE;
	if (guest) {
		/* guest pages are pinned for the host at creation */
		vgshim_lock();
		ret = size > d->cfg.guestmem - d->guest_bytes ? -ENOMEM : 0;
		if (!ret)
			d->guest_bytes += size;
		vgshim_unlock();
		if (ret) {
			vgshim_obj_discard(obj);
			return ret;
		}
	}
	if (vgshim_real_host()) {
		/* the real host's resource: its fd holds the pages, guest or host;
		 * the time the host took is counted (docs/performance.md) */
		ret = vgshim_rhost_create_blob(f, obj);
		if (!ret) {
			VGSHIM_ADD(host_create_ns, vgshim_now_ns() - t0);
			if (obj->blob_id)
				VGSHIM_ADD(host_create_named_ns, vgshim_now_ns() - t0);
		}
	} else if (guest) {
		int fd = memfd_create("vgshim-guest", MFD_CLOEXEC);

		atomic_store(&obj->memfd, fd);
		ret = fd < 0 || ftruncate(fd, (off_t)size) ? -ENOMEM : 0;
	} else {
		ret = vgshim_host_resolve(obj);
	}
	deferred = obj->vram && obj->mappable && (obj->blob_hints & VIRTGPU_BLOB_HINT_DEFER_MAPPING);
	if (!ret && obj->vram && obj->mappable && !deferred)
		vgshim_vram_prepare(obj);
	vgshim_host_created(obj);

	vgshim_lock();
	if (!ret)
		ret = vgshim_offset_alloc(obj);
	/* every kernel before the hint: map at creation */
	if (!ret && obj->vram && obj->mappable && !deferred) {
		ret = vgshim_vram_map(obj);
		if (ret)
			vgshim_offset_free(obj);
	}
	if (ret) {
		if (guest)
			d->guest_bytes -= size;
		vgshim_unlock();
		vgshim_obj_discard(obj);
		return ret;
	}
	vgshim_unlock();
	VGSHIM_INC(live_objects);
	/* a host that takes time to create makes the memory then, in its
	 * own time (with none, it is made at the first need) */
	if (d->cfg.create_latency_us && obj->vram && !obj->host_missing &&
	    atomic_load(&obj->memfd) < 0)
		vgshim_host_send_create(obj);
	ret = vgshim_file_add_handle(f, obj, &handle);
	if (ret) {
		vgshim_obj_put(obj);
		return ret;
	}
	VGSHIM_INC(blobs_created);
	if (obj->blob_id)
		VGSHIM_INC(blobs_blob_id);
	if (deferred)
		VGSHIM_INC(blobs_deferred);
	rc->bo_handle = handle;
	rc->res_handle = obj->res_id;
	vgshim_obj_put(obj); /* the handle holds it now */
	return 0;
}

static int vgshim_map(struct vgshim_file *f, struct drm_virtgpu_map *m)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, m->handle);
	enum vgshim_kernel k = vgshim_dev.cfg.kernel;
	int ret = 0;

	if (!obj)
		return -ENOENT;
	/* v1 and the fixed kernel map deferred objects here too; v2 (Linux
	 * 7.2) and older kernels only look the offset up */
	if ((k == VGSHIM_KERNEL_V1 || k == VGSHIM_KERNEL_FIXED) && obj->vram && obj->mappable &&
	    !obj->imported_foreign && !vgshim_obj_region_reserved(obj)) {
		vgshim_vram_prepare(obj);
		vgshim_lock();
		ret = vgshim_vram_map_deferred(obj);
		vgshim_unlock();
	}
	if (!ret)
		m->offset = obj->offset;
	vgshim_obj_put(obj);
	return ret;
}

static int vgshim_resource_info(struct vgshim_file *f, struct drm_virtgpu_resource_info *ri)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, ri->bo_handle);

	if (!obj)
		return -ENOENT;
	ri->res_handle = obj->res_id;
	ri->size = (uint32_t)obj->size;
	ri->blob_mem = obj->blob_mem;
	vgshim_obj_put(obj);
	return 0;
}

static int vgshim_wait(struct vgshim_file *f, struct drm_virtgpu_3d_wait *w)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, w->handle);
	uint64_t deadline = vgshim_now_ns() + 15000000000ull;
	int ret = 0;

	if (!obj)
		return -ENOENT;
	vgshim_lock();
	if (w->flags & VIRTGPU_WAIT_NOWAIT) {
		ret = obj->busy ? -EBUSY : 0;
	} else {
		while (obj->busy) {
			if (vgshim_now_ns() >= deadline) {
				ret = -EBUSY; /* the kernel's 15 s timeout */
				break;
			}
			vgshim_wait_until(deadline);
		}
	}
	vgshim_unlock();
	vgshim_obj_put(obj);
	return ret;
}

/* References on the objects a submission names, taken in one section of
 * the file's lock; -ENOENT (nothing taken) if one is unknown. */
static int vgshim_execbuffer_objs(struct vgshim_file *f, const uint32_t *handles, uint32_t n,
				  struct vgshim_obj **objs)
{
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	for (uint32_t i = 0; i < n && !ret; i++) {
		objs[i] = handles[i] && handles[i] < f->num_handles ? f->handles[handles[i]] : NULL;
		if (!objs[i])
			ret = -ENOENT;
	}
	for (uint32_t i = 0; i < n && !ret; i++)
		vgshim_obj_get(objs[i]);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

/* Takes a fence that was never submitted off its file's list (dev.lock). */
static void vgshim_fence_unlink_locked(struct vgshim_file *f, struct vgshim_fence *fence)
{
	for (struct vgshim_fence **p = &f->fences; *p; p = &(*p)->file_next) {
		if (*p == fence) {
			*p = fence->file_next;
			break;
		}
	}
}

static int vgshim_execbuffer(struct vgshim_file *f, struct drm_virtgpu_execbuffer *e,
			     size_t in_size)
{
	const struct drm_virtgpu_execbuffer_syncobj *in, *out;
	const uint32_t *handles = (const void *)(uintptr_t)e->bo_handles;
	struct vgshim_fence *fence;
	uint32_t num_rings;
	int ufd = -1, ret = 0;

	if (!P(VIRTGPU_PARAM_3D_FEATURES))
		return -ENOSYS;
	if (e->flags & ~(uint32_t)VIRTGPU_EXECBUF_FLAGS)
		return -EINVAL;
	/* the 40-byte call of Linux 6.1 userspace carries no syncobjs */
	if (in_size < sizeof(*e)) {
		e->num_in_syncobjs = e->num_out_syncobjs = 0;
		e->syncobj_stride = 0;
	}
	/* rings exist once CONTEXT_INIT has set them (stored before ctx) */
	num_rings = __atomic_load_n(&f->ctx, __ATOMIC_ACQUIRE) == VGSHIM_CTX_INIT ? f->num_rings : 0;
	if ((e->flags & VIRTGPU_EXECBUF_RING_IDX) && e->ring_idx >= num_rings)
		return -EINVAL;
	if ((e->num_in_syncobjs || e->num_out_syncobjs) &&
	    e->syncobj_stride != sizeof(struct drm_virtgpu_execbuffer_syncobj))
		return -EINVAL;
	vgshim_implicit_context(f);
	if (e->flags & VIRTGPU_EXECBUF_FENCE_FD_IN) {
		struct stat st;

		if (e->fence_fd < 0 || vgshim_real_fstat(e->fence_fd, &st))
			return -EINVAL;
	}
	in = (const void *)(uintptr_t)e->in_syncobjs;
	out = (const void *)(uintptr_t)e->out_syncobjs;
	if ((e->num_in_syncobjs && !in) || (e->num_out_syncobjs && !out) ||
	    (e->num_bo_handles && !handles) || (e->size && !e->command))
		return -EFAULT;
	vgshim_lock();
	for (uint32_t i = 0; i < e->num_in_syncobjs && !ret; i++) {
		struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, in[i].handle);

		if (in[i].flags & ~(uint32_t)VIRTGPU_EXECBUF_SYNCOBJ_FLAGS)
			ret = -EINVAL;
		else if (!s)
			ret = -ENOENT;
		else if (!s->signaled || s->point < in[i].point)
			ret = -EINVAL; /* no fence to wait for */
	}
	for (uint32_t i = 0; i < e->num_out_syncobjs && !ret; i++) {
		if (out[i].flags & ~(uint32_t)VIRTGPU_EXECBUF_SYNCOBJ_FLAGS)
			ret = -EINVAL;
		else if (!vgshim_syncobj_lookup(f, out[i].handle))
			ret = -ENOENT;
	}
	vgshim_unlock();
	if (ret)
		return ret;

	fence = vgshim_calloc(1, sizeof(*fence));
	if (!fence)
		return -ENOMEM;
	fence->efd = -1;
	fence->host_fd = -1;
	fence->objs = vgshim_calloc(e->num_bo_handles + 1, sizeof(*fence->objs));
	fence->out_syncobjs = vgshim_calloc(e->num_out_syncobjs + 1, sizeof(uint32_t));
	fence->out_points = vgshim_calloc(e->num_out_syncobjs + 1, sizeof(uint64_t));
	if (!fence->objs || !fence->out_syncobjs || !fence->out_points) {
		vgshim_fence_free(fence);
		return -ENOMEM;
	}
	ret = vgshim_execbuffer_objs(f, handles, e->num_bo_handles, fence->objs);
	if (ret) {
		vgshim_fence_free(fence);
		return ret;
	}
	fence->num_objs = e->num_bo_handles;
	if (e->flags & VIRTGPU_EXECBUF_FENCE_FD_OUT) {
		/* a sync_file stand-in: readable once the host is done */
		fence->efd = vgshim_real_eventfd(0, EFD_CLOEXEC);
		ufd = fence->efd < 0 ? -1 : vgshim_real_fcntl(fence->efd, F_DUPFD_CLOEXEC, 0);
		if (ufd < 0) {
			for (uint32_t i = 0; i < fence->num_objs; i++)
				vgshim_obj_put(fence->objs[i]);
			vgshim_fence_free(fence);
			return -EMFILE;
		}
	}
	if (e->size && !vgshim_real_host())
		vgshim_host_run_cmds((const uint32_t *)(uintptr_t)e->command, e->size / 4);
	for (uint32_t i = 0; i < e->num_out_syncobjs; i++) {
		fence->out_syncobjs[i] = out[i].handle;
		fence->out_points[i] = out[i].point;
	}
	fence->num_out = e->num_out_syncobjs;
	vgshim_lock();
	for (uint32_t i = 0; i < fence->num_objs; i++)
		fence->objs[i]->busy++;
	fence->file = f;
	fence->file_next = f->fences;
	f->fences = fence;
	vgshim_unlock();
	if (vgshim_real_host()) {
		/* the fence is the real host's from here on */
		ret = vgshim_rhost_submit(f, (const void *)(uintptr_t)e->command, e->size,
					  (e->flags & VIRTGPU_EXECBUF_RING_IDX) ? e->ring_idx : 0,
					  fence);
		if (ret) {
			/* undone: nothing was submitted */
			vgshim_lock();
			for (uint32_t i = 0; i < fence->num_objs; i++)
				fence->objs[i]->busy--;
			vgshim_fence_unlink_locked(f, fence);
			vgshim_unlock();
			for (uint32_t i = 0; i < fence->num_objs; i++)
				vgshim_obj_put(fence->objs[i]);
			if (ufd >= 0)
				vgshim_real_close(ufd);
			vgshim_fence_free(fence);
			return ret;
		}
	}
	/* the waits are consumed before the submission can signal anything
	 * (a simulated host answers below; the real host's completion takes
	 * the device lock too, so it comes after this section) */
	vgshim_lock();
	for (uint32_t i = 0; i < e->num_in_syncobjs; i++) {
		struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, in[i].handle);

		if ((in[i].flags & VIRTGPU_EXECBUF_SYNCOBJ_RESET) && s)
			s->signaled = false;
	}
	vgshim_unlock();
	if (!vgshim_real_host())
		vgshim_host_send(VGSHIM_EV_FENCE, NULL, fence);
	if (ufd >= 0)
		e->fence_fd = ufd;
	return 0;
}

int vgshim_virtgpu_ioctl(struct vgshim_file *f, unsigned nr, void *data, size_t in_size)
{
	switch (nr) {
	case DRM_VIRTGPU_MAP:
		return vgshim_map(f, data);
	case DRM_VIRTGPU_EXECBUFFER:
		return vgshim_execbuffer(f, data, in_size);
	case DRM_VIRTGPU_GETPARAM:
		return vgshim_getparam(data);
	case DRM_VIRTGPU_RESOURCE_INFO:
		return vgshim_resource_info(f, data);
	case DRM_VIRTGPU_WAIT:
		return vgshim_wait(f, data);
	case DRM_VIRTGPU_GET_CAPS:
		return vgshim_get_caps(f, data);
	case DRM_VIRTGPU_RESOURCE_CREATE_BLOB:
		return vgshim_create_blob(f, data);
	case DRM_VIRTGPU_CONTEXT_INIT:
		return vgshim_context_init(f, data);
	default:
		/* classic resources and transfers are not modelled */
		return -EOPNOTSUPP;
	}
}
