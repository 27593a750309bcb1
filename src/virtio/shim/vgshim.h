/* SPDX-License-Identifier: MIT */
/*
 * Test API of the virtio-gpu kernel model (libvirtgpu-shim.so).
 *
 * Available to programs that link the model directly; a preloaded model is
 * configured only through the environment (docs/kernel-model.md) and writes
 * its counters to $VGSHIM_STATS at exit.
 *
 * The model has one device (one render node, one host-visible region, one
 * host). Configuration is read from the environment when the model starts;
 * vgshim_configure() changes it for tests, and applies while no file of the
 * node is open (-EBUSY otherwise).
 */
#ifndef VGSHIM_H
#define VGSHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vgshim_kernel {
	VGSHIM_KERNEL_LEGACY = 0, /* Linux <= 7.1: no blob_hints, map at create */
	VGSHIM_KERNEL_V1,         /* first posting: defer on MAP or mmap, bugs 2-4 */
	VGSHIM_KERNEL_V2,         /* Linux 7.2 as merged: defer on mmap only, bugs */
	VGSHIM_KERNEL_FIXED,      /* the review's fixes */
};

/* Same names and syntax as the environment variables (VGSHIM_KERNEL,
 * VGSHIM_HOSTMEM, VGSHIM_FAIL, VGSHIM_PARAM_*, ...). Validated: -EINVAL for
 * an unknown name or bad value, -EBUSY while a file of the node is open.
 * Also resets the device (objects, region, host registry, counters). */
int vgshim_configure(const char *name, const char *value);
/* Back to the environment's configuration and an empty device. -EBUSY while
 * a file of the node is open. */
int vgshim_reset(void);

/* Fault injection, VGSHIM_FAIL syntax (docs/kernel-model.md); replaces the
 * rules in force; NULL or "" clears them. Allowed while files are open. */
int vgshim_set_fail(const char *rules);

/* Waits until the asynchronous host has answered every command sent so far
 * (MAP_BLOB, UNREF, fences). Tests use it instead of sleeping. */
void vgshim_host_drain(void);

/* Holds the host: while held it answers nothing (MAP_BLOB, UNREF, fences
 * queue up), so a test can observe "not answered yet" without depending
 * on timing. Releasing lets the host answer everything queued, each after
 * its latency. vgshim_host_drain() while held returns at once. */
void vgshim_host_hold(bool hold);

#define VGSHIM_IOCTL_SLOTS 0x60 /* indexed by the ioctl nr (low 8 bits) */

struct vgshim_counters {
	/* host-visible region */
	uint64_t region_size;
	uint64_t region_bytes_in_use;
	uint64_t region_bytes_peak;
	/* host */
	uint64_t host_map_cmds;      /* MAP_BLOB sent to the host */
	uint64_t host_map_errors;    /* MAP_BLOB answered with an error */
	uint64_t host_unref_cmds;    /* UNREF sent */
	uint64_t host_bad_cmds;      /* malformed or unknown host commands */
	uint64_t host_mem_objects;   /* live host memory objects (registry) */
	/* calls */
	uint64_t ioctls_total;
	uint64_t ioctls[VGSHIM_IOCTL_SLOTS];
	uint64_t create_blob_48;     /* 48-byte (legacy) CREATE_BLOB calls */
	uint64_t create_blob_56;     /* 56-byte CREATE_BLOB calls */
	uint64_t blobs_created;      /* successful CREATE_BLOB calls */
	uint64_t blobs_blob_id;      /* ... of them naming a host object (blob_id != 0) */
	uint64_t blobs_deferred;     /* ... of them left unmapped by the hint */
	uint64_t mmaps;              /* successful mmaps of the node or a dma-buf */
	uint64_t munmaps;
	uint64_t faults_injected;
	/* live state */
	uint64_t live_files;
	uint64_t live_objects;
	uint64_t live_handles;
	uint64_t live_mappings;
	uint64_t live_dmabufs;       /* dma-buf files with at least one open fd */
	uint64_t live_syncobjs;
	/* the bugs of v1/v2, made visible */
	uint64_t hangs_detected;     /* mmap that a real kernel would never finish */
	uint64_t bogus_attaches;     /* dma-buf attach of a never-mapped object */
	/* real-host mode (VGSHIM_VTEST_SOCKET) */
	uint64_t host_connections;   /* vtest connections opened (one per DRM file) */
	uint64_t host_submits;       /* submissions forwarded */
	uint64_t host_lost;          /* connections lost: server gone, refusing or garbled */
	uint64_t host_create_ns;     /* time CREATE_BLOBs waited for the real host (creation
				      * command and resource), all blobs */
	uint64_t host_create_named_ns; /* ... of it, blobs naming host memory (blob_id != 0) */
};

void vgshim_get_counters(struct vgshim_counters *out);

/* The raw bytes of the last CREATE_BLOB call as the model received them
 * (48 or 56), so a test can check what went over the wire. Returns the
 * call's size, 0 if none yet. */
size_t vgshim_last_create_blob(void *buf, size_t size);

/* What a foreign device would see when attaching the dma-buf (the kernel's
 * dma-buf map path): the region range backing it. fixed: maps first if
 * needed (and returns its error); v1/v2: a never-mapped object gives the
 * bogus range {0, 0} and counts a bogus attach; legacy: always mapped.
 * -EBADF for an fd that is not a dma-buf of this model. */
int vgshim_dmabuf_attach(int dmabuf_fd, uint64_t *addr, uint64_t *size);

/* Per-object view for tests, by GEM handle of an open node fd. */
struct vgshim_object_info {
	uint32_t res_id;
	uint32_t blob_mem;
	uint32_t blob_flags;
	uint32_t blob_hints;       /* as received */
	uint64_t size;             /* page-rounded */
	bool region_reserved;      /* holds a range of the region */
	uint64_t region_offset;
	int map_state;             /* 0 INITIALIZING, 1 OK, 2 ERR, -1 not vram */
	uint32_t handles;          /* GEM handles across all files */
	uint32_t mappings;
	bool dmabuf;               /* an exported dma-buf file is alive */
};
int vgshim_object_info(int node_fd, uint32_t handle, struct vgshim_object_info *out);

/* Writes the counters as "name value" lines (the VGSHIM_STATS format). */
int vgshim_dump_counters(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* VGSHIM_H */
