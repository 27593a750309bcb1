/* SPDX-License-Identifier: MIT */
/*
 * The host: a registry of host memory objects created by commands
 * (vgshim_proto.h), and the asynchronous answers to MAP_BLOB, UNREF and
 * submissions.
 *
 * Latencies: VGSHIM_MAP_LATENCY_US is the time the host takes to answer a
 * MAP_BLOB, an UNREF or a fence; VGSHIM_CREATE_LATENCY_US the time its
 * work for RESOURCE_CREATE_BLOB takes. The kernel does not wait for the
 * creation (the ioctl returns when the command is queued), but the host
 * works on one object in order: a MAP_BLOB sent while the creation is not
 * finished is answered that much later. So the first map of an object
 * pays the creation's remaining time and the map's, and a map long after
 * the creation pays the map's only (deferred mapping's case), while
 * lazy-blob, creating at the first map, pays both.
 *
 * With no latency the host answers at once, in the caller's thread;
 * otherwise one host thread answers each event when its time has come (and
 * events held by vgshim_host_hold() are answered when released). An event
 * holds a reference on its object, so the object's UNREF cannot overtake
 * its MAP_BLOB. An answer's work under the device lock is short; what
 * closes fds or frees memory runs after it, with no lock held, and a queued
 * event counts as pending until then (so that vgshim_host_drain() means
 * done).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "vgshim_priv.h"
#include "vgshim_proto.h"

struct vgshim_hostmem {
	uint64_t blob_id;
	uint64_t size;
	uint32_t flags;
	int memfd;
	uint32_t refs;  /* the registry's, and lookups in flight (dev.lock) */
};

/* dev.lock held; returns true when m must be freed (no lock held) */
static bool vgshim_hostmem_put_locked(struct vgshim_hostmem *m)
{
	return --m->refs == 0;
}

static void vgshim_hostmem_free(struct vgshim_hostmem *m)
{
	if (m->memfd >= 0)
		vgshim_real_close(m->memfd);
	free(m);
}

void vgshim_host_fini_registry(void)
{
	struct vgshim_hash *h = &vgshim_dev.mem_by_id;

	/* only while nothing of the model is alive: no lookup in flight */
	for (size_t i = 0; i < h->cap; i++) {
		struct vgshim_hostmem *m = h->slots[i].val;

		if (m) {
			vgshim_hostmem_free(m);
			VGSHIM_DEC(host_mem_objects);
		}
	}
	vgshim_hash_fini(h);
}

static void vgshim_host_create_mem(uint64_t blob_id, uint64_t size, uint32_t flags)
{
	struct vgshim_hostmem *m;
	bool ok;

	if (!blob_id || !size) {
		VGSHIM_INC(host_bad_cmds);
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		VGSHIM_INC(host_bad_cmds);
		return;
	}
	*m = (struct vgshim_hostmem){ blob_id, size, flags, -1, 1 };
	m->memfd = memfd_create("vgshim-hostmem", MFD_CLOEXEC);
	if (m->memfd < 0 || ftruncate(m->memfd, (off_t)size)) {
		VGSHIM_INC(host_bad_cmds);
		vgshim_hostmem_free(m);
		return;
	}
	vgshim_lock();
	ok = !vgshim_hash_get(&vgshim_dev.mem_by_id, blob_id) &&
	     !vgshim_hash_put(&vgshim_dev.mem_by_id, blob_id, m);
	vgshim_unlock();
	if (!ok) {
		VGSHIM_INC(host_bad_cmds);
		vgshim_hostmem_free(m);
		return;
	}
	VGSHIM_INC(host_mem_objects);
}

static void vgshim_host_destroy_mem(uint64_t blob_id)
{
	struct vgshim_hostmem *m;
	bool last = false;

	vgshim_lock();
	m = vgshim_hash_get(&vgshim_dev.mem_by_id, blob_id);
	if (m) {
		vgshim_hash_del(&vgshim_dev.mem_by_id, blob_id);
		last = vgshim_hostmem_put_locked(m);
	}
	vgshim_unlock();
	if (!m) {
		VGSHIM_INC(host_bad_cmds);
		return;
	}
	VGSHIM_DEC(host_mem_objects);
	if (last)
		vgshim_hostmem_free(m);
}

