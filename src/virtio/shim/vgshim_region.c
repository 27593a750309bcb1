/* SPDX-License-Identifier: MIT */
/*
 * The host-visible region: a first-fit allocator of page-granular ranges,
 * like the kernel's drm_mm use for the hostmem BAR. Free ranges are kept
 * sorted and coalesced, so a full region of freed objects is one range.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vgshim_priv.h"

int vgshim_region_init(struct vgshim_region *r, uint64_t size)
{
	memset(r, 0, sizeof(*r));
	r->size = size;
	r->free = calloc(16, sizeof(*r->free));
	if (!r->free)
		return -ENOMEM;
	r->cap_free = 16;
	r->free[0] = (struct vgshim_range){ 0, size };
	r->num_free = 1;
	return 0;
}

void vgshim_region_fini(struct vgshim_region *r)
{
	free(r->free);
	memset(r, 0, sizeof(*r));
}

int vgshim_region_alloc(struct vgshim_region *r, uint64_t size, uint64_t *start)
{
	for (size_t i = 0; i < r->num_free; i++) {
		struct vgshim_range *f = &r->free[i];

		if (f->size < size)
			continue;
		*start = f->start;
		f->start += size;
		f->size -= size;
		if (!f->size) {
			memmove(f, f + 1, (r->num_free - i - 1) * sizeof(*f));
			r->num_free--;
		}
		return 0;
	}
	return -ENOSPC;
}

void vgshim_region_release(struct vgshim_region *r, uint64_t start, uint64_t size)
{
	size_t i = 0;

	while (i < r->num_free && r->free[i].start < start)
		i++;
	/* merge with the previous and/or the next free range */
	if (i > 0 && r->free[i - 1].start + r->free[i - 1].size == start) {
		r->free[i - 1].size += size;
		if (i < r->num_free && start + size == r->free[i].start) {
			r->free[i - 1].size += r->free[i].size;
			memmove(&r->free[i], &r->free[i + 1], (r->num_free - i - 1) * sizeof(r->free[0]));
			r->num_free--;
		}
		return;
	}
	if (i < r->num_free && start + size == r->free[i].start) {
		r->free[i].start = start;
		r->free[i].size += size;
		return;
	}
	if (r->num_free == r->cap_free) {
		struct vgshim_range *n = realloc(r->free, r->cap_free * 2 * sizeof(*n));

		if (!n)
			return; /* the range leaks from the allocator; the region only shrinks */
		r->free = n;
		r->cap_free *= 2;
	}
	memmove(&r->free[i + 1], &r->free[i], (r->num_free - i) * sizeof(r->free[0]));
	r->free[i] = (struct vgshim_range){ start, size };
	r->num_free++;
}
