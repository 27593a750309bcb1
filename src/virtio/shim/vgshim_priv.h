/* SPDX-License-Identifier: MIT */
/*
 * Internals of the virtio-gpu kernel model.
 *
 * One device (node, region, host) per process. Its locks follow the
 * kernel's: per DRM file (handle table; context), per object (atomics),
 * short device-wide sections (region, offsets, host queue), a prime lock,
 * a mapping table lock, the fd table's lock, a per-connection lock for the
 * real host. docs/kernel-model.md ("Locking") gives the order and what each
 * guards. One condition variable, with the device lock, is broadcast on
 * every state change the host makes (map answered, fence signalled, UNREF
 * answered): every wait in the model waits on it, as the driver's waits do
 * on its response wait queue. The model never calls an interposed libc
 * function through the PLT: it uses the vgshim_real_* pointers.
 */
#ifndef VGSHIM_PRIV_H
#define VGSHIM_PRIV_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim.h"

#define VGSHIM_PARAM_SLOTS 16

#define VGSHIM_PAGE 4096ull

/* Code a sanitizer's report may run: not instrumented by ThreadSanitizer
 * (vgshim_pagemap.c). */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define VGSHIM_NO_TSAN __attribute__((no_sanitize("thread")))
#endif
#endif
#ifndef VGSHIM_NO_TSAN
#define VGSHIM_NO_TSAN
#endif
#define VGSHIM_MAX_FDS 65536
#define VGSHIM_MAX_CAPSETS 8
#define VGSHIM_MAX_RINGS 64
/* First fake mmap offset, as DRM's: past 4 GiB; one span per object. */
#define VGSHIM_OFFSET_BASE (1ull << 32)
#define VGSHIM_OFFSET_SPAN_SHIFT 40
#define VGSHIM_OFFSET_SPAN (1ull << VGSHIM_OFFSET_SPAN_SHIFT)

/* ---- real libc (vgshim_libc.c) ---- */
extern int (*vgshim_real_open)(const char *, int, ...);
extern int (*vgshim_real_close)(int);
extern int (*vgshim_real_dup)(int);
extern int (*vgshim_real_dup2)(int, int);
extern int (*vgshim_real_dup3)(int, int, int);
extern int (*vgshim_real_fcntl)(int, int, ...);
extern int (*vgshim_real_ioctl)(int, unsigned long, ...);
extern void *(*vgshim_real_mmap)(void *, size_t, int, int, int, off_t);
extern int (*vgshim_real_munmap)(void *, size_t);
extern int (*vgshim_real_fstat)(int, struct stat *);
extern int (*vgshim_real_stat)(const char *, struct stat *);
extern int (*vgshim_real_eventfd)(unsigned int, int);
void vgshim_libc_init(void);

/* ---- configuration (vgshim_config.c) ---- */
struct vgshim_capset {
	uint32_t id;
	uint32_t max_version;
	uint32_t max_size;
};

struct vgshim_config {
	char node[256];
	enum vgshim_kernel kernel;
	uint64_t hostmem;          /* region bytes */
	uint64_t guestmem;         /* guest RAM budget for guest blobs */
	uint64_t map_latency_us;    /* MAP_BLOB, UNREF, fences */
	uint64_t create_latency_us; /* the host's work for RESOURCE_CREATE_BLOB */
	uint64_t hang_ms;
	bool partial_mmap;
	char stats[256];
	bool param_present[VGSHIM_PARAM_SLOTS];
	int64_t param[VGSHIM_PARAM_SLOTS];
	struct vgshim_capset capsets[VGSHIM_MAX_CAPSETS];
	unsigned num_capsets;
	char fail[512];            /* VGSHIM_FAIL as given */
	/* real-host mode: the vtest socket of a virglrenderer server; empty
	 * for the simulated host */
	char vtest_socket[108];
	uint32_t vtest_timeout_ms;
	bool capsets_set;          /* VGSHIM_CAPSETS given explicitly */
};

/* Parses the environment into cfg; on error prints why and returns -EINVAL. */
int vgshim_config_from_env(struct vgshim_config *cfg);
/* Applies NAME=VALUE on top of cfg (same syntax as the environment). */
int vgshim_config_set(struct vgshim_config *cfg, const char *name, const char *value);
void vgshim_config_defaults(struct vgshim_config *cfg);
uint64_t vgshim_capset_mask(const struct vgshim_config *cfg);

