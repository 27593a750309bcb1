/* SPDX-License-Identifier: MIT */
/*
 * virtio-winsys public API.
 *
 * Conventions:
 *  - Every function that can fail returns 0 or a negative errno; outputs are
 *    written only on success.
 *  - Objects are reference counted. Every call is thread-safe. Two devices
 *    share nothing (no global locks, no global tables).
 *  - The winsys knows DRM and virtio-gpu, not Vulkan.
 */
#ifndef VWS_VWS_H
#define VWS_VWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vws_device;
struct vws_bo;

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

enum vws_backend_kind {
	VWS_BACKEND_DEFAULT = 0, /* VWS_BACKEND env, else kernel */
	VWS_BACKEND_KERNEL,      /* a virtio-gpu DRM render node */
	VWS_BACKEND_VTEST,       /* virglrenderer's vtest socket */
};

/* What the defer-mapping probe found (design.md, "Hint probe"). */
enum vws_hint_support {
	VWS_HINT_NONE = 0,  /* no blob support (or a backend without a kernel) */
	VWS_HINT_IGNORED,   /* kernel accepts any hint bits: old kernel or Linux 7.2 */
	VWS_HINT_VALIDATED, /* kernel rejects unknown hint bits: fixed kernel */
};

enum vws_defer_policy {
	VWS_DEFER_DEFAULT = 0, /* configuration file / VWS_DEFER, else AUTO */
	VWS_DEFER_AUTO,        /* hint only when the probe says VALIDATED */
	VWS_DEFER_ALWAYS,      /* hint whenever asked (risky before the fix) */
	VWS_DEFER_NEVER,       /* never send the hint */
};

/* Features the caller cannot work without; vws_device_create fails otherwise. */
#define VWS_REQUIRE_BLOB          (1u << 0) /* -EOPNOTSUPP without RESOURCE_BLOB */
#define VWS_REQUIRE_HOST_VISIBLE  (1u << 1) /* -EOPNOTSUPP without HOST_VISIBLE */
#define VWS_REQUIRE_CONTEXT_INIT  (1u << 2) /* -EOPNOTSUPP without CONTEXT_INIT */

struct vws_device_create_info {
	enum vws_backend_kind backend;
	/* Render node path (kernel) or socket path (vtest); NULL: scan
	 * /dev/dri/renderD128..191 for driver "virtio_gpu" (kernel), or
	 * VWS_VTEST_SOCKET (vtest). */
	const char *path;
	/* Context to initialise: a VIRTGPU_CAPSET_* id (VENUS, GFXSTREAM_VULKAN),
	 * or 0 for no CONTEXT_INIT (a tool that only looks at the device).
	 * A capset the host does not offer fails with -EOPNOTSUPP. */
	uint32_t capset_id;
	uint32_t num_rings;        /* 0 means 1 */
	uint64_t ring_poll_mask;
	const char *debug_name;    /* NULL: the executable name */
	uint32_t require;          /* VWS_REQUIRE_* */
	enum vws_defer_policy defer;
	/* Configuration: NULL for the standard files (see docs/winsys.md);
	 * set by tests to use one file only. */
	const char *config_file;
	/* Application name for per-application configuration; NULL: the
	 * executable's name. */
	const char *app_name;
	/* Size of the host-visible region if the caller knows it (the kernel
	 * does not report it); 0 = unknown. Used by the budget helper and, on
	 * a kernel that does not validate hints, to refuse with -ENOSPC a
	 * deferred first map that cannot fit (docs/winsys.md).
	 * VWS_HOST_VISIBLE_SIZE in the environment overrides it. */
	uint64_t host_visible_size;
};

/* The whole of what the device reported, and what the winsys decided. */
struct vws_device_info {
	enum vws_backend_kind backend;
	char path[64];
	char driver_name[32];
	int driver_major, driver_minor, driver_patch;

	/* GETPARAM values; param_present[i] is false when the kernel answered
	 * -EINVAL for param i (absent on that kernel, not an error). */
	bool param_present[16];
	int64_t param[16];            /* indexed by VIRTGPU_PARAM_* */
	uint64_t supported_capsets;   /* bit n = capset id n */

	uint32_t capset_id;           /* context capset, 0 if none */
	uint32_t capset_version;      /* negotiated version of that capset */
	bool context_initialised;

	enum vws_hint_support hint_support;
	enum vws_defer_policy defer_policy; /* in force, never DEFAULT */
	const char *defer_policy_source;    /* "caller", "environment",
	                                       "config:<file>", "default" */
	const char *hint_reason;      /* one line: why hint_support is what it is */
	uint64_t host_visible_size;   /* 0 = unknown */
};

