/* Host-visible memory through a real host, end to end: the CPU writes a
 * mapped buffer, the device copies it into a second one and fills a third
 * part, the CPU reads both back. With Venus over vtest the mappings are the
 * host's SHM blobs and the device is the host's lavapipe, so a pass means
 * the two sides share the same pages (what host/virglrenderer's patch is
 * for). Sizes that are not page multiples exercise blob sizes below the
 * SHM's whole pages.
 *
 *   vk-map-check [NAME]     NAME: a substring the device name must contain
 *
 * Prints one line per size; exit status 0 only if every check passed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#define FENCE_TIMEOUT_NS (30ull * 1000 * 1000 * 1000)

static int failed(const char *what, VkResult r)
{
	fprintf(stderr, "vk-map-check: %s failed (VkResult %d)\n", what, (int)r);
	return 1;
}

struct ctx {
	VkPhysicalDevice phys;
	VkDevice dev;
	VkQueue queue;
	VkCommandPool pool;
	uint32_t mem_type;
};

struct mapped_buffer {
	VkBuffer buf;
	VkDeviceMemory mem;
	uint8_t *ptr;
};

static int buffer_create(struct ctx *c, VkDeviceSize size, struct mapped_buffer *b)
{
	const VkBufferCreateInfo bci = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.size = size,
		.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	VkResult r = vkCreateBuffer(c->dev, &bci, NULL, &b->buf);
	if (r != VK_SUCCESS)
		return failed("vkCreateBuffer", r);
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(c->dev, b->buf, &req);
	if (!(req.memoryTypeBits & (1u << c->mem_type))) {
		fprintf(stderr, "vk-map-check: buffer cannot use host-visible type %u\n", c->mem_type);
		return 1;
	}
	const VkMemoryAllocateInfo mai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = req.size,
		.memoryTypeIndex = c->mem_type,
	};
	r = vkAllocateMemory(c->dev, &mai, NULL, &b->mem);
	if (r != VK_SUCCESS)
		return failed("vkAllocateMemory", r);
	r = vkBindBufferMemory(c->dev, b->buf, b->mem, 0);
	if (r != VK_SUCCESS)
		return failed("vkBindBufferMemory", r);
	void *p;
	r = vkMapMemory(c->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &p);
	if (r != VK_SUCCESS)
		return failed("vkMapMemory", r);
	b->ptr = p;
	return 0;
}

static void buffer_destroy(struct ctx *c, struct mapped_buffer *b)
{
	if (b->ptr)
		vkUnmapMemory(c->dev, b->mem);
	vkDestroyBuffer(c->dev, b->buf, NULL);
	vkFreeMemory(c->dev, b->mem, NULL);
}

static uint8_t pattern(VkDeviceSize i, VkDeviceSize size)
{
	return (uint8_t)(i * 7 + size + 1);
}

/* src -> dst by the device; then the device fills the second half of src. */
static int check_size(struct ctx *c, VkDeviceSize size)
{
	struct mapped_buffer src = { 0 }, dst = { 0 };
	if (buffer_create(c, size, &src) || buffer_create(c, size, &dst))
		return 1;
	for (VkDeviceSize i = 0; i < size; i++)
		src.ptr[i] = pattern(i, size);
	memset(dst.ptr, 0, size);

	const VkCommandBufferAllocateInfo cbai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = c->pool,
		.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
		.commandBufferCount = 1,
	};
	VkCommandBuffer cb;
	VkResult r = vkAllocateCommandBuffers(c->dev, &cbai, &cb);
	if (r != VK_SUCCESS)
		return failed("vkAllocateCommandBuffers", r);
	const VkCommandBufferBeginInfo begin = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	if ((r = vkBeginCommandBuffer(cb, &begin)) != VK_SUCCESS)
		return failed("vkBeginCommandBuffer", r);
	const VkBufferCopy region = { .size = size };
	vkCmdCopyBuffer(cb, src.buf, dst.buf, 1, &region);
	/* vkCmdFillBuffer wants a multiple of 4 at a multiple of 4 */
	const VkDeviceSize half = (size / 2) & ~(VkDeviceSize)3;
	const VkDeviceSize fill = (size - half) & ~(VkDeviceSize)3;
	const VkBufferMemoryBarrier after_copy = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT,
		.dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		.srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
		.buffer = src.buf,
		.size = VK_WHOLE_SIZE,
	};
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
			     0, 0, NULL, 1, &after_copy, 0, NULL);
	if (fill)
		vkCmdFillBuffer(cb, src.buf, half, fill, 0xa5a5a5a5u);
	const VkMemoryBarrier to_host = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
		.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
		.dstAccessMask = VK_ACCESS_HOST_READ_BIT,
	};
	vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT,
			     0, 1, &to_host, 0, NULL, 0, NULL);
	if ((r = vkEndCommandBuffer(cb)) != VK_SUCCESS)
		return failed("vkEndCommandBuffer", r);

	const VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
	VkFence fence;
	if ((r = vkCreateFence(c->dev, &fci, NULL, &fence)) != VK_SUCCESS)
		return failed("vkCreateFence", r);
	const VkSubmitInfo si = {
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
		.commandBufferCount = 1,
		.pCommandBuffers = &cb,
	};
	if ((r = vkQueueSubmit(c->queue, 1, &si, fence)) != VK_SUCCESS)
		return failed("vkQueueSubmit", r);
	if ((r = vkWaitForFences(c->dev, 1, &fence, VK_TRUE, FENCE_TIMEOUT_NS)) != VK_SUCCESS)
		return failed("vkWaitForFences", r);

	int bad = 0;
	for (VkDeviceSize i = 0; i < size && !bad; i++) {
		if (dst.ptr[i] != pattern(i, size)) {
			fprintf(stderr, "vk-map-check: size %llu: copy byte %llu is %#x, wrote %#x\n",
				(unsigned long long)size, (unsigned long long)i, dst.ptr[i],
				pattern(i, size));
			bad = 1;
		}
	}
	for (VkDeviceSize i = 0; i < size && !bad; i++) {
		const uint8_t want = i >= half && i < half + fill ? 0xa5 : pattern(i, size);
		if (src.ptr[i] != want) {
			fprintf(stderr, "vk-map-check: size %llu: filled byte %llu is %#x, want %#x\n",
				(unsigned long long)size, (unsigned long long)i, src.ptr[i], want);
			bad = 1;
		}
	}
	vkDestroyFence(c->dev, fence, NULL);
	vkFreeCommandBuffers(c->dev, c->pool, 1, &cb);
	buffer_destroy(c, &src);
	buffer_destroy(c, &dst);
	if (!bad)
		printf("ok size %llu\n", (unsigned long long)size);
	return bad;
}

