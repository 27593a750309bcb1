/* SPDX-License-Identifier: MIT */
/*
 * The object table's hot operations, inline (vws_table.c has the rest and
 * the design). table_lock held. Insert: -EEXIST when the key is a live
 * object's (a closing object's key is taken over: the kernel only reuses a
 * key once it is closed), -ENOMEM. Remove: only if the key maps to bo.
 * Each object in the table knows its slot (bo->slot, kept when entries
 * move): removal needs no hash and no probe.
 */
#ifndef VWS_TABLE_H
#define VWS_TABLE_H

#include <errno.h>

#include "vws_priv.h"

#define VWS_TABLE_MIN_CAP 64u

int vws_table_grow(struct vws_table *t);

static inline uint32_t vws_table_home(const struct vws_table *t, uint32_t key)
{
	/* Fibonacci hashing: sequential handles spread over the table. */
	return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) & (t->cap - 1);
}

/* The slot holding key, or the free slot where it would go. */
static inline uint32_t vws_table_slot(const struct vws_table *t, uint32_t key)
{
	uint32_t i = vws_table_home(t, key);

	while (t->vals[i] && t->keys[i] != key)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static inline int vws_table_insert_locked(struct vws_device *dev, struct vws_bo *bo)
{
	struct vws_table *t = &dev->table;
	uint32_t i;

	/* At most half full: probes stay short. */
	if ((t->count + 1) * 2 > t->cap) {
		int ret = vws_table_grow(t);

		if (ret)
			return ret;
	}
	i = vws_table_slot(t, bo->handle);
	if (t->vals[i] && !t->vals[i]->closing)
		return -EEXIST;
	bo->slot = i;
	if (t->vals[i]) {
		/* the closing object's final removal will find it is not its own */
		t->vals[i] = bo;
		return 0;
	}
	t->keys[i] = bo->handle;
	t->vals[i] = bo;
	t->count++;
	return 0;
}

static inline struct vws_bo *vws_table_lookup_locked(struct vws_device *dev, uint32_t handle)
{
	const struct vws_table *t = &dev->table;

	return t->cap ? t->vals[vws_table_slot(t, handle)] : NULL;
}

/* bo was inserted (so the table has slots); it is where bo->slot says,
 * unless a creation took its slot over. */
static inline void vws_table_remove_locked(struct vws_device *dev, struct vws_bo *bo)
{
	struct vws_table *t = &dev->table;
	uint32_t i = bo->slot, j;

	if (t->vals[i] != bo)
		return;
	t->vals[i] = NULL;
	t->count--;
	/* Shift back the entries of the run after i that would no longer be
	 * found past the hole. */
	for (j = (i + 1) & (t->cap - 1); t->vals[j]; j = (j + 1) & (t->cap - 1)) {
		uint32_t home = vws_table_home(t, t->keys[j]);

		/* j's entry stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->keys[i] = t->keys[j];
		t->vals[i] = t->vals[j];
		t->vals[i]->slot = i;
		t->vals[j] = NULL;
		i = j;
	}
}

#endif
