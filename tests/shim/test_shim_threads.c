/* SPDX-License-Identifier: MIT */
/*
 * The model under concurrency: its locks are per file, per object and
 * short device sections (docs/kernel-model.md, "Locking"), so threads run
 * through it at the same time. Raw ioctls, many threads, shared and own
 * files and objects: every call must give what it gives single-threaded,
 * the counters must add up and nothing may leak; ThreadSanitizer (the tsan
 * stage) turns a race into a failure. One case proves that a host round
 * trip of one file does not hold the others up: a fake vtest server keeps
 * one file's RESOURCE_CREATE_BLOB unanswered until the test has used
 * another file.
 *
 * Worker threads make no cmocka assertions (those must stay on the test's
 * thread): they count failures and keep the first message.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts.h"
#include "vws_vtest_proto.h"

#define THREADS 4
#define SHARED 6
#define SIZE (64 * 1024)

static struct {
	pthread_mutex_t lock;
	unsigned failures;
	char first[256];
} th_err = { .lock = PTHREAD_MUTEX_INITIALIZER };

#define TH_CHECK(cond)                                                                  \
	do {                                                                            \
		if (!(cond))                                                            \
			th_fail(__LINE__, #cond);                                      \
	} while (0)

static void th_fail(int line, const char *what)
{
	pthread_mutex_lock(&th_err.lock);
	if (!th_err.failures++)
		snprintf(th_err.first, sizeof(th_err.first), "line %d: %s (errno %d)", line, what,
			 errno);
	pthread_mutex_unlock(&th_err.lock);
}

static void th_assert_no_failure(void)
{
	if (th_err.failures)
		fail_msg("%u failures in threads, first: %s", th_err.failures, th_err.first);
	th_err.failures = 0;
}

struct th_ctx {
	int shared_fd;
	uint32_t shared[SHARED];
	unsigned iterations;
	unsigned id;
	pthread_barrier_t *go;
};

static int th_export(int fd, uint32_t handle, int *dfd)
{
	struct drm_prime_handle p = { .handle = handle, .flags = DRM_CLOEXEC | DRM_RDWR, .fd = -1 };
	int ret = ts_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);

	*dfd = p.fd;
	return ret;
}

static int th_import(int fd, int dfd, uint32_t *handle)
{
	struct drm_prime_handle p = { .fd = dfd };
	int ret = ts_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);

	*handle = p.handle;
	return ret;
}

/* One thread: its own file (and a dup of it) and the shared one. */
static void *th_worker(void *arg)
{
	struct th_ctx *c = arg;
	int own = ts_open(VIRTGPU_CAPSET_VENUS), own2 = own >= 0 ? dup(own) : -1;

	TH_CHECK(own >= 0 && own2 >= 0);
	pthread_barrier_wait(c->go);
	for (unsigned i = 0; i < c->iterations && own2 >= 0; i++) {
		int fd = (i & 1) ? own2 : c->shared_fd, other = (i & 1) ? c->shared_fd : own;
		uint32_t h, h2, h3, sh = c->shared[(i + c->id) % SHARED];
		uint32_t *p, *q, *s;
		int dfd;

		/* an object of its own: create, map, write, export, import in
		 * another file twice (one handle), map the dma-buf, free */
		TH_CHECK(!ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				  VIRTGPU_BLOB_FLAG_USE_SHAREABLE, SIZE,
				  VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h));
		p = ts_mmap(fd, h, SIZE);
		TH_CHECK(p);
		if (p)
			p[i % (SIZE / 4)] = c->id << 24 | i;
		TH_CHECK(!th_export(fd, h, &dfd));
		TH_CHECK(!th_import(other, dfd, &h2));
		TH_CHECK(!th_import(other, dfd, &h3) && h3 == h2);
		q = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
		TH_CHECK(q != MAP_FAILED);
		if (p && q != MAP_FAILED)
			TH_CHECK(q[i % (SIZE / 4)] == (c->id << 24 | i));
		TH_CHECK(!close(dfd));
		TH_CHECK(!ts_close_handle(other, h2));
		TH_CHECK(!ts_close_handle(fd, h));
		if (q != MAP_FAILED)
			TH_CHECK(!munmap(q, SIZE));
		if (p)
			TH_CHECK(!munmap(p, SIZE));
		/* a shared object, mapped by every thread at once: the same
		 * pages; its own word of it */
		s = ts_mmap(c->shared_fd, sh, SIZE);
		TH_CHECK(s);
		if (s) {
			s[c->id] = i;
			TH_CHECK(s[c->id] == i);
			TH_CHECK(!munmap(s, SIZE));
		}
	}
	if (own2 >= 0)
		close(own2);
	if (own >= 0)
		close(own);
	return NULL;
}

