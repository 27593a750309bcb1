/* SPDX-License-Identifier: MIT */
/*
 * vtest backend, device part: the connection, what the server offers
 * (expressed as the kernel's params so the shared code and the tools need
 * no second vocabulary), capsets, the context and the (absent) hint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_vtest.h"
#include "vws_vtest_proto.h"

#define VWS_VTEST_CAPSET_BUF 4096

/* A server started without --venus answers GET_CAPSET(VENUS) "valid" with
 * uninitialised memory, so the Venus capset must look like one before we
 * offer it: wire format and spec versions of plausible size, vk.xml
 * version 1.x. */
static bool vws_vtest_venus_capset_sane(const uint32_t *d, size_t bytes)
{
	uint32_t xml;

	if (bytes < VWS_VTEST_VENUS_CAPSET_MIN_DWORDS * 4)
		return false;
	xml = d[1];
	return d[0] < 0x10000 && (xml >> 29) == 0 && ((xml >> 22) & 0x7f) == 1 &&
	       d[2] < 0x1000000 && d[3] != 0 && d[3] < 0x1000000 && d[4] <= 1;
}

static int vws_vtest_get_capset_op(struct vws_device *dev, uint32_t id, uint32_t version,
				   void *buf, size_t size)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint32_t *tmp;
	size_t bytes;
	int ret;

	/* Read into our own buffer so the sanity check sees the fields even
	 * when the caller asks for fewer bytes. */
	tmp = malloc(VWS_VTEST_CAPSET_BUF);
	if (!tmp)
		return -ENOMEM;
	ret = vws_vtest_get_capset(vt->conn, id, version, tmp, VWS_VTEST_CAPSET_BUF, &bytes);
	if (!ret && id == VIRTGPU_CAPSET_VENUS && !vws_vtest_venus_capset_sane(tmp, bytes)) {
		vws_log(dev, VWS_DEBUG_INIT,
			"vtest: Venus capset v%u is not a Venus capset (server without --venus?)",
			version);
		ret = -EPROTO;
	}
	if (!ret && bytes > VWS_VTEST_CAPSET_BUF) {
		vws_log(dev, VWS_DEBUG_INIT, "vtest: capset %u is %zu bytes, only %d kept", id,
			bytes, VWS_VTEST_CAPSET_BUF);
		bytes = VWS_VTEST_CAPSET_BUF;
	}
	if (!ret)
		memcpy(buf, tmp, bytes < size ? bytes : size);
	free(tmp);
	return ret;
}

/* The capset ids the server answers at version 0 (and, for Venus, with a
 * sane capset): the SUPPORTED_CAPSET_IDs a kernel would report. */
static int vws_vtest_capset_mask(struct vws_device *dev, uint64_t *mask)
{
	uint8_t probe[64];

	*mask = 0;
	for (uint32_t id = VIRTGPU_CAPSET_VIRGL; id <= VIRTGPU_CAPSET_DRM; id++) {
		int ret = vws_vtest_get_capset_op(dev, id, 0, probe, sizeof(probe));

		if (!ret)
			*mask |= 1ull << id;
		else if (ret != -EINVAL && ret != -EPROTO)
			return ret;
		else if (ret == -EPROTO && vws_vtest_conn_error(vws_vtest(dev)->conn))
			return ret;
	}
	return 0;
}

static void vws_vtest_set_param(struct vws_device *dev, unsigned p, int64_t v)
{
	dev->info.param_present[p] = true;
	dev->info.param[p] = v;
}

static int vws_vtest_timeout_ms(void)
{
	const char *s = getenv("VWS_VTEST_TIMEOUT_MS");
	char *end;
	long v;

	if (!s || !*s)
		return VWS_VTEST_DEFAULT_TIMEOUT_MS;
	v = strtol(s, &end, 10);
	if (*end || v <= 0 || v > 3600 * 1000) {
		vws_warn("VWS_VTEST_TIMEOUT_MS='%s' is not a number of ms; using %d", s,
			 VWS_VTEST_DEFAULT_TIMEOUT_MS);
		return VWS_VTEST_DEFAULT_TIMEOUT_MS;
	}
	return (int)v;
}

static void vws_vtest_free(struct vws_vtest *vt)
{
	vws_vtest_conn_destroy(vt->conn);
	vws_vtest_syncs_fini(vt);
	pthread_mutex_destroy(&vt->sync_lock);
	free(vt);
}

