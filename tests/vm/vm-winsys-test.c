/* SPDX-License-Identifier: MIT */
/*
 * Runs inside the QEMU guest (tests/vm/run.sh) on a real virtio-gpu
 * kernel driver. Prints one line per check:
 *   VMTEST PASS <name> [detail]   /   VMTEST FAIL <name> <why>
 *   VMTEST INFO <what>
 * and VMTEST END last, which the host script requires.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws/vws.h"

static const char *const param_names[] = {
	"", "3D_FEATURES", "CAPSET_QUERY_FIX", "RESOURCE_BLOB", "HOST_VISIBLE", "CROSS_DEVICE",
	"CONTEXT_INIT", "SUPPORTED_CAPSET_IDs", "EXPLICIT_DEBUG_NAME",
};

static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void check(int ok, const char *name, const char *why)
{
	printf("VMTEST %s %s%s%s\n", ok ? "PASS" : "FAIL", name, why && why[0] ? " " : "",
	       why ? why : "");
}

int main(void)
{
	struct vws_device_create_info ci = { .num_rings = 1, .debug_name = "vm-test" };
	const struct vws_device_info *info;
	struct vws_device *dev = NULL;
	int base = fds(), ret;
	char why[160];

	/* found by DRM driver name, no path given */
	ret = vws_device_create(&ci, &dev);
	snprintf(why, sizeof(why), "vws_device_create: %s", strerror(-ret));
	check(ret == 0, "device_found_by_driver_name", ret ? why : "");
	if (ret) {
		printf("VMTEST END\n");
		return 1;
	}
	info = vws_device_get_info(dev);
	snprintf(why, sizeof(why), "driver %s %d.%d.%d at %s", info->driver_name,
		 info->driver_major, info->driver_minor, info->driver_patch, info->path);
	check(!strcmp(info->driver_name, "virtio_gpu"), "driver_is_virtio_gpu", why);
	for (int p = 1; p <= VIRTGPU_PARAM_MAX; p++) {
		if (info->param_present[p])
			printf("VMTEST INFO param %s = %lld\n", param_names[p], (long long)info->param[p]);
		else
			printf("VMTEST INFO param %s absent\n", param_names[p]);
	}
	/* params every kernel since 5.16 has must be there; absent ones are
	 * not errors (the device opened) */
	check(info->param_present[VIRTGPU_PARAM_3D_FEATURES] &&
	      info->param_present[VIRTGPU_PARAM_RESOURCE_BLOB] &&
	      info->param_present[VIRTGPU_PARAM_CONTEXT_INIT], "core_params_read", "");
	printf("VMTEST INFO hint_support %s: %s\n", vws_hint_support_name(info->hint_support),
	       info->hint_reason ? info->hint_reason : "");
	if (!info->param[VIRTGPU_PARAM_RESOURCE_BLOB]) {
		struct vws_bo_create_info bi = {
			.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
			.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
			.size = 4096,
		};
		struct vws_bo *bo = NULL;

		check(info->hint_support == VWS_HINT_NONE && info->hint_reason &&
		      info->hint_reason[0], "no_blob_hint_none_with_reason", info->hint_reason);
		ret = vws_bo_create(dev, &bi, &bo);
		snprintf(why, sizeof(why), "vws_bo_create: %d (%s)", ret, strerror(-ret));
		check(ret < 0 && !bo, "blob_create_fails_cleanly", why);
	} else {
		/* a kernel with blobs: the probe must have given an answer */
		check(info->hint_support != VWS_HINT_NONE, "blob_kernel_probed",
		      vws_hint_support_name(info->hint_support));
	}
	/* a caller that needs blobs gets a clear error, not a device */
	{
		struct vws_device_create_info need = ci;
		struct vws_device *d2 = NULL;

		need.require = VWS_REQUIRE_BLOB;
		ret = vws_device_create(&need, &d2);
		snprintf(why, sizeof(why), "%d (%s)", ret, strerror(-ret));
		if (info->param[VIRTGPU_PARAM_RESOURCE_BLOB])
			check(ret == 0, "require_blob", why);
		else
			check(ret == -EOPNOTSUPP, "require_blob_refused", why);
		if (d2)
			vws_device_unref(d2);
	}
	vws_device_unref(dev);
	snprintf(why, sizeof(why), "fds before %d after %d", base, fds());
	check(fds() == base, "no_fd_leak", why);
	printf("VMTEST END\n");
	return 0;
}
