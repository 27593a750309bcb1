/* SPDX-License-Identifier: MIT */
/*
 * DRM syncobjs, enough for a winsys: binary and timeline values, create,
 * destroy, wait (all or any, absolute CLOCK_MONOTONIC timeout), reset,
 * signal, query. Submissions signal their out-syncobjs when the host
 * completes them. All under the device lock: the host signals them and
 * their waits wait on the device's condition, as the kernel's syncobj
 * waits on their fences' callbacks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgshim_priv.h"

struct vgshim_syncobj *vgshim_syncobj_lookup(struct vgshim_file *f, uint32_t handle)
{
	return handle && handle < f->num_syncobjs ? f->syncobjs[handle] : NULL;
}

void vgshim_file_free_syncobjs(struct vgshim_file *f)
{
	for (uint32_t h = 1; h < f->num_syncobjs; h++) {
		if (f->syncobjs[h]) {
			free(f->syncobjs[h]);
			VGSHIM_DEC(live_syncobjs);
		}
	}
	free(f->syncobjs);
	f->syncobjs = NULL;
	f->num_syncobjs = 0;
}

static int vgshim_syncobj_create(struct vgshim_file *f, struct drm_syncobj_create *c)
{
	struct vgshim_syncobj *s;
	uint32_t h;

	if (c->flags & ~(uint32_t)DRM_SYNCOBJ_CREATE_SIGNALED)
		return -EINVAL;
	for (h = 1; h < f->num_syncobjs && f->syncobjs[h]; h++)
		;
	if (h >= f->num_syncobjs) {
		uint32_t n = f->num_syncobjs ? f->num_syncobjs * 2 : 16;
		struct vgshim_syncobj **t = vgshim_realloc(f->syncobjs, n * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + f->num_syncobjs, 0, (n - f->num_syncobjs) * sizeof(*t));
		if (!f->num_syncobjs)
			h = 1;
		f->syncobjs = t;
		f->num_syncobjs = n;
	}
	s = vgshim_calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->signaled = c->flags & DRM_SYNCOBJ_CREATE_SIGNALED;
	f->syncobjs[h] = s;
	VGSHIM_INC(live_syncobjs);
	c->handle = h;
	return 0;
}

static int vgshim_syncobj_destroy(struct vgshim_file *f, struct drm_syncobj_destroy *d)
{
	struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, d->handle);

	if (!s || d->pad)
		return -EINVAL;
	f->syncobjs[d->handle] = NULL;
	free(s);
	VGSHIM_DEC(live_syncobjs);
	return 0;
}

static bool vgshim_syncobj_done(const struct vgshim_syncobj *s, uint64_t point)
{
	return point ? s->point >= point : s->signaled;
}

/* handles/points are user arrays of count entries; points may be NULL. */
static int vgshim_syncobj_wait_common(struct vgshim_file *f, const uint32_t *handles,
				      const uint64_t *points, uint32_t count, int64_t timeout_ns,
				      uint32_t flags, uint32_t *first)
{
	const uint32_t known = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL |
			       DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
			       DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
	if (flags & ~known || !count)
		return -EINVAL;
	if (!handles)
		return -EFAULT;
	for (uint32_t i = 0; i < count; i++)
		if (!vgshim_syncobj_lookup(f, handles[i]))
			return -ENOENT;
	if (timeout_ns < 0)
		timeout_ns = 0;
	for (;;) {
		uint32_t done = 0, first_done = UINT32_MAX;

		for (uint32_t i = 0; i < count; i++) {
			/* a destroyed syncobj ends the wait with an error */
			struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, handles[i]);

			if (!s)
				return -ENOENT;
			if (vgshim_syncobj_done(s, points ? points[i] : 0)) {
				done++;
				if (first_done == UINT32_MAX)
					first_done = i;
			}
		}
		if ((flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL) ? done == count : done > 0) {
			if (first)
				*first = first_done;
			return 0;
		}
		if ((uint64_t)vgshim_now_ns() >= (uint64_t)timeout_ns)
			return -ETIME;
		vgshim_wait_until((uint64_t)timeout_ns);
	}
}

static int vgshim_syncobj_array(struct vgshim_file *f, struct drm_syncobj_array *a, bool signal)
{
	const uint32_t *handles = (const void *)(uintptr_t)a->handles;

	if (a->pad || !a->count_handles)
		return -EINVAL;
	if (!handles)
		return -EFAULT;
	for (uint32_t i = 0; i < a->count_handles; i++)
		if (!vgshim_syncobj_lookup(f, handles[i]))
			return -ENOENT;
	for (uint32_t i = 0; i < a->count_handles; i++)
		vgshim_syncobj_lookup(f, handles[i])->signaled = signal;
	if (signal)
		pthread_cond_broadcast(&vgshim_dev.cond);
	return 0;
}

static int vgshim_syncobj_timeline(struct vgshim_file *f, struct drm_syncobj_timeline_array *a,
				   bool signal)
{
	const uint32_t *handles = (const void *)(uintptr_t)a->handles;
	uint64_t *points = (void *)(uintptr_t)a->points;

	if (a->flags & ~(uint32_t)DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED || !a->count_handles)
		return -EINVAL;
	if (!handles || !points)
		return -EFAULT;
	for (uint32_t i = 0; i < a->count_handles; i++)
		if (!vgshim_syncobj_lookup(f, handles[i]))
			return -ENOENT;
	for (uint32_t i = 0; i < a->count_handles; i++) {
		struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, handles[i]);

		if (signal) {
			if (points[i] > s->point)
				s->point = points[i];
			s->signaled = true;
		} else {
			points[i] = s->point;
		}
	}
	if (signal)
		pthread_cond_broadcast(&vgshim_dev.cond);
	return 0;
}

static int vgshim_syncobj_dispatch(struct vgshim_file *f, unsigned nr, void *data)
{
	switch (nr) {
	case 0xbf:
		return vgshim_syncobj_create(f, data);
	case 0xc0:
		return vgshim_syncobj_destroy(f, data);
	case 0xc3: {
		struct drm_syncobj_wait *w = data;

		return vgshim_syncobj_wait_common(f, (const void *)(uintptr_t)w->handles, NULL,
						  w->count_handles, w->timeout_nsec, w->flags,
						  &w->first_signaled);
	}
	case 0xc4:
		return vgshim_syncobj_array(f, data, false);
	case 0xc5:
		return vgshim_syncobj_array(f, data, true);
	case 0xca: {
		struct drm_syncobj_timeline_wait *w = data;

		return vgshim_syncobj_wait_common(f, (const void *)(uintptr_t)w->handles,
						  (const void *)(uintptr_t)w->points,
						  w->count_handles, w->timeout_nsec, w->flags,
						  &w->first_signaled);
	}
	case 0xcb:
		return vgshim_syncobj_timeline(f, data, false);
	case 0xcd:
		return vgshim_syncobj_timeline(f, data, true);
	default:
		return -EINVAL;
	}
}

int vgshim_syncobj_ioctl(struct vgshim_file *f, unsigned nr, void *data)
{
	int ret;

	vgshim_lock();
	ret = vgshim_syncobj_dispatch(f, nr, data);
	vgshim_unlock();
	return ret;
}
