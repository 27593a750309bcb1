/* SPDX-License-Identifier: MIT */
/*
 * Kernel backend, device part: finding and opening the render node, the
 * params, capsets, CONTEXT_INIT and the hint probe.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_kernel.h"

#define VWS_DRIVER_NAME "virtio_gpu"
#define VWS_RENDER_MIN 128
#define VWS_RENDER_MAX 191

/* Undefined hint bit for the probe: outside VIRTGPU_BLOB_HINT_MASK for as
 * long as hints are allocated from the bottom. */
#define VWS_PROBE_HINT (1u << 31)

/* Fills the driver fields; -ENODEV with the reason in why otherwise. */
static int vws_kernel_check_driver(struct vws_device *dev, int fd, char *why, size_t len)
{
	drmVersionPtr v = drmGetVersion(fd);

	if (!v) {
		snprintf(why, len, "not a DRM device");
		return -ENODEV;
	}
	if (!v->name || strcmp(v->name, VWS_DRIVER_NAME)) {
		snprintf(why, len, "DRM driver is '%s', not " VWS_DRIVER_NAME,
			 v->name ? v->name : "?");
		drmFreeVersion(v);
		return -ENODEV;
	}
	snprintf(dev->info.driver_name, sizeof(dev->info.driver_name), "%s", v->name);
	dev->info.driver_major = v->version_major;
	dev->info.driver_minor = v->version_minor;
	dev->info.driver_patch = v->version_patchlevel;
	drmFreeVersion(v);
	return 0;
}

static int vws_kernel_open_path(struct vws_device *dev, const char *path)
{
	char why[96];
	int fd, ret;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		vws_log(dev, VWS_DEBUG_INIT, "%s: %s", path, strerror(-ret));
		return ret == -ENOENT || ret == -ENXIO || ret == -ENODEV ? -ENODEV : ret;
	}
	ret = vws_kernel_check_driver(dev, fd, why, sizeof(why));
	if (ret) {
		vws_log(dev, VWS_DEBUG_INIT, "%s: %s", path, why);
		close(fd);
		return ret;
	}
	return fd;
}

static int vws_kernel_scan(struct vws_device *dev, char *path, size_t len)
{
	char seen[256] = "";
	size_t used = 0;
	int open_err = 0;

	for (int n = VWS_RENDER_MIN; n <= VWS_RENDER_MAX; n++) {
		char why[96];
		int fd, ret;

		snprintf(path, len, "/dev/dri/renderD%d", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			/* A node we may not open (not in the render group...)
			 * is worth more than "no device" if nothing else fits. */
			if (errno != ENOENT && errno != ENXIO && errno != ENODEV && !open_err) {
				open_err = -errno;
				used += snprintf(seen + used, sizeof(seen) - used, "%s%s: %s",
						 used ? "; " : "", path, strerror(errno));
				if (used >= sizeof(seen) - 1)
					break;
			}
			continue;
		}
		ret = vws_kernel_check_driver(dev, fd, why, sizeof(why));
		if (!ret)
			return fd;
		close(fd);
		used += snprintf(seen + used, sizeof(seen) - used, "%s%s: %s",
				 used ? "; " : "", path, why);
		if (used >= sizeof(seen) - 1)
			break;
	}
	vws_log(dev, VWS_DEBUG_INIT, "no usable " VWS_DRIVER_NAME " render node in /dev/dri%s%s%s",
		seen[0] ? " (" : "", seen, seen[0] ? ")" : "");
	return open_err ? open_err : -ENODEV;
}

static void vws_kernel_read_params(struct vws_device *dev, int fd)
{
	for (unsigned p = 1; p <= VIRTGPU_PARAM_MAX; p++) {
		int value = 0;
		struct drm_virtgpu_getparam gp = {
			.param = p,
			.value = (uint64_t)(uintptr_t)&value,
		};

		if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp)) {
			int err = vws_kernel_err();

			/* -EINVAL: this kernel does not know the param. */
			if (err != -EINVAL)
				vws_log(dev, VWS_DEBUG_INIT, "GETPARAM %u: %s", p, strerror(-err));
			continue;
		}
		dev->info.param_present[p] = true;
		dev->info.param[p] = value;
	}
	if (dev->info.param_present[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs])
		dev->info.supported_capsets =
			(uint32_t)dev->info.param[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs];
}

static int vws_kernel_open(struct vws_device *dev, const struct vws_device_create_info *ci)
{
	struct vws_kernel *k = calloc(1, sizeof(*k));
	int fd;

	if (!k)
		return -ENOMEM;
	if (ci->path) {
		snprintf(k->path, sizeof(k->path), "%s", ci->path);
		fd = vws_kernel_open_path(dev, ci->path);
	} else {
		fd = vws_kernel_scan(dev, k->path, sizeof(k->path));
	}
	if (fd < 0) {
		free(k);
		return fd;
	}
	k->fd = fd;
	snprintf(dev->info.path, sizeof(dev->info.path), "%s", k->path);
	vws_kernel_read_params(dev, fd);
	dev->backend = k;
	return 0;
}

