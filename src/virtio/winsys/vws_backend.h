/* SPDX-License-Identifier: MIT */
/*
 * The backend contract of the winsys (internal).
 *
 * Everything that is policy or bookkeeping is shared code: the device
 * object, the defer policy and its configuration, the blob object and its
 * reference count, the device-wide object table, the mapping cache, the
 * forced mapping before export, import de-duplication, accounting and
 * logging. A backend only moves bytes to and from its transport: the
 * kernel backend (vws_kernel*.c) issues one ioctl/mmap per op, a vtest
 * backend (vws_vtest*.c) one socket command per op.
 *
 * Rules every op follows:
 *  - returns 0 or a negative errno, writes outputs only on success, and
 *    on failure leaves nothing behind (no fd, handle, mapping, memory);
 *  - may be called from any thread; the shared code serialises what needs
 *    serialising (see each op), so a backend needs a lock only for its own
 *    transport state (e.g. one socket);
 *  - counts its own work (VWS_STAT_MAP_IOCTL for the call that makes an
 *    object mappable, VWS_STAT_MMAP for each mmap), because only the
 *    backend knows what it issued: on the copy of the counts bo_map and
 *    bo_reserve are handed (vws_stats_count_on; the shared code found it
 *    already), elsewhere with vws_stats_count();
 *  - logs with vws_log() under the matching VWS_DEBUG category.
 *
 * Backend-private state: dev->backend (device) and bo->backend_data /
 * bo->backend_ptr (object). The shared code never looks inside them.
 *
 * Adding a backend: define `const struct vws_backend_ops vws_<name>_backend_ops`
 * and map its enum vws_backend_kind to it in vws_backend_select()
 * (vws_device.c). A file named vws_vtest.c in this directory is picked up by
 * meson.build automatically and defines VWS_HAVE_VTEST.
 */
#ifndef VWS_BACKEND_H
#define VWS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vws/vws.h"

struct vws_device;
struct vws_bo;
struct vws_shard;

/* CONTEXT_INIT as the shared code decided it. */
struct vws_context_params {
	uint32_t capset_id;      /* never 0 here */
	uint32_t num_rings;      /* >= 1 */
	uint64_t ring_poll_mask;
	const char *debug_name;  /* NULL: do not send one */
};

/* One blob creation, with the defer decision already made. */
struct vws_blob_request {
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint64_t size;           /* as the caller gave it (the backend rounds) */
	uint64_t blob_id;
	const void *cmd;
	uint32_t cmd_size;
	uint32_t blob_hints;     /* VIRTGPU_BLOB_HINT_* (or a probe bit) */
	/* Send the hints-capable (56-byte) call. false: the 48-byte call the
	 * kernel has always known (blob_hints is then 0 by definition). */
	bool extended;
};

struct vws_backend_ops {
	const char *name;

	/* ---- device ---------------------------------------------------- */

	/* Opens the transport named by ci->path (NULL: find it) and fills
	 * dev->info: path, driver_name and version, param_present/param,
	 * supported_capsets, host_visible_size when known. Sets dev->backend.
	 * No context is created here. Errors: -ENODEV (nothing found, wrong
	 * driver: log which), -errno of the transport. On failure dev->backend
	 * is left NULL. */
	int (*open)(struct vws_device *dev, const struct vws_device_create_info *ci);
	/* Releases dev->backend. Called once, after every object is gone. */
	void (*close)(struct vws_device *dev);
	/* The DRM fd, or -1 when the backend has none. Optional (NULL = -1). */
	int (*get_fd)(const struct vws_device *dev);

	/* Copies capset id at exactly this version into buf (<= size bytes).
	 * -EINVAL when the transport rejects id/version. */
	int (*get_capset)(struct vws_device *dev, uint32_t capset_id,
			  uint32_t version, void *buf, size_t size);
	/* Creates the device's context. Called at most once, before any op
	 * that could create an implicit context. */
	int (*context_init)(struct vws_device *dev, const struct vws_context_params *p);
	/* Finds out whether the transport validates blob_hints (design.md,
	 * "Hint probe"). Called once, after context_init (or instead of it
	 * when the caller wants no context: the backend must then not create
	 * an implicit context on the device's own transport). Must leave no
	 * object behind. Writes a one-line reason. Optional: NULL = NONE. */
	void (*probe_hints)(struct vws_device *dev, enum vws_hint_support *out,
			    char *reason, size_t reason_size);

