/* SPDX-License-Identifier: MIT */
/* Open-addressing uint64 -> pointer map: lookups by fake offset, res id,
 * dma-buf inode and mapping address stay O(1) with 100k objects. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "vgshim_priv.h"

#define VGSHIM_EMPTY 0
#define VGSHIM_TOMB ((void *)1)

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
		if (h->vals[i] == VGSHIM_EMPTY)
			return NULL;
		if (h->vals[i] != VGSHIM_TOMB && h->keys[i] == key)
			return h->vals[i];
	}
}

static int vgshim_hash_grow(struct vgshim_hash *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	struct vgshim_hash n = { 0 };

	if ((h->count + 1) * 2 < h->cap)
		cap = h->cap; /* only tombstones: rehash in place size */
	n.keys = calloc(cap, sizeof(*n.keys));
	n.vals = calloc(cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	n.cap = cap;
	for (size_t i = 0; i < h->cap; i++) {
		if (h->vals[i] == VGSHIM_EMPTY || h->vals[i] == VGSHIM_TOMB)
			continue;
		size_t j = vgshim_slot(h->keys[i], cap);

		while (n.vals[j])
			j = (j + 1) & (cap - 1);
		n.keys[j] = h->keys[i];
		n.vals[j] = h->vals[i];
		n.count++;
	}
	free(h->keys);
	free(h->vals);
	*h = n;
	return 0;
}

int vgshim_hash_put(struct vgshim_hash *h, uint64_t key, void *val)
{
	size_t i;

	if ((h->count + h->tomb + 1) * 4 >= h->cap * 3) {
		int ret = vgshim_hash_grow(h);

		if (ret)
			return ret;
	}
	size_t tomb = SIZE_MAX;

	for (i = vgshim_slot(key, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (h->vals[i] == VGSHIM_EMPTY)
			break;
		if (h->vals[i] == VGSHIM_TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		if (h->keys[i] == key) {
			h->vals[i] = val;
			return 0;
		}
	}
	if (tomb != SIZE_MAX) {
		i = tomb;
		h->tomb--;
	}
	h->keys[i] = key;
	h->vals[i] = val;
	h->count++;
	return 0;
}

void vgshim_hash_del(struct vgshim_hash *h, uint64_t key)
{
	if (!h->cap)
		return;
	for (size_t i = vgshim_slot(key, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (h->vals[i] == VGSHIM_EMPTY)
			return;
		if (h->vals[i] != VGSHIM_TOMB && h->keys[i] == key) {
			h->vals[i] = VGSHIM_TOMB;
			h->count--;
			h->tomb++;
			return;
		}
	}
}

void vgshim_hash_fini(struct vgshim_hash *h)
{
	free(h->keys);
	free(h->vals);
	*h = (struct vgshim_hash){ 0 };
}
