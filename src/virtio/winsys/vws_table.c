/* SPDX-License-Identifier: MIT */
/*
 * The device's object table: table key (GEM handle, vtest res id) -> the
 * one vws_bo that owns it. Keys come from the kernel or, on vtest, from a
 * server we do not trust, so the table is a hash map whose size follows the
 * number of live objects, never the value of a key: any 32-bit key costs one
 * slot. Open addressing, linear probing, deletion by shifting back (no
 * tombstones); a slot is free when its value is NULL. Callers hold
 * table_lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "vws_priv.h"

#define VWS_TABLE_MIN_CAP 64u

static uint32_t vws_table_home(const struct vws_table *t, uint32_t key)
{
	/* Fibonacci hashing: sequential handles spread over the table. */
	return (uint32_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 32) & (t->cap - 1);
}

static int vws_table_grow(struct vws_table *t)
{
	struct vws_table n = { .cap = t->cap ? t->cap * 2 : VWS_TABLE_MIN_CAP };

	if (n.cap < t->cap)
		return -ENOMEM;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->cap; i++) {
		uint32_t j;

		if (!t->vals[i])
			continue;
		for (j = vws_table_home(&n, t->keys[i]); n.vals[j]; j = (j + 1) & (n.cap - 1))
			;
		n.keys[j] = t->keys[i];
		n.vals[j] = t->vals[i];
	}
	n.count = t->count;
	free(t->keys);
	free(t->vals);
	*t = n;
	return 0;
}

/* The slot holding key, or the free slot where it would go. */
static uint32_t vws_table_slot(const struct vws_table *t, uint32_t key)
{
	uint32_t i = vws_table_home(t, key);

	while (t->vals[i] && t->keys[i] != key)
		i = (i + 1) & (t->cap - 1);
	return i;
}

int vws_table_insert_locked(struct vws_device *dev, struct vws_bo *bo)
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

struct vws_bo *vws_table_lookup_locked(struct vws_device *dev, uint32_t handle)
{
	const struct vws_table *t = &dev->table;

	return t->cap ? t->vals[vws_table_slot(t, handle)] : NULL;
}

void vws_table_remove_locked(struct vws_device *dev, struct vws_bo *bo)
{
	struct vws_table *t = &dev->table;
	uint32_t i, j;

	if (!t->cap)
		return;
	i = vws_table_slot(t, bo->handle);
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
		t->vals[j] = NULL;
		i = j;
	}
}

struct vws_bo *vws_table_next_locked(struct vws_device *dev, uint32_t *pos)
{
	const struct vws_table *t = &dev->table;

	for (; *pos < t->cap; (*pos)++)
		if (t->vals[*pos] && !t->vals[*pos]->closing)
			return t->vals[(*pos)++];
	return NULL;
}

void vws_table_fini(struct vws_device *dev)
{
	free(dev->table.keys);
	free(dev->table.vals);
	dev->table = (struct vws_table){ 0 };
}
