/* SPDX-License-Identifier: MIT */
/*
 * Configuration of the model: environment variables, validated. A bad value
 * is an error the test author sees at once (open of the node fails with
 * EINVAL and a message), never a silent default.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vgshim_priv.h"

static const char *const vgshim_param_names[VGSHIM_PARAM_SLOTS] = {
	[VIRTGPU_PARAM_3D_FEATURES] = "3D_FEATURES",
	[VIRTGPU_PARAM_CAPSET_QUERY_FIX] = "CAPSET_QUERY_FIX",
	[VIRTGPU_PARAM_RESOURCE_BLOB] = "RESOURCE_BLOB",
	[VIRTGPU_PARAM_HOST_VISIBLE] = "HOST_VISIBLE",
	[VIRTGPU_PARAM_CROSS_DEVICE] = "CROSS_DEVICE",
	[VIRTGPU_PARAM_CONTEXT_INIT] = "CONTEXT_INIT",
	[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs] = "SUPPORTED_CAPSET_IDS",
	[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME] = "EXPLICIT_DEBUG_NAME",
};

/* The simulated host offers Venus and gfxstream; a real host what its
 * server offers: Venus (virglrenderer's vtest has no gfxstream), with the
 * capset's size the server's. */
static void vgshim_default_capsets(struct vgshim_config *cfg)
{
	if (cfg->vtest_socket[0]) {
		cfg->capsets[0] = (struct vgshim_capset){ VIRTGPU_CAPSET_VENUS, 0, 1 << 20 };
		cfg->num_capsets = 1;
		return;
	}
	cfg->capsets[0] = (struct vgshim_capset){ VIRTGPU_CAPSET_VENUS, 0, 160 };
	cfg->capsets[1] = (struct vgshim_capset){ VIRTGPU_CAPSET_GFXSTREAM_VULKAN, 0, 64 };
	cfg->num_capsets = 2;
}

void vgshim_config_defaults(struct vgshim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->node, sizeof(cfg->node), "/dev/dri/renderD128");
	cfg->kernel = VGSHIM_KERNEL_FIXED;
	cfg->hostmem = 256ull << 20;
	cfg->guestmem = 1ull << 30;
	cfg->hang_ms = 2000;
	cfg->vtest_timeout_ms = 10000;
	/* A Venus-capable host with blobs, a host-visible region and context
	 * init; cross-device (resource UUIDs) off, as on most hosts. */
	for (int p = 1; p <= VIRTGPU_PARAM_MAX; p++)
		cfg->param_present[p] = true;
	cfg->param[VIRTGPU_PARAM_3D_FEATURES] = 1;
	cfg->param[VIRTGPU_PARAM_CAPSET_QUERY_FIX] = 1;
	cfg->param[VIRTGPU_PARAM_RESOURCE_BLOB] = 1;
	cfg->param[VIRTGPU_PARAM_HOST_VISIBLE] = 1;
	cfg->param[VIRTGPU_PARAM_CROSS_DEVICE] = 0;
	cfg->param[VIRTGPU_PARAM_CONTEXT_INIT] = 1;
	cfg->param[VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME] = 1;
	vgshim_default_capsets(cfg);
	/* SUPPORTED_CAPSET_IDs follows the capsets unless set explicitly */
	cfg->param[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs] = -1;
}

uint64_t vgshim_capset_mask(const struct vgshim_config *cfg)
{
	uint64_t mask = 0;

	if (cfg->param[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs] >= 0)
		return (uint64_t)cfg->param[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs];
	for (unsigned i = 0; i < cfg->num_capsets; i++)
		mask |= 1ull << cfg->capsets[i].id;
	return mask;
}

static int vgshim_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int vgshim_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s[0] || s[0] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end || !v || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "4:0:160,3" -> id[:max_version[:max_size]] */
static int vgshim_parse_capsets(struct vgshim_config *cfg, const char *s)
{
	char buf[256], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	cfg->num_capsets = 0;
	if (!strcmp(buf, "none"))
		return 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint64_t id, ver = 0, size = 64;
		char *c1 = strchr(t, ':'), *c2 = NULL;

		if (c1) {
			*c1++ = 0;
			c2 = strchr(c1, ':');
			if (c2)
				*c2++ = 0;
		}
		if (vgshim_parse_u64(t, 63, &id) || !id ||
		    (c1 && vgshim_parse_u64(c1, 1000, &ver)) ||
		    (c2 && (vgshim_parse_u64(c2, 1 << 20, &size) || !size)) ||
		    cfg->num_capsets == VGSHIM_MAX_CAPSETS)
			return -EINVAL;
		cfg->capsets[cfg->num_capsets++] =
			(struct vgshim_capset){ (uint32_t)id, (uint32_t)ver, (uint32_t)size };
	}
	return 0;
}