static int vws_vtest_open(struct vws_device *dev, const struct vws_device_create_info *ci)
{
	const char *path = ci->path;
	const char *name = ci->debug_name ? ci->debug_name : program_invocation_short_name;
	struct vws_vtest *vt;
	bool valid;
	uint32_t timelines;
	uint64_t mask;
	int ret;

	if (!path || !path[0])
		path = getenv("VWS_VTEST_SOCKET");
	if (!path || !path[0])
		path = VWS_VTEST_DEFAULT_SOCKET;
	vt = calloc(1, sizeof(*vt));
	if (!vt)
		return -ENOMEM;
	pthread_mutex_init(&vt->sync_lock, NULL);
	snprintf(vt->path, sizeof(vt->path), "%s", path);

	vt->timeout_ms = vws_vtest_timeout_ms();
	ret = vws_vtest_conn_open(path, name, vt->timeout_ms, &vt->conn);
	if (ret) {
		vws_log(dev, VWS_DEBUG_INIT, "vtest: %s: %s%s", path, strerror(-ret),
			ret == -ENOENT || ret == -ECONNREFUSED
				? " (no vtest server listening: start virgl_test_server)"
				: "");
		goto fail;
	}
	dev->backend = vt;
	snprintf(dev->info.path, sizeof(dev->info.path), "%s", path);
	snprintf(dev->info.driver_name, sizeof(dev->info.driver_name), "vtest");
	dev->info.driver_major = (int)vws_vtest_conn_version(vt->conn);

	ret = vws_vtest_get_param(vt->conn, VWS_VTEST_PARAM_MAX_TIMELINE_COUNT, &valid,
				  &timelines);
	if (ret)
		goto fail_conn;
	vt->max_timelines = valid ? timelines : 0;
	ret = vws_vtest_capset_mask(dev, &mask);
	if (ret)
		goto fail_conn;

	/* What the protocol gives every version-3 client, in kernel terms:
	 * blobs with an fd each (host-visible memory without a window),
	 * contexts by capset. No cross-device sharing, no explicit debug
	 * name (the name went with CREATE_RENDERER). */
	vws_vtest_set_param(dev, VIRTGPU_PARAM_3D_FEATURES, 1);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_CAPSET_QUERY_FIX, 1);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_RESOURCE_BLOB, 1);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_HOST_VISIBLE, 1);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_CROSS_DEVICE, 0);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_CONTEXT_INIT, 1);
	vws_vtest_set_param(dev, VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs, (int64_t)mask);
	dev->info.supported_capsets = mask;
	vws_log(dev, VWS_DEBUG_INIT, "vtest: %s: protocol %u, %u timelines, capsets 0x%llx",
		path, vws_vtest_conn_version(vt->conn), vt->max_timelines,
		(unsigned long long)mask);
	return 0;

fail_conn:
	vws_log(dev, VWS_DEBUG_INIT, "vtest: %s: lost during setup: %s", path, strerror(-ret));
	dev->backend = NULL;
fail:
	vws_vtest_free(vt);
	return ret;
}

static void vws_vtest_close(struct vws_device *dev)
{
	vws_vtest_free(vws_vtest(dev));
	dev->backend = NULL;
}

static int vws_vtest_context_init_op(struct vws_device *dev, const struct vws_context_params *p)
{
	struct vws_vtest *vt = vws_vtest(dev);
	int ret;

	/* Rings are the server's timelines; it closes the connection on a
	 * ring it does not have, so a bad count fails here instead. */
	if (p->num_rings > (vt->max_timelines ? vt->max_timelines : 1)) {
		vws_log(dev, VWS_DEBUG_INIT, "vtest: %u rings asked, the server has %u timelines",
			p->num_rings, vt->max_timelines);
		return -EINVAL;
	}
	ret = vws_vtest_context_init(vt->conn, p->capset_id);
	if (ret)
		return ret;
	vt->num_rings = p->num_rings;
	return 0;
}

static void vws_vtest_probe_hints(struct vws_device *dev, enum vws_hint_support *out,
				  char *reason, size_t reason_size)
{
	*out = VWS_HINT_NONE;
	snprintf(reason, reason_size,
		 "vtest has no kernel and no blob_hints: every blob arrives as an fd "
		 "that is mmapped only on first map");
}

static int vws_vtest_get_fd(const struct vws_device *dev)
{
	return -1;
}

const struct vws_backend_ops vws_vtest_backend_ops = {
	.name = "vtest",
	.open = vws_vtest_open,
	.close = vws_vtest_close,
	.get_fd = vws_vtest_get_fd,
	.get_capset = vws_vtest_get_capset_op,
	.context_init = vws_vtest_context_init_op,
	.probe_hints = vws_vtest_probe_hints,
	.bo_create = vws_vtest_bo_create,
	.bo_close = vws_vtest_bo_close,
	.bo_map = vws_vtest_bo_map,
	.bo_export = vws_vtest_bo_export,
	.bo_import = vws_vtest_bo_import,
	.bo_query = vws_vtest_bo_query,
	.bo_import_abort = vws_vtest_bo_import_abort,
	.bo_wait = vws_vtest_bo_wait,
	.submit = vws_vtest_submit_op,
	.syncobj_create = vws_vtest_syncobj_create,
	.syncobj_destroy = vws_vtest_syncobj_destroy,
	.syncobj_wait = vws_vtest_syncobj_wait,
	.syncobj_signal = vws_vtest_syncobj_signal,
};
