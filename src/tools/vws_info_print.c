/* SPDX-License-Identifier: MIT */
/* vws-info output: a vulkaninfo --summary style text, or JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_info.h"

const char *vws_info_param_name(unsigned p)
{
	static const char *const names[] = {
		[VIRTGPU_PARAM_3D_FEATURES] = "3D_FEATURES",
		[VIRTGPU_PARAM_CAPSET_QUERY_FIX] = "CAPSET_QUERY_FIX",
		[VIRTGPU_PARAM_RESOURCE_BLOB] = "RESOURCE_BLOB",
		[VIRTGPU_PARAM_HOST_VISIBLE] = "HOST_VISIBLE",
		[VIRTGPU_PARAM_CROSS_DEVICE] = "CROSS_DEVICE",
		[VIRTGPU_PARAM_CONTEXT_INIT] = "CONTEXT_INIT",
		[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs] = "SUPPORTED_CAPSET_IDs",
		[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME] = "EXPLICIT_DEBUG_NAME",
	};

	return p < sizeof(names) / sizeof(names[0]) && names[p] ? names[p] : "?";
}

const char *vws_info_capset_name(unsigned id)
{
	switch (id) {
	case VIRTGPU_CAPSET_VIRGL:
		return "virgl";
	case VIRTGPU_CAPSET_VIRGL2:
		return "virgl2";
	case VIRTGPU_CAPSET_GFXSTREAM_VULKAN:
		return "gfxstream-vulkan";
	case VIRTGPU_CAPSET_VENUS:
		return "venus";
	case VIRTGPU_CAPSET_CROSS_DOMAIN:
		return "cross-domain";
	case VIRTGPU_CAPSET_DRM:
		return "drm";
	default:
		return "unknown";
	}
}

static const char *vws_info_effect(const struct vws_device_info *i)
{
	switch (i->defer_policy) {
	case VWS_DEFER_NEVER:
		return "the hint is never sent";
	case VWS_DEFER_ALWAYS:
		if (i->hint_support == VWS_HINT_VALIDATED)
			return "device-local mappable blobs are deferred";
		return "hint sent although the kernel does not validate it: on Linux 7.2 a "
		       "full region can hang the first mmap";
	default:
		return i->hint_support == VWS_HINT_VALIDATED
			       ? "device-local mappable blobs are deferred"
			       : "hint not sent (the kernel does not validate hints)";
	}
}

static void vws_info_bytes(char *buf, size_t len, int64_t v)
{
	int64_t a = v < 0 ? -v : v;

	if (v == 0)
		snprintf(buf, len, "0");
	else if (a % (1 << 20) == 0)
		snprintf(buf, len, "%+" PRId64 " MiB", v / (1 << 20));
	else if (a % 1024 == 0)
		snprintf(buf, len, "%+" PRId64 " KiB", v / 1024);
	else
		snprintf(buf, len, "%+" PRId64 " B", v);
}

static void vws_info_count(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%" PRId64, v);
}

void vws_info_print_text(const struct vws_device *dev, const struct vws_info_env *env,
			 const struct vws_info_selfcheck *sc)
{
	const struct vws_device_info *i = vws_device_get_info(dev);

	printf("==========\n");
	printf("VWS-INFO\n");
	printf("==========\n\n");
	if (env->on_model)
		printf("*** KERNEL MODEL: not a real GPU. libvirtgpu-shim.so (%s),\n"
		       "*** generation %s. Numbers below are the model's.\n\n",
		       env->model_path, env->model_generation);

	printf("Device:\n");
	printf("\tpath          = %s%s\n", i->path, env->on_model ? " (kernel model)" : "");
	printf("\tdriver        = %s %d.%d.%d\n", i->driver_name, i->driver_major,
	       i->driver_minor, i->driver_patch);
	printf("\tbackend       = %s\n",
	       i->backend == VWS_BACKEND_VTEST ? "vtest" : "kernel");

	printf("\nParams:\n");
	for (unsigned p = 1; p <= VIRTGPU_PARAM_MAX; p++) {
		if (!i->param_present[p])
			printf("\t%-21s = absent (this kernel does not know it)\n",
			       vws_info_param_name(p));
		else if (p == VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs)
			printf("\t%-21s = 0x%" PRIx64 "\n", vws_info_param_name(p),
			       (uint64_t)i->param[p]);
		else
			printf("\t%-21s = %" PRId64 "\n", vws_info_param_name(p), i->param[p]);
	}

	printf("\nCapsets:\n");
	printf("\tsupported     =");
	if (!i->supported_capsets)
		printf(" none reported");
	for (unsigned id = 0; id < 64; id++)
		if (i->supported_capsets & (1ull << id))
			printf(" %s(%u)", vws_info_capset_name(id), id);
	printf("\n");
	if (i->context_initialised)
		printf("\tcontext       = %s(%u), capset version %u\n",
		       vws_info_capset_name(i->capset_id), i->capset_id, i->capset_version);
	else
		printf("\tcontext       = none (no CONTEXT_INIT)\n");

	printf("\nHost-visible region:\n");
	if (i->host_visible_size)
		printf("\tsize          = %" PRIu64 " MiB (given by the caller)\n",
		       i->host_visible_size >> 20);
	else if (env->model_region_size)
		printf("\tsize          = %" PRIu64 " MiB (the model's; a real kernel's UAPI "
		       "does not report it)\n", env->model_region_size >> 20);
	else
		printf("\tsize          = unknown (the virtio-gpu UAPI does not report it)\n");
	printf("\tpresent       = %s\n",
	       i->param_present[VIRTGPU_PARAM_HOST_VISIBLE] && i->param[VIRTGPU_PARAM_HOST_VISIBLE]
		       ? "yes"
		       : "no");

	printf("\nDefer-mapping hint:\n");
	printf("\tkernel        = %s\n", vws_hint_support_name(i->hint_support));
	printf("\treason        = %s\n", i->hint_reason);
	printf("\tpolicy        = %s (from %s)\n", vws_defer_policy_name(i->defer_policy),
	       i->defer_policy_source);
	printf("\teffect        = %s\n", vws_info_effect(i));

	printf("\nSelf-check (%s blobs of 1 MiB):\n", sc->host3d ? "HOST3D" : "GUEST");
	if (sc->skipped_why)
		printf("\t(%s)\n", sc->skipped_why);
	printf("\t%-28s %-6s %-12s %-12s %-12s %-7s %-6s %s\n", "step", "result", "region held",
	       "deferred", "model region", "ioctls", "mmaps", "note");
	for (unsigned n = 0; n < sc->num_steps; n++) {
		const struct vws_info_step *s = &sc->steps[n];
		char held[32], def[32], model[32], io[24], mm[24];

		vws_info_bytes(held, sizeof(held), s->held_delta);
		vws_info_bytes(def, sizeof(def), s->deferred_delta);
		if (s->model_region_known)
			vws_info_bytes(model, sizeof(model), s->model_region_delta);
		else
			snprintf(model, sizeof(model), "n/a");
		vws_info_count(io, sizeof(io), s->ioctls);
		vws_info_count(mm, sizeof(mm), s->mmaps);
		printf("\t%-28s %-6s %-12s %-12s %-12s %-7s %-6s %s%s%s\n", s->name,
		       s->ok ? "ok" : "FAIL", held, def, model, io, mm,
		       s->note ? s->note : "", s->error ? ": " : "",
		       s->error ? strerror(-s->error) : "");
	}
	printf("\nSelf-check: %s\n", sc->not_applicable ? "SKIPPED (no blob resources)" :
					 sc->passed ? "PASSED" : "FAILED");
}

/* JSON strings: our own text, device paths and file names. */
static void vws_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