int vgshim_config_set(struct vgshim_config *cfg, const char *name, const char *v)
{
	uint64_t u;

	if (!name || !v)
		return -EINVAL;
	if (!strcmp(name, "VGSHIM_NODE")) {
		if (v[0] != '/' || strlen(v) >= sizeof(cfg->node))
			return -EINVAL;
		snprintf(cfg->node, sizeof(cfg->node), "%s", v);
	} else if (!strcmp(name, "VGSHIM_KERNEL")) {
		if (!strcmp(v, "legacy"))
			cfg->kernel = VGSHIM_KERNEL_LEGACY;
		else if (!strcmp(v, "v1"))
			cfg->kernel = VGSHIM_KERNEL_V1;
		else if (!strcmp(v, "v2"))
			cfg->kernel = VGSHIM_KERNEL_V2;
		else if (!strcmp(v, "fixed"))
			cfg->kernel = VGSHIM_KERNEL_FIXED;
		else
			return -EINVAL;
	} else if (!strcmp(name, "VGSHIM_HOSTMEM")) {
		if (vgshim_parse_size(v, &u) || u % VGSHIM_PAGE || u > (64ull << 30))
			return -EINVAL;
		cfg->hostmem = u;
	} else if (!strcmp(name, "VGSHIM_GUESTMEM")) {
		if (vgshim_parse_size(v, &u) || u > (1ull << 40))
			return -EINVAL;
		cfg->guestmem = u;
	} else if (!strcmp(name, "VGSHIM_MAP_LATENCY_US")) {
		if (vgshim_parse_u64(v, 10000000, &u))
			return -EINVAL;
		cfg->map_latency_us = u;
	} else if (!strcmp(name, "VGSHIM_CREATE_LATENCY_US")) {
		if (vgshim_parse_u64(v, 10000000, &u))
			return -EINVAL;
		cfg->create_latency_us = u;
	} else if (!strcmp(name, "VGSHIM_HANG_MS")) {
		if (vgshim_parse_u64(v, 600000, &u) || !u)
			return -EINVAL;
		cfg->hang_ms = u;
	} else if (!strcmp(name, "VGSHIM_PARTIAL_MMAP")) {
		if (strcmp(v, "0") && strcmp(v, "1"))
			return -EINVAL;
		cfg->partial_mmap = v[0] == '1';
	} else if (!strcmp(name, "VGSHIM_STATS")) {
		if (!v[0] || strlen(v) >= sizeof(cfg->stats))
			return -EINVAL;
		snprintf(cfg->stats, sizeof(cfg->stats), "%s", v);
	} else if (!strcmp(name, "VGSHIM_FAIL")) {
		if (strlen(v) >= sizeof(cfg->fail))
			return -EINVAL;
		snprintf(cfg->fail, sizeof(cfg->fail), "%s", v);
	} else if (!strcmp(name, "VGSHIM_CAPSETS")) {
		cfg->capsets_set = true;
		return vgshim_parse_capsets(cfg, v);
	} else if (!strcmp(name, "VGSHIM_VTEST_SOCKET")) {
		/* empty: the simulated host */
		if (v[0] && (v[0] != '/' || strlen(v) >= sizeof(cfg->vtest_socket)))
			return -EINVAL;
		snprintf(cfg->vtest_socket, sizeof(cfg->vtest_socket), "%s", v);
		if (!cfg->capsets_set)
			vgshim_default_capsets(cfg);
	} else if (!strcmp(name, "VGSHIM_VTEST_TIMEOUT_MS")) {
		if (vgshim_parse_u64(v, 600000, &u) || !u)
			return -EINVAL;
		cfg->vtest_timeout_ms = (uint32_t)u;
	} else if (!strncmp(name, "VGSHIM_PARAM_", 13)) {
		for (int p = 1; p <= VIRTGPU_PARAM_MAX; p++) {
			if (strcasecmp(name + 13, vgshim_param_names[p]))
				continue;
			if (!strcmp(v, "absent")) {
				cfg->param_present[p] = false;
				return 0;
			}
			if (vgshim_parse_u64(v, INT32_MAX, &u))
				return -EINVAL;
			cfg->param_present[p] = true;
			cfg->param[p] = (int64_t)u;
			return 0;
		}
		return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static const char *const vgshim_env_names[] = {
	"VGSHIM_NODE", "VGSHIM_KERNEL", "VGSHIM_HOSTMEM", "VGSHIM_GUESTMEM",
	"VGSHIM_MAP_LATENCY_US", "VGSHIM_CREATE_LATENCY_US", "VGSHIM_HANG_MS", "VGSHIM_PARTIAL_MMAP", "VGSHIM_STATS",
	"VGSHIM_FAIL", "VGSHIM_CAPSETS", "VGSHIM_VTEST_SOCKET", "VGSHIM_VTEST_TIMEOUT_MS",
};

int vgshim_config_from_env(struct vgshim_config *cfg)
{
	extern char **environ;
	int ret = 0;

	vgshim_config_defaults(cfg);
	for (size_t i = 0; i < sizeof(vgshim_env_names) / sizeof(vgshim_env_names[0]); i++) {
		const char *v = getenv(vgshim_env_names[i]);

		if (v && vgshim_config_set(cfg, vgshim_env_names[i], v)) {
			fprintf(stderr, "vgshim: invalid %s='%s' (see docs/kernel-model.md)\n",
				vgshim_env_names[i], v);
			ret = -EINVAL;
		}
	}
	/* Any VGSHIM_PARAM_<NAME>, and any other VGSHIM_ variable is a typo. */
	for (char **e = environ; e && *e; e++) {
		char name[64];
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : 0;
		bool known = false;

		if (strncmp(*e, "VGSHIM_", 7) || !eq || len >= sizeof(name))
			continue;
		memcpy(name, *e, len);
		name[len] = 0;
		/* the host's udmabuf model reads these (libvgshim-udmabuf.so) */
		if (!strncmp(name, "VGSHIM_UDMABUF_", 15))
			continue;
		for (size_t i = 0; i < sizeof(vgshim_env_names) / sizeof(vgshim_env_names[0]); i++)
			known |= !strcmp(name, vgshim_env_names[i]);
		if (known)
			continue;
		if (vgshim_config_set(cfg, name, eq + 1)) {
			fprintf(stderr, "vgshim: invalid or unknown %s='%s' (see docs/kernel-model.md)\n",
				name, eq + 1);
			ret = -EINVAL;
		}
	}
	if (!ret && cfg->fail[0] && vgshim_fault_parse(cfg->fail)) {
		fprintf(stderr, "vgshim: invalid VGSHIM_FAIL='%s'\n", cfg->fail);
		ret = -EINVAL;
	}
	return ret;
}
