/* SPDX-License-Identifier: MIT */
/*
 * virtio-gpu DRM UAPI as virtio-winsys understands it.
 *
 * Written for this project from the facts in docs/uapi.md (ioctl
 * numbers, struct layouts, flag values). It deliberately has a different
 * include guard from the kernel's and libdrm's copy: include this one,
 * through "drm-uapi/virtgpu_drm.h", and never the other, because only this
 * one knows about blob_hints.
 *
 * Layout rule kept throughout: every struct is made of naturally aligned
 * fixed-width fields with explicit padding, so 32- and 64-bit userspace see
 * the same bytes (checked at the bottom of this file).
 */
#ifndef VWS_DRM_UAPI_VIRTGPU_DRM_H
#define VWS_DRM_UAPI_VIRTGPU_DRM_H

#include <drm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Driver-private ioctl numbers, relative to DRM_COMMAND_BASE. */
#define DRM_VIRTGPU_MAP                 0x01
#define DRM_VIRTGPU_EXECBUFFER          0x02
#define DRM_VIRTGPU_GETPARAM            0x03
#define DRM_VIRTGPU_RESOURCE_CREATE     0x04
#define DRM_VIRTGPU_RESOURCE_INFO       0x05
#define DRM_VIRTGPU_TRANSFER_FROM_HOST  0x06
#define DRM_VIRTGPU_TRANSFER_TO_HOST    0x07
#define DRM_VIRTGPU_WAIT                0x08
#define DRM_VIRTGPU_GET_CAPS            0x09
#define DRM_VIRTGPU_RESOURCE_CREATE_BLOB 0x0a
#define DRM_VIRTGPU_CONTEXT_INIT        0x0b

/* EXECBUFFER flags */
#define VIRTGPU_EXECBUF_FENCE_FD_IN     0x01
#define VIRTGPU_EXECBUF_FENCE_FD_OUT    0x02
#define VIRTGPU_EXECBUF_RING_IDX        0x04
#define VIRTGPU_EXECBUF_FLAGS \
	(VIRTGPU_EXECBUF_FENCE_FD_IN | VIRTGPU_EXECBUF_FENCE_FD_OUT | \
	 VIRTGPU_EXECBUF_RING_IDX)

/* Capset ids (GET_CAPS, CONTEXT_INIT, SUPPORTED_CAPSET_IDs bit numbers) */
#define VIRTGPU_CAPSET_VIRGL            1
#define VIRTGPU_CAPSET_VIRGL2           2
#define VIRTGPU_CAPSET_GFXSTREAM_VULKAN 3
#define VIRTGPU_CAPSET_VENUS            4
#define VIRTGPU_CAPSET_CROSS_DOMAIN     5
#define VIRTGPU_CAPSET_DRM              6

struct drm_virtgpu_map {
	__u64 offset; /* out: fake mmap offset of the object */
	__u32 handle;
	__u32 pad;
};

/* One entry of the in/out syncobj arrays of EXECBUFFER. */
#define VIRTGPU_EXECBUF_SYNCOBJ_RESET   0x01
#define VIRTGPU_EXECBUF_SYNCOBJ_FLAGS   VIRTGPU_EXECBUF_SYNCOBJ_RESET
struct drm_virtgpu_execbuffer_syncobj {
	__u32 handle;
	__u32 flags;
	__u64 point;
};

/* The current (Linux >= 6.7) EXECBUFFER: 64 bytes. */
struct drm_virtgpu_execbuffer {
	__u32 flags;
	__u32 size;           /* bytes of command stream at 'command' */
	__u64 command;        /* user pointer */
	__u64 bo_handles;     /* user pointer to __u32[num_bo_handles] */
	__u32 num_bo_handles;
	__s32 fence_fd;       /* in with FENCE_FD_IN, out with FENCE_FD_OUT */
	__u32 ring_idx;       /* with RING_IDX */
	__u32 syncobj_stride; /* sizeof(struct drm_virtgpu_execbuffer_syncobj) */
	__u32 num_in_syncobjs;
	__u32 num_out_syncobjs;
	__u64 in_syncobjs;
	__u64 out_syncobjs;
};

/*
 * EXECBUFFER as Linux 6.1 defines it: 40 bytes, no syncobjs. Such a kernel
 * accepts the 64-byte call and ignores the syncobj fields.
 */
struct drm_virtgpu_execbuffer_v1 {
	__u32 flags;
	__u32 size;
	__u64 command;
	__u64 bo_handles;
	__u32 num_bo_handles;
	__s32 fence_fd;
	__u32 ring_idx;
	__u32 pad;
};

