/* SPDX-License-Identifier: MIT */
/*
 * The Vulkan device-memory layer on the vtest backend, against a real
 * virgl_test_server (Venus, lavapipe): the same allocate / map / free
 * behaviour as on the kernel, unchanged code above the winsys. vtest blobs
 * with blob_id 0 must be exactly MAPPABLE, so the memory here is
 * host-visible and not exportable, as a Venus shmem-backed type would be.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vt_server.h"
#include "vws/vws_vk.h"

static struct vt_server server;

static VkResult host_create(void *u, uint32_t type, VkDeviceSize size, uint64_t *blob_id,
			    void *cmd, uint32_t *cmd_size)
{
	(void)u, (void)type, (void)size, (void)cmd;
	*blob_id = 0; /* host-allocated memory */
	*cmd_size = 0;
	return VK_SUCCESS;
}

static void host_destroy(void *u, uint64_t blob_id)
{
	(void)u, (void)blob_id;
}

static void alloc_map_free(void **state)
{
	VkPhysicalDeviceMemoryProperties props = {
		.memoryTypeCount = 2,
		.memoryTypes = {
			{ VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0 },
			{ VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
			  VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0 },
		},
		.memoryHeapCount = 1,
		.memoryHeaps = { { 1ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT } },
	};
	struct vws_device_create_info ci = {
		.backend = VWS_BACKEND_VTEST, .path = server.sock,
		.capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1,
	};
	struct vws_vk_device_create_info vi = { 0 };
	static const VkDeviceSize sizes[] = { 1, 4096, 65537, 1 << 20, 4 << 20 };
	struct vws_vk_device *vk;
	struct vws_device *dev;
	int fds;

	(void)state;
	fds = tc_count_fds();
	assert_int_equal(vws_device_create(&ci, &dev), 0);
	assert_int_equal(vws_device_get_info(dev)->hint_support, VWS_HINT_NONE);
	vi.dev = dev;
	vi.memory_properties = &props;
	vi.host = (struct vws_vk_host_callbacks){ NULL, host_create, host_destroy };
	assert_int_equal(vws_vk_device_create(&vi, &vk), VK_SUCCESS);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		VkMemoryAllocateInfo ai = { VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, NULL, sizes[s], 1 };
		VkDeviceMemory m, priv;
		struct vws_stats st;
		unsigned char *p, *p2;
		uint64_t mmaps;

		assert_int_equal(vws_vk_AllocateMemory(vk, &ai, NULL, &m), VK_SUCCESS);
		/* vkAllocateMemory never maps: the fd is kept, nothing mmapped */
		vws_device_get_stats(dev, &st);
		mmaps = st.mmaps;
		assert_int_equal(vws_vk_MapMemory(vk, m, 0, VK_WHOLE_SIZE, 0, (void **)&p), VK_SUCCESS);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.mmaps, mmaps + 1);
		memset(p, 0x3d, sizes[s]);
		vws_vk_UnmapMemory(vk, m);
		/* a re-map is the cached pointer, no new mmap */
		assert_int_equal(vws_vk_MapMemory(vk, m, 0, VK_WHOLE_SIZE, 0, (void **)&p2), VK_SUCCESS);
		assert_ptr_equal(p, p2);
		assert_int_equal(p2[sizes[s] - 1], 0x3d);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.mmaps, mmaps + 1);
		vws_vk_UnmapMemory(vk, m);
		vws_vk_FreeMemory(vk, m, NULL);
		/* device-private memory needs no blob on any backend */
		ai.memoryTypeIndex = 0;
		assert_int_equal(vws_vk_AllocateMemory(vk, &ai, NULL, &priv), VK_SUCCESS);
		assert_null(vws_vk_memory_bo(priv));
		vws_vk_FreeMemory(vk, priv, NULL);
	}
	vws_vk_device_destroy(vk);
	vws_device_unref(dev);
	assert_int_equal(tc_count_fds(), fds);
}

static int group_setup(void **state)
{
	(void)state;
	vt_server_start(&server, true);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	vt_server_stop(&server);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alloc_map_free),
	};

	return cmocka_run_group_tests_name("vtest-vulkan", tests, group_setup, group_teardown);
}
