/* SPDX-License-Identifier: MIT */
/*
 * The self-check: one blob life cycle, each step measured.
 *
 * HOST3D blobs need a host memory object behind their blob_id, which a real
 * host creates only through the driver's own protocol (Venus, gfxstream).
 * The kernel model's host understands a tiny command for that
 * (vgshim_proto.h), so on the model the check uses HOST3D blobs and shows
 * the host-visible region at work; on a real kernel it uses GUEST blobs.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim_proto.h"
#include "vws_info.h"

#define VWS_INFO_BLOB_SIZE (1u << 20)
#define VWS_INFO_BLOB_ID_BASE 0x7653496e666f0000ull /* "vwsInfo" */

struct vws_info_probe {
	struct vws_stats stats;
	uint64_t ioctls, mmaps, region;
	bool model;
};

struct vws_info_ctx {
	struct vws_device *dev;
	const struct vws_info_env *env;
	struct vws_info_selfcheck *sc;
	struct vws_info_probe before;
	struct vws_info_step *step;
};

static void vws_info_sample(struct vws_info_ctx *c, struct vws_info_probe *p)
{
	vws_device_get_stats(c->dev, &p->stats);
	p->model = c->env->model_counts &&
		   c->env->model_counts(&p->ioctls, &p->mmaps, &p->region);
}

static void vws_info_begin(struct vws_info_ctx *c, const char *name)
{
	c->step = &c->sc->steps[c->sc->num_steps++];
	*c->step = (struct vws_info_step){ .name = name, .ok = true };
	vws_info_sample(c, &c->before);
}

/* Ends the step; returns whether it passed. */
static bool vws_info_end(struct vws_info_ctx *c, int error, const char *note)
{
	struct vws_info_step *s = c->step;
	struct vws_info_probe now;

	vws_info_sample(c, &now);
	s->held_delta = (int64_t)(now.stats.region_bytes_held - c->before.stats.region_bytes_held);
	s->deferred_delta = (int64_t)(now.stats.region_bytes_deferred -
				      c->before.stats.region_bytes_deferred);
	if (now.model && c->before.model) {
		s->ioctls = (int64_t)(now.ioctls - c->before.ioctls);
		s->mmaps = (int64_t)(now.mmaps - c->before.mmaps);
		s->model_region_delta = (int64_t)(now.region - c->before.region);
		s->model_region_known = true;
	} else {
		/* A real kernel counts nothing for us: what the winsys issued
		 * for mapping is all we know. */
		s->ioctls = -1;
		s->mmaps = (int64_t)(now.stats.mmaps - c->before.stats.mmaps);
	}
	s->error = error;
	if (error)
		s->ok = false;
	if (note && !s->note)
		s->note = note;
	if (!s->ok)
		c->sc->passed = false;
	return s->ok;
}

static void vws_info_fail(struct vws_info_ctx *c, const char *why)
{
	c->step->ok = false;
	c->step->note = why;
}

static int vws_info_create(struct vws_info_ctx *c, bool device_local, uint64_t blob_id,
			   struct vws_bo **bo)
{
	uint32_t cmd[VGSHIM_CMD_CREATE_MEM_LEN];
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = VWS_INFO_BLOB_SIZE,
		.flags = device_local ? VWS_BO_DEVICE_LOCAL : 0,
	};

	if (c->sc->host3d) {
		vgshim_cmd_create_mem(cmd, blob_id, VWS_INFO_BLOB_SIZE, VGSHIM_MEM_MAPPABLE);
		ci.blob_mem = VIRTGPU_BLOB_MEM_HOST3D;
		ci.blob_id = blob_id;
		ci.cmd = cmd;
		ci.cmd_size = sizeof(cmd);
	}
	return vws_bo_create(c->dev, &ci, bo);
}

static const char *vws_info_create_note(struct vws_info_ctx *c, struct vws_bo *bo)
{
	struct vws_bo_info bi;

	vws_bo_get_info(bo, &bi);
	if (!bi.hinted)
		return c->sc->host3d ? "no hint: the kernel maps it now" : "guest memory";
	if (c->step->model_region_known && c->step->model_region_delta > 0)
		return "hinted, but the kernel mapped it anyway (it ignores the hint)";
	return "hinted: mapping deferred to first use";
}

