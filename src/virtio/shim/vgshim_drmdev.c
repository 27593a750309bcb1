/* SPDX-License-Identifier: MIT */
/*
 * libdrm's device enumeration, seen through the model: the model's node is
 * a virtio-gpu PCI device (0x1af4:0x1050), which is how unmodified drivers
 * (Venus) find their device: they enumerate, they do not open nodes by
 * name. Real devices libdrm finds are kept, except one whose render node
 * the model has taken over.
 *
 * Our devices are allocated the way libdrm allocates its own, as one block
 * (nodes, strings and bus info inside), so that either libdrm's
 * drmFreeDevice or ours frees them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <xf86drm.h>

#include "vgshim_priv.h"

#define VGSHIM_PCI_VENDOR_REDHAT 0x1af4
#define VGSHIM_PCI_DEVICE_VIRTIO_GPU 0x1050
#define VGSHIM_PCI_SUBDEVICE_VIRTIO_GPU 0x1100

typedef int (*vgshim_get_devices2_fn)(uint32_t, drmDevicePtr[], int);
typedef int (*vgshim_get_device2_fn)(int, uint32_t, drmDevicePtr *);
typedef int (*vgshim_get_devid_fn)(dev_t, uint32_t, drmDevicePtr *);
typedef void (*vgshim_free_device_fn)(drmDevicePtr *);

static void *vgshim_drm_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* The model's node if it is usable, else NULL (nothing to report). */
static bool vgshim_drmdev_node(char *node, size_t size)
{
	bool ok;

	vgshim_lock();
	ok = vgshim_ensure_init_locked() == 0;
	if (ok)
		snprintf(node, size, "%s", vgshim_dev.cfg.node);
	vgshim_unlock();
	return ok;
}

static drmDevicePtr vgshim_drmdev_make(const char *node)
{
	size_t len = strlen(node) + 1;
	char *p;
	drmDevicePtr d;

	/* device, node pointers, PCI bus and device info, the path */
	d = calloc(1, sizeof(*d) + DRM_NODE_MAX * sizeof(char *) + sizeof(drmPciBusInfo) +
			      sizeof(drmPciDeviceInfo) + len);
	if (!d)
		return NULL;
	p = (char *)(d + 1);
	d->nodes = (char **)p;
	p += DRM_NODE_MAX * sizeof(char *);
	d->businfo.pci = (drmPciBusInfoPtr)p;
	p += sizeof(drmPciBusInfo);
	d->deviceinfo.pci = (drmPciDeviceInfoPtr)p;
	p += sizeof(drmPciDeviceInfo);
	memcpy(p, node, len);
	d->nodes[DRM_NODE_RENDER] = p;
	d->available_nodes = 1 << DRM_NODE_RENDER;
	d->bustype = DRM_BUS_PCI;
	/* where QEMU usually puts the GPU: 00:02.0 */
	d->businfo.pci->dev = 2;
	d->deviceinfo.pci->vendor_id = VGSHIM_PCI_VENDOR_REDHAT;
	d->deviceinfo.pci->device_id = VGSHIM_PCI_DEVICE_VIRTIO_GPU;
	d->deviceinfo.pci->subvendor_id = VGSHIM_PCI_VENDOR_REDHAT;
	d->deviceinfo.pci->subdevice_id = VGSHIM_PCI_SUBDEVICE_VIRTIO_GPU;
	d->deviceinfo.pci->revision_id = 1;
	return d;
}

void drmFreeDevice(drmDevicePtr *device)
{
	vgshim_free_device_fn next = (vgshim_free_device_fn)vgshim_drm_next("drmFreeDevice");

	if (next) {
		next(device);
		return;
	}
	if (device) {
		free(*device);
		*device = NULL;
	}
}

void drmFreeDevices(drmDevicePtr devices[], int count)
{
	if (!devices)
		return;
	for (int i = 0; i < count; i++)
		drmFreeDevice(&devices[i]);
}