static void th_run(unsigned iterations)
{
	struct th_ctx ctx[THREADS];
	pthread_t t[THREADS];
	pthread_barrier_t go;
	struct vgshim_counters c0, c1;
	int shared_fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t shared[SHARED];

	assert_true(shared_fd >= 0);
	for (unsigned i = 0; i < SHARED; i++)
		assert_int_equal(ts_blob(shared_fd, VIRTGPU_BLOB_MEM_HOST3D,
					 VIRTGPU_BLOB_FLAG_USE_MAPPABLE, SIZE,
					 VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &shared[i]), 0);
	c0 = ts_counters();
	assert_int_equal(pthread_barrier_init(&go, NULL, THREADS), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		ctx[i] = (struct th_ctx){ .shared_fd = shared_fd, .iterations = iterations,
					  .id = i, .go = &go };
		memcpy(ctx[i].shared, shared, sizeof(shared));
		assert_int_equal(pthread_create(&t[i], NULL, th_worker, &ctx[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	th_assert_no_failure();
	vgshim_host_drain();
	c1 = ts_counters();
	/* every call counted once, whichever thread's share it is in */
	assert_int_equal(c1.blobs_created - c0.blobs_created, THREADS * iterations);
	assert_int_equal(c1.mmaps - c0.mmaps, 3 * THREADS * iterations);
	assert_int_equal(c1.munmaps - c0.munmaps, 3 * THREADS * iterations);
	assert_int_equal(c1.live_objects, SHARED);
	assert_int_equal(c1.live_handles, SHARED);
	/* one range per shared object (mapped, kept), none for the rest */
	assert_int_equal(c1.region_bytes_in_use, SHARED * SIZE);
	for (unsigned i = 0; i < SHARED; i++)
		assert_int_equal(ts_close_handle(shared_fd, shared[i]), 0);
	close(shared_fd);
}

static void churn(void **state)
{
	(void)state;
	th_run(200);
}

/* The host answers from its own thread after a latency, and creation
 * takes time too: the answers race the callers. */
static void churn_async_host(void **state)
{
	(void)state;
	assert_int_equal(vgshim_configure("VGSHIM_MAP_LATENCY_US", "20"), 0);
	assert_int_equal(vgshim_configure("VGSHIM_CREATE_LATENCY_US", "10"), 0);
	th_run(40);
}

/* Submissions with fences and out-syncobjs from several threads and
 * files while objects they name are closed. */
struct th_sub {
	unsigned iterations;
	pthread_barrier_t *go;
};

static void *th_submitter(void *arg)
{
	struct th_sub *s = arg;
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);

	TH_CHECK(fd >= 0);
	pthread_barrier_wait(s->go);
	for (unsigned i = 0; i < s->iterations && fd >= 0; i++) {
		struct drm_syncobj_create sc = { 0 };
		struct drm_virtgpu_execbuffer_syncobj out = { 0 };
		struct drm_virtgpu_3d_wait w = { 0 };
		uint32_t h, nop = VGSHIM_CMD_HEADER(VGSHIM_CMD_NOP, 1);
		struct drm_virtgpu_execbuffer e = {
			.flags = VIRTGPU_EXECBUF_FENCE_FD_OUT,
			.size = 4, .command = (uintptr_t)&nop,
			.num_bo_handles = 1, .fence_fd = -1,
			.num_out_syncobjs = 1, .out_syncobjs = (uintptr_t)&out,
			.syncobj_stride = sizeof(out),
		};
		struct drm_syncobj_wait sw = { .count_handles = 1, .timeout_nsec = INT64_MAX };
		struct pollfd pfd = { .events = POLLIN };

		TH_CHECK(!ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096,
				  VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h));
		TH_CHECK(!ts_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc));
		out.handle = sc.handle;
		e.bo_handles = (uintptr_t)&h;
		TH_CHECK(!ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e));
		/* the object goes while its submission may still run */
		TH_CHECK(!ts_close_handle(fd, h));
		pfd.fd = e.fence_fd;
		TH_CHECK(poll(&pfd, 1, 20000) == 1);
		sw.handles = (uintptr_t)&sc.handle;
		TH_CHECK(!ts_ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &sw));
		w.handle = 12345; /* unknown */
		TH_CHECK(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &w) == -ENOENT);
		close(e.fence_fd);
		struct drm_syncobj_destroy sd = { .handle = sc.handle };
		TH_CHECK(!ts_ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &sd));
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void submissions(void **state)
{
	struct th_sub s = { .iterations = 100 };
	pthread_t t[THREADS];
	pthread_barrier_t go;

	(void)state;
	assert_int_equal(vgshim_configure("VGSHIM_MAP_LATENCY_US", "30"), 0);
	assert_int_equal(pthread_barrier_init(&go, NULL, THREADS), 0);
	s.go = &go;
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, th_submitter, &s), 0);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	th_assert_no_failure();
}