/* GETPARAM params */
#define VIRTGPU_PARAM_3D_FEATURES          1
#define VIRTGPU_PARAM_CAPSET_QUERY_FIX     2
#define VIRTGPU_PARAM_RESOURCE_BLOB        3
#define VIRTGPU_PARAM_HOST_VISIBLE         4
#define VIRTGPU_PARAM_CROSS_DEVICE         5
#define VIRTGPU_PARAM_CONTEXT_INIT         6
#define VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs 7
#define VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME  8
#define VIRTGPU_PARAM_MAX                  8

struct drm_virtgpu_getparam {
	__u64 param;
	__u64 value; /* user pointer to an int the kernel writes */
};

/* Classic 3D resource (not used by the winsys; here for completeness). */
struct drm_virtgpu_resource_create {
	__u32 target;
	__u32 format;
	__u32 bind;
	__u32 width;
	__u32 height;
	__u32 depth;
	__u32 array_size;
	__u32 last_level;
	__u32 nr_samples;
	__u32 flags;
	__u32 bo_handle;  /* out */
	__u32 res_handle; /* out */
	__u32 size;       /* in */
	__u32 stride;
};

struct drm_virtgpu_resource_info {
	__u32 bo_handle;
	__u32 res_handle; /* out */
	__u32 size;       /* out: page-aligned, truncated to 32 bits */
	__u32 blob_mem;   /* out for blobs; untouched otherwise */
};

struct drm_virtgpu_3d_box {
	__u32 x;
	__u32 y;
	__u32 z;
	__u32 w;
	__u32 h;
	__u32 d;
};

struct drm_virtgpu_3d_transfer_to_host {
	__u32 bo_handle;
	struct drm_virtgpu_3d_box box;
	__u32 level;
	__u32 offset;
	__u32 stride;
	__u32 layer_stride;
};

struct drm_virtgpu_3d_transfer_from_host {
	__u32 bo_handle;
	struct drm_virtgpu_3d_box box;
	__u32 level;
	__u32 offset;
	__u32 stride;
	__u32 layer_stride;
};

#define VIRTGPU_WAIT_NOWAIT 1
struct drm_virtgpu_3d_wait {
	__u32 handle;
	__u32 flags;
};

struct drm_virtgpu_get_caps {
	__u32 cap_set_id;
	__u32 cap_set_ver;
	__u64 addr; /* user pointer, 'size' bytes */
	__u32 size;
	__u32 pad;
};

/* RESOURCE_CREATE_BLOB */
#define VIRTGPU_BLOB_MEM_GUEST        0x0001
#define VIRTGPU_BLOB_MEM_HOST3D       0x0002
#define VIRTGPU_BLOB_MEM_HOST3D_GUEST 0x0003

#define VIRTGPU_BLOB_FLAG_USE_MAPPABLE    0x0001
#define VIRTGPU_BLOB_FLAG_USE_SHAREABLE   0x0002
#define VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE 0x0004
#define VIRTGPU_BLOB_FLAG_USE_MASK \
	(VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE | \
	 VIRTGPU_BLOB_FLAG_USE_CROSS_DEVICE)

/*
 * blob_hints. Merged upstream (Linux 7.2) under the first name; review asked
 * for the struct's own prefix, the second. Both mean the same bit: the kernel
 * reserves host-visible space and asks the host to map only on first use.
 */
#define DRM_VIRTGPU_BLOB_FLAG_HINT_DEFER_MAPPING 0x0001
#define VIRTGPU_BLOB_HINT_DEFER_MAPPING DRM_VIRTGPU_BLOB_FLAG_HINT_DEFER_MAPPING
#define VIRTGPU_BLOB_HINT_MASK VIRTGPU_BLOB_HINT_DEFER_MAPPING

/* The 56-byte call: what current userspace sends. */
struct drm_virtgpu_resource_create_blob {
	__u32 blob_mem;
	__u32 blob_flags;
	__u32 bo_handle;  /* out */
	__u32 res_handle; /* out */
	__u64 size;
	__u32 pad;
	__u32 cmd_size;   /* bytes at 'cmd', a multiple of 4 */
	__u64 cmd;        /* user pointer, submitted before the resource */
	__u64 blob_id;
	__u32 blob_hints;
	__u32 pad2;
};

/* The 48-byte call of kernels before blob_hints (Linux <= 7.1). */
struct drm_virtgpu_resource_create_blob_legacy {
	__u32 blob_mem;
	__u32 blob_flags;
	__u32 bo_handle;
	__u32 res_handle;
	__u64 size;
	__u32 pad;
	__u32 cmd_size;
	__u64 cmd;
	__u64 blob_id;
};

