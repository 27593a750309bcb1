/* SPDX-License-Identifier: MIT */
/*
 * The host: a registry of host memory objects created by commands
 * (vgshim_proto.h), and the asynchronous answers to MAP_BLOB, UNREF and
 * submissions. With VGSHIM_MAP_LATENCY_US = 0 the host answers at once, in
 * the caller's thread; otherwise one host thread answers each command when
 * its latency has passed, in the order the commands were sent.
 * Everything here runs with the device lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vgshim_priv.h"
#include "vgshim_proto.h"

struct vgshim_hostmem {
	uint64_t blob_id;
	uint64_t size;
	uint32_t flags;
	int memfd;
};

static void vgshim_hostmem_free(struct vgshim_hostmem *m)
{
	if (m->memfd >= 0)
		vgshim_real_close(m->memfd);
	free(m);
	vgshim_dev.c.host_mem_objects--;
}

void vgshim_host_fini_registry(void)
{
	struct vgshim_hash *h = &vgshim_dev.mem_by_id;

	for (size_t i = 0; i < h->cap; i++)
		if (h->vals[i] && h->vals[i] != (void *)1)
			vgshim_hostmem_free(h->vals[i]);
	vgshim_hash_fini(h);
}

static void vgshim_host_create_mem(uint64_t blob_id, uint64_t size, uint32_t flags)
{
	struct vgshim_hostmem *m;

	if (!blob_id || !size || vgshim_hash_get(&vgshim_dev.mem_by_id, blob_id)) {
		vgshim_dev.c.host_bad_cmds++;
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		vgshim_dev.c.host_bad_cmds++;
		return;
	}
	*m = (struct vgshim_hostmem){ blob_id, size, flags, -1 };
	m->memfd = memfd_create("vgshim-hostmem", MFD_CLOEXEC);
	if (m->memfd < 0 || ftruncate(m->memfd, (off_t)size) ||
	    vgshim_hash_put(&vgshim_dev.mem_by_id, blob_id, m)) {
		vgshim_dev.c.host_bad_cmds++;
		vgshim_dev.c.host_mem_objects++;
		vgshim_hostmem_free(m);
		return;
	}
	vgshim_dev.c.host_mem_objects++;
}

static void vgshim_host_destroy_mem(uint64_t blob_id)
{
	struct vgshim_hostmem *m = vgshim_hash_get(&vgshim_dev.mem_by_id, blob_id);

	if (!m) {
		vgshim_dev.c.host_bad_cmds++;
		return;
	}
	vgshim_hash_del(&vgshim_dev.mem_by_id, blob_id);
	vgshim_hostmem_free(m);
}

void vgshim_host_run_cmds(const uint32_t *cmds, size_t dwords)
{
	size_t i = 0;

	while (i < dwords) {
		uint32_t op = VGSHIM_CMD_OP(cmds[i]), len = VGSHIM_CMD_LEN(cmds[i]);
		const uint32_t *p = cmds + i + 1;

		if (!len || len > dwords - i) {
			vgshim_dev.c.host_bad_cmds++;
			return; /* the rest of the stream cannot be framed */
		}
		if (op == VGSHIM_CMD_CREATE_MEM && len == VGSHIM_CMD_CREATE_MEM_LEN)
			vgshim_host_create_mem(p[0] | (uint64_t)p[1] << 32,
					       p[2] | (uint64_t)p[3] << 32, p[4]);
		else if (op == VGSHIM_CMD_DESTROY_MEM && len == VGSHIM_CMD_DESTROY_MEM_LEN)
			vgshim_host_destroy_mem(p[0] | (uint64_t)p[1] << 32);
		else if (op != VGSHIM_CMD_NOP)
			vgshim_dev.c.host_bad_cmds++;
		i += len;
	}
}

/* What the host does on RESOURCE_CREATE_BLOB for a HOST3D blob: find the
 * memory the blob_id names. A miss is not an error yet: the guest learns of
 * it when it maps. */
int vgshim_host_resolve(struct vgshim_obj *obj)
{
	struct vgshim_hostmem *m;

	if (!obj->blob_id)
		return 0; /* host-allocated on first need */
	m = vgshim_hash_get(&vgshim_dev.mem_by_id, obj->blob_id);
	if (!m || m->size < obj->size || (obj->mappable && !(m->flags & VGSHIM_MEM_MAPPABLE)) ||
	    (m->flags & VGSHIM_MEM_FAIL_MAP)) {
		obj->host_missing = true;
		return 0;
	}
	/* The blob shares the host object's pages, as a host resource does. */
	obj->memfd = vgshim_real_fcntl(m->memfd, F_DUPFD_CLOEXEC, 0);
	return obj->memfd < 0 ? -errno : 0;
}