	/* ---- objects ---------------------------------------------------- */

	/* Creates one blob exactly as requested (no policy here) and
	 * describes it in the new object bo, which nobody else has yet:
	 * handle (the table key: GEM handle, vtest res id), res_id, blob_mem,
	 * size (page-rounded), backend_data and backend_ptr (whatever the
	 * backend keeps; 0 and NULL if nothing). Written in place, not copied
	 * from a description: this runs on every creation. */
	int (*bo_create)(struct vws_device *dev, const struct vws_blob_request *req,
			 struct vws_bo *bo);
	/* Drops the backend's reference (GEM_CLOSE). Called with no lock
	 * held, after every mapping was unmapped, while the object is marked
	 * closing in the table (an import given its key waits until it is
	 * gone, then asks again: vws_bo.c). With
	 * handle and res_id 0, the key bo_create returned turned out to be a
	 * live object's (a protocol error): release only backend_data and
	 * backend_ptr, never the key. */
	void (*bo_close)(struct vws_device *dev, struct vws_bo *bo);
	/* Maps the whole object, MAP_SHARED, read/write. fixed_addr non-NULL:
	 * exactly there (MAP_FIXED). Returns the address. The shared code
	 * serialises calls per object and caches the cached (non-fixed)
	 * mapping; munmap is the shared code's. On failure the object must
	 * stay usable for a later attempt. When a step before the mmap made
	 * the transport reserve the object's region range (the fixed kernel's
	 * MAP ioctl), call vws_stats_bo_held_on() then: the range stays
	 * reserved even if the mmap fails. s: this thread's copy of the
	 * counts (vws_shard), for the counts this op makes. */
	int (*bo_map)(struct vws_device *dev, struct vws_bo *bo, void *fixed_addr,
		      void **out, struct vws_shard *s);
	/* The transport's host mapping of a deferred object without a CPU
	 * mapping (the fixed kernel's MAP ioctl): asked only when the probe
	 * found a kernel that validates hints (VWS_HINT_VALIDATED), for an
	 * export. Calls vws_stats_bo_held_on() when the range is reserved.
	 * NULL: the shared code maps instead. map_lock held. s: as bo_map's. */
	int (*bo_reserve)(struct vws_device *dev, struct vws_bo *bo, struct vws_shard *s);
	/* New dma-buf fd (O_CLOEXEC, read/write) for the object; the shared
	 * code has already forced the deferred host mapping when needed
	 * (bo_reserve, or bo_map). */
	int (*bo_export)(struct vws_device *dev, struct vws_bo *bo, int *fd);
	/* fd -> table key. Called with the import lock held (imports are
	 * serialised), not the table lock. The same buffer imported twice
	 * gives the same key; the backend must not count references (the
	 * shared code does). */
	int (*bo_import)(struct vws_device *dev, int fd, uint32_t *handle);
	/* Describes an imported key in the new object bo, as bo_create does
	 * (handle is the key); fd is the dma-buf it came from (for its size).
	 * Import lock held. */
	int (*bo_query)(struct vws_device *dev, uint32_t handle, int fd,
			struct vws_bo *bo);
	/* Drops a key returned by bo_import that never became an object
	 * (query failed, size check failed). Import lock held. */
	void (*bo_import_abort)(struct vws_device *dev, uint32_t handle);
	/* Waits until the host is done with the object; nowait: -EBUSY. */
	int (*bo_wait)(struct vws_device *dev, struct vws_bo *bo, bool nowait);

	/* ---- submission and sync (optional: NULL = -EOPNOTSUPP) --------- */

	/* info->bos already validated (non-NULL, same device). */
	int (*submit)(struct vws_device *dev, const struct vws_submit_info *info);
	int (*syncobj_create)(struct vws_device *dev, bool signaled, uint32_t *handle);
	int (*syncobj_destroy)(struct vws_device *dev, uint32_t handle);
	int (*syncobj_wait)(struct vws_device *dev, const uint32_t *handles,
			    uint32_t count, int64_t timeout_ns, bool wait_all);
	int (*syncobj_signal)(struct vws_device *dev, const uint32_t *handles,
			      uint32_t count);
};

extern const struct vws_backend_ops vws_kernel_backend_ops;
#ifdef VWS_HAVE_VTEST
extern const struct vws_backend_ops vws_vtest_backend_ops;
#endif

#endif /* VWS_BACKEND_H */
