/* SPDX-License-Identifier: MIT */
/*
 * dma-bufs. An object's dma-buf is one open file description of its memory
 * (a new open of the memfd through /proc/self/fd), so that every export is a
 * real fd to the same "file" that can be mmapped, dup'ed and passed to
 * another process, and that import can recognise by inode. The model counts
 * the fds of this process that refer to it; the dma-buf's reference on the
 * object goes when the last one is closed.
 * Everything here runs with the device lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgshim_priv.h"

static struct vgshim_dmabuf *vgshim_dmabuf_create(struct vgshim_obj *obj)
{
	struct vgshim_dmabuf *d;
	char path[64];
	struct stat st;
	int memfd = obj->memfd;

	if (memfd < 0 && obj->host_missing) {
		/* The host never backed it; the dma-buf still exists (the kernel
		 * exports the resource), it just has nothing behind it. */
		memfd = memfd_create("vgshim-unbacked", MFD_CLOEXEC);
		if (memfd < 0)
			return NULL;
		if (ftruncate(memfd, (off_t)obj->size)) {
			vgshim_real_close(memfd);
			return NULL;
		}
		obj->memfd = memfd;
	} else if (memfd < 0) {
		memfd = vgshim_obj_memfd(obj);
		if (memfd < 0)
			return NULL;
	}
	d = vgshim_calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	d->base_fd = vgshim_real_open(path, O_RDWR | O_CLOEXEC);
	if (d->base_fd < 0 || vgshim_real_fstat(d->base_fd, &st) ||
	    vgshim_hash_put(&vgshim_dev.dmabuf_by_ino, (uint64_t)st.st_ino, d)) {
		if (d->base_fd >= 0)
			vgshim_real_close(d->base_fd);
		free(d);
		return NULL;
	}
	d->obj = obj;
	d->st_dev = st.st_dev;
	d->st_ino = st.st_ino;
	obj->dmabuf = d;
	vgshim_dev.c.live_dmabufs++;
	return d;
}

static void vgshim_dmabuf_destroy(struct vgshim_dmabuf *d)
{
	struct vgshim_obj *obj = d->obj;

	vgshim_hash_del(&vgshim_dev.dmabuf_by_ino, (uint64_t)d->st_ino);
	vgshim_real_close(d->base_fd);
	obj->dmabuf = NULL;
	free(d);
	vgshim_dev.c.live_dmabufs--;
	vgshim_obj_maybe_destroy(obj);
}

void vgshim_dmabuf_fd_closed(struct vgshim_dmabuf *d)
{
	if (--d->fds == 0)
		vgshim_dmabuf_destroy(d);
}