static void vgshim_host_answer_map(struct vgshim_obj *obj)
{
	int err = vgshim_fault_check("hostmap");

	if (!err && vgshim_obj_memfd(obj) < 0)
		err = EIO;
	obj->map_state = err ? VGSHIM_MAP_ERR : VGSHIM_MAP_OK;
	if (err)
		vgshim_dev.c.host_map_errors++;
}

static void vgshim_host_answer_unref(struct vgshim_obj *obj)
{
	struct vgshim_dev *d = &vgshim_dev;

	if (obj->region_reserved) {
		vgshim_region_release(&d->region, obj->region_offset, obj->size);
		d->c.region_bytes_in_use -= obj->size;
	}
	if (!obj->vram)
		d->guest_bytes -= obj->size;
	if (obj->memfd >= 0)
		vgshim_real_close(obj->memfd);
	d->c.live_objects--;
	free(obj);
}

void vgshim_fence_complete(struct vgshim_fence *fence)
{
	uint64_t one = 1;

	for (uint32_t i = 0; i < fence->num_objs; i++) {
		fence->objs[i]->busy--;
		vgshim_obj_maybe_destroy(fence->objs[i]);
	}
	for (uint32_t i = 0; i < fence->num_out && fence->file; i++) {
		struct vgshim_syncobj *s = vgshim_syncobj_lookup(fence->file, fence->out_syncobjs[i]);

		if (s) {
			s->signaled = true;
			if (fence->out_points[i] > s->point)
				s->point = fence->out_points[i];
		}
	}
	if (fence->efd >= 0) {
		if (write(fence->efd, &one, sizeof(one)) < 0) {
			/* an eventfd write of 1 cannot fail short of overflow */
		}
		vgshim_real_close(fence->efd);
	}
	if (fence->host_fd >= 0)
		vgshim_real_close(fence->host_fd);
	free(fence->objs);
	free(fence->out_syncobjs);
	free(fence->out_points);
	free(fence);
}

void vgshim_host_answer_event(struct vgshim_event *ev)
{
	switch (ev->kind) {
	case VGSHIM_EV_MAP:
		vgshim_host_answer_map(ev->obj);
		break;
	case VGSHIM_EV_UNREF:
		vgshim_host_answer_unref(ev->obj);
		break;
	case VGSHIM_EV_FENCE:
		vgshim_fence_complete(ev->fence);
		break;
	}
	free(ev);
	vgshim_dev.events_pending--;
	pthread_cond_broadcast(&vgshim_dev.cond);
}

static void *vgshim_host_thread(void *arg)
{
	struct vgshim_dev *d = &vgshim_dev;

	(void)arg;
	vgshim_lock();
	while (!d->host_thread_stop) {
		struct vgshim_event *ev = d->events;
		struct timespec ts;

		if (!ev || d->host_held) {
			pthread_cond_wait(&d->cond, &d->lock);
			continue;
		}
		if (vgshim_now_ns() < ev->deadline_ns) {
			ts.tv_sec = (time_t)(ev->deadline_ns / 1000000000ull);
			ts.tv_nsec = (long)(ev->deadline_ns % 1000000000ull);
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
			continue;
		}
		d->events = ev->next;
		vgshim_host_answer_event(ev);
	}
	d->host_thread_running = false;
	vgshim_unlock();
	return NULL;
}

void vgshim_host_queue(enum vgshim_event_kind kind, struct vgshim_obj *obj,
		       struct vgshim_fence *fence)
{
	struct vgshim_dev *d = &vgshim_dev;
	struct vgshim_event *ev, **pos;

	/* An event cannot be dropped: a lost MAP answer would be a hang the
	 * kernel does not have. Its allocation is not fault-injected. */
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		vgshim_log("out of memory queueing a host command; aborting\n");
		abort();
	}
	ev->kind = kind;
	ev->obj = obj;
	ev->fence = fence;
	d->events_pending++;
	if (!d->cfg.map_latency_us && !d->events && !d->host_held) {
		vgshim_host_answer_event(ev);
		return;
	}
	ev->deadline_ns = vgshim_now_ns() + d->cfg.map_latency_us * 1000ull;
	for (pos = &d->events; *pos && (*pos)->deadline_ns <= ev->deadline_ns; pos = &(*pos)->next)
		;
	ev->next = *pos;
	*pos = ev;
	if (!d->host_thread_running) {
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		d->host_thread_stop = false;
		if (pthread_create(&d->host_thread, &attr, vgshim_host_thread, NULL)) {
			vgshim_log("cannot start the host thread; aborting\n");
			abort();
		}
		pthread_attr_destroy(&attr);
		d->host_thread_running = true;
	}
	pthread_cond_broadcast(&d->cond);
}
