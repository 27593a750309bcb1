/* SPDX-License-Identifier: MIT */
/*
 * vk-roundtrip: the smallest honest Vulkan workload on a stack: instance,
 * device, buffers in HOST_VISIBLE | HOST_COHERENT memory, vkMapMemory, a CPU
 * write, a GPU fill and copy, a queue submission and a fence wait, and a
 * read back that must match. Run through scripts/vk-run.sh on any stack.
 *
 *   vk-roundtrip [--buffers N] [--size BYTES] [--map K] [--export E]
 *                [--loop] [--json]
 *
 * N buffers of BYTES (any size from 16) each are allocated; the first K (default all) are
 * mapped and used; E more are allocated exportable as dma-bufs, exported
 * without ever being mapped through Vulkan, filled by the GPU and read back
 * through a CPU mapping of the dma-buf. --loop repeats allocate/map/use/free until a
 * command fails (tests kill the host under it) and prints "ready" once the
 * first round passed. The last line says what was done, so a test can
 * compare it with the kernel's counters.
 *
 * Exit: 0 ok, 1 wrong data, 2 usage, 3 a Vulkan error, 4 device lost,
 * 77 the device cannot do what was asked (no such memory type, no export).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#include "vk_setup.h"

#define VKR_FILL 0xa5a5a5a5u

struct vkr {
	struct vks vk;
	VkQueue queue;
	uint32_t queue_family;
	VkCommandPool pool;
	VkPhysicalDeviceMemoryProperties mem_props;
	PFN_vkGetMemoryFdKHR get_memory_fd;
};

struct vkr_buffer {
	VkBuffer buffer;
	VkDeviceMemory memory;
	VkDeviceSize size;
};

static const char *vkr_result_name(VkResult r)
{
	switch (r) {
	case VK_SUCCESS: return "VK_SUCCESS";
	case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
	case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
	case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
	case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
	case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
	case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
	case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
	case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
	case VK_TIMEOUT: return "VK_TIMEOUT";
	default: return "VkResult(other)";
	}
}

/* A failed command ends the program with its VkResult. */
static void vkr_check(VkResult r, const char *what)
{
	if (r != VK_SUCCESS) {
		fprintf(stderr, "vk-roundtrip: %s failed: %s (%d)\n", what, vkr_result_name(r), r);
		exit(r == VK_ERROR_DEVICE_LOST ? 4 : 3);
	}
}
#define VKR_CHECK(call) vkr_check((call), #call)

static void vkr_init(struct vkr *v)
{
	VkQueueFamilyProperties qf[16];
	uint32_t nq = 16;
	const char *what;
	VkResult r;

	/* what names the failed call only once the call has returned */
	r = vks_instance(&v->vk, "vk-roundtrip", &what);
	vkr_check(r, what);
	vkGetPhysicalDeviceMemoryProperties(v->vk.pdev, &v->mem_props);
	vkGetPhysicalDeviceQueueFamilyProperties(v->vk.pdev, &nq, qf);
	v->queue_family = UINT32_MAX;
	for (uint32_t i = 0; i < nq && v->queue_family == UINT32_MAX; i++)
		if (qf[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT |
					VK_QUEUE_TRANSFER_BIT))
			v->queue_family = i;
	if (v->queue_family == UINT32_MAX) {
		fprintf(stderr, "vk-roundtrip: no queue family can transfer\n");
		exit(77);
	}
	r = vks_device(&v->vk, v->queue_family, &what);
	vkr_check(r, what);
	vkGetDeviceQueue(v->vk.dev, v->queue_family, 0, &v->queue);
	if (v->vk.has_export)
		v->get_memory_fd =
			(PFN_vkGetMemoryFdKHR)vkGetDeviceProcAddr(v->vk.dev, "vkGetMemoryFdKHR");
	const VkCommandPoolCreateInfo pci = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
		.queueFamilyIndex = v->queue_family,
	};
	VKR_CHECK(vkCreateCommandPool(v->vk.dev, &pci, NULL, &v->pool));
}

static void vkr_fini(struct vkr *v)
{
	vkDestroyCommandPool(v->vk.dev, v->pool, NULL);
	vkDestroyDevice(v->vk.dev, NULL);
	vkDestroyInstance(v->vk.instance, NULL);
}

static uint32_t vkr_memory_type(const struct vkr *v, uint32_t bits, VkMemoryPropertyFlags want)
{
	for (uint32_t i = 0; i < v->mem_props.memoryTypeCount; i++)
		if ((bits & (1u << i)) &&
		    (v->mem_props.memoryTypes[i].propertyFlags & want) == want)
			return i;
	return UINT32_MAX;
}

