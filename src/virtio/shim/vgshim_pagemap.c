/* SPDX-License-Identifier: MIT */
/*
 * Which pages of the address space hold a mapping the model tracks (of the
 * node or of a dma-buf), answerable without the model's lock.
 *
 * munmap is interposed for the whole process, so it also runs inside a
 * sanitizer's report: ThreadSanitizer's symbolizer unmaps its views of ELF
 * files while it holds its own locks. Taking the model's lock there, or
 * running instrumented model code (which re-enters TSan), deadlocks the
 * report. No such range ever holds a page of ours (the kernel never hands
 * out an address that is still mapped), so munmap asks this map first and
 * only a range with a tracked page takes the model's way.
 *
 * One bit per page, in leaves of 1 GiB of address space allocated on first
 * use and kept (address space is reused); written under the mapping lock,
 * read with atomics and without instrumentation. If a leaf cannot be
 * allocated, or an address is beyond the map, the map says "maybe" from
 * then on, which is the old behaviour (always the slow way), never wrong.
 */
#include <stdlib.h>

#include "vgshim_priv.h"

#define VGSHIM_PM_ADDR_BITS 47 /* x86-64 and arm64 user space, 4-level */
#define VGSHIM_PM_LEAF_SHIFT 30
#define VGSHIM_PM_LEAVES (1ull << (VGSHIM_PM_ADDR_BITS - VGSHIM_PM_LEAF_SHIFT))
#define VGSHIM_PM_LEAF_PAGES ((1ull << VGSHIM_PM_LEAF_SHIFT) / VGSHIM_PAGE)
#define VGSHIM_PM_LEAF_WORDS (VGSHIM_PM_LEAF_PAGES / 64)

static uint64_t *vgshim_pm_leaves[VGSHIM_PM_LEAVES];
static int vgshim_pm_incomplete;

/* Bits [b0, b1) of word w (0 <= b0 < b1 <= 64). */
VGSHIM_NO_TSAN static inline uint64_t vgshim_pm_mask(uint64_t b0, uint64_t b1)
{
	return (b1 == 64 ? ~0ull : (1ull << b1) - 1) & ~((1ull << b0) - 1);
}

/* Pages [first, end) as a clamp of [start, start + len); false if beyond
 * the map. */
VGSHIM_NO_TSAN static inline bool vgshim_pm_pages(uintptr_t start, size_t len, uint64_t *first,
				   uint64_t *end)
{
	const uint64_t limit = (1ull << VGSHIM_PM_ADDR_BITS) / VGSHIM_PAGE;

	*first = start / VGSHIM_PAGE;
	*end = ((uint64_t)start + len + VGSHIM_PAGE - 1) / VGSHIM_PAGE;
	if (*end < *first || *end > limit) {
		*end = limit;
		return false;
	}
	return true;
}

/* map_lock held. */
void vgshim_pages_mark(uintptr_t start, size_t len, bool tracked)
{
	uint64_t pg, end;

	if (!vgshim_pm_pages(start, len, &pg, &end) && tracked)
		__atomic_store_n(&vgshim_pm_incomplete, 1, __ATOMIC_RELEASE);
	while (pg < end) {
		uint64_t leaf = pg / VGSHIM_PM_LEAF_PAGES;
		uint64_t stop = (leaf + 1) * VGSHIM_PM_LEAF_PAGES < end ?
			(leaf + 1) * VGSHIM_PM_LEAF_PAGES : end;
		uint64_t *l = __atomic_load_n(&vgshim_pm_leaves[leaf], __ATOMIC_ACQUIRE);

		if (!l && tracked) {
			l = calloc(VGSHIM_PM_LEAF_WORDS, sizeof(*l));
			if (!l) {
				__atomic_store_n(&vgshim_pm_incomplete, 1, __ATOMIC_RELEASE);
				return;
			}
			__atomic_store_n(&vgshim_pm_leaves[leaf], l, __ATOMIC_RELEASE);
		}
		while (l && pg < stop) {
			uint64_t bit = pg % VGSHIM_PM_LEAF_PAGES, w = bit / 64, b0 = bit % 64;
			uint64_t b1 = stop - pg < 64 - b0 ? b0 + (stop - pg) : 64;
			uint64_t mask = vgshim_pm_mask(b0, b1);

			if (tracked)
				__atomic_fetch_or(&l[w], mask, __ATOMIC_RELEASE);
			else
				__atomic_fetch_and(&l[w], ~mask, __ATOMIC_RELEASE);
			pg += b1 - b0;
		}
		pg = stop;
	}
}

/* No lock; safe inside a sanitizer's report (not instrumented, calls only
 * inline helpers). */
VGSHIM_NO_TSAN bool vgshim_pages_any(uintptr_t start, size_t len)
{
	uint64_t pg, end;

	if (!vgshim_pm_pages(start, len, &pg, &end) ||
	    __atomic_load_n(&vgshim_pm_incomplete, __ATOMIC_ACQUIRE))
		return true;
	while (pg < end) {
		uint64_t leaf = pg / VGSHIM_PM_LEAF_PAGES;
		uint64_t stop = (leaf + 1) * VGSHIM_PM_LEAF_PAGES < end ?
			(leaf + 1) * VGSHIM_PM_LEAF_PAGES : end;
		uint64_t *l = __atomic_load_n(&vgshim_pm_leaves[leaf], __ATOMIC_ACQUIRE);

		while (l && pg < stop) {
			uint64_t bit = pg % VGSHIM_PM_LEAF_PAGES, w = bit / 64, b0 = bit % 64;
			uint64_t b1 = stop - pg < 64 - b0 ? b0 + (stop - pg) : 64;

			if (__atomic_load_n(&l[w], __ATOMIC_ACQUIRE) & vgshim_pm_mask(b0, b1))
				return true;
			pg += b1 - b0;
		}
		pg = stop;
	}
	return false;
}
