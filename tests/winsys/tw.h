/* SPDX-License-Identifier: MIT */
/* Helpers of the winsys tests (on top of tests/common). */
#ifndef TW_H
#define TW_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vgshim_proto.h"
#include "vws/vws.h"

/* A configuration file that does not exist: tests see no system or user
 * configuration unless they ask for one. */
#define TW_NO_CONFIG "/nonexistent/vws-test.conf"
#define TW_MIB (1ull << 20)

/* Per-test state: the generation (initial state) and the leak baseline. */
struct tw_ctx {
	const char *gen;
	struct tc_leak_baseline leak;
};

/* Fixture: fresh model of the generation in the test's initial state (or
 * "fixed"), clean environment, leak baseline. */
int tw_setup(void **state);
/* Fixture: the leak check. */
int tw_teardown(void **state);
const char *tw_gen(void **state);

/* A test case per generation: name "fn/gen". */
#define TW_GEN(fn, g) { #fn "/" g, fn, tw_setup, tw_teardown, (void *)(g) }
#define TW_ALL_GENS(fn) \
	TW_GEN(fn, "legacy"), TW_GEN(fn, "v1"), TW_GEN(fn, "v2"), TW_GEN(fn, "fixed")
#define TW_TEST(fn) { #fn, fn, tw_setup, tw_teardown, NULL }

/* Device with capset Venus (or capset_id) and the caller's policy. */
struct vws_device *tw_open(uint32_t capset_id, enum vws_defer_policy defer);
int tw_try_open(const struct vws_device_create_info *extra, struct vws_device **dev);
/* tw_try_open with VWS_DEBUG=debug (unset: NULL) and the device dropped at
 * once: what it logged (tc_stderr_of's buffer) and its result in *ret. */
const char *tw_open_log(const char *debug, struct vws_device_create_info ci, int *ret);

/* A host memory object on the model's host: the CREATE_MEM command. */
void tw_host_mem_cmd(uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN], uint64_t blob_id,
		     uint64_t size, uint32_t flags);
/* HOST3D blob with its host memory created by its own creation command. */
int tw_host3d(struct vws_device *dev, uint64_t size, uint32_t blob_flags,
	      uint32_t bo_flags, struct vws_bo **bo);
/* GUEST blob, MAPPABLE | SHAREABLE. */
struct vws_bo *tw_guest(struct vws_device *dev, uint64_t size);

/* The last CREATE_BLOB as the model received it; returns its size. */
size_t tw_last_blob(struct drm_virtgpu_resource_create_blob *out);

struct vgshim_counters tw_counters(void);
/* The model's view of an object. */
struct vgshim_object_info tw_object(struct vws_device *dev, struct vws_bo *bo);

/* ioctl counter slots (nr & 0xff) */
#define TW_NR_MAP (DRM_COMMAND_BASE + DRM_VIRTGPU_MAP)
#define TW_NR_CREATE_BLOB (DRM_COMMAND_BASE + DRM_VIRTGPU_RESOURCE_CREATE_BLOB)
#define TW_NR_GEM_CLOSE 0x09
#define TW_NR_PRIME_TO_FD 0x2d
#define TW_NR_PRIME_TO_HANDLE 0x2e

/* Whether the generation honours the hint at all (maps on first use). */
static inline int tw_gen_defers(const char *gen)
{
	return gen[0] != 'l'; /* v1, v2, fixed */
}

#endif /* TW_H */
