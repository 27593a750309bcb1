/* SPDX-License-Identifier: MIT */
/*
 * mmap of the node (and of dma-bufs), as the driver's mmap does it: the
 * offset names the object, the file must hold a handle to it, a vram object
 * must be MAPPABLE, its deferred map happens here, and the call waits until
 * the host has answered MAP_BLOB. The pages are the object's real memory.
 * A mapping holds a reference on the object until its last page is
 * unmapped (munmap, or a MAP_FIXED mapping on top of it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vgshim_priv.h"

static void vgshim_untrack(struct vgshim_mapping *m);

static int vgshim_track(struct vgshim_obj *obj, void *addr, size_t len)
{
	struct vgshim_mapping *m = vgshim_hash_get(&vgshim_dev.map_by_start, (uintptr_t)addr);

	/* A mapping we still track at this address was replaced behind our
	 * back (a raw syscall): it is gone. */
	if (m)
		vgshim_untrack(m);
	m = vgshim_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pieces = vgshim_calloc(1, sizeof(*m->pieces));
	if (!m->pieces) {
		free(m);
		return -ENOMEM;
	}
	m->start = (uintptr_t)addr;
	m->len = len;
	m->obj = obj;
	m->pieces[0] = (struct vgshim_range){ m->start, len };
	m->num_pieces = 1;
	if (vgshim_hash_put(&vgshim_dev.map_by_start, m->start, m)) {
		free(m->pieces);
		free(m);
		return -ENOMEM;
	}
	vgshim_pages_mark(m->start, len, true);
	obj->mappings++;
	__atomic_add_fetch(&vgshim_dev.live_mapping_count, 1, __ATOMIC_RELAXED);
	vgshim_dev.c.live_mappings++;
	vgshim_dev.c.mmaps++;
	return 0;
}

static void vgshim_untrack(struct vgshim_mapping *m)
{
	struct vgshim_obj *obj = m->obj;

	vgshim_hash_del(&vgshim_dev.map_by_start, m->start);
	for (size_t i = 0; i < m->num_pieces; i++)
		vgshim_pages_mark(m->pieces[i].start, m->pieces[i].size, false);
	free(m->pieces);
	free(m);
	obj->mappings--;
	__atomic_sub_fetch(&vgshim_dev.live_mapping_count, 1, __ATOMIC_RELAXED);
	vgshim_dev.c.munmaps++;
	vgshim_dev.c.live_mappings--;
	vgshim_obj_maybe_destroy(obj);
}

/* Removes [a, b) from the mapping's live pieces; true when none is left. */
static bool vgshim_cut(struct vgshim_mapping *m, uintptr_t a, uintptr_t b)
{
	size_t n = 0;
	struct vgshim_range out[64];

	for (size_t i = 0; i < m->num_pieces; i++) {
		uintptr_t s = m->pieces[i].start, e = s + m->pieces[i].size;

		if (b <= s || a >= e) {
			if (n < 64)
				out[n++] = m->pieces[i];
			continue;
		}
		if (s < a && n < 64)
			out[n++] = (struct vgshim_range){ s, a - s };
		if (b < e && n < 64)
			out[n++] = (struct vgshim_range){ b, e - b };
	}
	if (n > m->num_pieces) {
		struct vgshim_range *p = realloc(m->pieces, n * sizeof(*p));

		if (!p)
			return false; /* keep the old pieces: the object lives longer */
		m->pieces = p;
	}
	memcpy(m->pieces, out, n * sizeof(out[0]));
	m->num_pieces = n;
	return n == 0;
}

void vgshim_mappings_unmapped(uintptr_t start, size_t len)
{
	struct vgshim_hash *h = &vgshim_dev.map_by_start;
	struct vgshim_mapping *m;
	uintptr_t end = start + len;

	if (!__atomic_load_n(&vgshim_dev.live_mapping_count, __ATOMIC_RELAXED))
		return;
	/* The common case: exactly one whole mapping. */
	m = vgshim_hash_get(h, start);
	if (m && m->len == len && m->num_pieces == 1 && m->pieces[0].size == len) {
		vgshim_untrack(m);
		return;
	}
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->vals[i] || h->vals[i] == (void *)1)
			continue;
		m = h->vals[i];
		if (end <= m->start || start >= m->start + m->len)
			continue;
		if (vgshim_cut(m, start, end))
			vgshim_untrack(m); /* deletes slot i only: the scan may go on */
	}
	vgshim_pages_mark(start, len, false);
}