void vgshim_host_run_cmds(const uint32_t *cmds, size_t dwords)
{
	size_t i = 0;

	while (i < dwords) {
		uint32_t op = VGSHIM_CMD_OP(cmds[i]), len = VGSHIM_CMD_LEN(cmds[i]);
		const uint32_t *p = cmds + i + 1;

		if (!len || len > dwords - i) {
			VGSHIM_INC(host_bad_cmds);
			return; /* the rest of the stream cannot be framed */
		}
		if (op == VGSHIM_CMD_CREATE_MEM && len == VGSHIM_CMD_CREATE_MEM_LEN)
			vgshim_host_create_mem(p[0] | (uint64_t)p[1] << 32,
					       p[2] | (uint64_t)p[3] << 32, p[4]);
		else if (op == VGSHIM_CMD_DESTROY_MEM && len == VGSHIM_CMD_DESTROY_MEM_LEN)
			vgshim_host_destroy_mem(p[0] | (uint64_t)p[1] << 32);
		else if (op != VGSHIM_CMD_NOP)
			VGSHIM_INC(host_bad_cmds);
		i += len;
	}
}

/* What the host does on RESOURCE_CREATE_BLOB for a HOST3D blob: find the
 * memory the blob_id names. A miss is not an error yet: the guest learns of
 * it when it maps. */
int vgshim_host_resolve(struct vgshim_obj *obj)
{
	struct vgshim_hostmem *m;
	bool last;
	int fd;

	if (!obj->blob_id)
		return 0; /* host-allocated on first need */
	vgshim_lock();
	m = vgshim_hash_get(&vgshim_dev.mem_by_id, obj->blob_id);
	if (m)
		m->refs++;
	vgshim_unlock();
	if (!m || m->size < obj->size || (obj->mappable && !(m->flags & VGSHIM_MEM_MAPPABLE)) ||
	    (m->flags & VGSHIM_MEM_FAIL_MAP)) {
		obj->host_missing = true;
		fd = 0;
	} else {
		/* The blob shares the host object's pages, as a host resource does. */
		fd = vgshim_real_fcntl(m->memfd, F_DUPFD_CLOEXEC, 0);
		if (fd >= 0)
			atomic_store(&obj->memfd, fd);
		else
			fd = -errno;
	}
	if (m) {
		vgshim_lock();
		last = vgshim_hostmem_put_locked(m);
		vgshim_unlock();
		if (last)
			vgshim_hostmem_free(m);
	}
	return fd < 0 ? fd : 0;
}

void vgshim_host_created(struct vgshim_obj *obj)
{
	uint64_t lat = vgshim_dev.cfg.create_latency_us;

	/* written before the object is published */
	obj->host_ready_ns = lat ? vgshim_now_ns() + lat * 1000ull : 0;
}

/* ---- answers ---- */

static void vgshim_host_answer_map(struct vgshim_obj *obj)
{
	int err = vgshim_fault_check("hostmap");

	if (!err && atomic_load(&obj->memfd) < 0)
		err = EIO; /* no memory behind it (unbacked, or it could not be made) */
	obj->map_state = err ? VGSHIM_MAP_ERR : VGSHIM_MAP_OK;
	if (err)
		VGSHIM_INC(host_map_errors);
}

static void vgshim_host_answer_unref_locked(struct vgshim_obj *obj)
{
	struct vgshim_dev *d = &vgshim_dev;

	if (obj->region_reserved) {
		vgshim_region_release(&d->region, obj->region_offset, obj->size);
		d->region_in_use -= obj->size;
	}
	if (!obj->vram)
		d->guest_bytes -= obj->size;
}

static void vgshim_host_answer_unref(struct vgshim_obj *obj)
{
	int fd = atomic_load(&obj->memfd);

	if (fd >= 0)
		vgshim_real_close(fd);
	VGSHIM_DEC(live_objects);
	vgshim_obj_free(obj);
}

