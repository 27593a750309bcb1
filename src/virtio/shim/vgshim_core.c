/* SPDX-License-Identifier: MIT */
/*
 * The model's device: its locks, its lazy initialisation from the
 * environment, the fd table, the test API (configure, reset, counters) and
 * the counters dump a preloaded model writes at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "vgshim_priv.h"

/* The device-wide locks guard short sections: they spin a little before
 * sleeping, as the kernel's mutexes do. */
struct vgshim_dev vgshim_dev = {
	.lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
	.prime_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
	.map_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
	.fd_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
};
_Atomic unsigned char vgshim_fd_hint[VGSHIM_MAX_FDS];

void vgshim_lock(void)
{
	pthread_mutex_lock(&vgshim_dev.lock);
}

void vgshim_unlock(void)
{
	pthread_mutex_unlock(&vgshim_dev.lock);
}

void vgshim_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

void vgshim_spin_lock(_Atomic uint32_t *l)
{
	unsigned spins = 0;

	while (atomic_exchange_explicit(l, 1, memory_order_acquire)) {
		while (atomic_load_explicit(l, memory_order_relaxed)) {
			if (++spins % 64 == 0)
				sched_yield(); /* the holder may be preempted */
			else
				__builtin_ia32_pause();
		}
	}
}

void vgshim_wait_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	pthread_cond_timedwait(&vgshim_dev.cond, &vgshim_dev.lock, &ts);
}

void vgshim_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "vgshim: ");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write: lines of concurrent tests do not interleave */
	if (write(STDERR_FILENO, buf, strlen(buf)) < 0) {
		/* nothing to do: stderr is gone */
	}
}

uint64_t vgshim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vgshim_fd_set(int fd, enum vgshim_fd_kind kind, void *ptr)
{
	/* the pointer first: a lockless reader that sees the kind sees it */
	atomic_store_explicit(&vgshim_dev.fd_ptr[fd], ptr, memory_order_release);
	atomic_store_explicit(&vgshim_fd_hint[fd], (unsigned char)kind, memory_order_release);
}

void vgshim_fd_clear(int fd)
{
	atomic_store_explicit(&vgshim_fd_hint[fd], VGSHIM_FD_NONE, memory_order_release);
	atomic_store_explicit(&vgshim_dev.fd_ptr[fd], NULL, memory_order_release);
}

enum vgshim_fd_kind vgshim_fd_kind(int fd, void **ptr)
{
	enum vgshim_fd_kind kind;

	if (fd < 0 || fd >= VGSHIM_MAX_FDS)
		return VGSHIM_FD_NONE;
	kind = atomic_load_explicit(&vgshim_fd_hint[fd], memory_order_acquire);
	if (ptr)
		*ptr = atomic_load_explicit(&vgshim_dev.fd_ptr[fd], memory_order_acquire);
	return kind;
}

/* As fdget, without a lock: the file stays while the call runs, even if
 * another thread closes the fd meanwhile. A file released and reused
 * between the load and the reference is caught by the recheck. */
struct vgshim_file *vgshim_file_from_fd(int fd)
{
	void *ptr;

	for (;;) {
		struct vgshim_file *f;

		if (vgshim_fd_kind(fd, &ptr) != VGSHIM_FD_NODE || !ptr)
			return NULL;
		f = ptr;
		if (!vgshim_file_tryget(f))
			continue; /* released: the entry has changed, or will */
		if (vgshim_fd_kind(fd, &ptr) == VGSHIM_FD_NODE && ptr == f)
			return f;
		vgshim_file_put(f);
	}
}

static void vgshim_dump_at_exit(void)
{
	if (vgshim_dev.cfg.stats[0])
		vgshim_dump_counters(vgshim_dev.cfg.stats);
}

/* fork: the child gets a copy of the state, consistent because every lock
 * is held while it is taken, but not the host thread. The files' own
 * locks are taken too: a child may go on using an inherited file. */
