/* SPDX-License-Identifier: MIT */
/*
 * The real host: with VGSHIM_VTEST_SOCKET set, what the model's host does
 * is done by a virglrenderer server over vtest, one connection per DRM
 * file (a file is one host context, as on a VM). The model stays the
 * kernel: every rule, the region, the generations, faults and counters are
 * decided before anything is forwarded; only the host's work moves here:
 * capsets, context creation, resources (whose fd backs the object's pages,
 * so guest and host share them), submissions and their fences, UNREFs.
 *
 * A submission's completion comes back as an fd the server makes readable;
 * one watcher thread polls those, and every connection's socket for the
 * server hanging up, and completes what it sees under the device lock. A
 * server that dies, refuses a command (vtest's only way to say no is to
 * close the connection) or sends garbage loses the connection: its pending
 * fences complete (nobody waits forever) and every later host call of that
 * file fails with -EIO. Nothing here aborts, spins or waits unbounded: each
 * request has the connection's timeout (VGSHIM_VTEST_TIMEOUT_MS).
 *
 * Everything here runs with the device lock held, except the watcher
 * between its polls.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgshim_priv.h"
#include "vws_vtest_conn.h"

struct vgshim_rhost {
	/* held across each request: conn, err's transitions, orphans */
	pthread_mutex_t lock;
	struct vws_vtest_conn *conn;  /* NULL once its file is closed */
	_Atomic int err;              /* 0, or -EIO once the connection is lost */
	_Atomic uint32_t refs;        /* the file, its objects, pending fences */
	uint64_t key;                 /* the socket's key in the watcher */
	struct vgshim_fence *pending; /* watch lock: work the host has not finished */
	struct vgshim_fence *orphans; /* taken off the watcher, to complete */
};

/* Keys of the watcher's epoll: sockets have the top bit set. */
#define VGSHIM_RHOST_SOCKET_KEY (1ull << 63)

static struct {
	pthread_mutex_t lock;
	int epfd;
	bool running;
	uint64_t next_key;
	struct vgshim_hash fences;  /* key -> pending fence */
	struct vgshim_hash sockets; /* key -> rhost */
} vgshim_watch = { .lock = PTHREAD_MUTEX_INITIALIZER, .epfd = -1 };

static void vgshim_rhost_put(struct vgshim_rhost *rh)
{
	if (atomic_fetch_sub(&rh->refs, 1) == 1) {
		pthread_mutex_destroy(&rh->lock);
		free(rh);
	}
}

/* Takes the fence off the watcher and its connection's pending list,
 * watch lock held; the caller completes it (vgshim_rhost_fence_done). */
static void vgshim_rhost_unwatch_locked(struct vgshim_fence *fence)
{
	struct vgshim_rhost *rh = fence->rhost;

	for (struct vgshim_fence **p = &rh->pending; *p; p = &(*p)->next_pending) {
		if (*p == fence) {
			*p = fence->next_pending;
			break;
		}
	}
	vgshim_hash_del(&vgshim_watch.fences, fence->key);
	if (fence->host_fd >= 0)
		epoll_ctl(vgshim_watch.epfd, EPOLL_CTL_DEL, fence->host_fd, NULL);
}

/* No lock held. */
static void vgshim_rhost_fence_done(struct vgshim_fence *fence)
{
	struct vgshim_rhost *rh = fence->rhost;

	fence->rhost = NULL;
	vgshim_fence_complete(fence);
	vgshim_rhost_put(rh);
}

/* Every pending fence of rh becomes an orphan, rh->lock and the watch
 * lock held. */
static void vgshim_rhost_orphan_pending_locked(struct vgshim_rhost *rh)
{
	while (rh->pending) {
		struct vgshim_fence *fence = rh->pending;

		vgshim_rhost_unwatch_locked(fence);
		fence->next_pending = rh->orphans;
		rh->orphans = fence;
	}
}

