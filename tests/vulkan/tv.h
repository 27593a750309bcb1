/* SPDX-License-Identifier: MIT */
/* Helpers of the Vulkan-layer tests: memory-property profiles, a fake
 * driver's host callbacks (kernel-model host commands), device setup. */
#ifndef TV_H
#define TV_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vgshim_proto.h"
#include "vws/vws_vk.h"

#define TV_MIB (1024ull * 1024ull)

enum tv_profile {
	TV_DISCRETE_SMALL_BAR, /* VRAM, a 256 MiB BAR window heap, system RAM */
	TV_DISCRETE_REBAR,     /* all VRAM host-visible (resizable BAR) */
	TV_UMA,                /* one heap, everything device-local */
	TV_NUM_PROFILES,
};

extern const char *const tv_profile_names[TV_NUM_PROFILES];
void tv_profile(enum tv_profile p, VkPhysicalDeviceMemoryProperties *out);

struct tv {
	struct vws_device *dev;
	struct vws_vk_device *vk;
	VkPhysicalDeviceMemoryProperties props;
	uint64_t host_objects; /* live host memory objects the callbacks made */
};

/* Opens a winsys device (policy auto) and a layer device on profile p. */
void tv_open(struct tv *t, enum tv_profile p);
void tv_close(struct tv *t);
/* First memory type with all of want and none of avoid; -1 if none. */
int tv_type(const struct tv *t, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid);
VkResult tv_alloc(struct tv *t, uint32_t type, VkDeviceSize size, const void *pnext,
		  VkDeviceMemory *mem);
struct vgshim_counters tv_counters(void);

int tv_setup(void **state);      /* state: generation name */
int tv_teardown(void **state);

#define TV_GEN(fn, gen) cmocka_unit_test_prestate_setup_teardown(fn, tv_setup, tv_teardown, (void *)gen)
#define TV_ALL_GENS(fn) TV_GEN(fn, "legacy"), TV_GEN(fn, "v1"), TV_GEN(fn, "v2"), TV_GEN(fn, "fixed")

#endif