/* ---- fault injection (vgshim_fault.c) ---- */
#define VGSHIM_FAULT_ALLOC_SITE "alloc"
int vgshim_fault_parse(const char *rules);     /* replaces the rules; -EINVAL on error */
/* Counts one call of `site` and returns the errno to inject, or 0. */
int vgshim_fault_check(const char *site);
void vgshim_fault_reset_counts(void);
/* Allocation wrappers of the model: fail under the "alloc" rule. */
void *vgshim_calloc(size_t n, size_t size);
void *vgshim_realloc(void *p, size_t size);

/* ---- region (vgshim_region.c) ---- */
struct vgshim_range {
	uint64_t start, size;
};
struct vgshim_region {
	uint64_t size;
	struct vgshim_range *free; /* sorted, coalesced free ranges */
	size_t num_free, cap_free;
};
int vgshim_region_init(struct vgshim_region *r, uint64_t size);
void vgshim_region_fini(struct vgshim_region *r);
int vgshim_region_alloc(struct vgshim_region *r, uint64_t size, uint64_t *start);
void vgshim_region_release(struct vgshim_region *r, uint64_t start, uint64_t size);

/* ---- a small uint64 -> pointer hash (vgshim_hash.c) ---- */
struct vgshim_hash_slot {
	uint64_t key;
	void *val;                 /* NULL: empty */
};
struct vgshim_hash {
	struct vgshim_hash_slot *slots;
	size_t cap, count;
};
void *vgshim_hash_get(const struct vgshim_hash *h, uint64_t key);
int vgshim_hash_put(struct vgshim_hash *h, uint64_t key, void *val);
void vgshim_hash_del(struct vgshim_hash *h, uint64_t key);
void vgshim_hash_fini(struct vgshim_hash *h);

/* ---- locks ----
 * Order, outer first (a thread holding one may take only later ones):
 *   file->ctx_lock, rhost->lock, prime_lock, fd_lock, file->lock,
 *   obj->files_lock, map_lock, watch lock (vgshim_rhost.c), dev.lock,
 *   shard and fault locks.
 * Nothing that may free an object, a file, a dma-buf or a fence (their
 * puts) runs with any of them held, and no syscall that can block runs
 * under dev.lock. */
void vgshim_lock(void);
void vgshim_unlock(void);
void vgshim_mutex_init(pthread_mutex_t *m);
/* For sections of a few instructions: spins, yields when the holder is
 * not running. */