static void vws_kernel_close(struct vws_device *dev)
{
	struct vws_kernel *k = vws_kernel(dev);

	close(k->fd);
	free(k);
	dev->backend = NULL;
}

static int vws_kernel_get_fd(const struct vws_device *dev)
{
	return vws_kernel(dev)->fd;
}

static int vws_kernel_get_capset(struct vws_device *dev, uint32_t capset_id, uint32_t version,
				 void *buf, size_t size)
{
	struct drm_virtgpu_get_caps gc = {
		.cap_set_id = capset_id,
		.cap_set_ver = version,
		.addr = (uint64_t)(uintptr_t)buf,
		.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size,
	};

	if (drmIoctl(vws_kernel(dev)->fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc))
		return vws_kernel_err();
	return 0;
}

static int vws_kernel_context_init(struct vws_device *dev, const struct vws_context_params *p)
{
	struct vws_kernel *k = vws_kernel(dev);
	struct drm_virtgpu_context_set_param params[4] = {
		{ VIRTGPU_CONTEXT_PARAM_CAPSET_ID, p->capset_id },
		{ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, p->num_rings },
		{ VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK, p->ring_poll_mask },
	};
	struct drm_virtgpu_context_init init = {
		.num_params = 3,
		.ctx_set_params = (uint64_t)(uintptr_t)params,
	};

	if (p->debug_name) {
		params[3].param = VIRTGPU_CONTEXT_PARAM_DEBUG_NAME;
		params[3].value = (uint64_t)(uintptr_t)p->debug_name;
		init.num_params = 4;
	}
	if (drmIoctl(k->fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &init))
		return vws_kernel_err();
	k->context_created = true;
	return 0;
}

/*
 * The probe creates a one-page GUEST blob with an undefined hint bit. Blob
 * creation makes the kernel create an implicit context if the file has
 * none, after which CONTEXT_INIT on that file fails. So without a context
 * (capset 0: a tool only looking) the probe runs on a second, private open
 * of the node and closes it: the device's own file stays context-free.
 */
static void vws_kernel_probe_hints(struct vws_device *dev, enum vws_hint_support *out,
				   char *reason, size_t len)
{
	struct vws_kernel *k = vws_kernel(dev);
	struct vws_blob_request req = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.size = (uint64_t)sysconf(_SC_PAGESIZE),
		.blob_hints = VWS_PROBE_HINT,
		.extended = true,
	};
	uint32_t handle, res_id;
	const char *where = "";
	int fd = k->fd, ret;

	*out = VWS_HINT_NONE;
	if (!k->context_created) {
		fd = open(k->path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			snprintf(reason, len, "not probed: no context, and reopening %s failed: %s",
				 k->path, strerror(errno));
			return;
		}
		where = " (probed on a private file: no context)";
	}

	ret = vws_kernel_bo_create_on(fd, &req, &handle, &res_id);
	if (!ret) {
		vws_kernel_gem_close(fd, handle);
		*out = VWS_HINT_IGNORED;
		snprintf(reason, len, "kernel accepted an undefined hint bit: blob_hints "
			 "unknown or unvalidated (Linux <= 7.2)%s", where);
	} else if (ret == -EINVAL) {
		req.blob_hints = 0;
		ret = vws_kernel_bo_create_on(fd, &req, &handle, &res_id);
		if (!ret) {
			vws_kernel_gem_close(fd, handle);
			*out = VWS_HINT_VALIDATED;
			snprintf(reason, len, "kernel rejects undefined hint bits with EINVAL: "
				 "validated blob_hints (review fixes present)%s", where);
		} else {
			snprintf(reason, len, "probe blob fails even without hints: %s%s",
				 strerror(-ret), where);
		}
	} else {
		snprintf(reason, len, "probe blob creation failed: %s%s", strerror(-ret), where);
	}
	if (fd != k->fd)
		close(fd);
}

const struct vws_backend_ops vws_kernel_backend_ops = {
	.name = "kernel",
	.open = vws_kernel_open,
	.close = vws_kernel_close,
	.get_fd = vws_kernel_get_fd,
	.get_capset = vws_kernel_get_capset,
	.context_init = vws_kernel_context_init,
	.probe_hints = vws_kernel_probe_hints,
	.bo_create = vws_kernel_bo_create,
	.bo_close = vws_kernel_bo_close,
	.bo_map = vws_kernel_bo_map,
	.bo_reserve = vws_kernel_bo_reserve,
	.bo_export = vws_kernel_bo_export,
	.bo_import = vws_kernel_bo_import,
	.bo_query = vws_kernel_bo_query,
	.bo_import_abort = vws_kernel_bo_import_abort,
	.bo_wait = vws_kernel_bo_wait,
	.submit = vws_kernel_submit,
	.syncobj_create = vws_kernel_syncobj_create,
	.syncobj_destroy = vws_kernel_syncobj_destroy,
	.syncobj_wait = vws_kernel_syncobj_wait,
	.syncobj_signal = vws_kernel_syncobj_signal,
};
