/* SPDX-License-Identifier: MIT */
/* Kernel backend, objects: one ioctl (or mmap) per op. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_kernel.h"

/* bo->backend_data: the object's fake mmap offset, with this bit set once
 * the MAP ioctl returned it (offsets are page-aligned). */
#define VWS_KERNEL_OFFSET_VALID 1ull

int vws_kernel_gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close gc = { .handle = handle };

	return drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &gc) ? vws_kernel_err() : 0;
}

int vws_kernel_bo_create_on(int fd, const struct vws_blob_request *req, uint32_t *handle,
			    uint32_t *res_id)
{
	struct drm_virtgpu_resource_create_blob cb = {
		.blob_mem = req->blob_mem,
		.blob_flags = req->blob_flags,
		.size = req->size,
		.cmd_size = req->cmd_size,
		.cmd = (uint64_t)(uintptr_t)req->cmd,
		.blob_id = req->blob_id,
		.blob_hints = req->blob_hints,
	};
	int ret;

	if (req->extended) {
		ret = drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &cb);
	} else {
		/* The legacy struct is a strict prefix of the new one. */
		struct drm_virtgpu_resource_create_blob_legacy lb;

		if (req->blob_hints)
			return -EINVAL;
		memcpy(&lb, &cb, sizeof(lb));
		ret = drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB_LEGACY, &lb);
		memcpy(&cb, &lb, sizeof(lb));
	}
	if (ret)
		return vws_kernel_err();
	*handle = cb.bo_handle;
	*res_id = cb.res_handle;
	return 0;
}

int vws_kernel_bo_create(struct vws_device *dev, const struct vws_blob_request *req,
			 struct vws_bo *bo)
{
	int ret = vws_kernel_bo_create_on(vws_kernel(dev)->fd, req, &bo->handle, &bo->res_id);

	if (ret)
		return ret;
	bo->blob_mem = req->blob_mem;
	bo->size = vws_page_round(req->size);
	bo->backend_data = 0; /* no offset yet (vws_kernel_bo_offset) */
	bo->backend_ptr = NULL;
	return 0;
}

void vws_kernel_bo_close(struct vws_device *dev, struct vws_bo *bo)
{
	int ret;

	if (!bo->handle)
		return; /* never a GEM handle (see vws_bo_create) */
	ret = vws_kernel_gem_close(vws_kernel(dev)->fd, bo->handle);

	if (ret)
		vws_log(dev, VWS_DEBUG_BO, "GEM_CLOSE %u: %s", bo->handle, strerror(-ret));
}

/* The MAP ioctl, once per object: the offset never changes. A kernel that
 * validates hints (the review's fixes) does the deferred map in this ioctl
 * and fails it when it cannot: the range is reserved now, whatever an mmap
 * after it does (it can fail on its own: ENOMEM, vm.max_map_count). Linux
 * 7.2 as merged only looks the offset up here and reserves in mmap. */
static int vws_kernel_bo_offset(struct vws_device *dev, struct vws_shard *s, struct vws_bo *bo)
{
	struct drm_virtgpu_map m = { .handle = bo->handle };

	if (bo->backend_data & VWS_KERNEL_OFFSET_VALID)
		return 0;
	vws_stats_count_on(dev, s, VWS_STAT_MAP_IOCTL);
	if (drmIoctl(vws_kernel(dev)->fd, DRM_IOCTL_VIRTGPU_MAP, &m))
		return vws_kernel_err();
	bo->backend_data = m.offset | VWS_KERNEL_OFFSET_VALID;
	if (dev->info.hint_support == VWS_HINT_VALIDATED)
		vws_stats_bo_held_on(dev, s, bo);
	return 0;
}

int vws_kernel_bo_map(struct vws_device *dev, struct vws_bo *bo, void *fixed_addr,
		      void **out, struct vws_shard *s)
{
	struct vws_kernel *k = vws_kernel(dev);
	int flags = MAP_SHARED | (fixed_addr ? MAP_FIXED : 0);
	void *p;
	int ret;

	if (bo->size > SIZE_MAX)
		return -ENOMEM;
	ret = vws_kernel_bo_offset(dev, s, bo);
	if (ret)
		return ret;
	vws_stats_count_on(dev, s, VWS_STAT_MMAP);
	p = mmap(fixed_addr, (size_t)bo->size, PROT_READ | PROT_WRITE, flags, k->fd,
		 (off_t)(bo->backend_data & ~VWS_KERNEL_OFFSET_VALID));
	if (p == MAP_FAILED)
		return vws_kernel_err();
	*out = p;
	return 0;
}

int vws_kernel_bo_reserve(struct vws_device *dev, struct vws_bo *bo, struct vws_shard *s)
{
	return vws_kernel_bo_offset(dev, s, bo);
}

int vws_kernel_bo_export(struct vws_device *dev, struct vws_bo *bo, int *fd)
{
	if (drmPrimeHandleToFD(vws_kernel(dev)->fd, bo->handle, DRM_CLOEXEC | DRM_RDWR, fd))
		return vws_kernel_err();
	return 0;
}

int vws_kernel_bo_import(struct vws_device *dev, int fd, uint32_t *handle)
{
	if (drmPrimeFDToHandle(vws_kernel(dev)->fd, fd, handle))
		return vws_kernel_err();
	return 0;
}

int vws_kernel_bo_query(struct vws_device *dev, uint32_t handle, int fd,
			struct vws_bo *bo)
{
	struct drm_virtgpu_resource_info ri = { .bo_handle = handle };
	uint64_t size;
	off_t end;

	if (drmIoctl(vws_kernel(dev)->fd, DRM_IOCTL_VIRTGPU_RESOURCE_INFO, &ri))
		return vws_kernel_err();
	/* RESOURCE_INFO truncates the size to 32 bits; a dma-buf's own size
	 * (lseek to its end) is exact. Trust the latter only when it agrees
	 * with the former on the low bits. */
	size = ri.size;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && (uint32_t)end == ri.size)
		size = (uint64_t)end;
	bo->handle = handle;
	bo->res_id = ri.res_handle;
	bo->blob_mem = ri.blob_mem;
	bo->size = size;
	bo->backend_data = 0;
	bo->backend_ptr = NULL;
	return 0;
}

void vws_kernel_bo_import_abort(struct vws_device *dev, uint32_t handle)
{
	vws_kernel_gem_close(vws_kernel(dev)->fd, handle);
}

int vws_kernel_bo_wait(struct vws_device *dev, struct vws_bo *bo, bool nowait)
{
	struct drm_virtgpu_3d_wait w = {
		.handle = bo->handle,
		.flags = nowait ? VIRTGPU_WAIT_NOWAIT : 0,
	};

	if (drmIoctl(vws_kernel(dev)->fd, DRM_IOCTL_VIRTGPU_WAIT, &w))
		return vws_kernel_err();
	return 0;
}
