/* SPDX-License-Identifier: MIT */
/*
 * dma-bufs. An object's dma-buf is one open file description of its memory
 * (a new open of the memfd through /proc/self/fd), so that every export is a
 * real fd to the same "file" that can be mmapped, dup'ed and passed to
 * another process, and that import can recognise by inode. The model counts
 * the fds of this process that refer to it; the dma-buf's reference on the
 * object goes when the last one is closed.
 *
 * The dma-buf table, an object's dma-buf and the fd counts are under the
 * prime lock (the kernel's object_name_lock); the syscalls an export or an
 * import makes run outside it.
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

/* A new dma-buf file of obj (not yet published), or NULL. */
static struct vgshim_dmabuf *vgshim_dmabuf_new(struct vgshim_obj *obj)
{
	struct vgshim_dmabuf *d;
	char path[64];
	struct stat st;
	int memfd = vgshim_obj_memfd(obj);

	if (memfd < 0 && obj->host_missing) {
		/* The host never backed it; the dma-buf still exists (the kernel
		 * exports the resource), it just has nothing behind it. */
		int fd = memfd_create("vgshim-unbacked", MFD_CLOEXEC), expected = -1;

		if (fd < 0)
			return NULL;
		if (ftruncate(fd, (off_t)obj->size)) {
			vgshim_real_close(fd);
			return NULL;
		}
		if (!atomic_compare_exchange_strong(&obj->memfd, &expected, fd))
			vgshim_real_close(fd);
		memfd = atomic_load(&obj->memfd);
	}
	if (memfd < 0)
		return NULL;
	d = vgshim_calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	d->base_fd = vgshim_real_open(path, O_RDWR | O_CLOEXEC);
	if (d->base_fd < 0 || vgshim_real_fstat(d->base_fd, &st)) {
		if (d->base_fd >= 0)
			vgshim_real_close(d->base_fd);
		free(d);
		return NULL;
	}
	d->obj = obj;
	d->st_dev = st.st_dev;
	d->st_ino = st.st_ino;
	return d;
}

struct vgshim_dmabuf *vgshim_dmabuf_fd_closed(struct vgshim_dmabuf *d)
{
	struct vgshim_obj *obj = d->obj;

	if (--d->fds)
		return NULL;
	/* unreachable from now on: an export makes a new one */
	if (vgshim_hash_get(&vgshim_dev.dmabuf_by_ino, (uint64_t)d->st_ino) == d)
		vgshim_hash_del(&vgshim_dev.dmabuf_by_ino, (uint64_t)d->st_ino);
	if (obj->dmabuf == d)
		obj->dmabuf = NULL;
	VGSHIM_DEC(live_dmabufs);
	return d;
}

void vgshim_dmabuf_destroy(struct vgshim_dmabuf *d)
{
	vgshim_real_close(d->base_fd);
	vgshim_obj_put(d->obj);
	free(d);
}

struct vgshim_obj *vgshim_dmabuf_obj_from_fd(int fd)
{
	struct vgshim_obj *obj = NULL;
	void *ptr;

	pthread_mutex_lock(&vgshim_dev.prime_lock);
	pthread_mutex_lock(&vgshim_dev.fd_lock);
	if (vgshim_fd_kind(fd, &ptr) == VGSHIM_FD_DMABUF) {
		obj = ((struct vgshim_dmabuf *)ptr)->obj;
		vgshim_obj_get(obj);
	}
	pthread_mutex_unlock(&vgshim_dev.fd_lock);
	pthread_mutex_unlock(&vgshim_dev.prime_lock);
	return obj;
}

/* The object's dma-buf with one user fd reserved (d->fds counts it), made
 * if it has none; NULL when it cannot be made. */
static struct vgshim_dmabuf *vgshim_dmabuf_reserve(struct vgshim_obj *obj)
{
	struct vgshim_dmabuf *d, *made = NULL;

	pthread_mutex_lock(&vgshim_dev.prime_lock);
	d = obj->dmabuf;
	if (!d) {
		pthread_mutex_unlock(&vgshim_dev.prime_lock);
		made = vgshim_dmabuf_new(obj);
		if (!made)
			return NULL;
		pthread_mutex_lock(&vgshim_dev.prime_lock);
		d = obj->dmabuf; /* another export may have been quicker */
		if (!d && !vgshim_hash_put(&vgshim_dev.dmabuf_by_ino, (uint64_t)made->st_ino, made)) {
			d = obj->dmabuf = made;
			made = NULL;
			vgshim_obj_get(obj); /* the dma-buf's */
			VGSHIM_INC(live_dmabufs);
		}
	}
	if (d)
		d->fds++;
	pthread_mutex_unlock(&vgshim_dev.prime_lock);
	if (made) {
		vgshim_real_close(made->base_fd);
		free(made);
	}
	return d;
}

