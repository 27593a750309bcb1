/* SPDX-License-Identifier: MIT */
/* Kernel (virtio-gpu DRM render node) backend: private state and helpers. */
#ifndef VWS_KERNEL_H
#define VWS_KERNEL_H

#include <errno.h>
#include <stdbool.h>

#include "vws_priv.h"

struct vws_kernel {
	int fd;
	/* CONTEXT_INIT done on fd: blob creation on fd is then safe. */
	bool context_created;
	char path[64];
};

static inline struct vws_kernel *vws_kernel(const struct vws_device *dev)
{
	return (struct vws_kernel *)dev->backend;
}

/* -errno of the failed call (libdrm returns -1 and sets errno). */
static inline int vws_kernel_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* vws_kernel_bo.c */
/* CREATE_BLOB on fd; on success the GEM handle and resource id. */
int vws_kernel_bo_create_on(int fd, const struct vws_blob_request *req, uint32_t *handle,
			    uint32_t *res_id);
int vws_kernel_gem_close(int fd, uint32_t handle);
int vws_kernel_bo_create(struct vws_device *dev, const struct vws_blob_request *req,
			 struct vws_bo *bo);
void vws_kernel_bo_close(struct vws_device *dev, struct vws_bo *bo);
int vws_kernel_bo_map(struct vws_device *dev, struct vws_bo *bo, void *fixed_addr,
		      void **out, struct vws_shard *s);
int vws_kernel_bo_reserve(struct vws_device *dev, struct vws_bo *bo, struct vws_shard *s);
int vws_kernel_bo_export(struct vws_device *dev, struct vws_bo *bo, int *fd);
int vws_kernel_bo_import(struct vws_device *dev, int fd, uint32_t *handle);
int vws_kernel_bo_query(struct vws_device *dev, uint32_t handle, int fd,
			struct vws_bo *bo);
void vws_kernel_bo_import_abort(struct vws_device *dev, uint32_t handle);
int vws_kernel_bo_wait(struct vws_device *dev, struct vws_bo *bo, bool nowait);

/* vws_kernel_submit.c */
int vws_kernel_submit(struct vws_device *dev, const struct vws_submit_info *info);
int vws_kernel_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle);
int vws_kernel_syncobj_destroy(struct vws_device *dev, uint32_t handle);
int vws_kernel_syncobj_wait(struct vws_device *dev, const uint32_t *handles,
			    uint32_t count, int64_t timeout_ns, bool wait_all);
int vws_kernel_syncobj_signal(struct vws_device *dev, const uint32_t *handles,
			      uint32_t count);

#endif /* VWS_KERNEL_H */
