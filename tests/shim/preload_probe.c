/* SPDX-License-Identifier: MIT */
/* A program that knows nothing of the model: linked with libdrm only, it
 * opens the node and does one blob's life. Run with LD_PRELOAD of the
 * model (test_shim_misc.c), it must see a virtio_gpu device. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"

int main(void)
{
	struct drm_virtgpu_resource_create_blob c = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = 65536,
	};
	struct drm_virtgpu_map m = { 0 };
	struct drm_gem_close g = { 0 };
	int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	drmVersionPtr v;
	void *p;

	if (fd < 0)
		return 10;
	v = drmGetVersion(fd);
	if (!v || strcmp(v->name, "virtio_gpu"))
		return 11;
	drmFreeVersion(v);
	if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &c))
		return 12;
	m.handle = g.handle = c.bo_handle;
	if (drmIoctl(fd, DRM_IOCTL_VIRTGPU_MAP, &m))
		return 13;
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	if (p == MAP_FAILED)
		return 14;
	memset(p, 1, 65536);
	munmap(p, 65536);
	if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &g))
		return 15;
	close(fd);
	printf("preload-probe: ok\n");
	return 0;
}
