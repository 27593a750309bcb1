/* SPDX-License-Identifier: MIT */
/*
 * Kernel backend, submission and syncobjs.
 * EXECBUFFER always uses the 64-byte struct: a kernel before syncobj
 * support (Linux 6.1) accepts it and ignores the syncobj fields, and no
 * param says which kind we run on (docs/winsys.md).
 */
#include <stdlib.h>
#include <string.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_kernel.h"

static struct drm_virtgpu_execbuffer_syncobj *
vws_kernel_syncobjs(const struct vws_syncobj_point *p, uint32_t n, bool allow_reset)
{
	struct drm_virtgpu_execbuffer_syncobj *s;

	if (!n)
		return NULL;
	s = calloc(n, sizeof(*s));
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		s[i].handle = p[i].handle;
		s[i].point = p[i].point;
		s[i].flags = allow_reset && p[i].reset ? VIRTGPU_EXECBUF_SYNCOBJ_RESET : 0;
	}
	return s;
}

int vws_kernel_submit(struct vws_device *dev, const struct vws_submit_info *info)
{
	struct drm_virtgpu_execbuffer_syncobj *in = NULL, *outs = NULL;
	uint32_t *handles = NULL;
	struct drm_virtgpu_execbuffer eb = {
		.size = info->cmd_size,
		.command = (uint64_t)(uintptr_t)info->cmd,
		.num_bo_handles = info->num_bos,
		.fence_fd = -1,
		.ring_idx = info->ring_idx,
		.syncobj_stride = sizeof(struct drm_virtgpu_execbuffer_syncobj),
		.num_in_syncobjs = info->num_in_syncobjs,
		.num_out_syncobjs = info->num_out_syncobjs,
	};
	int ret = -ENOMEM;

	if (info->num_bos) {
		handles = malloc(sizeof(*handles) * info->num_bos);
		if (!handles)
			goto out;
		for (uint32_t i = 0; i < info->num_bos; i++)
			handles[i] = info->bos[i]->handle;
		eb.bo_handles = (uint64_t)(uintptr_t)handles;
	}
	in = vws_kernel_syncobjs(info->in_syncobjs, info->num_in_syncobjs, true);
	outs = vws_kernel_syncobjs(info->out_syncobjs, info->num_out_syncobjs, false);
	if ((info->num_in_syncobjs && !in) || (info->num_out_syncobjs && !outs))
		goto out;
	eb.in_syncobjs = (uint64_t)(uintptr_t)in;
	eb.out_syncobjs = (uint64_t)(uintptr_t)outs;

	if (info->use_ring)
		eb.flags |= VIRTGPU_EXECBUF_RING_IDX;
	if (info->in_fence_fd >= 0) {
		eb.flags |= VIRTGPU_EXECBUF_FENCE_FD_IN;
		eb.fence_fd = info->in_fence_fd;
	}
	if (info->out_fence_fd)
		eb.flags |= VIRTGPU_EXECBUF_FENCE_FD_OUT;

	if (drmIoctl(vws_kernel(dev)->fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &eb)) {
		ret = vws_kernel_err();
		goto out;
	}
	if (info->out_fence_fd)
		*info->out_fence_fd = eb.fence_fd;
	ret = 0;
out:
	free(handles);
	free(in);
	free(outs);
	return ret;
}

int vws_kernel_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle)
{
	if (drmSyncobjCreate(vws_kernel(dev)->fd, signaled ? DRM_SYNCOBJ_CREATE_SIGNALED : 0,
			     handle))
		return vws_kernel_err();
	return 0;
}

int vws_kernel_syncobj_destroy(struct vws_device *dev, uint32_t handle)
{
	if (drmSyncobjDestroy(vws_kernel(dev)->fd, handle))
		return vws_kernel_err();
	return 0;
}

int vws_kernel_syncobj_wait(struct vws_device *dev, const uint32_t *handles, uint32_t count,
			    int64_t timeout_ns, bool wait_all)
{
	uint32_t flags = wait_all ? DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL : 0;

	/* libdrm's prototype is not const-correct; it only reads handles. */
	if (drmSyncobjWait(vws_kernel(dev)->fd, (uint32_t *)handles, count, timeout_ns, flags,
			   NULL))
		return vws_kernel_err();
	return 0;
}

int vws_kernel_syncobj_signal(struct vws_device *dev, const uint32_t *handles, uint32_t count)
{
	if (drmSyncobjSignal(vws_kernel(dev)->fd, handles, count))
		return vws_kernel_err();
	return 0;
}