/* The connection is unusable from now on; rh->lock held. Its fences are
 * completed by vgshim_rhost_end. */
static int vgshim_rhost_lost(struct vgshim_rhost *rh, int why)
{
	if (!atomic_load(&rh->err)) {
		/* set before the watch lock is taken: a fence registered after
		 * this sees it and is not left behind */
		atomic_store(&rh->err, -EIO);
		VGSHIM_INC(host_lost);
		vgshim_log("lost the real host (vtest server at %s): %s; every later host call "
			   "of this DRM file fails with EIO\n",
			   vgshim_dev.cfg.vtest_socket, strerror(-why));
		pthread_mutex_lock(&vgshim_watch.lock);
		if (rh->conn) {
			vgshim_hash_del(&vgshim_watch.sockets, rh->key);
			epoll_ctl(vgshim_watch.epfd, EPOLL_CTL_DEL, vws_vtest_conn_fd(rh->conn),
				  NULL);
		}
		vgshim_rhost_orphan_pending_locked(rh);
		pthread_mutex_unlock(&vgshim_watch.lock);
	}
	return -EIO;
}

/* A call's result: -EINVAL is the server's "not valid", any other error
 * is the connection's end. rh->lock held. */
static int vgshim_rhost_result(struct vgshim_rhost *rh, int ret)
{
	if (!ret || ret == -EINVAL)
		return ret;
	if (ret == -ENOMEM)
		return ret; /* ours, before anything went out */
	return vgshim_rhost_lost(rh, ret);
}

/* The file's connection, locked for a request, or the error that ended
 * it. */
static int vgshim_rhost_begin(struct vgshim_file *f, struct vgshim_rhost **out)
{
	struct vgshim_rhost *rh = f->rhost;
	int err;

	if (!rh)
		return -ENODEV;
	err = atomic_load(&rh->err);
	if (err)
		return err; /* without the lock: a child after fork never waits */
	pthread_mutex_lock(&rh->lock);
	err = !rh->conn ? -ENODEV : atomic_load(&rh->err);
	if (err) {
		pthread_mutex_unlock(&rh->lock);
		return err;
	}
	*out = rh;
	return 0;
}

/* Ends a request: unlocks and completes what a loss orphaned. */
static void vgshim_rhost_end(struct vgshim_rhost *rh)
{
	struct vgshim_fence *orphans = rh->orphans;

	rh->orphans = NULL;
	pthread_mutex_unlock(&rh->lock);
	while (orphans) {
		struct vgshim_fence *fence = orphans;

		orphans = fence->next_pending;
		vgshim_rhost_fence_done(fence);
	}
}

static void *vgshim_rhost_watcher(void *arg)
{
	struct epoll_event evs[16];

	(void)arg;
	for (;;) {
		int n = epoll_wait(vgshim_watch.epfd, evs, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;
			struct vgshim_rhost *rh = NULL;
			struct vgshim_fence *fence = NULL;

			pthread_mutex_lock(&vgshim_watch.lock);
			if (key & VGSHIM_RHOST_SOCKET_KEY) {
				rh = vgshim_hash_get(&vgshim_watch.sockets, key);
				if (rh)
					atomic_fetch_add(&rh->refs, 1);
			} else {
				/* gone already: completed by a file close or a lost
				 * connection while this event was on its way */
				fence = vgshim_hash_get(&vgshim_watch.fences, key);
				if (fence)
					vgshim_rhost_unwatch_locked(fence);
			}
			pthread_mutex_unlock(&vgshim_watch.lock);
			if (rh) {
				pthread_mutex_lock(&rh->lock);
				vgshim_rhost_lost(rh, -ECONNRESET);
				vgshim_rhost_end(rh);
				vgshim_rhost_put(rh);
			}
			if (fence)
				vgshim_rhost_fence_done(fence);
		}
	}
	pthread_mutex_lock(&vgshim_watch.lock);
	vgshim_watch.running = false;
	pthread_mutex_unlock(&vgshim_watch.lock);
	return NULL;
}

