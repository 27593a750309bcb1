/* SPDX-License-Identifier: MIT */
/*
 * Fake mmap offsets, as the DRM offset manager hands them out: an object's
 * offset names it for mmap, and a freed object's range is handed out
 * again. Here each object gets a slot of one fixed span (1 TiB) above
 * 4 GiB, so finding the object of an offset, or of an offset inside one
 * (partial mmap), is an index, and a freed slot is the next one given
 * (still in the cache): creation and lookup cost the same with 100 objects
 * or 100k. An object larger than a span gets -ENOSPC, as the kernel's
 * offset space (about that size) refuses it. All under dev.lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgshim_priv.h"

/* off_t stays positive: BASE + slots * span < 2^63 */
#define VGSHIM_MAX_SLOTS ((1u << 23) - 1)

int vgshim_offset_alloc(struct vgshim_obj *obj)
{
	struct vgshim_offsets *o = &vgshim_dev.offsets;
	uint32_t slot;

	if (obj->size > VGSHIM_OFFSET_SPAN)
		return -ENOSPC;
	if (o->num_free) {
		slot = o->free[--o->num_free];
	} else {
		if (o->num_slots == VGSHIM_MAX_SLOTS)
			return -ENOSPC;
		if (o->num_slots == o->cap) {
			uint32_t cap = o->cap ? o->cap * 2 : 1024;
			struct vgshim_obj **s = realloc(o->slots, cap * sizeof(*s));
			uint32_t *f;

			if (!s)
				return -ENOMEM;
			o->slots = s;
			f = realloc(o->free, cap * sizeof(*f));
			if (!f)
				return -ENOMEM;
			o->free = f;
			o->cap = cap;
		}
		slot = o->num_slots++;
	}
	o->slots[slot] = obj;
	obj->offset = VGSHIM_OFFSET_BASE + ((uint64_t)slot << VGSHIM_OFFSET_SPAN_SHIFT);
	return 0;
}

void vgshim_offset_free(struct vgshim_obj *obj)
{
	struct vgshim_offsets *o = &vgshim_dev.offsets;
	uint32_t slot;

	if (obj->offset < VGSHIM_OFFSET_BASE)
		return; /* never given one */
	slot = (uint32_t)((obj->offset - VGSHIM_OFFSET_BASE) >> VGSHIM_OFFSET_SPAN_SHIFT);
	if (slot >= o->num_slots || o->slots[slot] != obj)
		return;
	o->slots[slot] = NULL;
	/* room: every slot ever given has a place on the free stack */
	o->free[o->num_free++] = slot;
	obj->offset = 0;
}

struct vgshim_obj *vgshim_offset_lookup(uint64_t off, uint64_t *obj_off)
{
	struct vgshim_offsets *o = &vgshim_dev.offsets;
	struct vgshim_obj *obj;
	uint64_t rel, slot;

	if (off < VGSHIM_OFFSET_BASE)
		return NULL;
	rel = off - VGSHIM_OFFSET_BASE;
	slot = rel >> VGSHIM_OFFSET_SPAN_SHIFT;
	if (slot >= o->num_slots || !(obj = o->slots[slot]))
		return NULL;
	*obj_off = rel & (VGSHIM_OFFSET_SPAN - 1);
	/* inside an object: a sub-range, with partial mmap only */
	if (*obj_off && (!vgshim_dev.cfg.partial_mmap || *obj_off >= obj->size))
		return NULL;
	return obj;
}

void vgshim_offsets_fini(void)
{
	struct vgshim_offsets *o = &vgshim_dev.offsets;

	free(o->slots);
	free(o->free);
	memset(o, 0, sizeof(*o));
}
