/* SPDX-License-Identifier: MIT */
/*
 * The virtio-gpu driver ioctls, rule for rule as docs/kernel-model.md
 * states them (and kernel-uapi.md before it). Lock held.
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
	if (f->ctx != VGSHIM_CTX_NONE)
		return -EEXIST;
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
	if (vgshim_real_host()) {
		int ret = vgshim_rhost_context_init(f, capset);

		if (ret)
			return ret;
	}
	f->ctx = VGSHIM_CTX_INIT;
	f->capset_id = capset;
	f->num_rings = num_rings;
	f->poll_mask = poll;
	f->debug_name = name;
	return 0;
}

static void vgshim_implicit_context(struct vgshim_file *f)
{
	/* without 3D there is no context to create */
	if (P(VIRTGPU_PARAM_3D_FEATURES) && f->ctx == VGSHIM_CTX_NONE)
		f->ctx = VGSHIM_CTX_IMPLICIT;
}

static void vgshim_obj_discard(struct vgshim_obj *obj)
{
	if (obj->rhost) {
		/* the host made the resource: it hears of its end */
		vgshim_dev.c.host_unref_cmds++;
		vgshim_rhost_obj_destroyed(obj);
	}
	if (obj->memfd >= 0)
		vgshim_real_close(obj->memfd);
	free(obj);
}

static int vgshim_create_blob(struct vgshim_file *f, struct drm_virtgpu_resource_create_blob *rc)
{
	struct vgshim_dev *d = &vgshim_dev;
	bool guest, host3d, deferred;
	struct vgshim_obj *obj;
	uint64_t size;
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
	if (rc->cmd_size) {
		if (!rc->cmd)
			return -EFAULT;
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
	if (guest && size > d->cfg.guestmem - d->guest_bytes) {
		/* guest pages are pinned for the host at creation */
		vgshim_obj_discard(obj);
		return -ENOMEM;
	}
	if (vgshim_real_host()) {
		/* the real host's resource: its fd holds the pages, guest or host */
		ret = vgshim_rhost_create_blob(f, obj);
	} else if (guest) {
		obj->memfd = memfd_create("vgshim-guest", MFD_CLOEXEC);
		ret = obj->memfd < 0 || ftruncate(obj->memfd, (off_t)size) ? -ENOMEM : 0;
	} else {
		ret = vgshim_host_resolve(obj);
	}
	if (ret) {
		vgshim_obj_discard(obj);
		return ret;
	}
	if (guest)
		d->guest_bytes += size;
	if (d->next_offset + size < d->next_offset) {
		if (guest)
			d->guest_bytes -= size;
		vgshim_obj_discard(obj);
		return -ENOSPC;
	}
	obj->offset = d->next_offset;
	deferred = obj->vram && obj->mappable && (obj->blob_hints & VIRTGPU_BLOB_HINT_DEFER_MAPPING);
	if (obj->vram && obj->mappable && !deferred) {
		/* every kernel before the hint: map at creation */
		ret = vgshim_vram_map(obj);
		if (ret) {
			vgshim_obj_discard(obj);
			return ret;
		}
	}
	if (vgshim_hash_put(&d->by_offset, obj->offset, obj))
		goto fail_tables;
	d->next_offset += size;
	d->c.live_objects++;
	ret = vgshim_file_add_handle(f, obj, &handle);
	if (ret) {
		vgshim_obj_maybe_destroy(obj);
		return ret;
	}
	d->c.blobs_created++;
	d->c.blobs_blob_id += obj->blob_id != 0;
	d->c.blobs_deferred += deferred;
	rc->bo_handle = handle;
	rc->res_handle = obj->res_id;
	return 0;

fail_tables:
	vgshim_hash_del(&d->by_offset, obj->offset);
	if (guest)
		d->guest_bytes -= size;
	if (obj->region_reserved) {
		/* the MAP_BLOB went out: let the host answer it, then UNREF */
		d->c.live_objects++;
		vgshim_obj_maybe_destroy(obj);
		return -ENOMEM;
	}
	vgshim_obj_discard(obj);
	return -ENOMEM;
}

static int vgshim_map(struct vgshim_file *f, struct drm_virtgpu_map *m)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, m->handle);
	enum vgshim_kernel k = vgshim_dev.cfg.kernel;

	if (!obj)
		return -ENOENT;
	/* v1 and the fixed kernel map deferred objects here too; v2 (Linux
	 * 7.2) and older kernels only look the offset up */
	if ((k == VGSHIM_KERNEL_V1 || k == VGSHIM_KERNEL_FIXED) && obj->vram && obj->mappable &&
	    !obj->imported_foreign && !obj->region_reserved) {
		int ret = vgshim_vram_map_deferred(obj);

		if (ret)
			return ret;
	}
	m->offset = obj->offset;
	return 0;
}

static int vgshim_resource_info(struct vgshim_file *f, struct drm_virtgpu_resource_info *ri)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, ri->bo_handle);

	if (!obj)
		return -ENOENT;
	ri->res_handle = obj->res_id;
	ri->size = (uint32_t)obj->size;
	ri->blob_mem = obj->blob_mem;
	return 0;
}