static void *vgshim_map_object(struct vgshim_obj *obj, void *addr, size_t len, int prot,
			       int flags, off_t obj_off)
{
	int fd, err;
	void *p;

	if (obj->vram && obj->mappable && !obj->imported_foreign) {
		/* the pages come from the host's answer */
		err = vgshim_vram_wait_mapped(obj);
		if (err) {
			errno = -err;
			return MAP_FAILED;
		}
	}
	fd = vgshim_obj_memfd(obj);
	if (fd < 0) {
		errno = -fd;
		return MAP_FAILED;
	}
	/* The syscall runs without the device lock (other threads' ioctls go
	 * on, as in a kernel); a provisional mapping reference keeps the
	 * object and its memory alive meanwhile. */
	obj->mappings++;
	vgshim_unlock();
	p = vgshim_real_mmap(addr, len, prot, flags, fd, obj_off);
	err = errno;
	vgshim_lock();
	obj->mappings--;
	if (p == MAP_FAILED) {
		vgshim_obj_maybe_destroy(obj);
		errno = err;
		return p;
	}
	if (flags & MAP_FIXED)
		vgshim_mappings_unmapped((uintptr_t)p, len);
	err = vgshim_track(obj, p, len);
	if (err) {
		vgshim_real_munmap(p, len);
		errno = -err;
		return MAP_FAILED;
	}
	return p;
}

/* Common checks of both mmap paths; returns 0 or a negative errno. */
static int vgshim_mmap_check(struct vgshim_obj *obj, size_t len, off_t obj_off)
{
	uint64_t rlen = ((uint64_t)len + VGSHIM_PAGE - 1) & ~(VGSHIM_PAGE - 1);
	int err;

	if (!len || obj_off < 0 || (uint64_t)obj_off % VGSHIM_PAGE)
		return -EINVAL;
	if (!vgshim_dev.cfg.partial_mmap) {
		/* up to Linux 6.14: the whole object, nothing else */
		if (obj_off || rlen != obj->size)
			return -EINVAL;
	} else if ((uint64_t)obj_off >= obj->size || rlen > obj->size - (uint64_t)obj_off) {
		return -EINVAL;
	}
	err = vgshim_fault_check("mmap");
	if (err)
		return -err;
	if (obj->vram && !obj->mappable)
		return -EINVAL;
	if (obj->vram && obj->mappable && !obj->imported_foreign && !obj->region_reserved) {
		/* the deferred map: every generation with the hint does it here */
		err = vgshim_vram_map_deferred(obj);
		if (err)
			return err;
	}
	return 0;
}

static struct vgshim_obj *vgshim_find_by_offset(uint64_t off, uint64_t *obj_off)
{
	struct vgshim_obj *obj = vgshim_hash_get(&vgshim_dev.by_offset, off);
	struct vgshim_hash *h = &vgshim_dev.by_offset;

	if (obj) {
		*obj_off = 0;
		return obj;
	}
	if (!vgshim_dev.cfg.partial_mmap)
		return NULL;
	/* a sub-range: the object whose offset range contains it */
	for (size_t i = 0; i < h->cap; i++) {
		obj = h->vals[i];
		if (!obj || obj == (void *)1)
			continue;
		if (off > obj->offset && off < obj->offset + obj->size) {
			*obj_off = off - obj->offset;
			return obj;
		}
	}
	return NULL;
}

void *vgshim_mmap_node(struct vgshim_file *f, void *addr, size_t len, int prot, int flags,
		       int fd, off_t off)
{
	struct vgshim_obj *obj;
	uint64_t obj_off = 0;
	int err;

	(void)fd;
	obj = off < 0 ? NULL : vgshim_find_by_offset((uint64_t)off, &obj_off);
	if (!obj) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (!vgshim_file_find_handle(f, obj)) {
		errno = EACCES;
		return MAP_FAILED;
	}
	err = vgshim_mmap_check(obj, len, (off_t)obj_off);
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	return vgshim_map_object(obj, addr, len, prot, flags, (off_t)obj_off);
}

void *vgshim_mmap_dmabuf(struct vgshim_dmabuf *d, void *addr, size_t len, int prot,
			 int flags, int fd, off_t off)
{
	int err;

	(void)fd;
	err = vgshim_mmap_check(d->obj, len, off);
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	return vgshim_map_object(d->obj, addr, len, prot, flags, off);
}
