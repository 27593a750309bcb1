/* SPDX-License-Identifier: MIT */
/*
 * ioctl dispatch on the node, as drm_ioctl does it: the number selects the
 * handler; the caller's struct size (encoded in the number) is copied in and
 * zero-extended to the kernel's own size, the handler runs, the caller's
 * size is copied back. This is what makes the 48/56-byte CREATE_BLOB and
 * the 40/64-byte EXECBUFFER behave as they do on real kernels. Unknown
 * numbers are -EINVAL, as drm_ioctl answers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vgshim_priv.h"

struct vgshim_ioctl_desc {
	unsigned nr;
	const char *name;   /* fault-injection site */
	size_t ksize;       /* the kernel's struct size */
};

static const struct vgshim_ioctl_desc vgshim_ioctls[] = {
	{ 0x00, "VERSION", sizeof(struct drm_version) },
	{ 0x09, "GEM_CLOSE", sizeof(struct drm_gem_close) },
	{ 0x0c, "GET_CAP", sizeof(struct drm_get_cap) },
	{ 0x0d, "SET_CLIENT_CAP", sizeof(struct drm_set_client_cap) },
	{ 0x2d, "PRIME_HANDLE_TO_FD", sizeof(struct drm_prime_handle) },
	{ 0x2e, "PRIME_FD_TO_HANDLE", sizeof(struct drm_prime_handle) },
	{ 0x40 + DRM_VIRTGPU_MAP, "MAP", sizeof(struct drm_virtgpu_map) },
	{ 0x40 + DRM_VIRTGPU_EXECBUFFER, "EXECBUFFER", sizeof(struct drm_virtgpu_execbuffer) },
	{ 0x40 + DRM_VIRTGPU_GETPARAM, "GETPARAM", sizeof(struct drm_virtgpu_getparam) },
	{ 0x40 + DRM_VIRTGPU_RESOURCE_CREATE, "RESOURCE_CREATE",
	  sizeof(struct drm_virtgpu_resource_create) },
	{ 0x40 + DRM_VIRTGPU_RESOURCE_INFO, "RESOURCE_INFO",
	  sizeof(struct drm_virtgpu_resource_info) },
	{ 0x40 + DRM_VIRTGPU_TRANSFER_FROM_HOST, "TRANSFER_FROM_HOST",
	  sizeof(struct drm_virtgpu_3d_transfer_from_host) },
	{ 0x40 + DRM_VIRTGPU_TRANSFER_TO_HOST, "TRANSFER_TO_HOST",
	  sizeof(struct drm_virtgpu_3d_transfer_to_host) },
	{ 0x40 + DRM_VIRTGPU_WAIT, "WAIT", sizeof(struct drm_virtgpu_3d_wait) },
	{ 0x40 + DRM_VIRTGPU_GET_CAPS, "GET_CAPS", sizeof(struct drm_virtgpu_get_caps) },
	{ 0x40 + DRM_VIRTGPU_RESOURCE_CREATE_BLOB, "CREATE_BLOB",
	  sizeof(struct drm_virtgpu_resource_create_blob) },
	{ 0x40 + DRM_VIRTGPU_CONTEXT_INIT, "CONTEXT_INIT", sizeof(struct drm_virtgpu_context_init) },
	{ 0xbf, "SYNCOBJ_CREATE", sizeof(struct drm_syncobj_create) },
	{ 0xc0, "SYNCOBJ_DESTROY", sizeof(struct drm_syncobj_destroy) },
	{ 0xc3, "SYNCOBJ_WAIT", sizeof(struct drm_syncobj_wait) },
	{ 0xc4, "SYNCOBJ_RESET", sizeof(struct drm_syncobj_array) },
	{ 0xc5, "SYNCOBJ_SIGNAL", sizeof(struct drm_syncobj_array) },
	{ 0xca, "SYNCOBJ_TIMELINE_WAIT", sizeof(struct drm_syncobj_timeline_wait) },
	{ 0xcb, "SYNCOBJ_QUERY", sizeof(struct drm_syncobj_timeline_array) },
	{ 0xcd, "SYNCOBJ_TIMELINE_SIGNAL", sizeof(struct drm_syncobj_timeline_array) },
};

/* Counter slot of an ioctl nr (vgshim.h: syncobj ioctls 0xbf.. -> 0x50..). */
static unsigned vgshim_ioctl_slot(unsigned nr)
{
	if (nr >= 0xbf && nr < 0xbf + 0x10)
		return 0x50 + (nr - 0xbf);
	return nr < VGSHIM_IOCTL_SLOTS ? nr : VGSHIM_IOCTL_SLOTS - 1;
}

static size_t vgshim_copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (dst && len)
		memcpy(dst, src, n < len ? n : len);
	return n;
}