int vgshim_prime_export(struct vgshim_file *f, uint32_t handle, uint32_t flags, int *fd)
{
	struct vgshim_obj *obj = vgshim_file_lookup(f, handle);
	struct vgshim_dmabuf *d;
	bool created = false;
	int nfd;

	if (flags & ~(uint32_t)(DRM_CLOEXEC | DRM_RDWR))
		return -EINVAL;
	if (!obj)
		return -ENOENT;
	d = obj->dmabuf;
	if (!d) {
		d = vgshim_dmabuf_create(obj);
		if (!d)
			return -ENOMEM;
		created = true;
	}
	nfd = vgshim_real_fcntl(d->base_fd, (flags & DRM_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (nfd < 0 || nfd >= VGSHIM_MAX_FDS) {
		int err = nfd < 0 ? -errno : -EMFILE;

		if (nfd >= 0)
			vgshim_real_close(nfd);
		if (created)
			vgshim_dmabuf_destroy(d);
		return err;
	}
	d->fds++;
	vgshim_fd_set(nfd, VGSHIM_FD_DMABUF, d);
	*fd = nfd;
	return 0;
}

/* Another process's dma-buf of the model: recognised by its memfd's name,
 * wrapped into a new object sharing its pages. */
static int vgshim_prime_wrap_foreign(int fd, const struct stat *st, struct vgshim_obj **out)
{
	char path[64], target[128];
	struct vgshim_obj *obj;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -EINVAL;
	target[n] = 0;
	/* A real dma-buf of another exporter (another DRM driver, udmabuf,
	 * a heap): virtio-gpu cannot import it, like the kernel (-ENODEV). */
	if (!strncmp(target, "/dmabuf:", 8) || !strncmp(target, "anon_inode:dmabuf", 17))
		return -ENODEV;
	/* Anything else that is not the model's memory is not a dma-buf at
	 * all (a pipe, a file): dma_buf_get fails with -EINVAL. */
	if (strncmp(target, "/memfd:vgshim-", 14))
		return -EINVAL;
	/* an empty or torn memfd would give a zero or unaligned fake offset
	 * range that overlaps the next object's */
	if (st->st_size <= 0 || st->st_size % VGSHIM_PAGE)
		return -EINVAL;
	obj = vgshim_obj_new();
	if (!obj)
		return -ENOMEM;
	obj->memfd = vgshim_real_fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (obj->memfd < 0) {
		int err = -errno;

		free(obj);
		return err;
	}
	obj->size = (uint64_t)st->st_size;
	obj->blob_mem = VIRTGPU_BLOB_MEM_HOST3D;
	obj->blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE;
	/* its host mapping belongs to the exporting guest's object */
	obj->vram = true;
	obj->mappable = true;
	obj->map_state = VGSHIM_MAP_OK;
	obj->imported_foreign = true;
	obj->offset = vgshim_dev.next_offset;
	vgshim_dev.next_offset += obj->size;
	if (vgshim_hash_put(&vgshim_dev.by_offset, obj->offset, obj)) {
		vgshim_real_close(obj->memfd);
		free(obj);
		return -ENOMEM;
	}
	vgshim_dev.c.live_objects++;
	*out = obj;
	return 0;
}

int vgshim_prime_import(struct vgshim_file *f, int fd, uint32_t *handle)
{
	struct vgshim_dmabuf *d;
	struct vgshim_obj *obj = NULL;
	struct stat st;
	uint32_t h;
	int ret;

	if (fd < 0 || vgshim_real_fstat(fd, &st))
		return -EBADF;
	d = vgshim_hash_get(&vgshim_dev.dmabuf_by_ino, (uint64_t)st.st_ino);
	if (d && d->st_dev == st.st_dev) {
		obj = d->obj;
	} else {
		ret = vgshim_prime_wrap_foreign(fd, &st, &obj);
		if (ret)
			return ret;
	}
	h = vgshim_file_find_handle(f, obj);
	if (h) {
		/* same handle, no new reference: userspace counts */
		*handle = h;
		return 0;
	}
	ret = vgshim_file_add_handle(f, obj, handle);
	if (ret)
		vgshim_obj_maybe_destroy(obj);
	return ret;
}

int vgshim_dmabuf_attach(int dmabuf_fd, uint64_t *addr, uint64_t *size)
{
	struct vgshim_dmabuf *d;
	struct vgshim_obj *obj;
	int ret = 0;

	vgshim_lock();
	if (vgshim_fd_kind(dmabuf_fd, (void **)&d) != VGSHIM_FD_DMABUF) {
		vgshim_unlock();
		return -EBADF;
	}
	obj = d->obj;
	if (!obj->vram || !obj->mappable) {
		/* guest pages: an importer gets a scatter list, no region range */
		*addr = 0;
		*size = obj->size;
	} else if (!obj->region_reserved) {
		if (vgshim_dev.cfg.kernel == VGSHIM_KERNEL_FIXED) {
			ret = vgshim_vram_map_deferred(obj);
			if (!ret)
				ret = vgshim_vram_wait_mapped(obj);
			if (!ret) {
				*addr = obj->region_offset;
				*size = obj->size;
			}
		} else {
			/* bug 3: the node was never allocated, its range is junk */
			vgshim_dev.c.bogus_attaches++;
			*addr = 0;
			*size = 0;
		}
	} else {
		ret = vgshim_vram_wait_mapped(obj);
		if (!ret) {
			*addr = obj->region_offset;
			*size = obj->size;
		}
	}
	vgshim_unlock();
	return ret;
}