static bool vgshim_drmdev_is_ours(drmDevicePtr d, const char *node)
{
	return (d->available_nodes & (1 << DRM_NODE_RENDER)) && d->nodes[DRM_NODE_RENDER] &&
	       !strcmp(d->nodes[DRM_NODE_RENDER], node);
}

int drmGetDevices2(uint32_t flags, drmDevicePtr devices[], int max_devices)
{
	vgshim_get_devices2_fn next = (vgshim_get_devices2_fn)vgshim_drm_next("drmGetDevices2");
	drmDevicePtr *real = NULL;
	char node[sizeof(vgshim_dev.cfg.node)];
	int nreal = 0, count = 0;
	bool ours;

	ours = vgshim_drmdev_node(node, sizeof(node));
	if (next) {
		/* libdrm answers a negative errno when /dev/dri is missing */
		nreal = next(flags, NULL, 0);
		if (nreal < 0)
			nreal = 0;
	}
	if (nreal) {
		real = calloc((size_t)nreal, sizeof(*real));
		if (!real)
			return -ENOMEM;
		nreal = next(flags, real, nreal);
		if (nreal < 0)
			nreal = 0;
	}
	for (int i = 0; i < nreal; i++) {
		if (ours && vgshim_drmdev_is_ours(real[i], node)) {
			drmFreeDevice(&real[i]);
			continue;
		}
		if (devices && count < max_devices)
			devices[count] = real[i];
		else
			drmFreeDevice(&real[i]);
		count++;
	}
	free(real);
	if (ours) {
		if (devices && count < max_devices) {
			devices[count] = vgshim_drmdev_make(node);
			if (!devices[count]) {
				drmFreeDevices(devices, count);
				return -ENOMEM;
			}
		}
		count++;
	}
	/* as libdrm: the number found, or with an array the number stored */
	if (devices && count > max_devices)
		count = max_devices;
	return count;
}

int drmGetDevices(drmDevicePtr devices[], int max_devices)
{
	return drmGetDevices2(DRM_DEVICE_GET_PCI_REVISION, devices, max_devices);
}

int drmGetDevice2(int fd, uint32_t flags, drmDevicePtr *device)
{
	vgshim_get_device2_fn next = (vgshim_get_device2_fn)vgshim_drm_next("drmGetDevice2");
	char node[sizeof(vgshim_dev.cfg.node)];
	bool is_node;

	is_node = vgshim_fd_kind(fd, NULL) == VGSHIM_FD_NODE;
	if (is_node) {
		if (!device)
			return -EINVAL;
		if (!vgshim_drmdev_node(node, sizeof(node)))
			return -ENODEV;
		*device = vgshim_drmdev_make(node);
		return *device ? 0 : -ENOMEM;
	}
	return next ? next(fd, flags, device) : -ENODEV;
}

int drmGetDevice(int fd, drmDevicePtr *device)
{
	return drmGetDevice2(fd, DRM_DEVICE_GET_PCI_REVISION, device);
}

/* libdrm >= 2.4.116; the model's node by its fake device number */
int drmGetDeviceFromDevId(dev_t dev_id, uint32_t flags, drmDevicePtr *device);
int drmGetDeviceFromDevId(dev_t dev_id, uint32_t flags, drmDevicePtr *device)
{
	vgshim_get_devid_fn next = (vgshim_get_devid_fn)vgshim_drm_next("drmGetDeviceFromDevId");
	char node[sizeof(vgshim_dev.cfg.node)];
	struct stat st;

	if (vgshim_drmdev_node(node, sizeof(node)) && !stat(node, &st) && st.st_rdev == dev_id) {
		if (!device)
			return -EINVAL;
		*device = vgshim_drmdev_make(node);
		return *device ? 0 : -ENOMEM;
	}
	return next ? next(dev_id, flags, device) : -ENODEV;
}
