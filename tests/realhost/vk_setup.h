/* SPDX-License-Identifier: MIT */
/*
 * The Vulkan bring-up the real-stack programs share (vk-roundtrip,
 * vk-membench): an instance, the first physical device, and a device with
 * one queue and, when the driver offers them, the extensions for dma-buf
 * export. Each call returns the failing call's VkResult and names it in
 * *what, so that each program reports and exits in its own way.
 */
#ifndef VK_SETUP_H
#define VK_SETUP_H

#include <stdbool.h>
#include <vulkan/vulkan.h>

struct vks {
	VkInstance instance;
	VkPhysicalDevice pdev;
	VkDevice dev;
	/* VK_KHR_external_memory_fd and VK_EXT_external_memory_dma_buf are
	 * offered (and enabled on the device) */
	bool has_export;
	char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
};

/* The instance (Vulkan 1.1, application name app) and its first physical
 * device; VK_ERROR_INITIALIZATION_FAILED when there is none. */
VkResult vks_instance(struct vks *v, const char *app, const char **what);

/* The device, with one queue of queue_family. */
VkResult vks_device(struct vks *v, uint32_t queue_family, const char **what);

#endif