int main(int argc, char **argv)
{
	const char *want_name = argc > 1 ? argv[1] : "";
	const VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "vk-map-check",
		.apiVersion = VK_API_VERSION_1_1,
	};
	const VkInstanceCreateInfo ici = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pApplicationInfo = &app,
	};
	VkInstance inst;
	VkResult r = vkCreateInstance(&ici, NULL, &inst);
	if (r != VK_SUCCESS)
		return failed("vkCreateInstance", r);

	uint32_t n = 0;
	if ((r = vkEnumeratePhysicalDevices(inst, &n, NULL)) != VK_SUCCESS || !n)
		return failed("vkEnumeratePhysicalDevices (no device?)", r);
	VkPhysicalDevice *devs = calloc(n, sizeof(*devs));
	if (!devs)
		return failed("calloc", VK_ERROR_OUT_OF_HOST_MEMORY);
	if ((r = vkEnumeratePhysicalDevices(inst, &n, devs)) != VK_SUCCESS)
		return failed("vkEnumeratePhysicalDevices", r);
	struct ctx c = { 0 };
	VkPhysicalDeviceProperties props;
	for (uint32_t i = 0; i < n && !c.phys; i++) {
		vkGetPhysicalDeviceProperties(devs[i], &props);
		if (strstr(props.deviceName, want_name))
			c.phys = devs[i];
	}
	free(devs);
	if (!c.phys) {
		fprintf(stderr, "vk-map-check: no device named like \"%s\"\n", want_name);
		return 1;
	}
	printf("device %s\n", props.deviceName);

	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(c.phys, &mp);
	const VkMemoryPropertyFlags need =
		VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	c.mem_type = UINT32_MAX;
	for (uint32_t i = 0; i < mp.memoryTypeCount && c.mem_type == UINT32_MAX; i++)
		if ((mp.memoryTypes[i].propertyFlags & need) == need)
			c.mem_type = i;
	if (c.mem_type == UINT32_MAX) {
		fprintf(stderr, "vk-map-check: no host-visible coherent memory type\n");
		return 1;
	}

	uint32_t nq = 0, family = UINT32_MAX;
	vkGetPhysicalDeviceQueueFamilyProperties(c.phys, &nq, NULL);
	VkQueueFamilyProperties *qf = calloc(nq ? nq : 1, sizeof(*qf));
	if (!qf)
		return failed("calloc", VK_ERROR_OUT_OF_HOST_MEMORY);
	vkGetPhysicalDeviceQueueFamilyProperties(c.phys, &nq, qf);
	for (uint32_t i = 0; i < nq && family == UINT32_MAX; i++)
		if (qf[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_TRANSFER_BIT))
			family = i;
	free(qf);
	if (family == UINT32_MAX) {
		fprintf(stderr, "vk-map-check: no queue family with transfers\n");
		return 1;
	}
	const float prio = 1.0f;
	const VkDeviceQueueCreateInfo qci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = family,
		.queueCount = 1,
		.pQueuePriorities = &prio,
	};
	const VkDeviceCreateInfo dci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &qci,
	};
	if ((r = vkCreateDevice(c.phys, &dci, NULL, &c.dev)) != VK_SUCCESS)
		return failed("vkCreateDevice", r);
	vkGetDeviceQueue(c.dev, family, 0, &c.queue);
	const VkCommandPoolCreateInfo pci = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.queueFamilyIndex = family,
	};
	if ((r = vkCreateCommandPool(c.dev, &pci, NULL, &c.pool)) != VK_SUCCESS)
		return failed("vkCreateCommandPool", r);

	static const VkDeviceSize sizes[] = { 4, 100, 4096, 4096 + 100, 1 << 20, (4 << 20) + 12 };
	int bad = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bad |= check_size(&c, sizes[i]);

	vkDestroyCommandPool(c.dev, c.pool, NULL);
	vkDestroyDevice(c.dev, NULL);
	vkDestroyInstance(inst, NULL);
	return bad;
}