/* CONTEXT_INIT params */
#define VIRTGPU_CONTEXT_PARAM_CAPSET_ID       0x0001
#define VIRTGPU_CONTEXT_PARAM_NUM_RINGS       0x0002
#define VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK 0x0003
#define VIRTGPU_CONTEXT_PARAM_DEBUG_NAME      0x0004

struct drm_virtgpu_context_set_param {
	__u64 param;
	__u64 value;
};

struct drm_virtgpu_context_init {
	__u32 num_params;
	__u32 pad;
	__u64 ctx_set_params; /* user pointer to drm_virtgpu_context_set_param[] */
};

/* Host map cache types, as the host reports them per mapping. */
#define VIRTIO_GPU_MAP_CACHE_MASK     0x0f
#define VIRTIO_GPU_MAP_CACHE_NONE     0x00
#define VIRTIO_GPU_MAP_CACHE_CACHED   0x01
#define VIRTIO_GPU_MAP_CACHE_UNCACHED 0x02
#define VIRTIO_GPU_MAP_CACHE_WC       0x03

/* Event type of the DRM read() queue when POLL_RINGS_MASK is set. */
#define VIRTGPU_EVENT_FENCE_SIGNALED 0x90000000

#define DRM_IOCTL_VIRTGPU_MAP \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_MAP, struct drm_virtgpu_map)
#define DRM_IOCTL_VIRTGPU_EXECBUFFER \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_EXECBUFFER, \
		 struct drm_virtgpu_execbuffer)
#define DRM_IOCTL_VIRTGPU_EXECBUFFER_V1 \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_EXECBUFFER, \
		 struct drm_virtgpu_execbuffer_v1)
#define DRM_IOCTL_VIRTGPU_GETPARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_GETPARAM, \
		 struct drm_virtgpu_getparam)
#define DRM_IOCTL_VIRTGPU_RESOURCE_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE, \
		 struct drm_virtgpu_resource_create)
#define DRM_IOCTL_VIRTGPU_RESOURCE_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_INFO, \
		 struct drm_virtgpu_resource_info)
#define DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_TRANSFER_FROM_HOST, \
		 struct drm_virtgpu_3d_transfer_from_host)
#define DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_TRANSFER_TO_HOST, \
		 struct drm_virtgpu_3d_transfer_to_host)
#define DRM_IOCTL_VIRTGPU_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_WAIT, struct drm_virtgpu_3d_wait)
#define DRM_IOCTL_VIRTGPU_GET_CAPS \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_GET_CAPS, \
		 struct drm_virtgpu_get_caps)
#define DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE_BLOB, \
		 struct drm_virtgpu_resource_create_blob)
#define DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB_LEGACY \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE_BLOB, \
		 struct drm_virtgpu_resource_create_blob_legacy)
#define DRM_IOCTL_VIRTGPU_CONTEXT_INIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VIRTGPU_CONTEXT_INIT, \
		 struct drm_virtgpu_context_init)

/*
 * Compile-time checks. Sizes and offsets are the ABI; the ioctl numbers are
 * spelled out in full so a wrong struct or base shows up here and not as an
 * ENOTTY in a guest.
 */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#include <stddef.h>
#define VWS_UAPI_CHECK_(c, m) _Static_assert(c, m)
#define VWS_UAPI_SIZE_(s, n) VWS_UAPI_CHECK_(sizeof(struct s) == (n), #s " size")
#define VWS_UAPI_OFF_(s, f, n) \
	VWS_UAPI_CHECK_(offsetof(struct s, f) == (n), #s "." #f " offset")

VWS_UAPI_SIZE_(drm_virtgpu_map, 16);
VWS_UAPI_OFF_(drm_virtgpu_map, offset, 0);
VWS_UAPI_OFF_(drm_virtgpu_map, handle, 8);
VWS_UAPI_OFF_(drm_virtgpu_map, pad, 12);

VWS_UAPI_SIZE_(drm_virtgpu_execbuffer_syncobj, 16);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer_syncobj, handle, 0);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer_syncobj, flags, 4);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer_syncobj, point, 8);

VWS_UAPI_SIZE_(drm_virtgpu_execbuffer, 64);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, flags, 0);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, size, 4);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, command, 8);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, bo_handles, 16);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, num_bo_handles, 24);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, fence_fd, 28);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, ring_idx, 32);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, syncobj_stride, 36);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, num_in_syncobjs, 40);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, num_out_syncobjs, 44);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, in_syncobjs, 48);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer, out_syncobjs, 56);

VWS_UAPI_SIZE_(drm_virtgpu_execbuffer_v1, 40);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer_v1, ring_idx, 32);
VWS_UAPI_OFF_(drm_virtgpu_execbuffer_v1, pad, 36);