static struct vgshim_file **vgshim_fork_files;
static size_t vgshim_fork_num;

static void vgshim_fork_collect(void)
{
	size_t n = 0, cap = 0;

	vgshim_fork_files = NULL;
	pthread_mutex_lock(&vgshim_dev.fd_lock);
	for (int fd = 0; fd < VGSHIM_MAX_FDS; fd++) {
		void *ptr;
		bool seen = false;

		if (vgshim_fd_kind(fd, &ptr) != VGSHIM_FD_NODE)
			continue;
		for (size_t i = 0; i < n && !seen; i++)
			seen = vgshim_fork_files[i] == ptr;
		if (seen)
			continue;
		if (n == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct vgshim_file **t = realloc(vgshim_fork_files, c * sizeof(*t));

			if (!t)
				break; /* a file not locked: the child may see it torn */
			vgshim_fork_files = t;
			cap = c;
		}
		vgshim_file_get(ptr);
		vgshim_fork_files[n++] = ptr;
	}
	pthread_mutex_unlock(&vgshim_dev.fd_lock);
	vgshim_fork_num = n;
}

static void vgshim_atfork_prepare(void)
{
	vgshim_fork_collect();
	for (size_t i = 0; i < vgshim_fork_num; i++)
		pthread_mutex_lock(&vgshim_fork_files[i]->ctx_lock);
	for (size_t i = 0; i < vgshim_fork_num; i++)
		vgshim_rhost_atfork_lock(vgshim_fork_files[i]);
	pthread_mutex_lock(&vgshim_dev.prime_lock);
	pthread_mutex_lock(&vgshim_dev.fd_lock);
	for (size_t i = 0; i < vgshim_fork_num; i++)
		pthread_mutex_lock(&vgshim_fork_files[i]->lock);
	pthread_mutex_lock(&vgshim_dev.map_lock);
	vgshim_rhost_atfork_prepare();
	vgshim_lock();
	vgshim_counters_atfork(0);
}

/* Everything prepare took, but the watcher's lock (the real host's
 * handlers differ in parent and child). */
static void vgshim_atfork_release(void)
{
	vgshim_counters_atfork(1);
	vgshim_unlock();
	pthread_mutex_unlock(&vgshim_dev.map_lock);
	for (size_t i = 0; i < vgshim_fork_num; i++)
		pthread_mutex_unlock(&vgshim_fork_files[i]->lock);
	pthread_mutex_unlock(&vgshim_dev.fd_lock);
	pthread_mutex_unlock(&vgshim_dev.prime_lock);
}

static void vgshim_atfork_files_done(void)
{
	for (size_t i = 0; i < vgshim_fork_num; i++)
		vgshim_rhost_atfork_unlock(vgshim_fork_files[i]);
	for (size_t i = 0; i < vgshim_fork_num; i++) {
		pthread_mutex_unlock(&vgshim_fork_files[i]->ctx_lock);
		vgshim_file_put(vgshim_fork_files[i]);
	}
	free(vgshim_fork_files);
	vgshim_fork_files = NULL;
	vgshim_fork_num = 0;
}

static void vgshim_atfork_parent(void)
{
	vgshim_rhost_atfork_parent();
	vgshim_atfork_release();
	vgshim_atfork_files_done();
}

static void vgshim_atfork_child(void)
{
	vgshim_dev.host_thread_running = false;
	vgshim_dev.host_pumping = false;
	vgshim_rhost_atfork_child();
	vgshim_atfork_release();
	vgshim_atfork_files_done();
}

static void vgshim_apply_config_locked(void)
{
	struct vgshim_dev *d = &vgshim_dev;

	vgshim_region_fini(&d->region);
	if (vgshim_region_init(&d->region, d->cfg.hostmem))
		d->config_error = true;
	vgshim_counters_zero();
	vgshim_offsets_fini(); /* no object is alive */
	d->region_in_use = d->region_peak = 0;
	d->guest_bytes = 0;
	if (vgshim_fault_parse(d->cfg.fail))
		d->config_error = true;
}