void vws_info_run_selfcheck(struct vws_device *dev, const struct vws_info_env *env,
			    struct vws_info_selfcheck *sc)
{
	struct vws_info_ctx c = { .dev = dev, .env = env, .sc = sc };
	struct vws_bo *a = NULL, *b = NULL, *imp = NULL;
	struct vws_stats st;
	void *p1 = NULL, *p2 = NULL;
	int fd = -1, ret;

	*sc = (struct vws_info_selfcheck){ .passed = true };
	/* A device without blobs (QEMU without udmabuf, say) is reported as
	 * it is; there is nothing to create, so nothing failed. */
	if (vws_device_get_info(dev)->hint_support == VWS_HINT_NONE &&
	    !vws_device_get_info(dev)->param[VIRTGPU_PARAM_RESOURCE_BLOB]) {
		sc->not_applicable = true;
		sc->skipped_why = "the device has no blob resources: nothing to create";
		return;
	}
	sc->host3d = env->on_model && env->model_counts;
	if (!sc->host3d)
		sc->skipped_why = "HOST3D steps need host memory made through the driver "
				  "protocol; run on the model (--kernel) to see them";

	vws_info_begin(&c, "create device-local blob A");
	ret = vws_info_create(&c, true, VWS_INFO_BLOB_ID_BASE + 1, &a);
	vws_info_end(&c, ret, ret ? "blob creation failed" : NULL);
	if (ret)
		goto cleanup;
	c.step->note = vws_info_create_note(&c, a);

	vws_info_begin(&c, "create mappable blob B");
	ret = vws_info_create(&c, false, VWS_INFO_BLOB_ID_BASE + 2, &b);
	vws_info_end(&c, ret, ret ? "blob creation failed" : NULL);
	if (ret)
		goto cleanup;
	c.step->note = vws_info_create_note(&c, b);

	vws_info_begin(&c, "map B (first map)");
	ret = vws_bo_map(b, &p1);
	if (!ret)
		memset(p1, 0x5a, 64);
	if (!vws_info_end(&c, ret, "MAP ioctl + mmap"))
		goto cleanup;

	vws_info_begin(&c, "map B again (cached)");
	ret = vws_bo_map(b, &p2);
	if (!ret && p2 != p1)
		vws_info_fail(&c, "a different pointer");
	vws_info_end(&c, ret, "no syscall");
	if (c.step->ok && (c.step->mmaps != 0 || c.step->ioctls > 0))
		vws_info_fail(&c, "a cached map issued syscalls");
	if (!c.step->ok) {
		sc->passed = false;
		goto cleanup;
	}

	vws_info_begin(&c, "export A as dma-buf");
	vws_device_get_stats(dev, &st);
	ret = vws_bo_export_fd(a, &fd);
	if (!ret) {
		struct vws_stats st2;

		vws_device_get_stats(dev, &st2);
		c.step->note = st2.forced_maps <= st.forced_maps
				       ? "already mapped: exported directly"
			       : st2.mmaps > st.mmaps
				       ? "host mapping forced first (deferred object): MAP + mmap"
				       : "host mapping forced first (deferred object): MAP ioctl only";
	}
	if (!vws_info_end(&c, ret, NULL))
		goto cleanup;

	vws_info_begin(&c, "import the dma-buf");
	ret = vws_bo_import_fd(dev, fd, VWS_INFO_BLOB_SIZE, &imp);
	if (!ret && imp != a)
		vws_info_fail(&c, "a second object for the same buffer");
	if (!vws_info_end(&c, ret, "same object as A (one per GEM handle)"))
		goto cleanup;

cleanup:
	vws_info_begin(&c, "free everything");
	vws_bo_unref(imp);
	vws_bo_unref(a);
	vws_bo_unref(b);
	if (fd >= 0)
		close(fd);
	vws_info_end(&c, 0, "objects, mappings and dma-buf released");
	vws_device_get_stats(dev, &st);
	if (st.objects || st.region_bytes_held || st.region_bytes_deferred) {
		vws_info_fail(&c, "objects or region bytes left behind");
		sc->passed = false;
	}
	if (c.step->model_region_known && c.step->model_region_delta > 0) {
		vws_info_fail(&c, "the kernel's region use grew on free");
		sc->passed = false;
	}
}