/* Registers fd in the watcher (starting it on first use); watch lock held. */
static int vgshim_rhost_watch_locked(int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = { .events = events, .data.u64 = key };

	if (vgshim_watch.epfd < 0) {
		vgshim_watch.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (vgshim_watch.epfd < 0)
			return -errno;
	}
	if (!vgshim_watch.running) {
		pthread_attr_t attr;
		pthread_t thread;
		int err;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&thread, &attr, vgshim_rhost_watcher, NULL);
		pthread_attr_destroy(&attr);
		if (err)
			return -err;
		vgshim_watch.running = true;
	}
	return epoll_ctl(vgshim_watch.epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int vgshim_rhost_open(struct vgshim_file *f)
{
	struct vgshim_rhost *rh = vgshim_calloc(1, sizeof(*rh));
	int ret;

	if (!rh)
		return -ENOMEM;
	ret = vws_vtest_conn_open(vgshim_dev.cfg.vtest_socket, program_invocation_short_name,
				  (int)vgshim_dev.cfg.vtest_timeout_ms, &rh->conn);
	if (ret) {
		vgshim_log("no real host at %s: %s\n", vgshim_dev.cfg.vtest_socket, strerror(-ret));
		free(rh);
		return -ENODEV;
	}
	vgshim_mutex_init(&rh->lock);
	atomic_init(&rh->refs, 1);
	pthread_mutex_lock(&vgshim_watch.lock);
	rh->key = VGSHIM_RHOST_SOCKET_KEY | ++vgshim_watch.next_key;
	ret = vgshim_hash_put(&vgshim_watch.sockets, rh->key, rh);
	/* the server hanging up is all we look for on the socket; replies
	 * are read by the caller of each request */
	if (!ret) {
		ret = vgshim_rhost_watch_locked(vws_vtest_conn_fd(rh->conn), EPOLLRDHUP, rh->key);
		if (ret)
			vgshim_hash_del(&vgshim_watch.sockets, rh->key);
	}
	pthread_mutex_unlock(&vgshim_watch.lock);
	if (ret) {
		vws_vtest_conn_destroy(rh->conn);
		pthread_mutex_destroy(&rh->lock);
		free(rh);
		return ret;
	}
	f->rhost = rh;
	VGSHIM_INC(host_connections);
	return 0;
}

void vgshim_rhost_file_closed(struct vgshim_file *f)
{
	struct vgshim_rhost *rh = f->rhost;

	if (!rh)
		return;
	f->rhost = NULL;
	pthread_mutex_lock(&rh->lock);
	/* The context goes with the connection: its work will never be
	 * reported, so what still waits for it completes now. */
	pthread_mutex_lock(&vgshim_watch.lock);
	if (!atomic_load(&rh->err)) {
		vgshim_hash_del(&vgshim_watch.sockets, rh->key);
		epoll_ctl(vgshim_watch.epfd, EPOLL_CTL_DEL, vws_vtest_conn_fd(rh->conn), NULL);
	}
	vgshim_rhost_orphan_pending_locked(rh);
	pthread_mutex_unlock(&vgshim_watch.lock);
	vws_vtest_conn_destroy(rh->conn);
	rh->conn = NULL;
	vgshim_rhost_end(rh);
	vgshim_rhost_put(rh);
}

int vgshim_rhost_get_caps(struct vgshim_file *f, uint32_t id, uint32_t version, void *buf,
			  size_t size)
{
	struct vgshim_rhost *rh;
	int ret = vgshim_rhost_begin(f, &rh);

	if (ret)
		return ret;
	ret = vws_vtest_get_capset(rh->conn, id, version, buf, size, NULL);
	ret = vgshim_rhost_result(rh, ret);
	vgshim_rhost_end(rh);
	return ret;
}

int vgshim_rhost_context_init(struct vgshim_file *f, uint32_t capset_id)
{
	struct vgshim_rhost *rh;
	int ret = vgshim_rhost_begin(f, &rh);

	if (ret)
		return ret;
	/* the server closes the connection when it cannot create it */
	ret = vws_vtest_context_init(rh->conn, capset_id);
	if (ret)
		ret = vgshim_rhost_lost(rh, ret);
	vgshim_rhost_end(rh);
	return ret;
}

int vgshim_rhost_run_cmd(struct vgshim_file *f, const void *cmd, uint32_t cmd_size)
{
	struct vgshim_rhost *rh;
	int ret = vgshim_rhost_begin(f, &rh);

	if (ret)
		return ret;
	ret = vws_vtest_submit(rh->conn, cmd, cmd_size, 0, NULL, NULL, 0);
	if (ret)
		ret = vgshim_rhost_lost(rh, ret);
	vgshim_rhost_end(rh);
	if (!ret)
		VGSHIM_INC(host_submits);
	return ret;
}

int vgshim_rhost_create_blob(struct vgshim_file *f, struct vgshim_obj *obj)
{
	struct vgshim_rhost *rh;
	struct stat st;
	uint32_t res_id;
	int fd, ret = vgshim_rhost_begin(f, &rh);

	if (ret)
		return ret;
	/* blob_mem and blob_flags have the same values on both wires */
	ret = vws_vtest_blob_create(rh->conn, obj->blob_mem, obj->blob_flags, obj->size,
				    obj->blob_id, &res_id, &fd);
	if (ret)
		ret = vgshim_rhost_lost(rh, ret);
	else
		atomic_fetch_add(&rh->refs, 1);
	vgshim_rhost_end(rh);
	if (ret)
		return ret;
	obj->res_id = res_id;
	obj->rhost = rh;
	/* Pages the host did not give in full would fault the guest: such an
	 * object is not backed, and its map fails (ERR) as with a host that
	 * refuses. */
	if (vgshim_real_fstat(fd, &st) || (uint64_t)st.st_size < obj->size) {
		vgshim_log("real host: resource %u is backed by %lld bytes, not %llu; its "
			   "mappings will fail\n", res_id, (long long)st.st_size,
			   (unsigned long long)obj->size);
		vgshim_real_close(fd);
		obj->host_missing = true;
		return 0;
	}
	atomic_store(&obj->memfd, fd);
	return 0;
}

void vgshim_rhost_obj_destroyed(struct vgshim_obj *obj)
{
	struct vgshim_rhost *rh = obj->rhost;

	obj->rhost = NULL;
	if (!atomic_load(&rh->err)) {
		pthread_mutex_lock(&rh->lock);
		if (rh->conn && !atomic_load(&rh->err)) {
			int ret = vws_vtest_resource_unref(rh->conn, obj->res_id);

			if (ret)
				vgshim_rhost_lost(rh, ret);
		}
		vgshim_rhost_end(rh);
	}
	vgshim_rhost_put(rh);
}

int vgshim_rhost_submit(struct vgshim_file *f, const void *cmd, uint32_t cmd_size,
			uint32_t ring_idx, struct vgshim_fence *fence)
{
	const uint64_t one = 1;
	struct vgshim_rhost *rh;
	uint32_t sync_id;
	int fd = -1, ret = vgshim_rhost_begin(f, &rh);
	bool watched;

	if (ret)
		return ret;
	if (fence->efd < 0 && !fence->num_objs && !fence->num_out) {
		/* nothing waits for this one */
		ret = vws_vtest_submit(rh->conn, cmd, cmd_size, ring_idx, NULL, NULL, 0);
		if (ret)
			ret = vgshim_rhost_lost(rh, ret);
		vgshim_rhost_end(rh);
		if (ret)
			return ret;
		VGSHIM_INC(host_submits);
		vgshim_host_send(VGSHIM_EV_FENCE, NULL, fence);
		return 0;
	}
	/* A timeline sync the batch sets to 1 when the ring is done, and a
	 * wait on it that hands us the fd to watch. */
	ret = vws_vtest_sync_create(rh->conn, 0, &sync_id);
	if (ret) {
		ret = vgshim_rhost_result(rh, ret);
		vgshim_rhost_end(rh);
		return ret;
	}
	ret = vws_vtest_submit(rh->conn, cmd, cmd_size, ring_idx, &sync_id, &one, 1);
	if (!ret)
		ret = vws_vtest_sync_wait(rh->conn, 0, UINT32_MAX, &sync_id, &one, 1, &fd);
	if (!ret)
		ret = vws_vtest_sync_unref(rh->conn, sync_id);
	else
		vws_vtest_sync_unref(rh->conn, sync_id);
	if (ret)
		ret = vgshim_rhost_lost(rh, ret == -EINVAL ? -EPROTO : ret);
	vgshim_rhost_end(rh);
	if (ret) {
		if (fd >= 0)
			vgshim_real_close(fd);
		return ret;
	}
	VGSHIM_INC(host_submits);
	fence->host_fd = fd;
	pthread_mutex_lock(&vgshim_watch.lock);
	fence->key = ++vgshim_watch.next_key;
	/* a connection lost meanwhile will not complete it: done now */
	watched = !atomic_load(&rh->err) &&
		  !vgshim_hash_put(&vgshim_watch.fences, fence->key, fence);
	if (watched) {
		fence->rhost = rh;
		atomic_fetch_add(&rh->refs, 1);
		fence->next_pending = rh->pending;
		rh->pending = fence;
		if (vgshim_rhost_watch_locked(fd, EPOLLIN, fence->key)) {
			vgshim_rhost_unwatch_locked(fence);
			watched = false;
		}
	}
	pthread_mutex_unlock(&vgshim_watch.lock);
	if (!watched) {
		/* the submission went out: without a watch, say it is done
		 * rather than never */
		if (fence->rhost)
			vgshim_rhost_fence_done(fence);
		else
			vgshim_host_send(VGSHIM_EV_FENCE, NULL, fence);
	}
	return 0;
}

/* fork: the child gets the watcher's state consistent; the connections
 * (their locks taken by the device's prepare handler) stay the parent's. */
void vgshim_rhost_atfork_lock(struct vgshim_file *f)
{
	if (f->rhost)
		pthread_mutex_lock(&f->rhost->lock);
}

void vgshim_rhost_atfork_unlock(struct vgshim_file *f)
{
	if (f->rhost)
		pthread_mutex_unlock(&f->rhost->lock);
}

void vgshim_rhost_atfork_prepare(void)
{
	pthread_mutex_lock(&vgshim_watch.lock);
}

void vgshim_rhost_atfork_parent(void)
{
	pthread_mutex_unlock(&vgshim_watch.lock);
}

void vgshim_rhost_atfork_child(void)
{
	struct vgshim_hash *h = &vgshim_watch.sockets;

	/* The connections and the watcher's epoll belong to the parent: the
	 * child must not read the parent's replies. Its copies fail. */
	for (size_t i = 0; i < h->cap; i++) {
		struct vgshim_rhost *rh = h->slots[i].val;

		if (rh && !atomic_load(&rh->err)) {
			atomic_store(&rh->err, -EIO);
			rh->pending = NULL;
		}
	}
	vgshim_hash_fini(&vgshim_watch.sockets);
	vgshim_hash_fini(&vgshim_watch.fences);
	if (vgshim_watch.epfd >= 0)
		vgshim_real_close(vgshim_watch.epfd);
	vgshim_watch.epfd = -1;
	vgshim_watch.running = false;
	pthread_mutex_unlock(&vgshim_watch.lock);
}