/* The part of an answer that needs the device lock (held). */
static void vgshim_host_answer_locked(struct vgshim_event *ev)
{
	switch (ev->kind) {
	case VGSHIM_EV_CREATE:
		break;
	case VGSHIM_EV_MAP:
		vgshim_host_answer_map(ev->obj);
		break;
	case VGSHIM_EV_UNREF:
		vgshim_host_answer_unref_locked(ev->obj);
		break;
	case VGSHIM_EV_FENCE:
		vgshim_fence_signal_locked(ev->fence);
		break;
	}
}

/* The rest, no lock held. */
static void vgshim_host_answer_unlocked(struct vgshim_event *ev)
{
	switch (ev->kind) {
	case VGSHIM_EV_CREATE:
		/* host memory of a blob_id 0 object: made by the host while it
		 * creates, not at the guest's first map */
		vgshim_obj_memfd(ev->obj);
		vgshim_obj_put(ev->obj);
		break;
	case VGSHIM_EV_MAP:
		vgshim_obj_put(ev->obj); /* the command's reference */
		break;
	case VGSHIM_EV_UNREF:
		vgshim_host_answer_unref(ev->obj);
		break;
	case VGSHIM_EV_FENCE:
		vgshim_fence_finish(ev->fence);
		break;
	}
	free(ev);
}

/* An answered event is done, dev.lock held. */
static void vgshim_host_done_locked(void)
{
	vgshim_dev.events_pending--;
	pthread_cond_broadcast(&vgshim_dev.cond);
}

/* Answers ev now, dev.lock held and dropped meanwhile. */
static void vgshim_host_answer(struct vgshim_event *ev)
{
	if (ev->kind == VGSHIM_EV_MAP && atomic_load(&ev->obj->memfd) < 0 &&
	    !ev->obj->host_missing) {
		/* the host makes the memory it maps (not under the lock) */
		vgshim_unlock();
		vgshim_obj_memfd(ev->obj);
		vgshim_lock();
	}
	vgshim_host_answer_locked(ev);
	vgshim_unlock();
	vgshim_host_answer_unlocked(ev);
	vgshim_lock();
	vgshim_host_done_locked();
}

static void *vgshim_host_thread(void *arg)
{
	struct vgshim_dev *d = &vgshim_dev;

	(void)arg;
	/* the latencies are the host's, not the timer's: no slack added */
	prctl(PR_SET_TIMERSLACK, 1000ul, 0, 0, 0);
	vgshim_lock();
	while (!d->host_thread_stop) {
		struct vgshim_event *ev = d->events;

		if (!ev || d->host_held) {
			pthread_cond_wait(&d->cond, &d->lock);
			continue;
		}
		if (vgshim_now_ns() < ev->deadline_ns) {
			vgshim_wait_until(ev->deadline_ns);
			continue;
		}
		d->events = ev->next;
		vgshim_host_answer(ev);
	}
	d->host_thread_running = false;
	pthread_cond_broadcast(&d->cond);
	vgshim_unlock();
	return NULL;
}

/* Queues ev by deadline, dev.lock held. The host works on one object in
 * order: an event never overtakes an earlier one of its object. */
