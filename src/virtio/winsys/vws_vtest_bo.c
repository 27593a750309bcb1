/* SPDX-License-Identifier: MIT */
/*
 * vtest backend, objects. A blob is a server resource id plus the fd the
 * server sent with it. There is no host-visible window to reserve, but the
 * rule is the kernel's: keep the fd, mmap it only on the first map (the
 * shared code caches the pointer), export a dup of it. The table key is
 * the resource id.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vtest.h"
#include "vws_vtest_proto.h"

/* Requests the server would answer by closing the connection (and so
 * killing the device): refuse them here with -EINVAL and a reason. */
static const char *vws_vtest_blob_refused(const struct vws_blob_request *req)
{
	if (req->blob_mem == VIRTGPU_BLOB_MEM_HOST3D && !req->blob_id &&
	    req->blob_flags != VIRTGPU_BLOB_FLAG_USE_MAPPABLE)
		return "HOST3D blob_id 0 (shared memory) takes exactly the MAPPABLE flag";
	if (req->blob_flags & VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE)
		return "no cross-device blobs over vtest";
	return NULL;
}

int vws_vtest_bo_create(struct vws_device *dev, const struct vws_blob_request *req,
			struct vws_bo *bo)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint64_t size = vws_page_round(req->size);
	const char *why = vws_vtest_blob_refused(req);
	uint32_t res_id;
	struct stat st;
	int fd, ret;

	if (why) {
		vws_log(dev, VWS_DEBUG_BO, "vtest: create refused: %s", why);
		return -EINVAL;
	}
	if (req->blob_hints)
		vws_log(dev, VWS_DEBUG_BO, "vtest: blob_hints 0x%x dropped (no such field in vtest)",
			req->blob_hints);
	/* The kernel submits a creation command before creating the blob;
	 * so do we, on ring 0 (the context's default). */
	if (req->cmd_size) {
		ret = vws_vtest_submit(vt->conn, req->cmd, req->cmd_size, 0, NULL, NULL, 0);
		if (ret)
			return ret;
	}
	/* The server sizes its memory by what we ask; asking for the rounded
	 * size keeps every page of the whole-object mapping backed. */
	ret = vws_vtest_blob_create(vt->conn, req->blob_mem, req->blob_flags, size,
				    req->blob_id, &res_id, &fd);
	if (ret)
		return ret;
	if (fstat(fd, &st) || (uint64_t)st.st_size < size) {
		/* The mapping would fault past the end of the server's memory. */
		vws_log(dev, VWS_DEBUG_BO, "vtest: res %u: fd holds %lld bytes, %llu needed",
			res_id, (long long)st.st_size, (unsigned long long)size);
		close(fd);
		vws_vtest_resource_unref(vt->conn, res_id);
		return -EPROTO;
	}
	bo->handle = res_id;
	bo->res_id = res_id;
	bo->blob_mem = req->blob_mem;
	bo->size = size;
	bo->backend_data = (uint64_t)fd;
	bo->backend_ptr = NULL;
	return 0;
}

void vws_vtest_bo_close(struct vws_device *dev, struct vws_bo *bo)
{
	struct vws_vtest *vt = vws_vtest(dev);
	int ret;

	close(vws_vtest_bo_fd(bo));
	/* res_id 0: the server handed out a live object's id again (see
	 * vws_bo_create); that resource is the other object's. */
	if (!bo->res_id)
		return;
	/* An imported object is one of ours (see import): only its last
	 * reference, which is this one, owns the server resource. */
	ret = vws_vtest_resource_unref(vt->conn, bo->res_id);
	if (ret)
		vws_log(dev, VWS_DEBUG_BO, "vtest: unref res %u: %s", bo->res_id, strerror(-ret));
}

int vws_vtest_bo_map(struct vws_device *dev, struct vws_bo *bo, void *fixed_addr, void **out,
		     struct vws_shard *s)
{
	void *p;

	if (bo->blob_mem == VIRTGPU_BLOB_MEM_HOST3D &&
	    !(bo->blob_flags & VIRTGPU_BLOB_FLAG_USE_MAPPABLE))
		return -EINVAL;
	p = mmap(fixed_addr, bo->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | (fixed_addr ? MAP_FIXED : 0), vws_vtest_bo_fd(bo), 0);
	if (p == MAP_FAILED)
		return -errno;
	vws_stats_count_on(dev, s, VWS_STAT_MMAP);
	*out = p;
	return 0;
}

int vws_vtest_bo_export(struct vws_device *dev, struct vws_bo *bo, int *fd)
{
	int f = fcntl(vws_vtest_bo_fd(bo), F_DUPFD_CLOEXEC, 0);

	if (f < 0)
		return -errno;
	*fd = f;
	return 0;
}

/* The server cannot take an fd back, so only fds this device exported
 * (dups of an object's fd: same file) can be imported; anything else is
 * foreign, -ENODEV as the kernel says for another driver's dma-buf. The
 * table lock is taken: every live (not closing) object in the table has
 * its fd open. */
int vws_vtest_bo_import(struct vws_device *dev, int fd, uint32_t *handle)
{
	struct stat want, st;
	struct vws_bo *bo;
	uint32_t pos = 0;
	int ret = -ENODEV;

	if (fstat(fd, &want))
		return -errno;
	vws_spin_lock(&dev->table_lock);
	while ((bo = vws_table_next_locked(dev, &pos))) {
		if (fstat(vws_vtest_bo_fd(bo), &st))
			continue;
		if (st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
			*handle = bo->handle;
			ret = 0;
			break;
		}
	}
	vws_spin_unlock(&dev->table_lock);
	if (ret)
		vws_log(dev, VWS_DEBUG_IMPORT, "vtest: fd %d is not an object of this device", fd);
	return ret;
}

/* Never reached: import only returns keys that are in the table. */
int vws_vtest_bo_query(struct vws_device *dev, uint32_t handle, int fd,
		       struct vws_bo *bo)
{
	return -ENODEV;
}

void vws_vtest_bo_import_abort(struct vws_device *dev, uint32_t handle)
{
}

int vws_vtest_bo_wait(struct vws_device *dev, struct vws_bo *bo, bool nowait)
{
	bool busy;
	int ret = vws_vtest_busy_wait(vws_vtest(dev)->conn, bo->res_id,
				      nowait ? 0 : VWS_VTEST_BUSY_WAIT_FLAG_WAIT, &busy);

	if (ret)
		return ret;
	return busy ? -EBUSY : 0;
}