int vgshim_ensure_init_locked(void)
{
	struct vgshim_dev *d = &vgshim_dev;
	pthread_condattr_t attr;

	if (d->inited)
		return d->config_error ? -EINVAL : 0;
	vgshim_libc_init();
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &attr);
	pthread_condattr_destroy(&attr);
	d->config_error = vgshim_config_from_env(&d->env_cfg) != 0;
	d->cfg = d->env_cfg;
	atomic_store(&d->next_res_id, 1);
	vgshim_apply_config_locked();
	pthread_atfork(vgshim_atfork_prepare, vgshim_atfork_parent, vgshim_atfork_child);
	atexit(vgshim_dump_at_exit);
	d->inited = true;
	return d->config_error ? -EINVAL : 0;
}

/* Waits for the host, lock held. */
static void vgshim_drain_locked(void)
{
	while (vgshim_dev.events_pending && !vgshim_dev.host_held)
		pthread_cond_wait(&vgshim_dev.cond, &vgshim_dev.lock);
}

static bool vgshim_busy(void)
{
	struct vgshim_counters c;

	vgshim_counters_sum(&c);
	return c.live_files || c.live_objects || c.live_dmabufs || c.live_mappings;
}

static int vgshim_reconfigure(const struct vgshim_config *cfg)
{
	int ret = 0;

	vgshim_lock();
	vgshim_ensure_init_locked();
	vgshim_dev.host_held = false;
	pthread_cond_broadcast(&vgshim_dev.cond);
	vgshim_drain_locked();
	if (vgshim_busy()) {
		ret = -EBUSY;
	} else {
		/* the host starts over: a latency-free one answers in the
		 * caller's thread again */
		if (vgshim_dev.host_thread_running)
			vgshim_host_stop_locked();
		vgshim_host_fini_registry();
		vgshim_dev.cfg = *cfg;
		vgshim_dev.config_error = false;
		vgshim_apply_config_locked();
		if (vgshim_dev.config_error)
			ret = -EINVAL;
	}
	vgshim_unlock();
	return ret;
}

int vgshim_configure(const char *name, const char *value)
{
	struct vgshim_config cfg;
	int ret;

	vgshim_lock();
	vgshim_ensure_init_locked();
	cfg = vgshim_dev.cfg;
	vgshim_unlock();
	ret = vgshim_config_set(&cfg, name, value);
	if (ret)
		return ret;
	if (!strcmp(name, "VGSHIM_FAIL") && vgshim_fault_parse(cfg.fail) == -EINVAL) {
		vgshim_fault_parse(vgshim_dev.cfg.fail);
		return -EINVAL;
	}
	return vgshim_reconfigure(&cfg);
}

int vgshim_reset(void)
{
	struct vgshim_config cfg;

	vgshim_lock();
	vgshim_ensure_init_locked();
	cfg = vgshim_dev.env_cfg;
	vgshim_unlock();
	return vgshim_reconfigure(&cfg);
}

int vgshim_set_fail(const char *rules)
{
	int ret;

	if (rules && strlen(rules) >= sizeof(vgshim_dev.cfg.fail))
		return -EINVAL;
	vgshim_lock();
	vgshim_ensure_init_locked();
	ret = vgshim_fault_parse(rules);
	if (!ret)
		snprintf(vgshim_dev.cfg.fail, sizeof(vgshim_dev.cfg.fail), "%s", rules ? rules : "");
	vgshim_unlock();
	return ret;
}

void vgshim_host_drain(void)
{
	vgshim_lock();
	vgshim_ensure_init_locked();
	vgshim_drain_locked();
	vgshim_unlock();
}

void vgshim_host_hold(bool hold)
{
	vgshim_lock();
	vgshim_ensure_init_locked();
	vgshim_dev.host_held = hold;
	pthread_cond_broadcast(&vgshim_dev.cond);
	vgshim_unlock();
	/* queued while held with no latency: answered now, in order */
	if (!hold)
		vgshim_host_pump();
}

