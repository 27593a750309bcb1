/* SPDX-License-Identifier: MIT */
/*
 * Open-addressing uint64 -> pointer map: lookups by fake offset, dma-buf
 * inode, mapping address and (per file) object stay O(1) with 100k objects.
 *
 * Built for cache misses, the cost that grows with the number of objects:
 * a key and its value share a slot (one miss, not two, per probe), and a
 * deletion shifts the rest of its probe run back instead of leaving a
 * tombstone, so a table under create/free churn never fills with
 * tombstones and never needs a rehash of everything it holds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "vgshim_priv.h"

static size_t vgshim_slot(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

void *vgshim_hash_get(const struct vgshim_hash *h, uint64_t key)
{
	if (!h->cap)
		return NULL;
	for (size_t i = vgshim_slot(key, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (!h->slots[i].val)
			return NULL;
		if (h->slots[i].key == key)
			return h->slots[i].val;
	}
}

static int vgshim_hash_grow(struct vgshim_hash *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	struct vgshim_hash_slot *n = calloc(cap, sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		size_t j;

		if (!h->slots[i].val)
			continue;
		j = vgshim_slot(h->slots[i].key, cap);
		while (n[j].val)
			j = (j + 1) & (cap - 1);
		n[j] = h->slots[i];
	}
	free(h->slots);
	h->slots = n;
	h->cap = cap;
	return 0;
}

int vgshim_hash_put(struct vgshim_hash *h, uint64_t key, void *val)
{
	size_t i;

	/* at most 3/4 full */
	if ((h->count + 1) * 4 > h->cap * 3) {
		int ret = vgshim_hash_grow(h);

		if (ret)
			return ret;
	}
	for (i = vgshim_slot(key, h->cap); h->slots[i].val; i = (i + 1) & (h->cap - 1)) {
		if (h->slots[i].key == key) {
			h->slots[i].val = val;
			return 0;
		}
	}
	h->slots[i].key = key;
	h->slots[i].val = val;
	h->count++;
	return 0;
}

void vgshim_hash_del(struct vgshim_hash *h, uint64_t key)
{
	size_t mask = h->cap - 1, i, j;

	if (!h->cap)
		return;
	for (i = vgshim_slot(key, h->cap);; i = (i + 1) & mask) {
		if (!h->slots[i].val)
			return;
		if (h->slots[i].key == key)
			break;
	}
	/* Backward shift: an entry after the hole moves into it unless its
	 * home slot lies cyclically in (hole, entry]. */
	for (j = (i + 1) & mask; h->slots[j].val; j = (j + 1) & mask) {
		size_t home = vgshim_slot(h->slots[j].key, h->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i].val = NULL;
	h->count--;
}

void vgshim_hash_fini(struct vgshim_hash *h)
{
	free(h->slots);
	*h = (struct vgshim_hash){ 0 };
}
