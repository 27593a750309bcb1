/* SPDX-License-Identifier: MIT */
/*
 * mmap of the node (and of dma-bufs), as the driver's mmap does it: the
 * offset names the object, the file must hold a handle to it, a vram object
 * must be MAPPABLE, its deferred map happens here, and the call waits until
 * the host has answered MAP_BLOB. The pages are the object's real memory.
 * A mapping holds a reference on the object until its last page is
 * unmapped (munmap, or a MAP_FIXED mapping on top of it).
 *
 * The mapping table has its own lock; the mmap and munmap syscalls run
 * with no lock held, as the kernel runs them under the process's mm lock
 * and not the driver's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vgshim_priv.h"

/* Takes m out of the table, map_lock held; it goes on *dead. */
static void vgshim_untrack(struct vgshim_mapping *m, struct vgshim_mapping **dead)
{
	vgshim_hash_del(&vgshim_dev.map_by_start, m->start);
	for (size_t i = 0; i < m->num_pieces; i++)
		vgshim_pages_mark(m->pieces[i].start, m->pieces[i].size, false);
	atomic_fetch_sub_explicit(&vgshim_dev.live_mapping_count, 1, memory_order_relaxed);
	m->next_dead = *dead;
	*dead = m;
}

void vgshim_mappings_release(struct vgshim_mapping *dead)
{
	while (dead) {
		struct vgshim_mapping *m = dead;

		dead = m->next_dead;
		atomic_fetch_sub_explicit(&m->obj->mappings, 1, memory_order_relaxed);
		VGSHIM_INC(munmaps);
		VGSHIM_DEC(live_mappings);
		vgshim_obj_put(m->obj);
		free(m->pieces);
		free(m);
	}
}

/* Tracks a new mapping of obj, map_lock held; the caller's reference on
 * obj becomes the mapping's. */
static int vgshim_track(struct vgshim_obj *obj, void *addr, size_t len,
			struct vgshim_mapping **dead)
{
	struct vgshim_mapping *m = vgshim_hash_get(&vgshim_dev.map_by_start, (uintptr_t)addr);

	/* A mapping we still track at this address was replaced behind our
	 * back (a raw syscall): it is gone. */
	if (m)
		vgshim_untrack(m, dead);
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
	atomic_fetch_add_explicit(&vgshim_dev.live_mapping_count, 1, memory_order_relaxed);
	return 0;
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

struct vgshim_mapping *vgshim_mappings_unmapped(uintptr_t start, size_t len)
{
	struct vgshim_hash *h = &vgshim_dev.map_by_start;
	struct vgshim_mapping *m, *hit = NULL, *dead = NULL;
	uintptr_t end = start + len;

	if (!atomic_load_explicit(&vgshim_dev.live_mapping_count, memory_order_relaxed))
		return NULL;
	/* The common case: exactly one whole mapping. */
	m = vgshim_hash_get(h, start);
	if (m && m->len == len && m->num_pieces == 1 && m->pieces[0].size == len) {
		vgshim_untrack(m, &dead);
		return dead;
	}
	/* Collect first: taking an entry out moves others within the table. */
	for (size_t i = 0; i < h->cap; i++) {
		m = h->slots[i].val;
		if (!m || end <= m->start || start >= m->start + m->len)
			continue;
		m->next_dead = hit;
		hit = m;
	}
	while (hit) {
		m = hit;
		hit = m->next_dead;
		if (vgshim_cut(m, start, end))
			vgshim_untrack(m, &dead);
	}
	vgshim_pages_mark(start, len, false);
	return dead;
}

void *vgshim_mmap_obj(struct vgshim_file *f, struct vgshim_obj *obj, void *addr, size_t len,
		      int prot, int flags, off_t obj_off)
{
	uint64_t rlen = ((uint64_t)len + VGSHIM_PAGE - 1) & ~(VGSHIM_PAGE - 1);
	struct vgshim_mapping *dead = NULL;
	bool vram_map = obj->vram && obj->mappable && !obj->imported_foreign;
	int fd, err;
	void *p;

	(void)f;
	if (!len || obj_off < 0 || (uint64_t)obj_off % VGSHIM_PAGE) {
		err = -EINVAL;
		goto fail;
	}
	if (!vgshim_dev.cfg.partial_mmap) {
		/* up to Linux 6.14: the whole object, nothing else */
		if (obj_off || rlen != obj->size) {
			err = -EINVAL;
			goto fail;
		}
	} else if ((uint64_t)obj_off >= obj->size || rlen > obj->size - (uint64_t)obj_off) {
		err = -EINVAL;
		goto fail;
	}
	err = -vgshim_fault_check("mmap");
	if (err)
		goto fail;
	if (obj->vram && !obj->mappable) {
		err = -EINVAL;
		goto fail;
	}
	if (vram_map) {
		/* the deferred map (every generation with the hint does it
		 * here), then the wait for the host's answer: the pages come
		 * from it */
		vgshim_vram_prepare(obj);
		vgshim_lock();
		err = obj->region_reserved ? 0 : vgshim_vram_map_deferred(obj);
		if (!err)
			err = vgshim_vram_wait_mapped(obj);
		vgshim_unlock();
		if (err)
			goto fail;
	}
	fd = vgshim_obj_memfd(obj);
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	/* No lock is held: other threads' calls go on, as in a kernel; the
	 * caller's reference keeps the object and its memory meanwhile. */
	p = vgshim_real_mmap(addr, len, prot, flags, fd, obj_off);
	if (p == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	pthread_mutex_lock(&vgshim_dev.map_lock);
	if (flags & MAP_FIXED)
		dead = vgshim_mappings_unmapped((uintptr_t)p, len);
	err = vgshim_track(obj, p, len, &dead);
	if (!err) {
		atomic_fetch_add_explicit(&obj->mappings, 1, memory_order_relaxed);
		VGSHIM_INC(live_mappings);
		VGSHIM_INC(mmaps);
	}
	pthread_mutex_unlock(&vgshim_dev.map_lock);
	vgshim_mappings_release(dead);
	if (err) {
		vgshim_real_munmap(p, len);
		goto fail;
	}
	return p;

fail:
	vgshim_obj_put(obj);
	errno = -err;
	return MAP_FAILED;
}

void *vgshim_mmap_node(struct vgshim_file *f, void *addr, size_t len, int prot, int flags,
		       off_t off)
{
	struct vgshim_obj *obj;
	uint64_t obj_off = 0;

	obj = off < 0 ? NULL : vgshim_obj_by_offset((uint64_t)off, &obj_off);
	if (!obj) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (!vgshim_file_has_handle(f, obj)) {
		vgshim_obj_put(obj);
		errno = EACCES;
		return MAP_FAILED;
	}
	return vgshim_mmap_obj(f, obj, addr, len, prot, flags, (off_t)obj_off);
}