static void vkr_buffer_create(struct vkr *v, VkDeviceSize size, bool exportable,
			      struct vkr_buffer *b)
{
	const VkExternalMemoryBufferCreateInfo ext_buf = {
		.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
		.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
	};
	const VkBufferCreateInfo bci = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.pNext = exportable ? &ext_buf : NULL,
		.size = size,
		.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
	};
	const VkExportMemoryAllocateInfo export_info = {
		.sType = VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
		.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
	};
	VkMemoryRequirements req;
	uint32_t type;

	VKR_CHECK(vkCreateBuffer(v->vk.dev, &bci, NULL, &b->buffer));
	vkGetBufferMemoryRequirements(v->vk.dev, b->buffer, &req);
	type = vkr_memory_type(v, req.memoryTypeBits,
			       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
				       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
	if (type == UINT32_MAX) {
		fprintf(stderr, "vk-roundtrip: no HOST_VISIBLE|HOST_COHERENT memory type\n");
		exit(77);
	}
	const VkMemoryAllocateInfo mai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = exportable ? &export_info : NULL,
		.allocationSize = req.size,
		.memoryTypeIndex = type,
	};
	VKR_CHECK(vkAllocateMemory(v->vk.dev, &mai, NULL, &b->memory));
	VKR_CHECK(vkBindBufferMemory(v->vk.dev, b->buffer, b->memory, 0));
	b->size = size;
}

static void vkr_buffer_destroy(struct vkr *v, struct vkr_buffer *b)
{
	vkDestroyBuffer(v->vk.dev, b->buffer, NULL);
	vkFreeMemory(v->vk.dev, b->memory, NULL);
}

/* A one-time command buffer, recording. */
static VkCommandBuffer vkr_cmd_begin(struct vkr *v)
{
	const VkCommandBufferAllocateInfo cai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = v->pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	const VkCommandBufferBeginInfo begin = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	VkCommandBuffer cmd;

	VKR_CHECK(vkAllocateCommandBuffers(v->vk.dev, &cai, &cmd));
	VKR_CHECK(vkBeginCommandBuffer(cmd, &begin));
	return cmd;
}

/* Ends, submits and waits for cmd, then frees it. The wait is bounded: a
 * lost host must not keep us here (a minute is far more than any CPU
 * renderer needs for a few MiB). */
static void vkr_cmd_run(struct vkr *v, VkCommandBuffer cmd)
{
	const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	const VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.commandBufferCount = 1,
		.pCommandBuffers = &cmd,
	};
	VkFence fence;

	VKR_CHECK(vkEndCommandBuffer(cmd));
	VKR_CHECK(vkCreateFence(v->vk.dev, &fci, NULL, &fence));
	VKR_CHECK(vkQueueSubmit(v->queue, 1, &si, fence));
	VKR_CHECK(vkWaitForFences(v->vk.dev, 1, &fence, VK_TRUE, 60ull * 1000000000ull));
	vkDestroyFence(v->vk.dev, fence, NULL);
	vkFreeCommandBuffers(v->vk.dev, v->pool, 1, &cmd);
}

static uint8_t vkr_pattern(uint32_t seed, size_t i)
{
	return (uint8_t)(seed * 131u + i * 7u + (i >> 8) * 13u);
}

/* CPU writes a pattern, the GPU copies the first quarter onto the second
 * and fills the rest but for a tail shorter than a word (fills go by
 * words); the CPU checks every byte. Sizes need not be page or word
 * multiples: the blob behind the memory is page-rounded, the buffer not. */
static int vkr_buffer_use(struct vkr *v, struct vkr_buffer *b, uint32_t seed)
{
	const VkDeviceSize q = (b->size / 4) & ~(VkDeviceSize)3;
	const VkDeviceSize fill = (b->size - 2 * q) & ~(VkDeviceSize)3;
	VkCommandBuffer cmd;
	uint8_t *p;
	int bad = 0;

	VKR_CHECK(vkMapMemory(v->vk.dev, b->memory, 0, VK_WHOLE_SIZE, 0, (void **)&p));
	for (VkDeviceSize i = 0; i < b->size; i++)
		p[i] = vkr_pattern(seed, (size_t)i);

	const VkMemoryBarrier host_to_gpu = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_HOST_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
	};
	const VkMemoryBarrier gpu_to_host = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_HOST_READ_BIT,
	};
	const VkBufferCopy region = { .srcOffset = 0, .dstOffset = q, .size = q };

	cmd = vkr_cmd_begin(v);
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0,
			     1, &host_to_gpu, 0, NULL, 0, NULL);
	vkCmdCopyBuffer(cmd, b->buffer, b->buffer, 1, &region);
	vkCmdFillBuffer(cmd, b->buffer, 2 * q, fill, VKR_FILL);
	vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0,
			     1, &gpu_to_host, 0, NULL, 0, NULL);
	vkr_cmd_run(v, cmd);
	for (VkDeviceSize i = 0; i < b->size && bad < 4; i++) {
		uint8_t want = i < q ? vkr_pattern(seed, (size_t)i)
			     : i < 2 * q ? vkr_pattern(seed, (size_t)(i - q))
			     : i < 2 * q + fill ? (uint8_t)VKR_FILL
			     : vkr_pattern(seed, (size_t)i);

		if (p[i] != want) {
			fprintf(stderr, "vk-roundtrip: byte %llu of %llu is 0x%02x, want 0x%02x\n",
				(unsigned long long)i, (unsigned long long)b->size, p[i], want);
			bad++;
		}
	}
	vkUnmapMemory(v->vk.dev, b->memory);
	return bad;
}