void vgshim_spin_lock(_Atomic uint32_t *l);
static inline void vgshim_spin_unlock(_Atomic uint32_t *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* ---- counters (vgshim_counters.c): per-thread shards, summed on read ---- */
#define VGSHIM_CNT_IDX(field) (offsetof(struct vgshim_counters, field) / sizeof(uint64_t))
void vgshim_count_add(size_t idx, int64_t n);
#define VGSHIM_INC(field) vgshim_count_add(VGSHIM_CNT_IDX(field), 1)
#define VGSHIM_DEC(field) vgshim_count_add(VGSHIM_CNT_IDX(field), -1)
#define VGSHIM_ADD(field, n) vgshim_count_add(VGSHIM_CNT_IDX(field), (int64_t)(n))
void vgshim_counters_sum(struct vgshim_counters *out);
void vgshim_counters_zero(void);
/* Keeps the bytes of a CREATE_BLOB as sent (vgshim_last_create_blob). */
void vgshim_note_blob(const void *arg, size_t size);
void vgshim_counters_atfork(int phase); /* 0 prepare (locks), 1 parent/child */

/* ---- objects, files, dma-bufs, mappings ---- */
enum vgshim_map_state {
	VGSHIM_MAP_INITIALIZING = 0,
	VGSHIM_MAP_OK = 1,
	VGSHIM_MAP_ERR = 2,
};

struct vgshim_hostmem; /* a host memory object of the registry */
struct vgshim_rhost;   /* a DRM file's context on the real host (vgshim_rhost.c) */

struct vgshim_obj {
	/* Set before the object is published (offset table, a handle), then
	 * read without a lock. */
	uint32_t res_id;
	uint32_t blob_mem, blob_flags, blob_hints;
	uint64_t blob_id;
	uint64_t size;             /* page-rounded */
	uint64_t offset;           /* fake mmap offset */
	bool vram;                 /* HOST3D: lives in the region when mappable */
	bool mappable;
	bool host_missing;         /* host could not back it: maps fail */
	bool imported_foreign;     /* wraps another process's memory */
	struct vgshim_rhost *rhost; /* real host: the context that created it */

	/* Lifetime: one reference per GEM handle (any file), per mapping, per
	 * submission using it, for its dma-buf, and per call in flight that
	 * found it. At zero the object is unreachable and its UNREF goes out. */
	_Atomic uint32_t kref;
	_Atomic uint32_t mappings; /* tracked mappings (reported) */
	/* Memory behind it (host memory or guest pages): -1 until made, then
	 * set once. */
	_Atomic int memfd;

	/* files_lock (a spinlock: a few instructions under it): which files
	 * hold a handle to it, and which (the kernel's per-object allow list
	 * of its mmap offset, and what an import looks for): one inline, more
	 * for objects shared by files; their number is its GEM handles (a
	 * file has one handle per object at most) */
	_Atomic uint32_t files_lock;
	struct vgshim_obj_handle {
		struct vgshim_file *file;
		uint32_t handle;
	} file0, *more_files;
	uint32_t num_more_files;

	/* dev.lock: the host-visible mapping, as the driver's host_visible
	 * lock and response wait queue guard it. region_reserved is also
	 * stored atomically so that a cached map can peek without the lock. */
	bool region_reserved;
	uint64_t region_offset;
	bool map_sent;             /* MAP_BLOB sent, answer may be pending */
	bool map_lost;             /* v1/v2: deferred map failed, nothing sent */
	int map_state;
	uint32_t busy;             /* fences of submissions using it */
	uint64_t host_ready_ns;    /* the host has finished its earlier work on it */

	/* prime_lock */
	struct vgshim_dmabuf *dmabuf;
};

struct vgshim_syncobj {
	bool signaled;
	uint64_t point;            /* timeline value */
};

enum vgshim_ctx_state {
	VGSHIM_CTX_NONE = 0,
	VGSHIM_CTX_IMPLICIT,
	VGSHIM_CTX_INIT,
};

struct vgshim_fence;

struct vgshim_file {
	/* fds of this process referring to it, plus calls in flight. A
	 * released file's memory is kept for the next one (type-stable, as a
	 * SLAB_TYPESAFE_BY_RCU cache): a lockless lookup that raced with its
	 * release fails its tryget or its recheck, never touches freed memory */
	_Atomic uint32_t refs;
	struct vgshim_file *next_free;
	struct vgshim_rhost *rhost; /* real host: this file's vtest connection */

	/* lock: the handle table, as the DRM file's table_lock */
	pthread_mutex_t lock;
	struct vgshim_obj **handles; /* index = GEM handle */
	uint32_t num_handles;      /* array size */
	uint32_t first_free;       /* no free handle below this */

	/* ctx_lock: the context, held across its creation on the host; ctx
	 * is also stored atomically, last, so that a set context is seen
	 * without the lock */
	pthread_mutex_t ctx_lock;
	enum vgshim_ctx_state ctx;
	uint32_t capset_id, num_rings;
	uint64_t poll_mask;
	bool debug_name;

	/* dev.lock: syncobjs (waited on with the device's condition) and the
	 * submissions that will signal some of them */
	struct vgshim_syncobj **syncobjs;
	uint32_t num_syncobjs;
	struct vgshim_fence *fences;
};

struct vgshim_dmabuf {
	/* prime_lock */
	struct vgshim_obj *obj;
	int base_fd;               /* internal: what new exports dup */
	uint32_t fds;              /* user fds alive */
	dev_t st_dev;
	ino_t st_ino;
	struct vgshim_dmabuf *next_dead;
};

struct vgshim_mapping {
	/* map_lock */
	uintptr_t start;
	size_t len;
	struct vgshim_obj *obj;
	/* live pieces after partial munmaps */
	struct vgshim_range *pieces;
	size_t num_pieces;
	struct vgshim_mapping *next_dead;
};

enum vgshim_fd_kind {
	VGSHIM_FD_NONE = 0,
	VGSHIM_FD_NODE,
	VGSHIM_FD_DMABUF,
};

/* Host events, answered after the latency. */
enum vgshim_event_kind {
	VGSHIM_EV_CREATE,  /* the host's creation work done: its memory made */
	VGSHIM_EV_MAP,
	VGSHIM_EV_UNREF,
	VGSHIM_EV_FENCE,
};

struct vgshim_fence {
	int efd;                   /* internal eventfd, written when signalled */
	struct vgshim_obj **objs;  /* a reference each */
	uint32_t num_objs;
	/* dev.lock: the file whose out-syncobjs it signals (NULL once that
	 * file is released), on the file's list */
	struct vgshim_file *file;
	struct vgshim_fence *file_next;
	uint32_t *out_syncobjs;
	uint64_t *out_points;
	uint32_t num_out;
	/* real host: the server's fd that turns readable when the work is
	 * done, watched by the watcher thread under key */
	struct vgshim_rhost *rhost;
	int host_fd;
	uint64_t key;
	struct vgshim_fence *next_pending;
};

struct vgshim_event {
	enum vgshim_event_kind kind;
	uint64_t deadline_ns;
	struct vgshim_obj *obj;
	struct vgshim_fence *fence;
	struct vgshim_event *next;
};

struct vgshim_dev {
	/* dev.lock: short sections only */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool inited;
	bool config_error;
	struct vgshim_config cfg;
	struct vgshim_config env_cfg; /* what the environment said */
	struct vgshim_region region;
	uint64_t region_in_use, region_peak;
	uint64_t guest_bytes;
	struct vgshim_offsets {
		struct vgshim_obj **slots; /* by offset slot */
		uint32_t num_slots, cap;
		uint32_t *free;            /* freed slots, the last freed on top */
		uint32_t num_free;
	} offsets;
	struct vgshim_hash mem_by_id;  /* host registry: blob_id -> hostmem */
	struct vgshim_event *events;   /* sorted by deadline */
	uint64_t events_pending;       /* queued or being answered */
	bool host_pumping;             /* a caller is answering the queue (latency 0) */
	bool host_thread_running;
	bool host_thread_stop;
	bool host_held;                /* vgshim_host_hold() */
	pthread_t host_thread;

	_Atomic uint32_t next_res_id;

	/* prime_lock: dma-bufs (the kernel's object_name_lock) */
	pthread_mutex_t prime_lock;
	struct vgshim_hash dmabuf_by_ino;

	/* map_lock: the process's mappings of objects */
	pthread_mutex_t map_lock;
	struct vgshim_hash map_by_start;
	_Atomic uint64_t live_mapping_count;

	/* fd_lock: changes of the fd table (the process's files_struct); an
	 * entry's kind is vgshim_fd_hint[fd], its pointer fd_ptr[fd], both
	 * stored atomically so that a node fd is looked up without the lock
	 * (vgshim_file_from_fd) */
	pthread_mutex_t fd_lock;
	_Atomic(void *) fd_ptr[VGSHIM_MAX_FDS];
};

extern struct vgshim_dev vgshim_dev;
/* The kind of each fd (enum vgshim_fd_kind): the fast "is it ours?" */
extern _Atomic unsigned char vgshim_fd_hint[VGSHIM_MAX_FDS];

/* Initialises the device from the environment (once). dev.lock held. */
int vgshim_ensure_init_locked(void);
void vgshim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t vgshim_now_ns(void);
/* cond wait with an absolute CLOCK_MONOTONIC deadline in ns; dev.lock held */
void vgshim_wait_until(uint64_t deadline_ns);

/* fd table: set and clear with fd_lock held; a kind read without it is
 * a snapshot */
void vgshim_fd_set(int fd, enum vgshim_fd_kind kind, void *ptr);
void vgshim_fd_clear(int fd);
enum vgshim_fd_kind vgshim_fd_kind(int fd, void **ptr);
/* The node file behind fd with a reference, or NULL; no lock. */
struct vgshim_file *vgshim_file_from_fd(int fd);
/* The object of a dma-buf fd with a reference, or NULL (takes prime_lock). */
struct vgshim_obj *vgshim_dmabuf_obj_from_fd(int fd);

/* objects (vgshim_object.c); no lock held unless said */
struct vgshim_obj *vgshim_obj_new(void);
static inline void vgshim_obj_get(struct vgshim_obj *obj)
{
	atomic_fetch_add_explicit(&obj->kref, 1, memory_order_relaxed);
}
bool vgshim_obj_tryget(struct vgshim_obj *obj);
void vgshim_obj_put(struct vgshim_obj *obj);
/* An object never published: nothing refers to it, the host may. */
void vgshim_obj_discard(struct vgshim_obj *obj);
/* Its memory, once nothing can reach it. */
void vgshim_obj_free(struct vgshim_obj *obj);
/* The object at a fake offset (sub-range with partial mmap), with a
 * reference, or NULL. */
struct vgshim_obj *vgshim_obj_by_offset(uint64_t off, uint64_t *obj_off);

/* fake offsets (vgshim_offset.c), dev.lock held */
int vgshim_offset_alloc(struct vgshim_obj *obj); /* sets obj->offset */
void vgshim_offset_free(struct vgshim_obj *obj);
struct vgshim_obj *vgshim_offset_lookup(uint64_t off, uint64_t *obj_off);
void vgshim_offsets_fini(void);
/* Host memory for an object: memfd of the host object or fresh. */
int vgshim_obj_memfd(struct vgshim_obj *obj);
static inline bool vgshim_obj_region_reserved(struct vgshim_obj *obj)
{
	return __atomic_load_n(&obj->region_reserved, __ATOMIC_ACQUIRE);
}

/* handles (vgshim_object.c); each takes the file's lock */
/* The object of a handle with a reference, or NULL. */
struct vgshim_obj *vgshim_file_lookup(struct vgshim_file *f, uint32_t handle);
/* New handle for obj (takes a reference for it). */
int vgshim_file_add_handle(struct vgshim_file *f, struct vgshim_obj *obj, uint32_t *handle);
/* The file's handle for obj, adding one if it has none (import). */
int vgshim_file_find_or_add(struct vgshim_file *f, struct vgshim_obj *obj, uint32_t *handle);
bool vgshim_file_has_handle(struct vgshim_file *f, struct vgshim_obj *obj);
uint32_t vgshim_obj_handles(struct vgshim_obj *obj); /* GEM handles in all files */
int vgshim_file_close_handle(struct vgshim_file *f, uint32_t handle);
struct vgshim_file *vgshim_file_new(void);
static inline void vgshim_file_get(struct vgshim_file *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}
bool vgshim_file_tryget(struct vgshim_file *f);
void vgshim_file_put(struct vgshim_file *f);

/* the host-visible mapping, dev.lock held */
/* Reserves the region range and sends MAP_BLOB (kernel side of a map). */
int vgshim_vram_map(struct vgshim_obj *obj);
/* The deferred map, as each generation does it. Returns the error the
 * ioctl/mmap must return (fixed), or 0 (v1/v2 drop it and set map_lost). */
int vgshim_vram_map_deferred(struct vgshim_obj *obj);
/* Waits until map_state leaves INITIALIZING (mmap's wait). */
int vgshim_vram_wait_mapped(struct vgshim_obj *obj);
/* Before a map that the host may answer at once: its memory, made outside
 * the device lock. */
void vgshim_vram_prepare(struct vgshim_obj *obj);

/* dma-bufs (vgshim_prime.c); no lock held */
int vgshim_prime_export(struct vgshim_file *f, uint32_t handle, uint32_t flags, int *fd);
int vgshim_prime_import(struct vgshim_file *f, int fd, uint32_t *handle);
/* One user fd of d gone, prime_lock held: returns d when it must be
 * destroyed (vgshim_dmabuf_destroy, no lock held). */
struct vgshim_dmabuf *vgshim_dmabuf_fd_closed(struct vgshim_dmabuf *d);
void vgshim_dmabuf_destroy(struct vgshim_dmabuf *d);

/* host (vgshim_host.c) */
/* Queues MAP_BLOB (answered at once with no latency). dev.lock held. */
void vgshim_host_send_map(struct vgshim_obj *obj);
/* UNREF of a dead object (which leaves the offset table), or a
 * submission's fence. No lock held. */
void vgshim_host_send(enum vgshim_event_kind kind, struct vgshim_obj *obj,
		      struct vgshim_fence *fence);
/* Answers what is queued when there is no latency (no lock held). */
void vgshim_host_pump(void);
void vgshim_host_run_cmds(const uint32_t *cmds, size_t dwords);
int vgshim_host_resolve(struct vgshim_obj *obj);
void vgshim_host_fini_registry(void); /* dev.lock held */
void vgshim_host_stop_locked(void);   /* dev.lock held */
void vgshim_host_created(struct vgshim_obj *obj); /* the host starts creating it */
/* obj is published: the host makes its memory when it is done creating */
void vgshim_host_send_create(struct vgshim_obj *obj);

/* Completes a submission: objects idle, out-syncobjs signalled, the
 * out-fence fd readable; frees the fence. No lock held. */
void vgshim_fence_complete(struct vgshim_fence *fence);
/* The part under dev.lock, and the rest. */
void vgshim_fence_signal_locked(struct vgshim_fence *fence);
void vgshim_fence_finish(struct vgshim_fence *fence);
void vgshim_fence_free(struct vgshim_fence *fence);

/* the real host (vgshim_rhost.c), no lock held; all return 0 or a
 * negative errno, and -EIO once the server is gone */
static inline bool vgshim_real_host(void)
{
	return vgshim_dev.cfg.vtest_socket[0] != 0;
}
int vgshim_rhost_open(struct vgshim_file *f);
void vgshim_rhost_file_closed(struct vgshim_file *f);
int vgshim_rhost_get_caps(struct vgshim_file *f, uint32_t id, uint32_t version, void *buf,
			  size_t size);
int vgshim_rhost_context_init(struct vgshim_file *f, uint32_t capset_id);
/* A blob's creation command, submitted before the resource is created. */
int vgshim_rhost_run_cmd(struct vgshim_file *f, const void *cmd, uint32_t cmd_size);
/* Creates the host resource of obj (blob_mem, blob_flags, size, blob_id
 * set): sets res_id, memfd (or host_missing) and rhost. */
int vgshim_rhost_create_blob(struct vgshim_file *f, struct vgshim_obj *obj);
void vgshim_rhost_obj_destroyed(struct vgshim_obj *obj);
/* Submits cmd on the ring; the fence completes when the host is done. */
int vgshim_rhost_submit(struct vgshim_file *f, const void *cmd, uint32_t cmd_size,
			uint32_t ring_idx, struct vgshim_fence *fence);
void vgshim_rhost_atfork_lock(struct vgshim_file *f);
void vgshim_rhost_atfork_unlock(struct vgshim_file *f);
void vgshim_rhost_atfork_prepare(void);
void vgshim_rhost_atfork_parent(void);
void vgshim_rhost_atfork_child(void);

/* mappings (vgshim_mmap.c); no lock held. obj comes with a reference,
 * which the mapping keeps (or which is dropped on failure). */
void *vgshim_mmap_obj(struct vgshim_file *f, struct vgshim_obj *obj, void *addr, size_t len,
		      int prot, int flags, off_t obj_off);
void *vgshim_mmap_node(struct vgshim_file *f, void *addr, size_t len, int prot, int flags,
		       off_t off);
/* [start, start+len) is no longer mapped (munmap, MAP_FIXED): forgets
 * the tracked mappings in it; returns those that ended (map_lock held),
 * to release with vgshim_mappings_release (no lock held). */
struct vgshim_mapping *vgshim_mappings_unmapped(uintptr_t start, size_t len);
void vgshim_mappings_release(struct vgshim_mapping *dead);

/* Pages holding a tracked mapping (vgshim_pagemap.c): marked under
 * map_lock, asked without it (munmap, also from inside a sanitizer's
 * report). */
void vgshim_pages_mark(uintptr_t start, size_t len, bool tracked);
bool vgshim_pages_any(uintptr_t start, size_t len);

/* ioctls (vgshim_ioctl.c, vgshim_virtgpu.c, vgshim_syncobj.c); no lock held */
int vgshim_ioctl_node(struct vgshim_file *f, unsigned long request, void *arg);
int vgshim_virtgpu_ioctl(struct vgshim_file *f, unsigned nr, void *data, size_t in_size);
int vgshim_syncobj_ioctl(struct vgshim_file *f, unsigned nr, void *data);
/* dev.lock held */
struct vgshim_syncobj *vgshim_syncobj_lookup(struct vgshim_file *f, uint32_t handle);
void vgshim_file_free_syncobjs(struct vgshim_file *f);

#endif
