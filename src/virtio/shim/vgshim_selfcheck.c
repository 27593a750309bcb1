/* SPDX-License-Identifier: MIT */
/*
 * vgshim-selfcheck: drives the kernel model with raw ioctls (libdrm) and
 * prints what it saw: a quick proof the model is loaded and behaves.
 * Runs linked (as built) or preloaded into any program; exit 0 on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim.h"

static int failures;

static void check(bool ok, const char *what)
{
	printf("  %-52s %s\n", what, ok ? "ok" : "FAILED");
	failures += !ok;
}

int main(void)
{
	const char *node = getenv("VGSHIM_NODE") ? getenv("VGSHIM_NODE") : "/dev/dri/renderD128";
	const char *gen = getenv("VGSHIM_KERNEL") ? getenv("VGSHIM_KERNEL") : "fixed";
	struct drm_virtgpu_context_set_param cp[] = {
		{ VIRTGPU_CONTEXT_PARAM_CAPSET_ID, VIRTGPU_CAPSET_VENUS },
		{ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 1 },
	};
	struct drm_virtgpu_context_init ci = { .num_params = 2, .ctx_set_params = (uintptr_t)cp };
	struct drm_virtgpu_resource_create_blob cb = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = 1 << 20,
		.blob_hints = VIRTGPU_BLOB_HINT_DEFER_MAPPING,
	};
	struct drm_virtgpu_map map = { 0 };
	struct vgshim_counters c0, c1;
	drmVersionPtr v;
	uint32_t handle = 0;
	int fd, dfd = -1, value = 0;
	unsigned char *p, *q;

	printf("vgshim-selfcheck: kernel model, generation %s, node %s\n", gen, node);
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("  cannot open %s: %s\n", node, strerror(errno));
		return 1;
	}
	v = drmGetVersion(fd);
	check(v && !strcmp(v->name, "virtio_gpu"), "DRM driver name is virtio_gpu");
	drmFreeVersion(v);
	for (int param = 1; param <= VIRTGPU_PARAM_MAX; param++) {
		struct drm_virtgpu_getparam gp = { param, (uintptr_t)&value };
		char what[64];

		snprintf(what, sizeof(what), "GETPARAM %d answers", param);
		check(!drmIoctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), what);
	}
	check(!drmIoctl(fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &ci), "CONTEXT_INIT (Venus)");
	vgshim_get_counters(&c0);
	check(!drmIoctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE_BLOB, &cb),
	      "CREATE_BLOB HOST3D mappable, defer hint");
	handle = cb.bo_handle;
	vgshim_get_counters(&c1);
	if (strcmp(gen, "legacy"))
		check(c1.region_bytes_in_use == c0.region_bytes_in_use,
		      "no region reserved before the first map");
	else
		check(c1.region_bytes_in_use == c0.region_bytes_in_use + (1 << 20),
		      "legacy kernel maps at creation");
	map.handle = handle;
	check(!drmIoctl(fd, DRM_IOCTL_VIRTGPU_MAP, &map), "MAP returns an offset");
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map.offset);
	check(p != MAP_FAILED, "mmap of the whole object");
	if (p != MAP_FAILED)
		memset(p, 0x5a, 4096);
	check(!drmPrimeHandleToFD(fd, handle, DRM_CLOEXEC | DRM_RDWR, &dfd), "export as dma-buf");
	q = dfd >= 0 ? mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, dfd, 0) : MAP_FAILED;
	check(q != MAP_FAILED && p != MAP_FAILED && q[4095] == 0x5a,
	      "the dma-buf maps the same pages");
	if (dfd >= 0) {
		uint32_t h2 = 0;

		check(!drmPrimeFDToHandle(fd, dfd, &h2) && h2 == handle,
		      "import of our own dma-buf gives the same handle");
	}
	if (q != MAP_FAILED)
		munmap(q, 1 << 20);
	if (p != MAP_FAILED)
		munmap(p, 1 << 20);
	if (dfd >= 0)
		close(dfd);
	{
		struct drm_gem_close gc = { .handle = handle };

		check(!drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &gc), "GEM_CLOSE");
	}
	close(fd);
	vgshim_host_drain();
	vgshim_get_counters(&c1);
	check(!c1.live_objects && !c1.live_handles && !c1.live_mappings && !c1.live_dmabufs &&
	      !c1.region_bytes_in_use, "nothing left behind");
	printf("  host map commands %llu, region peak %llu KiB, ioctls %llu\n",
	       (unsigned long long)c1.host_map_cmds,
	       (unsigned long long)(c1.region_bytes_peak >> 10),
	       (unsigned long long)c1.ioctls_total);
	printf("vgshim-selfcheck: %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