/* A file lives while any fd or call uses it: one thread works through a
 * dup'ed fd while the test closes the original. */
struct th_dup {
	int fd;
	unsigned done;
	pthread_barrier_t *go;
};

static void *th_dup_user(void *arg)
{
	struct th_dup *d = arg;

	pthread_barrier_wait(d->go);
	for (unsigned i = 0; i < 300; i++) {
		uint32_t h;
		struct drm_virtgpu_resource_info ri = { 0 };

		TH_CHECK(!ts_blob(d->fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				  4096, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h));
		ri.bo_handle = h;
		TH_CHECK(!ts_ioctl(d->fd, DRM_IOCTL_VIRTGPU_RESOURCE_INFO, &ri) && ri.size == 4096);
		TH_CHECK(!ts_close_handle(d->fd, h));
		d->done++;
	}
	return NULL;
}

static void close_while_in_use(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	pthread_barrier_t go;
	struct th_dup d;
	pthread_t t;

	(void)state;
	assert_true(fd >= 0);
	d = (struct th_dup){ .fd = dup(fd), .go = &go };
	assert_true(d.fd >= 0);
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	assert_int_equal(pthread_create(&t, NULL, th_dup_user, &d), 0);
	pthread_barrier_wait(&go);
	assert_int_equal(close(fd), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_barrier_destroy(&go);
	th_assert_no_failure();
	assert_int_equal(d.done, 300);
	assert_int_equal(ts_counters().live_files, 1);
	close(d.fd);
	assert_int_equal(ts_counters().live_files, 0);
}

/* fork while other threads are inside the model: the child finds every
 * lock free and the state whole, and can use the model. */
struct th_spin {
	volatile bool stop;
	pthread_barrier_t *go;
};

static void *th_spinner(void *arg)
{
	struct th_spin *s = arg;
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);

	TH_CHECK(fd >= 0);
	pthread_barrier_wait(s->go);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && fd >= 0) {
		uint32_t h;
		void *p;

		TH_CHECK(!ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096,
				  VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h));
		p = ts_mmap(fd, h, 4096);
		TH_CHECK(p);
		TH_CHECK(!ts_close_handle(fd, h));
		if (p)
			munmap(p, 4096);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void fork_while_busy(void **state)
{
	struct th_spin s = { 0 };
	pthread_barrier_t go;
	pthread_t t[2];

	(void)state;
	assert_int_equal(pthread_barrier_init(&go, NULL, 3), 0);
	s.go = &go;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, th_spinner, &s), 0);
	pthread_barrier_wait(&go);
	for (int k = 0; k < 5; k++) {
		int st;
		pid_t pid = fork();

		if (pid == 0) {
			int fd = open(TS_NODE, O_RDWR | O_CLOEXEC);
			uint32_t h;
			unsigned char *p;

			if (fd < 0 || ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D,
					      VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096,
					      VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h))
				_exit(1);
			p = ts_mmap(fd, h, 4096);
			if (!p)
				_exit(2);
			p[0] = 1;
			munmap(p, 4096);
			_exit(ts_close_handle(fd, h) || close(fd) ? 3 : 0);
		}
		assert_true(pid > 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	__atomic_store_n(&s.stop, true, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	th_assert_no_failure();
}

/* ---- a fake vtest server, one thread per connection ----
 * Just enough protocol for the model's real-host mode: the handshake,
 * pings, blob creation (a memfd of the asked size), unrefs. The first
 * RESOURCE_CREATE_BLOB it receives is held at a gate. */
struct th_vt {
	char sock[108];
	int listen_fd;
	pthread_t acceptor;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool held;       /* the first create has arrived */
	bool open_gate;
	unsigned closed; /* connections the server has closed */
	unsigned conns;
	pthread_t conn_threads[8];
};

static bool th_vt_read(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool th_vt_reply(int fd, uint32_t cmd, const uint32_t *data, uint32_t dw)
{
	uint32_t hdr[2] = { dw, cmd };

	return send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) == sizeof(hdr) &&
	       (!dw || send(fd, data, dw * 4, MSG_NOSIGNAL) == (ssize_t)(dw * 4));
}

static bool th_vt_send_memfd(int sock, uint64_t size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	int fd = memfd_create("th-vt", MFD_CLOEXEC);
	bool ok;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return false;
	memset(&ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ok = sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
	close(fd);
	return ok;
}

struct th_vt_conn {
	struct th_vt *vt;
	int fd;
	uint32_t first_res;
};

static void *th_vt_serve(void *arg)
{
	struct th_vt_conn *c = arg;
	struct th_vt *vt = c->vt;
	uint32_t next_res = c->first_res;

	for (;;) {
		uint32_t hdr[2], buf[64], zero = 0;
		size_t len;

		if (!th_vt_read(c->fd, hdr, sizeof(hdr)))
			break;
		/* CREATE_RENDERER counts bytes, the rest dwords */
		len = hdr[1] == VWS_VTEST_CMD_CREATE_RENDERER ? hdr[0] : (size_t)hdr[0] * 4;
		if (len > sizeof(buf) || !th_vt_read(c->fd, buf, len))
			break;
		switch (hdr[1]) {
		case VWS_VTEST_CMD_PING_PROTOCOL_VERSION:
			th_vt_reply(c->fd, hdr[1], NULL, 0);
			break;
		case VWS_VTEST_CMD_RESOURCE_BUSY_WAIT:
			th_vt_reply(c->fd, hdr[1], &zero, 1);
			break;
		case VWS_VTEST_CMD_PROTOCOL_VERSION:
			th_vt_reply(c->fd, hdr[1], buf, 1);
			break;
		case VWS_VTEST_CMD_RESOURCE_CREATE_BLOB:
			pthread_mutex_lock(&vt->lock);
			if (!vt->held) {
				/* held until the test has used the other file */
				vt->held = true;
				pthread_cond_broadcast(&vt->cond);
				while (!vt->open_gate)
					pthread_cond_wait(&vt->cond, &vt->lock);
			}
			pthread_mutex_unlock(&vt->lock);
			th_vt_reply(c->fd, hdr[1], &next_res, 1);
			next_res++;
			th_vt_send_memfd(c->fd, buf[2] | (uint64_t)buf[3] << 32);
			break;
		default:
			break; /* CREATE_RENDERER, CONTEXT_INIT, RESOURCE_UNREF: no reply */
		}
	}
	close(c->fd);
	free(c);
	pthread_mutex_lock(&vt->lock);
	vt->closed++;
	pthread_cond_broadcast(&vt->cond);
	pthread_mutex_unlock(&vt->lock);
	return NULL;
}

static void *th_vt_accept(void *arg)
{
	struct th_vt *vt = arg;

	for (;;) {
		int fd = accept4(vt->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		struct th_vt_conn *c;

		if (fd < 0)
			break;
		c = calloc(1, sizeof(*c));
		if (!c || vt->conns == 8) {
			free(c);
			close(fd);
			continue;
		}
		*c = (struct th_vt_conn){ vt, fd, 1000 * (vt->conns + 1) };
		if (pthread_create(&vt->conn_threads[vt->conns], NULL, th_vt_serve, c)) {
			close(fd);
			free(c);
			continue;
		}
		vt->conns++;
	}
	return NULL;
}

struct th_create {
	int fd;
	int ret;
	uint32_t handle;
};

static void *th_create_blob(void *arg)
{
	struct th_create *c = arg;

	c->ret = ts_blob(c->fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, SIZE,
			 VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &c->handle);
	return NULL;
}

static void host_round_trip_unlocked(void **state)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct th_vt vt = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	char *dir = tc_temp_dir();
	struct th_create cr = { 0 };
	struct tc_leak_baseline leak;
	pthread_t t;
	uint32_t h;
	int fa, fb;
	void *p;

	(void)state;
	assert_true(strlen(dir) + 9 < sizeof(vt.sock));
	snprintf(vt.sock, sizeof(vt.sock), "%.98s/vt.sock", dir);
	memcpy(a.sun_path, vt.sock, sizeof(vt.sock));
	vt.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(vt.listen_fd >= 0);
	assert_int_equal(bind(vt.listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(vt.listen_fd, 8), 0);
	assert_int_equal(pthread_create(&vt.acceptor, NULL, th_vt_accept, &vt), 0);
	/* a request not answered for 10 s would lose the connection: with a
	 * device-wide lock held across round trips, this test fails that way */
	assert_int_equal(vgshim_configure("VGSHIM_VTEST_TIMEOUT_MS", "10000"), 0);
	assert_int_equal(vgshim_configure("VGSHIM_VTEST_SOCKET", vt.sock), 0);
	/* the first connection starts the model's watcher (its epoll fd
	 * stays): the baseline comes after */
	fa = open(TS_NODE, O_RDWR | O_CLOEXEC);
	assert_true(fa >= 0);
	close(fa);
	/* the server is in this process: its end of the socket counts */
	pthread_mutex_lock(&vt.lock);
	while (vt.closed < 1)
		pthread_cond_wait(&vt.cond, &vt.lock);
	pthread_mutex_unlock(&vt.lock);
	tc_leak_begin(&leak);

	fa = open(TS_NODE, O_RDWR | O_CLOEXEC);
	assert_true(fa >= 0);
	fb = open(TS_NODE, O_RDWR | O_CLOEXEC);
	assert_true(fb >= 0);
	cr.fd = fa;
	assert_int_equal(pthread_create(&t, NULL, th_create_blob, &cr), 0);
	pthread_mutex_lock(&vt.lock);
	while (!vt.held)
		pthread_cond_wait(&vt.cond, &vt.lock);
	pthread_mutex_unlock(&vt.lock);
	/* file A's creation waits on its host: file B's whole life goes on */
	assert_int_equal(ts_blob(fb, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, SIZE,
				 VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h), 0);
	p = ts_mmap(fb, h, SIZE);
	assert_non_null(p);
	memset(p, 0x5a, SIZE);
	assert_int_equal(munmap(p, SIZE), 0);
	assert_int_equal(ts_close_handle(fb, h), 0);
	assert_int_equal(ts_counters().host_lost, 0);
	pthread_mutex_lock(&vt.lock);
	vt.open_gate = true;
	pthread_cond_broadcast(&vt.cond);
	pthread_mutex_unlock(&vt.lock);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(cr.ret, 0);
	assert_int_equal(ts_close_handle(fa, cr.handle), 0);
	close(fa);
	close(fb);
	shutdown(vt.listen_fd, SHUT_RDWR);
	assert_int_equal(pthread_join(vt.acceptor, NULL), 0);
	for (unsigned i = 0; i < vt.conns; i++)
		assert_int_equal(pthread_join(vt.conn_threads[i], NULL), 0);
	tc_leak_check(&leak);
	close(vt.listen_fd);
	unlink(vt.sock);
	rmdir(dir);
	free(dir);
	assert_int_equal(ts_counters().host_lost, 0);
	assert_int_equal(vgshim_reset(), 0);
}

static int th_setup_model(void **state)
{
	tc_model_use(*state, NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_ALL_GENS(churn),
		TS_TEST(churn_async_host),
		TS_TEST(submissions),
		TS_TEST(close_while_in_use),
		TS_TEST(fork_while_busy),
		/* its own leak check: the model's watcher starts in it */
		cmocka_unit_test_prestate_setup_teardown(host_round_trip_unlocked, th_setup_model,
							 NULL, (void *)"fixed"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