static int vgshim_version(struct drm_version *v)
{
	v->version_major = 0;
	v->version_minor = 1;
	v->version_patchlevel = 0;
	v->name_len = vgshim_copy_str(v->name, v->name_len, "virtio_gpu");
	v->date_len = vgshim_copy_str(v->date, v->date_len, "0");
	v->desc_len = vgshim_copy_str(v->desc, v->desc_len, "virtio GPU (vgshim kernel model)");
	return 0;
}

static int vgshim_get_cap(struct drm_get_cap *c)
{
	switch (c->capability) {
	case DRM_CAP_PRIME:
		c->value = DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT;
		return 0;
	case DRM_CAP_SYNCOBJ:
	case DRM_CAP_SYNCOBJ_TIMELINE:
		c->value = 1;
		return 0;
	default:
		return -EINVAL;
	}
}

static int vgshim_dispatch(struct vgshim_file *f, unsigned nr, void *data, size_t in_size)
{
	switch (nr) {
	case 0x00:
		return vgshim_version(data);
	case 0x09: {
		struct drm_gem_close *g = data;

		return vgshim_file_close_handle(f, g->handle);
	}
	case 0x0c:
		return vgshim_get_cap(data);
	case 0x0d:
		return -EINVAL; /* no client caps on a render node */
	case 0x2d: {
		struct drm_prime_handle *p = data;

		return vgshim_prime_export(f, p->handle, p->flags, &p->fd);
	}
	case 0x2e: {
		struct drm_prime_handle *p = data;

		return vgshim_prime_import(f, p->fd, &p->handle);
	}
	default:
		if (nr >= 0x40 && nr < 0x40 + 0x10)
			return vgshim_virtgpu_ioctl(f, nr - 0x40, data, in_size);
		return vgshim_syncobj_ioctl(f, nr, data);
	}
}

int vgshim_ioctl_node(struct vgshim_file *f, unsigned long request, void *arg)
{
	const struct vgshim_ioctl_desc *desc = NULL;
	unsigned nr = _IOC_NR(request);
	size_t in_size = _IOC_SIZE(request);
	unsigned char kbuf[256];
	size_t ksize;
	int err;

	VGSHIM_INC(ioctls_total);
	vgshim_count_add(VGSHIM_CNT_IDX(ioctls) + vgshim_ioctl_slot(nr), 1);
	if (_IOC_TYPE(request) != DRM_IOCTL_BASE)
		return -ENOTTY;
	for (size_t i = 0; i < sizeof(vgshim_ioctls) / sizeof(vgshim_ioctls[0]); i++)
		if (vgshim_ioctls[i].nr == nr)
			desc = &vgshim_ioctls[i];
	if (!desc)
		return -EINVAL;
	ksize = desc->ksize;
	/* A kernel before blob_hints knows the 48-byte struct only. */
	if (nr == 0x40 + DRM_VIRTGPU_RESOURCE_CREATE_BLOB &&
	    vgshim_dev.cfg.kernel == VGSHIM_KERNEL_LEGACY)
		ksize = sizeof(struct drm_virtgpu_resource_create_blob_legacy);
	if (in_size > sizeof(kbuf) || ksize > sizeof(kbuf))
		return -EINVAL;
	if (in_size && (_IOC_DIR(request) & _IOC_WRITE) && !arg)
		return -EFAULT;
	if (nr == 0x40 + DRM_VIRTGPU_RESOURCE_CREATE_BLOB && arg) {
		/* what went over the wire, for tests */
		vgshim_note_blob(arg, in_size);
		if (in_size == sizeof(struct drm_virtgpu_resource_create_blob_legacy))
			VGSHIM_INC(create_blob_48);
		else if (in_size == sizeof(struct drm_virtgpu_resource_create_blob))
			VGSHIM_INC(create_blob_56);
	}
	err = vgshim_fault_check(desc->name);
	if (err)
		return -err;
	memset(kbuf, 0, sizeof(kbuf));
	if (in_size && (_IOC_DIR(request) & _IOC_WRITE))
		memcpy(kbuf, arg, in_size);
	/* Bytes the caller sent past the kernel's struct are not the kernel's:
	 * a kernel without blob_hints never sees them. */
	if (in_size > ksize)
		memset(kbuf + ksize, 0, in_size - ksize);
	err = vgshim_dispatch(f, nr, kbuf, in_size < ksize ? in_size : ksize);
	if (!err && in_size && (_IOC_DIR(request) & _IOC_READ)) {
		if (!arg)
			return -EFAULT;
		/* only the kernel's part is written back; the rest the caller
		 * sent stays as it was */
		memcpy(arg, kbuf, in_size < ksize ? in_size : ksize);
	}
	return err;
}