/* The GPU fills the whole buffer with a word of its own, and the exported
 * dma-buf, mapped by the CPU, must show it: the export is the memory, not a
 * copy or an empty object, although the memory was never mapped. */
static int vkr_export(struct vkr *v, struct vkr_buffer *b, uint32_t word)
{
	const VkMemoryGetFdInfoKHR gi = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR,
		.memory = b->memory,
		.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT,
	};
	const VkDeviceSize words = b->size / 4;
	VkCommandBuffer cmd;
	uint32_t *p;
	int fd = -1, bad = 0;

	VKR_CHECK(v->get_memory_fd(v->vk.dev, &gi, &fd));
	if (fd < 0) {
		fprintf(stderr, "vk-roundtrip: vkGetMemoryFdKHR gave no fd\n");
		return 1;
	}
	cmd = vkr_cmd_begin(v);
	vkCmdFillBuffer(cmd, b->buffer, 0, words * 4, word);
	vkr_cmd_run(v, cmd);
	p = mmap(NULL, (size_t)b->size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "vk-roundtrip: mmap of the exported dma-buf: %s\n", strerror(errno));
		bad = 1;
	} else {
		for (VkDeviceSize i = 0; i < words && bad < 4; i++) {
			if (p[i] != word) {
				fprintf(stderr, "vk-roundtrip: exported word %llu is 0x%08x, want 0x%08x\n",
					(unsigned long long)i, p[i], word);
				bad++;
			}
		}
		munmap(p, (size_t)b->size);
	}
	close(fd);
	return bad;
}

static bool vkr_arg_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return s[0] && s[0] != '-' && !errno && !*end;
}

int main(int argc, char **argv)
{
	uint64_t nbuf = 4, size = 1 << 20, nmap = UINT64_MAX, nexport = 0;
	bool loop = false, json = false;
	struct vkr_buffer *bufs;
	struct vkr v = { 0 };
	uint64_t rounds = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		uint64_t *dst = !strcmp(argv[i], "--buffers") ? &nbuf
			      : !strcmp(argv[i], "--size")    ? &size
			      : !strcmp(argv[i], "--map")     ? &nmap
			      : !strcmp(argv[i], "--export")  ? &nexport
							      : NULL;

		if (dst && i + 1 < argc && vkr_arg_u64(argv[i + 1], dst)) {
			i++;
		} else if (!strcmp(argv[i], "--loop")) {
			loop = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "usage: vk-roundtrip [--buffers N] [--size BYTES] "
					"[--map K] [--export E] [--loop] [--json]\n");
			return 2;
		}
	}
	if (!nbuf || nbuf > 4096 || size < 16 || size > (1ull << 32)) {
		fprintf(stderr, "vk-roundtrip: 1..4096 buffers of 16 bytes to 4 GiB\n");
		return 2;
	}
	if (nmap > nbuf)
		nmap = nbuf;
	vkr_init(&v);
	if (nexport && !v.vk.has_export) {
		fprintf(stderr, "vk-roundtrip: %s cannot export dma-bufs\n", v.vk.name);
		return 77;
	}
	bufs = calloc(nbuf + nexport, sizeof(*bufs));
	if (!bufs)
		return 3;
	do {
		for (uint64_t i = 0; i < nbuf; i++)
			vkr_buffer_create(&v, size, false, &bufs[i]);
		for (uint64_t i = 0; i < nexport; i++)
			vkr_buffer_create(&v, size, true, &bufs[nbuf + i]);
		for (uint64_t i = 0; i < nmap; i++)
			bad += vkr_buffer_use(&v, &bufs[i], (uint32_t)(rounds * nbuf + i + 1));
		for (uint64_t i = 0; i < nexport; i++)
			bad += vkr_export(&v, &bufs[nbuf + i], 0x5e000000u + (uint32_t)(rounds * nexport + i));
		for (uint64_t i = 0; i < nbuf + nexport; i++)
			vkr_buffer_destroy(&v, &bufs[i]);
		if (loop && !rounds++) {
			printf("ready\n");
			fflush(stdout);
		}
	} while (loop && !bad);
	free(bufs);
	vkr_fini(&v);
	if (json)
		printf("{\"device\": \"%s\", \"buffers\": %" PRIu64 ", \"size\": %" PRIu64
		       ", \"mapped\": %" PRIu64 ", \"exported\": %" PRIu64 ", \"bad_words\": %d}\n",
		       v.vk.name, nbuf, size, nmap, nexport, bad);
	else
		printf("vk-roundtrip: %s: %" PRIu64 " buffers of %" PRIu64 " bytes, %" PRIu64
		       " mapped and used, %" PRIu64 " exported unmapped: %s\n",
		       v.vk.name, nbuf, size, nmap, nexport, bad ? "WRONG DATA" : "ok");
	return bad ? 1 : 0;
}
