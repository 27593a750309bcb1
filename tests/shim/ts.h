/* SPDX-License-Identifier: MIT */
/* Helpers of the kernel-model tests: raw ioctls through libdrm, no winsys. */
#ifndef TS_H
#define TS_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vgshim_proto.h"

#define TS_MIB (1024ull * 1024ull)
#define TS_NODE "/dev/dri/renderD128"

/* -errno of an ioctl, 0 on success. */
int ts_ioctl(int fd, unsigned long req, void *arg);
/* Opens the node; with capset != 0 also CONTEXT_INIT with it. */
int ts_open(uint32_t capset);
/* CREATE_BLOB with the 56-byte call; returns -errno, handle out. */
int ts_blob(int fd, uint32_t mem, uint32_t flags, uint64_t size, uint32_t hints,
	    uint64_t blob_id, uint32_t *handle);
/* The same with the 48-byte (pre-hint) call. */
int ts_blob48(int fd, uint32_t mem, uint32_t flags, uint64_t size, uint32_t *handle);
int ts_map_ioctl(int fd, uint32_t handle, uint64_t *offset);
/* MAP + mmap of size bytes; NULL with errno on failure. */
void *ts_mmap(int fd, uint32_t handle, uint64_t size);
int ts_close_handle(int fd, uint32_t handle);
struct vgshim_counters ts_counters(void);
/* Host memory object blob_id of size via EXECBUFFER. */
int ts_host_mem(int fd, uint64_t blob_id, uint64_t size, uint32_t flags);

/* cmocka setup/teardown: fresh model of the generation in *state (a
 * const char *), and a leak check at the end. */
int ts_setup(void **state);
int ts_teardown(void **state);

#define TS_GEN(fn, gen) cmocka_unit_test_prestate_setup_teardown(fn, ts_setup, ts_teardown, (void *)gen)
#define TS_ALL_GENS(fn) TS_GEN(fn, "legacy"), TS_GEN(fn, "v1"), TS_GEN(fn, "v2"), TS_GEN(fn, "fixed")
#define TS_TEST(fn) TS_GEN(fn, "fixed")

#endif
