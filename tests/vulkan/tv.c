/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "tv.h"

const char *const tv_profile_names[TV_NUM_PROFILES] = { "discrete-small-bar", "discrete-rebar",
							 "uma" };

static struct tc_leak_baseline tv_leak;

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define HCA VK_MEMORY_PROPERTY_HOST_CACHED_BIT

void tv_profile(enum tv_profile p, VkPhysicalDeviceMemoryProperties *o)
{
	memset(o, 0, sizeof(*o));
	switch (p) {
	case TV_DISCRETE_SMALL_BAR:
		o->memoryHeapCount = 3;
		o->memoryHeaps[0] = (VkMemoryHeap){ 8ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
		o->memoryHeaps[1] = (VkMemoryHeap){ 256 * TV_MIB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
		o->memoryHeaps[2] = (VkMemoryHeap){ 16ull << 30, 0 };
		o->memoryTypeCount = 3;
		o->memoryTypes[0] = (VkMemoryType){ DL, 0 };
		o->memoryTypes[1] = (VkMemoryType){ DL | HV | HC, 1 };
		o->memoryTypes[2] = (VkMemoryType){ HV | HC | HCA, 2 };
		break;
	case TV_DISCRETE_REBAR:
		o->memoryHeapCount = 2;
		o->memoryHeaps[0] = (VkMemoryHeap){ 8ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
		o->memoryHeaps[1] = (VkMemoryHeap){ 16ull << 30, 0 };
		o->memoryTypeCount = 3;
		o->memoryTypes[0] = (VkMemoryType){ DL, 0 };
		o->memoryTypes[1] = (VkMemoryType){ DL | HV | HC, 0 };
		o->memoryTypes[2] = (VkMemoryType){ HV | HC | HCA, 1 };
		break;
	default:
		o->memoryHeapCount = 1;
		o->memoryHeaps[0] = (VkMemoryHeap){ 8ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT };
		o->memoryTypeCount = 2;
		o->memoryTypes[0] = (VkMemoryType){ DL, 0 };
		o->memoryTypes[1] = (VkMemoryType){ DL | HV | HC | HCA, 0 };
		break;
	}
}

/* The fake driver's protocol: a kernel-model CREATE_MEM as the blob's
 * creation command, DESTROY_MEM submitted at free. */
static uint64_t tv_next_blob_id = 1000;

static VkResult tv_create_memory(void *user, uint32_t type, VkDeviceSize size, uint64_t *blob_id,
				 void *cmd, uint32_t *cmd_size)
{
	struct tv *t = user;

	(void)type;
	if (*cmd_size < VGSHIM_CMD_CREATE_MEM_LEN * 4)
		return VK_ERROR_OUT_OF_HOST_MEMORY;
	*blob_id = __atomic_add_fetch(&tv_next_blob_id, 1, __ATOMIC_RELAXED);
	vgshim_cmd_create_mem(cmd, *blob_id, size, VGSHIM_MEM_MAPPABLE);
	*cmd_size = VGSHIM_CMD_CREATE_MEM_LEN * 4;
	__atomic_add_fetch(&t->host_objects, 1, __ATOMIC_RELAXED);
	return VK_SUCCESS;
}

static void tv_destroy_memory(void *user, uint64_t blob_id)
{
	struct tv *t = user;
	uint32_t cmd[VGSHIM_CMD_DESTROY_MEM_LEN];
	struct vws_submit_info si = { .cmd = cmd, .cmd_size = sizeof(cmd), .in_fence_fd = -1 };

	vgshim_cmd_destroy_mem(cmd, blob_id);
	assert_int_equal(vws_submit(t->dev, &si), 0);
	__atomic_sub_fetch(&t->host_objects, 1, __ATOMIC_RELAXED);
}

void tv_open(struct tv *t, enum tv_profile p)
{
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.num_rings = 1,
		.defer = VWS_DEFER_AUTO,
	};
	struct vws_vk_device_create_info vi = { 0 };

	static char *conf;

	/* an empty configuration: the machine's files cannot change the policy */
	if (!conf)
		conf = tc_write_temp("<vws/>\n");
	ci.config_file = conf;
	memset(t, 0, sizeof(*t));
	tv_profile(p, &t->props);
	assert_int_equal(vws_device_create(&ci, &t->dev), 0);
	vi.dev = t->dev;
	vi.memory_properties = &t->props;
	vi.host = (struct vws_vk_host_callbacks){ t, tv_create_memory, tv_destroy_memory };
	vi.debug_checks = true;
	assert_int_equal(vws_vk_device_create(&vi, &t->vk), VK_SUCCESS);
}

void tv_close(struct tv *t)
{
	vws_vk_device_destroy(t->vk);
	vws_device_unref(t->dev);
	assert_int_equal(t->host_objects, 0);
}

int tv_type(const struct tv *t, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
	for (uint32_t i = 0; i < t->props.memoryTypeCount; i++) {
		VkMemoryPropertyFlags f = t->props.memoryTypes[i].propertyFlags;

		if ((f & want) == want && !(f & avoid))
			return (int)i;
	}
	return -1;
}

VkResult tv_alloc(struct tv *t, uint32_t type, VkDeviceSize size, const void *pnext,
		  VkDeviceMemory *mem)
{
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = pnext,
		.allocationSize = size,
		.memoryTypeIndex = type,
	};

	return vws_vk_AllocateMemory(t->vk, &ai, NULL, mem);
}

struct vgshim_counters tv_counters(void)
{
	struct vgshim_counters c;

	vgshim_get_counters(&c);
	return c;
}

int tv_setup(void **state)
{
	tc_model_use(*state, NULL);
	tc_leak_begin(&tv_leak);
	return 0;
}

int tv_teardown(void **state)
{
	(void)state;
	vgshim_set_fail(NULL);
	tc_leak_check(&tv_leak);
	return 0;
}