static int vgshim_wait(struct vgshim_file *f, struct drm_virtgpu_3d_wait *w)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, w->handle);
	uint64_t deadline = vgshim_now_ns() + 15000000000ull;

	if (!obj)
		return -ENOENT;
	if (w->flags & VIRTGPU_WAIT_NOWAIT)
		return obj->busy ? -EBUSY : 0;
	while (obj->busy) {
		struct timespec ts = {
			.tv_sec = (time_t)(deadline / 1000000000ull),
			.tv_nsec = (long)(deadline % 1000000000ull),
		};

		if (vgshim_now_ns() >= deadline)
			return -EBUSY; /* the kernel's 15 s timeout */
		pthread_cond_timedwait(&vgshim_dev.cond, &vgshim_dev.lock, &ts);
	}
	return 0;
}

static void vgshim_fence_free(struct vgshim_fence *fence)
{
	if (fence->efd >= 0)
		vgshim_real_close(fence->efd);
	free(fence->objs);
	free(fence->out_syncobjs);
	free(fence->out_points);
	free(fence);
}

static int vgshim_execbuffer(struct vgshim_file *f, struct drm_virtgpu_execbuffer *e,
			     size_t in_size)
{
	const struct drm_virtgpu_execbuffer_syncobj *in, *out;
	const uint32_t *handles = (const void *)(uintptr_t)e->bo_handles;
	struct vgshim_fence *fence;
	int ufd = -1;

	if (!P(VIRTGPU_PARAM_3D_FEATURES))
		return -ENOSYS;
	if (e->flags & ~(uint32_t)VIRTGPU_EXECBUF_FLAGS)
		return -EINVAL;
	/* the 40-byte call of Linux 6.1 userspace carries no syncobjs */
	if (in_size < sizeof(*e)) {
		e->num_in_syncobjs = e->num_out_syncobjs = 0;
		e->syncobj_stride = 0;
	}
	if ((e->flags & VIRTGPU_EXECBUF_RING_IDX) && e->ring_idx >= f->num_rings)
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
	for (uint32_t i = 0; i < e->num_in_syncobjs; i++) {
		struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, in[i].handle);

		if (in[i].flags & ~(uint32_t)VIRTGPU_EXECBUF_SYNCOBJ_FLAGS)
			return -EINVAL;
		if (!s)
			return -ENOENT;
		if (!s->signaled || s->point < in[i].point)
			return -EINVAL; /* no fence to wait for */
	}
	for (uint32_t i = 0; i < e->num_out_syncobjs; i++) {
		if (out[i].flags & ~(uint32_t)VIRTGPU_EXECBUF_SYNCOBJ_FLAGS)
			return -EINVAL;
		if (!vgshim_syncobj_lookup(f, out[i].handle))
			return -ENOENT;
	}
	for (uint32_t i = 0; i < e->num_bo_handles; i++)
		if (!vgshim_file_lookup(f, handles[i]))
			return -ENOENT;

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
	if (e->flags & VIRTGPU_EXECBUF_FENCE_FD_OUT) {
		/* a sync_file stand-in: readable once the host is done */
		fence->efd = eventfd(0, EFD_CLOEXEC);
		ufd = fence->efd < 0 ? -1 : vgshim_real_fcntl(fence->efd, F_DUPFD_CLOEXEC, 0);
		if (ufd < 0) {
			vgshim_fence_free(fence);
			return -EMFILE;
		}
	}
	if (e->size && !vgshim_real_host())
		vgshim_host_run_cmds((const uint32_t *)(uintptr_t)e->command, e->size / 4);
	for (uint32_t i = 0; i < e->num_bo_handles; i++) {
		fence->objs[i] = vgshim_file_lookup(f, handles[i]);
		fence->objs[i]->busy++;
	}
	fence->num_objs = e->num_bo_handles;
	fence->file = f;
	for (uint32_t i = 0; i < e->num_out_syncobjs; i++) {
		fence->out_syncobjs[i] = out[i].handle;
		fence->out_points[i] = out[i].point;
	}
	fence->num_out = e->num_out_syncobjs;
	if (vgshim_real_host()) {
		/* the fence is the real host's from here on */
		int ret = vgshim_rhost_submit(f, (const void *)(uintptr_t)e->command, e->size,
					      (e->flags & VIRTGPU_EXECBUF_RING_IDX) ? e->ring_idx : 0,
					      fence);

		if (ret) {
			for (uint32_t i = 0; i < fence->num_objs; i++)
				fence->objs[i]->busy--;
			if (ufd >= 0)
				vgshim_real_close(ufd);
			vgshim_fence_free(fence);
			return ret;
		}
	}
	/* the waits are consumed before the submission can signal anything
	 * (the real host's fence completes only after we unlock) */
	for (uint32_t i = 0; i < e->num_in_syncobjs; i++)
		if (in[i].flags & VIRTGPU_EXECBUF_SYNCOBJ_RESET)
			vgshim_syncobj_lookup(f, in[i].handle)->signaled = false;
	if (!vgshim_real_host())
		vgshim_host_queue(VGSHIM_EV_FENCE, NULL, fence);
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