int vgshim_prime_export(struct vgshim_file *f, uint32_t handle, uint32_t flags, int *fd)
{
	struct vgshim_obj *obj;
	struct vgshim_dmabuf *d, *dead;
	int nfd;

	if (flags & ~(uint32_t)(DRM_CLOEXEC | DRM_RDWR))
		return -EINVAL;
	obj = vgshim_file_lookup(f, handle);
	if (!obj)
		return -ENOENT;
	d = vgshim_dmabuf_reserve(obj);
	if (!d) {
		vgshim_obj_put(obj);
		return -ENOMEM;
	}
	nfd = vgshim_real_fcntl(d->base_fd, (flags & DRM_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
	if (nfd < 0 || nfd >= VGSHIM_MAX_FDS) {
		int err = nfd < 0 ? -errno : -EMFILE;

		if (nfd >= 0)
			vgshim_real_close(nfd);
		pthread_mutex_lock(&vgshim_dev.prime_lock);
		dead = vgshim_dmabuf_fd_closed(d);
		pthread_mutex_unlock(&vgshim_dev.prime_lock);
		if (dead)
			vgshim_dmabuf_destroy(dead);
		vgshim_obj_put(obj);
		return err;
	}
	pthread_mutex_lock(&vgshim_dev.fd_lock);
	vgshim_fd_set(nfd, VGSHIM_FD_DMABUF, d);
	pthread_mutex_unlock(&vgshim_dev.fd_lock);
	vgshim_obj_put(obj);
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
	int memfd, ret;

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
	memfd = vgshim_real_fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (memfd < 0) {
		int err = -errno;

		vgshim_obj_free(obj);
		return err;
	}
	atomic_store(&obj->memfd, memfd);
	obj->size = (uint64_t)st->st_size;
	obj->blob_mem = VIRTGPU_BLOB_MEM_HOST3D;
	obj->blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE;
	/* its host mapping belongs to the exporting guest's object */
	obj->vram = true;
	obj->mappable = true;
	obj->map_state = VGSHIM_MAP_OK;
	obj->imported_foreign = true;
	vgshim_lock();
	ret = vgshim_offset_alloc(obj);
	vgshim_unlock();
	if (ret) {
		vgshim_real_close(memfd);
		vgshim_obj_free(obj);
		return ret;
	}
	VGSHIM_INC(live_objects);
	*out = obj;
	return 0;
}

int vgshim_prime_import(struct vgshim_file *f, int fd, uint32_t *handle)
{
	struct vgshim_dmabuf *d;
	struct vgshim_obj *obj = NULL;
	struct stat st;
	int ret;

	if (fd < 0 || vgshim_real_fstat(fd, &st))
		return -EBADF;
	pthread_mutex_lock(&vgshim_dev.prime_lock);
	d = vgshim_hash_get(&vgshim_dev.dmabuf_by_ino, (uint64_t)st.st_ino);
	if (d && d->st_dev == st.st_dev) {
		obj = d->obj;
		vgshim_obj_get(obj);
	}
	pthread_mutex_unlock(&vgshim_dev.prime_lock);
	if (!obj) {
		ret = vgshim_prime_wrap_foreign(fd, &st, &obj);
		if (ret)
			return ret;
	}
	/* On the real host a resource exists in the vtest connection (host
	 * context) that created it, and its id means something only there:
	 * vtest cannot attach it to another client as a VM's host attaches a
	 * resource to every context that imports it. Handing the id to
	 * another file would have its driver name an unknown or a different
	 * resource of its own context, which the host answers by killing the
	 * context. So the model refuses the import, a limit of this mode
	 * (docs/kernel-model.md, "The real host"). */
	if (vgshim_real_host() && obj->rhost != f->rhost) {
		vgshim_log("real host: import of %s refused: vtest cannot share a resource "
			   "between host contexts\n",
			   obj->imported_foreign ? "another process's dma-buf"
						 : "another DRM file's object");
		vgshim_obj_put(obj);
		return -EOPNOTSUPP;
	}
	/* the same handle, with no new reference, in a file that has one:
	 * userspace counts */
	ret = vgshim_file_find_or_add(f, obj, handle);
	vgshim_obj_put(obj);
	return ret;
}

int vgshim_dmabuf_attach(int dmabuf_fd, uint64_t *addr, uint64_t *size)
{
	struct vgshim_obj *obj = vgshim_dmabuf_obj_from_fd(dmabuf_fd);
	int ret = 0;

	if (!obj)
		return -EBADF;
	if (obj->vram && obj->mappable && vgshim_dev.cfg.kernel == VGSHIM_KERNEL_FIXED)
		vgshim_vram_prepare(obj);
	vgshim_lock();
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
			VGSHIM_INC(bogus_attaches);
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
	vgshim_obj_put(obj);
	return ret;
}