VWS_UAPI_SIZE_(drm_virtgpu_getparam, 16);
VWS_UAPI_OFF_(drm_virtgpu_getparam, param, 0);
VWS_UAPI_OFF_(drm_virtgpu_getparam, value, 8);

VWS_UAPI_SIZE_(drm_virtgpu_resource_create, 56);
VWS_UAPI_OFF_(drm_virtgpu_resource_create, bo_handle, 40);
VWS_UAPI_OFF_(drm_virtgpu_resource_create, stride, 52);

VWS_UAPI_SIZE_(drm_virtgpu_resource_info, 16);
VWS_UAPI_OFF_(drm_virtgpu_resource_info, bo_handle, 0);
VWS_UAPI_OFF_(drm_virtgpu_resource_info, res_handle, 4);
VWS_UAPI_OFF_(drm_virtgpu_resource_info, size, 8);
VWS_UAPI_OFF_(drm_virtgpu_resource_info, blob_mem, 12);

VWS_UAPI_SIZE_(drm_virtgpu_3d_box, 24);
VWS_UAPI_SIZE_(drm_virtgpu_3d_transfer_to_host, 44);
VWS_UAPI_SIZE_(drm_virtgpu_3d_transfer_from_host, 44);

VWS_UAPI_SIZE_(drm_virtgpu_3d_wait, 8);
VWS_UAPI_OFF_(drm_virtgpu_3d_wait, flags, 4);

VWS_UAPI_SIZE_(drm_virtgpu_get_caps, 24);
VWS_UAPI_OFF_(drm_virtgpu_get_caps, cap_set_id, 0);
VWS_UAPI_OFF_(drm_virtgpu_get_caps, cap_set_ver, 4);
VWS_UAPI_OFF_(drm_virtgpu_get_caps, addr, 8);
VWS_UAPI_OFF_(drm_virtgpu_get_caps, size, 16);
VWS_UAPI_OFF_(drm_virtgpu_get_caps, pad, 20);

VWS_UAPI_SIZE_(drm_virtgpu_resource_create_blob, 56);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, blob_mem, 0);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, blob_flags, 4);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, bo_handle, 8);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, res_handle, 12);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, size, 16);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, pad, 24);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, cmd_size, 28);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, cmd, 32);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, blob_id, 40);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, blob_hints, 48);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob, pad2, 52);

/* The legacy call must be a strict prefix of the new one. */
VWS_UAPI_SIZE_(drm_virtgpu_resource_create_blob_legacy, 48);
VWS_UAPI_OFF_(drm_virtgpu_resource_create_blob_legacy, blob_id, 40);

VWS_UAPI_SIZE_(drm_virtgpu_context_set_param, 16);
VWS_UAPI_SIZE_(drm_virtgpu_context_init, 16);
VWS_UAPI_OFF_(drm_virtgpu_context_init, num_params, 0);
VWS_UAPI_OFF_(drm_virtgpu_context_init, ctx_set_params, 8);

VWS_UAPI_CHECK_(DRM_VIRTGPU_BLOB_FLAG_HINT_DEFER_MAPPING == 0x1, "hint value");
VWS_UAPI_CHECK_(VIRTGPU_BLOB_HINT_DEFER_MAPPING ==
		DRM_VIRTGPU_BLOB_FLAG_HINT_DEFER_MAPPING, "hint alias");

VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_MAP == 0xc0106441u, "MAP nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_EXECBUFFER == 0xc0406442u, "EXECBUFFER nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_EXECBUFFER_V1 == 0xc0286442u, "EXECBUFFER v1 nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_GETPARAM == 0xc0106443u, "GETPARAM nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE == 0xc0386444u, "RESOURCE_CREATE nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_RESOURCE_INFO == 0xc0106445u, "RESOURCE_INFO nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST == 0xc02c6446u, "FROM_HOST nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_TRANSFER_TO_HOST == 0xc02c6447u, "TO_HOST nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_WAIT == 0xc0086448u, "WAIT nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_GET_CAPS == 0xc0186449u, "GET_CAPS nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB == 0xc038644au, "CREATE_BLOB nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB_LEGACY == 0xc030644au,
		"CREATE_BLOB legacy nr");
VWS_UAPI_CHECK_(DRM_IOCTL_VIRTGPU_CONTEXT_INIT == 0xc010644bu, "CONTEXT_INIT nr");

#undef VWS_UAPI_OFF_
#undef VWS_UAPI_SIZE_
#undef VWS_UAPI_CHECK_
#endif

#ifdef __cplusplus
}
#endif

#endif /* VWS_DRM_UAPI_VIRTGPU_DRM_H */
