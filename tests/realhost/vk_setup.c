/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_setup.h"

static const char *const vks_export_exts[] = {
	VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME,
	VK_EXT_EXTERNAL_MEMORY_DMA_BUF_EXTENSION_NAME,
};

static bool vks_has_ext(VkPhysicalDevice pdev, const char *name)
{
	VkExtensionProperties *props;
	uint32_t n = 0;
	bool found = false;

	if (vkEnumerateDeviceExtensionProperties(pdev, NULL, &n, NULL) != VK_SUCCESS)
		return false;
	props = calloc(n ? n : 1, sizeof(*props));
	if (!props)
		return false;
	if (vkEnumerateDeviceExtensionProperties(pdev, NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = !strcmp(props[i].extensionName, name);
	free(props);
	return found;
}

VkResult vks_instance(struct vks *v, const char *app, const char **what)
{
	const VkApplicationInfo ai = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = app,
		.apiVersion = VK_API_VERSION_1_1,
	};
	const VkInstanceCreateInfo ici = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pApplicationInfo = &ai,
	};
	VkPhysicalDeviceProperties props;
	VkPhysicalDevice pdevs[8];
	uint32_t n = 8;
	VkResult r;

	*what = "vkCreateInstance";
	r = vkCreateInstance(&ici, NULL, &v->instance);
	if (r != VK_SUCCESS)
		return r;
	*what = "vkEnumeratePhysicalDevices";
	r = vkEnumeratePhysicalDevices(v->instance, &n, pdevs);
	if (r != VK_SUCCESS)
		return r;
	if (!n) {
		*what = "vkEnumeratePhysicalDevices (no physical device)";
		return VK_ERROR_INITIALIZATION_FAILED;
	}
	v->pdev = pdevs[0];
	vkGetPhysicalDeviceProperties(v->pdev, &props);
	snprintf(v->name, sizeof(v->name), "%s", props.deviceName);
	v->has_export = vks_has_ext(v->pdev, vks_export_exts[0]) &&
			vks_has_ext(v->pdev, vks_export_exts[1]);
	return VK_SUCCESS;
}

VkResult vks_device(struct vks *v, uint32_t queue_family, const char **what)
{
	const float prio = 1.0f;
	const VkDeviceQueueCreateInfo qci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = queue_family,
		.queueCount = 1,
		.pQueuePriorities = &prio,
	};
	const VkDeviceCreateInfo dci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &qci,
		.enabledExtensionCount = v->has_export ? 2 : 0,
		.ppEnabledExtensionNames = vks_export_exts,
	};

	*what = "vkCreateDevice";
	return vkCreateDevice(v->pdev, &dci, NULL, &v->dev);
}