static void vgshim_host_enqueue_locked(struct vgshim_event *ev)
{
	struct vgshim_dev *d = &vgshim_dev;
	struct vgshim_event **pos;
	uint64_t start = vgshim_now_ns();

	if (ev->kind == VGSHIM_EV_CREATE) {
		ev->deadline_ns = ev->obj->host_ready_ns; /* set when it was sent */
	} else {
		if (ev->obj && ev->obj->host_ready_ns > start)
			start = ev->obj->host_ready_ns;
		ev->deadline_ns = start + d->cfg.map_latency_us * 1000ull;
		if (ev->obj)
			ev->obj->host_ready_ns = ev->deadline_ns;
	}
	for (pos = &d->events; *pos && (*pos)->deadline_ns <= ev->deadline_ns; pos = &(*pos)->next)
		;
	ev->next = *pos;
	*pos = ev;
	d->events_pending++;
	if (!d->host_thread_running && (d->cfg.map_latency_us || d->cfg.create_latency_us)) {
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

static struct vgshim_event *vgshim_host_event(enum vgshim_event_kind kind, struct vgshim_obj *obj,
					      struct vgshim_fence *fence)
{
	/* An event cannot be dropped: a lost MAP answer would be a hang the
	 * kernel does not have. Its allocation is not fault-injected. */
	struct vgshim_event *ev = calloc(1, sizeof(*ev));

	if (!ev) {
		vgshim_log("out of memory queueing a host command; aborting\n");
		abort();
	}
	ev->kind = kind;
	ev->obj = obj;
	ev->fence = fence;
	return ev;
}

/* Is the event answered at once, in the caller's thread? With no latency
 * and the host done with what came before: an object's own events are
 * ordered by the references they hold (its UNREF cannot be sent while its
 * MAP_BLOB is queued), fences by the queue, which must be empty for one.
 * Different objects' answers may run in different threads at once. */
static bool vgshim_host_immediate_locked(enum vgshim_event_kind kind, const struct vgshim_obj *obj)
{
	const struct vgshim_dev *d = &vgshim_dev;

	if (d->cfg.map_latency_us || d->host_held)
		return false;
	if (kind == VGSHIM_EV_FENCE)
		return !d->host_thread_running && !d->events && !d->host_pumping;
	return !(obj && obj->host_ready_ns > vgshim_now_ns());
}

void vgshim_host_send_map(struct vgshim_obj *obj)
{
	/* nothing to do outside the lock (vgshim_vram_prepare made the
	 * memory): answered here, or queued */
	if (vgshim_host_immediate_locked(VGSHIM_EV_MAP, obj)) {
		vgshim_host_answer_map(obj);
		pthread_cond_broadcast(&vgshim_dev.cond);
		return;
	}
	vgshim_obj_get(obj);
	vgshim_host_enqueue_locked(vgshim_host_event(VGSHIM_EV_MAP, obj, NULL));
}

void vgshim_host_pump(void)
{
	struct vgshim_dev *d = &vgshim_dev;

	vgshim_lock();
	/* one answerer at a time for what is queued: answers stay in order */
	if (d->host_pumping || d->host_thread_running) {
		/* the one answering will get to what was queued */
		vgshim_unlock();
		return;
	}
	d->host_pumping = true;
	while (d->events && !d->host_held) {
		struct vgshim_event *ev = d->events;

		d->events = ev->next;
		vgshim_host_answer(ev);
	}
	d->host_pumping = false;
	vgshim_unlock();
}

void vgshim_host_send(enum vgshim_event_kind kind, struct vgshim_obj *obj,
		      struct vgshim_fence *fence)
{
	struct vgshim_event ev = { .kind = kind, .obj = obj, .fence = fence };

	vgshim_lock();
	if (kind == VGSHIM_EV_UNREF)
		vgshim_offset_free(obj);
	if (vgshim_host_immediate_locked(kind, obj)) {
		vgshim_host_answer_locked(&ev);
		pthread_cond_broadcast(&vgshim_dev.cond);
		vgshim_unlock();
		if (kind == VGSHIM_EV_UNREF)
			vgshim_host_answer_unref(obj);
		else
			vgshim_fence_finish(fence);
		return;
	}
	vgshim_host_enqueue_locked(vgshim_host_event(kind, obj, fence));
	vgshim_unlock();
	/* queued while the host is held, or behind what is queued */
	vgshim_host_pump();
}

void vgshim_host_send_create(struct vgshim_obj *obj)
{
	vgshim_obj_get(obj);
	vgshim_lock();
	vgshim_host_enqueue_locked(vgshim_host_event(VGSHIM_EV_CREATE, obj, NULL));
	vgshim_unlock();
}

/* Stops the host thread (reconfiguration: no event pending), dev.lock held. */
void vgshim_host_stop_locked(void)
{
	struct vgshim_dev *d = &vgshim_dev;

	d->host_thread_stop = true;
	pthread_cond_broadcast(&d->cond);
	while (d->host_thread_running)
		pthread_cond_wait(&d->cond, &d->lock);
	d->host_thread_stop = false;
}