int vws_device_create(const struct vws_device_create_info *info,
		      struct vws_device **out);
struct vws_device *vws_device_ref(struct vws_device *dev);
/* Drops the caller's reference; the device lives on while objects do. */
void vws_device_unref(struct vws_device *dev);
const struct vws_device_info *vws_device_get_info(const struct vws_device *dev);
/* The DRM fd (kernel backend) or -1. Owned by the device; do not close. */
int vws_device_get_fd(const struct vws_device *dev);

/* Copies the capset into buf (at most size bytes). Negotiates the version:
 * tries max_version (at most 255: UINT32_MAX means "the highest there is"),
 * then lower ones down to 0; *version_out gets the one that worked.
 * -EINVAL/-EOPNOTSUPP when none does. */
int vws_device_get_capset(struct vws_device *dev, uint32_t capset_id,
			  uint32_t max_version, void *buf, size_t size,
			  uint32_t *version_out);

/* ------------------------------------------------------------------ */
/* Blob objects                                                        */
/* ------------------------------------------------------------------ */

/* vws_bo_create_info.flags */
#define VWS_BO_DEVICE_LOCAL (1u << 0) /* caller asks for the defer hint: the
                                         CPU may never touch this memory */

struct vws_bo_create_info {
	uint32_t blob_mem;   /* VIRTGPU_BLOB_MEM_* */
	uint32_t blob_flags; /* VIRTGPU_BLOB_FLAG_USE_* */
	uint64_t size;       /* bytes; rounded up to the page size */
	uint64_t blob_id;    /* host object id (0 for GUEST) */
	const void *cmd;     /* optional creation command, submitted first */
	uint32_t cmd_size;   /* bytes, multiple of 4 */
	uint32_t flags;      /* VWS_BO_* */
};

struct vws_bo_info {
	uint32_t gem_handle;
	uint32_t res_id;
	uint32_t blob_mem;
	uint32_t blob_flags; /* as created; 0 when !flags_known */
	uint64_t size;      /* page-rounded */
	bool deferred;      /* created with the hint and not mapped since */
	bool hinted;        /* the hint was sent at creation */
	bool mapped;        /* the cached mapping exists */
	bool imported;
	/* blob_flags are known: the object was created on this device (or is
	 * this device's own export imported back). false for an object another
	 * device created: the kernel does not report blob flags on import. */
	bool flags_known;
};

int vws_bo_create(struct vws_device *dev, const struct vws_bo_create_info *info,
		  struct vws_bo **out);
/* Whether vws_bo_create(dev, info) would send the defer hint: the request
 * (VWS_BO_DEVICE_LOCAL on a HOST3D MAPPABLE blob), the policy in force and
 * the probe, exactly as vws_bo_create decides it. No I/O. Lets a driver
 * choose when to create a blob: one that will be hinted costs no region
 * space until it is mapped, so it can be created at allocation. false for
 * NULL arguments. */
bool vws_bo_would_hint(const struct vws_device *dev, const struct vws_bo_create_info *info);
struct vws_bo *vws_bo_ref(struct vws_bo *bo);
/* Last reference: unmaps, closes the GEM handle, frees. */
void vws_bo_unref(struct vws_bo *bo);
int vws_bo_get_info(const struct vws_bo *bo, struct vws_bo_info *out);
/* Keeps *account (a 64-bit count updated with atomic adds) charged with
 * the object's size while the object holds memory: added now unless the
 * object is deferred, at its first map or export otherwise. NULL takes
 * back what was charged; a new account replaces the old one. For an O(1)
 * usage count above the winsys (the Vulkan layer's vkGetMemoryBudget):
 * the deferred -> held step is the winsys's to see. The account must
 * outlive the charge. */
void vws_bo_set_account(struct vws_bo *bo, uint64_t *account);

/* Whole-object CPU mapping. The first call does MAP + mmap(MAP_SHARED);
 * later calls return the cached pointer with no syscall. Concurrent first
 * calls map once. On failure the object is untouched and may be mapped
 * again later (e.g. after other objects freed region space). */
int vws_bo_map(struct vws_bo *bo, void **ptr);

/* Placed mapping (VK_EXT_map_memory_placed): map the whole object at addr
 * (page-aligned, a range the caller owns) with MAP_FIXED. Independent of the
 * cached mapping. One placed mapping per object at a time (-EBUSY). */
int vws_bo_map_placed(struct vws_bo *bo, void *addr);
/* Removes the placed mapping; with reserve, leaves the range reserved
 * (PROT_NONE) instead of unmapped. -EINVAL if there is none. */
