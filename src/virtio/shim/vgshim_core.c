/* SPDX-License-Identifier: MIT */
/*
 * The model's device: its lock, its lazy initialisation from the
 * environment, the fd table, the test API (configure, reset, counters) and
 * the counters dump a preloaded model writes at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgshim_priv.h"

struct vgshim_dev vgshim_dev = { .lock = PTHREAD_MUTEX_INITIALIZER };
_Atomic unsigned char vgshim_fd_hint[VGSHIM_MAX_FDS];

void vgshim_lock(void)
{
	pthread_mutex_lock(&vgshim_dev.lock);
}

void vgshim_unlock(void)
{
	pthread_mutex_unlock(&vgshim_dev.lock);
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
	vgshim_dev.fd_kind[fd] = (unsigned char)kind;
	vgshim_dev.fd_ptr[fd] = ptr;
	atomic_store(&vgshim_fd_hint[fd], (unsigned char)kind);
}

void vgshim_fd_clear(int fd)
{
	vgshim_dev.fd_kind[fd] = VGSHIM_FD_NONE;
	vgshim_dev.fd_ptr[fd] = NULL;
	atomic_store(&vgshim_fd_hint[fd], VGSHIM_FD_NONE);
}

enum vgshim_fd_kind vgshim_fd_kind(int fd, void **ptr)
{
	if (fd < 0 || fd >= VGSHIM_MAX_FDS)
		return VGSHIM_FD_NONE;
	if (ptr)
		*ptr = vgshim_dev.fd_ptr[fd];
	return (enum vgshim_fd_kind)vgshim_dev.fd_kind[fd];
}

static void vgshim_dump_at_exit(void)
{
	if (vgshim_dev.cfg.stats[0])
		vgshim_dump_counters(vgshim_dev.cfg.stats);
}

/* fork: the child gets a copy of the state but not the host thread. */
static void vgshim_atfork_prepare(void)
{
	vgshim_lock();
}

static void vgshim_atfork_parent(void)
{
	vgshim_unlock();
}

static void vgshim_atfork_child(void)
{
	vgshim_dev.host_thread_running = false;
	vgshim_rhost_atfork_child();
	vgshim_unlock();
}

static void vgshim_apply_config_locked(void)
{
	struct vgshim_dev *d = &vgshim_dev;

	vgshim_region_fini(&d->region);
	if (vgshim_region_init(&d->region, d->cfg.hostmem))
		d->config_error = true;
	memset(&d->c, 0, sizeof(d->c));
	d->c.region_size = d->cfg.hostmem;
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
	d->next_res_id = 1;
	d->next_offset = VGSHIM_OFFSET_BASE;
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

static bool vgshim_busy_locked(void)
{
	const struct vgshim_counters *c = &vgshim_dev.c;

	return vgshim_dev.live_files || c->live_objects || c->live_dmabufs || c->live_mappings;
}

static int vgshim_reconfigure(const struct vgshim_config *cfg)
{
	int ret = 0;

	vgshim_lock();
	vgshim_ensure_init_locked();
	vgshim_dev.host_held = false;
	pthread_cond_broadcast(&vgshim_dev.cond);
	vgshim_drain_locked();
	if (vgshim_busy_locked()) {
		ret = -EBUSY;
	} else {
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
	if (!hold && vgshim_dev.events && !vgshim_dev.host_thread_running) {
		/* queued while held with no latency: answer them now, in order */
		while (vgshim_dev.events) {
			struct vgshim_event *ev = vgshim_dev.events;

			vgshim_dev.events = ev->next;
			vgshim_host_answer_event(ev);
		}
	}
	pthread_cond_broadcast(&vgshim_dev.cond);
	vgshim_unlock();
}

void vgshim_get_counters(struct vgshim_counters *out)
{
	vgshim_lock();
	vgshim_ensure_init_locked();
	*out = vgshim_dev.c;
	out->faults_injected = __atomic_load_n(&vgshim_dev.c.faults_injected, __ATOMIC_RELAXED);
	out->live_files = vgshim_dev.live_files;
	vgshim_unlock();
}

size_t vgshim_last_create_blob(void *buf, size_t size)
{
	size_t n;

	vgshim_lock();
	n = vgshim_dev.last_blob_size;
	memcpy(buf, vgshim_dev.last_blob, n < size ? n : size);
	vgshim_unlock();
	return n;
}

int vgshim_object_info(int node_fd, uint32_t handle, struct vgshim_object_info *out)
{
	struct vgshim_file *f;
	struct vgshim_obj *o;
	int ret = 0;

	vgshim_lock();
	if (vgshim_fd_kind(node_fd, (void **)&f) != VGSHIM_FD_NODE) {
		ret = -EBADF;
	} else if (!(o = vgshim_file_lookup(f, handle))) {
		ret = -ENOENT;
	} else {
		*out = (struct vgshim_object_info){
			.res_id = o->res_id,
			.blob_mem = o->blob_mem,
			.blob_flags = o->blob_flags,
			.blob_hints = o->blob_hints,
			.size = o->size,
			.region_reserved = o->region_reserved,
			.region_offset = o->region_offset,
			.map_state = o->vram && o->mappable ? o->map_state : -1,
			.handles = o->handles,
			.mappings = o->mappings,
			.dmabuf = o->dmabuf != NULL,
		};
	}
	vgshim_unlock();
	return ret;
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
#undef VGSHIM_DUMP
	for (unsigned i = 0; i < VGSHIM_IOCTL_SLOTS; i++)
		if (c.ioctls[i])
			fprintf(f, "ioctl_0x%02x %" PRIu64 "\n", i, c.ioctls[i]);
	return fclose(f) ? -errno : 0;
}
