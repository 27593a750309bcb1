/* SPDX-License-Identifier: MIT */
/*
 * The device's object table: table key (GEM handle, vtest res id) -> the
 * one vws_bo that owns it. Keys come from the kernel or, on vtest, from a
 * server we do not trust, so the table is a hash map whose size follows the
 * number of live objects, never the value of a key: any 32-bit key costs one
 * slot. Open addressing, linear probing, deletion by shifting back (no
 * tombstones); a slot is free when its value is NULL. Callers hold
 * table_lock. Lookup, insert and removal are inline (vws_table.h): they
 * run on every creation and free.
 */
#include <errno.h>
#include <stdlib.h>

#include "vws_priv.h"
#include "vws_table.h"

int vws_table_grow(struct vws_table *t)
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
		n.vals[j]->slot = j;
	}
	n.count = t->count;
	free(t->keys);
	free(t->vals);
	*t = n;
	return 0;
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