void vws_info_print_json(const struct vws_device *dev, const struct vws_info_env *env,
			 const struct vws_info_selfcheck *sc)
{
	const struct vws_device_info *i = vws_device_get_info(dev);
	bool first = true;

	printf("{\n  \"device\": {\"path\": ");
	vws_json_str(i->path);
	printf(", \"driver\": ");
	vws_json_str(i->driver_name);
	printf(", \"version\": \"%d.%d.%d\", \"backend\": \"%s\", \"model\": ", i->driver_major,
	       i->driver_minor, i->driver_patch,
	       i->backend == VWS_BACKEND_VTEST ? "vtest" : "kernel");
	if (env->on_model) {
		printf("{\"library\": ");
		vws_json_str(env->model_path);
		printf(", \"generation\": ");
		vws_json_str(env->model_generation);
		printf("}");
	} else {
		printf("null");
	}
	printf("},\n  \"params\": {");
	for (unsigned p = 1; p <= VIRTGPU_PARAM_MAX; p++) {
		printf("%s\"%s\": ", p > 1 ? ", " : "", vws_info_param_name(p));
		if (i->param_present[p])
			printf("%" PRId64, i->param[p]);
		else
			printf("null");
	}
	printf("},\n  \"capsets\": {\"supported\": [");
	for (unsigned id = 0; id < 64; id++) {
		if (!(i->supported_capsets & (1ull << id)))
			continue;
		printf("%s{\"id\": %u, \"name\": \"%s\"}", first ? "" : ", ", id,
		       vws_info_capset_name(id));
		first = false;
	}
	printf("], \"context\": ");
	if (i->context_initialised)
		printf("{\"id\": %u, \"name\": \"%s\", \"version\": %u}", i->capset_id,
		       vws_info_capset_name(i->capset_id), i->capset_version);
	else
		printf("null");
	printf("},\n  \"host_visible\": {\"present\": %s, \"size\": ",
	       i->param_present[VIRTGPU_PARAM_HOST_VISIBLE] && i->param[VIRTGPU_PARAM_HOST_VISIBLE]
		       ? "true"
		       : "false");
	if (i->host_visible_size)
		printf("%" PRIu64 ", \"size_source\": \"caller\"", i->host_visible_size);
	else if (env->model_region_size)
		printf("%" PRIu64 ", \"size_source\": \"model\"", env->model_region_size);
	else
		printf("null, \"size_source\": null");
	printf("},\n  \"hint\": {\"support\": \"%s\", \"reason\": ",
	       vws_hint_support_name(i->hint_support));
	vws_json_str(i->hint_reason);
	printf("},\n  \"policy\": {\"defer\": \"%s\", \"source\": ",
	       vws_defer_policy_name(i->defer_policy));
	vws_json_str(i->defer_policy_source);
	printf("},\n  \"selfcheck\": {\"blob_mem\": \"%s\", \"passed\": %s, \"applicable\": %s, \"steps\": [",
	       sc->host3d ? "HOST3D" : "GUEST", sc->passed ? "true" : "false",
	       sc->not_applicable ? "false" : "true");
	for (unsigned n = 0; n < sc->num_steps; n++) {
		const struct vws_info_step *s = &sc->steps[n];

		printf("%s\n    {\"name\": ", n ? "," : "");
		vws_json_str(s->name);
		printf(", \"ok\": %s, \"error\": %d, \"region_held_delta\": %" PRId64
		       ", \"region_deferred_delta\": %" PRId64 ", \"model_region_delta\": ",
		       s->ok ? "true" : "false", s->error, s->held_delta, s->deferred_delta);
		if (s->model_region_known)
			printf("%" PRId64, s->model_region_delta);
		else
			printf("null");
		printf(", \"ioctls\": ");
		if (s->ioctls >= 0)
			printf("%" PRId64, s->ioctls);
		else
			printf("null");
		printf(", \"mmaps\": %" PRId64 ", \"note\": ", s->mmaps);
		vws_json_str(s->note);
		printf("}");
	}
	printf("\n  ]}\n}\n");
}