void vgshim_get_counters(struct vgshim_counters *out)
{
	vgshim_lock();
	vgshim_ensure_init_locked();
	vgshim_counters_sum(out);
	out->region_size = vgshim_dev.cfg.hostmem;
	out->region_bytes_in_use = vgshim_dev.region_in_use;
	out->region_bytes_peak = vgshim_dev.region_peak;
	vgshim_unlock();
}

int vgshim_object_info(int node_fd, uint32_t handle, struct vgshim_object_info *out)
{
	struct vgshim_file *f = vgshim_file_from_fd(node_fd);
	struct vgshim_obj *o;

	if (!f)
		return -EBADF;
	o = vgshim_file_lookup(f, handle);
	if (!o) {
		vgshim_file_put(f);
		return -ENOENT;
	}
	vgshim_lock();
	*out = (struct vgshim_object_info){
		.res_id = o->res_id,
		.blob_mem = o->blob_mem,
		.blob_flags = o->blob_flags,
		.blob_hints = o->blob_hints,
		.size = o->size,
		.region_reserved = o->region_reserved,
		.region_offset = o->region_offset,
		.map_state = o->vram && o->mappable ? o->map_state : -1,
		.handles = vgshim_obj_handles(o),
		.mappings = atomic_load(&o->mappings),
	};
	vgshim_unlock();
	pthread_mutex_lock(&vgshim_dev.prime_lock);
	out->dmabuf = o->dmabuf != NULL;
	pthread_mutex_unlock(&vgshim_dev.prime_lock);
	vgshim_obj_put(o);
	vgshim_file_put(f);
	return 0;
}

int vgshim_dump_counters(const char *path)
{
	struct vgshim_counters c;
	FILE *f;

	vgshim_get_counters(&c);
	f = fopen(path, "we");
	if (!f)
		return -errno;
#define VGSHIM_DUMP(field) fprintf(f, "%s %" PRIu64 "\n", #field, c.field)
	VGSHIM_DUMP(region_size);
	VGSHIM_DUMP(region_bytes_in_use);
	VGSHIM_DUMP(region_bytes_peak);
	VGSHIM_DUMP(host_map_cmds);
	VGSHIM_DUMP(host_map_errors);
	VGSHIM_DUMP(host_unref_cmds);
	VGSHIM_DUMP(host_bad_cmds);
	VGSHIM_DUMP(host_mem_objects);
	VGSHIM_DUMP(ioctls_total);
	VGSHIM_DUMP(create_blob_48);
	VGSHIM_DUMP(create_blob_56);
	VGSHIM_DUMP(blobs_created);
	VGSHIM_DUMP(blobs_blob_id);
	VGSHIM_DUMP(blobs_deferred);
	VGSHIM_DUMP(mmaps);
	VGSHIM_DUMP(munmaps);
	VGSHIM_DUMP(faults_injected);
	VGSHIM_DUMP(live_files);
	VGSHIM_DUMP(live_objects);
	VGSHIM_DUMP(live_handles);
	VGSHIM_DUMP(live_mappings);
	VGSHIM_DUMP(live_dmabufs);
	VGSHIM_DUMP(live_syncobjs);
	VGSHIM_DUMP(hangs_detected);
	VGSHIM_DUMP(bogus_attaches);
	VGSHIM_DUMP(host_connections);
	VGSHIM_DUMP(host_submits);
	VGSHIM_DUMP(host_lost);
	VGSHIM_DUMP(host_create_ns);
	VGSHIM_DUMP(host_create_named_ns);
#undef VGSHIM_DUMP
	for (unsigned i = 0; i < VGSHIM_IOCTL_SLOTS; i++)
		if (c.ioctls[i])
			fprintf(f, "ioctl_0x%02x %" PRIu64 "\n", i, c.ioctls[i]);
	return fclose(f) ? -errno : 0;
}