int vws_bo_unmap_placed(struct vws_bo *bo, bool reserve);

/* dma-buf export: forces the deferred mapping first (see design.md), then
 * PRIME_HANDLE_TO_FD with DRM_CLOEXEC | DRM_RDWR. *fd is the caller's. */
int vws_bo_export_fd(struct vws_bo *bo, int *fd);

/* dma-buf import. One kernel object is one winsys object: importing a
 * buffer the device already knows returns a new reference to the same
 * vws_bo. expected_size (0 = any) must not exceed the object's size
 * (-EINVAL). The fd stays the caller's. */
int vws_bo_import_fd(struct vws_device *dev, int fd, uint64_t expected_size,
		     struct vws_bo **out);

/* Waits for the host to finish with the object (VIRTGPU_WAIT).
 * nowait: -EBUSY instead of blocking. */
int vws_bo_wait(struct vws_bo *bo, bool nowait);

/* ------------------------------------------------------------------ */
/* Submission and sync                                                 */
/* ------------------------------------------------------------------ */

struct vws_syncobj_point {
	uint32_t handle; /* DRM syncobj handle */
	uint64_t point;  /* 0 for binary syncobjs */
	bool reset;      /* in-syncobjs only: reset after waiting */
};

struct vws_submit_info {
	const void *cmd;
	uint32_t cmd_size;          /* bytes, multiple of 4 */
	uint32_t ring_idx;          /* used when use_ring is set */
	bool use_ring;
	struct vws_bo *const *bos;  /* objects the command uses */
	uint32_t num_bos;
	int in_fence_fd;            /* -1: none */
	int *out_fence_fd;          /* NULL: none; else gets a sync_file fd */
	const struct vws_syncobj_point *in_syncobjs;
	uint32_t num_in_syncobjs;
	const struct vws_syncobj_point *out_syncobjs;
	uint32_t num_out_syncobjs;
};

int vws_submit(struct vws_device *dev, const struct vws_submit_info *info);

int vws_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle);
int vws_syncobj_destroy(struct vws_device *dev, uint32_t handle);
/* timeout_ns: absolute CLOCK_MONOTONIC deadline, INT64_MAX for none. */
int vws_syncobj_wait(struct vws_device *dev, const uint32_t *handles,
		     uint32_t count, int64_t timeout_ns, bool wait_all);
int vws_syncobj_signal(struct vws_device *dev, const uint32_t *handles,
		       uint32_t count);

/* ------------------------------------------------------------------ */
/* Accounting                                                          */
/* ------------------------------------------------------------------ */

struct vws_stats {
	uint64_t objects;             /* live vws_bo */
	uint64_t imported_objects;
	uint64_t mapped_objects;      /* with a cached or placed mapping */
	uint64_t deferred_objects;    /* hinted, not mapped yet */
	/* Host-visible region (HOST3D + MAPPABLE objects only): */
	uint64_t region_bytes_held;     /* range reserved by the kernel */
	uint64_t region_bytes_deferred; /* would be reserved on first map */
	uint64_t region_bytes_peak;     /* high-water mark of held */
	/* Work done: */
	uint64_t map_calls;           /* vws_bo_map + map_placed calls */
	uint64_t map_ioctls;          /* VIRTGPU_MAP issued */
	uint64_t mmaps;               /* mmap() issued */
	uint64_t forced_maps;         /* mappings forced by an export */
	uint64_t exports, imports;
};

void vws_device_get_stats(struct vws_device *dev, struct vws_stats *out);

/* VK_EXT_memory_budget numbers for a heap of heap_size bytes that is backed
 * by the host-visible region: usage = region bytes held; budget = what this
 * process may hold in the heap, usage included, as the extension defines
 * it: heap_size (other processes' usage is not known), never below usage.
 * The Vulkan layer's vws_vk_GetMemoryBudget uses the same definition. */
void vws_device_get_budget(struct vws_device *dev, uint64_t heap_size,
			   uint64_t *usage, uint64_t *budget);

/* ------------------------------------------------------------------ */
/* Names, for tools and logs                                           */
/* ------------------------------------------------------------------ */

const char *vws_hint_support_name(enum vws_hint_support s);
const char *vws_defer_policy_name(enum vws_defer_policy p);
/* Parses "auto", "always", "never"; -EINVAL otherwise. */
int vws_defer_policy_parse(const char *s, enum vws_defer_policy *out);

#ifdef __cplusplus
}
#endif

#endif /* VWS_VWS_H */
