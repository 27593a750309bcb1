/* SPDX-License-Identifier: MIT */
/*
 * The three allocation strategies, on top of the public winsys API only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_bench.h"

static const char *const vws_bench_names[VWS_BENCH_NUM_STRATEGIES] = {
	[VWS_BENCH_EAGER] = "eager",
	[VWS_BENCH_LAZY] = "lazy-blob",
	[VWS_BENCH_DEFERRED] = "deferred",
};

const char *vws_bench_strategy_name(enum vws_bench_strategy s)
{
	return s < VWS_BENCH_NUM_STRATEGIES ? vws_bench_names[s] : "?";
}

uint64_t vws_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t vws_bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A configuration file that says nothing, so that the system's and the
 * user's files cannot change the policy a strategy stands for. */
static const char *vws_bench_empty_config(void)
{
	static char path[64];

	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/vws-bench-conf-XXXXXX");
		fd = mkstemp(path);
		if (fd < 0) {
			path[0] = 0;
			return NULL;
		}
		if (write(fd, "<vws/>\n", 7) != 7) {
			close(fd);
			unlink(path);
			path[0] = 0;
			return NULL;
		}
		close(fd);
	}
	return path;
}

void vws_bench_cleanup_config(void);
void vws_bench_cleanup_config(void)
{
	const char *p = vws_bench_empty_config();

	if (p)
		unlink(p);
}

static int vws_bench_model_setup(struct vws_bench_env *env, uint64_t region_mib,
				 bool host_latency)
{
	/* with a real host behind the model, its own latencies are measured:
	 * the model adds none */
	bool lat = host_latency && !env->real_host;
	char v[32];
	int ret;

	if (!env->model.configure)
		return 0;
	/* Each configure resets the model: objects, region, counters. */
	ret = env->model.configure("VGSHIM_KERNEL", env->model_kernel);
	if (!ret && region_mib) {
		snprintf(v, sizeof(v), "%" PRIu64 "M", region_mib);
		ret = env->model.configure("VGSHIM_HOSTMEM", v);
	}
	if (!ret) {
		snprintf(v, sizeof(v), "%" PRIu64, lat ? env->o->latency_us : 0);
		ret = env->model.configure("VGSHIM_MAP_LATENCY_US", v);
	}
	/* set only when used (or to be cleared): models older than the
	 * setting still run every other workload */
	if (!ret && ((lat && env->o->create_latency_us) || env->create_latency_set)) {
		snprintf(v, sizeof(v), "%" PRIu64, lat ? env->o->create_latency_us : 0);
		ret = env->model.configure("VGSHIM_CREATE_LATENCY_US", v);
		env->create_latency_set = lat && env->o->create_latency_us;
	}
	if (ret)
		fprintf(stderr, "vws-bench: configuring the kernel model: %s\n", strerror(-ret));
	return ret;
}

int vws_bench_open(struct vws_bench_env *env, enum vws_bench_strategy s,
		   uint64_t region_mib, bool host_latency, struct vws_device **dev)
{
	struct vws_device_create_info ci = {
		.backend = VWS_BACKEND_KERNEL,
		.path = env->o->device,
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.num_rings = 1,
		.debug_name = "vws-bench",
		.require = VWS_REQUIRE_BLOB | VWS_REQUIRE_HOST_VISIBLE,
		.defer = s == VWS_BENCH_DEFERRED ? VWS_DEFER_ALWAYS : VWS_DEFER_NEVER,
		.config_file = vws_bench_empty_config(),
	};
	int ret = vws_bench_model_setup(env, region_mib, host_latency);

	if (ret)
		return ret;
	ret = vws_device_create(&ci, dev);
	if (ret == -EOPNOTSUPP) {
		/* gfxstream-only hosts */
		ci.capset_id = VIRTGPU_CAPSET_GFXSTREAM_VULKAN;
		ret = vws_device_create(&ci, dev);
	}
	if (ret) {
		fprintf(stderr, "vws-bench: cannot open the device: %s\n", strerror(-ret));
		return ret;
	}
	if (vws_device_get_info(*dev)->defer_policy != ci.defer)
		fprintf(stderr, "vws-bench: warning: policy overridden by %s: %s runs as %s\n",
			vws_device_get_info(*dev)->defer_policy_source,
			vws_bench_strategy_name(s),
			vws_defer_policy_name(vws_device_get_info(*dev)->defer_policy));
	return 0;
}

void vws_bench_close(struct vws_bench_env *env, struct vws_device *dev)
{
	vws_device_unref(dev);
	/* Region space comes back when the host answers the UNREFs. */
	if (env->model.host_drain)
		env->model.host_drain();
}

static int vws_bench_create(struct vws_device *dev, enum vws_bench_strategy s, uint64_t size,
			    struct vws_bo **bo)
{
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = size,
		/* Device-local: only the deferred strategy's policy lets the
		 * flag become a hint. */
		.flags = VWS_BO_DEVICE_LOCAL,
	};

	(void)s;
	return vws_bo_create(dev, &ci, bo);
}

int vws_bench_alloc(struct vws_device *dev, enum vws_bench_strategy s, uint64_t size,
		    struct vws_bench_obj *obj)
{
	*obj = (struct vws_bench_obj){ .size = size };
	if (s == VWS_BENCH_LAZY)
		return 0;
	return vws_bench_create(dev, s, size, &obj->bo);
}

int vws_bench_map(struct vws_device *dev, enum vws_bench_strategy s, struct vws_bench_obj *obj)
{
	int ret;

	if (!obj->bo) {
		ret = vws_bench_create(dev, s, obj->size, &obj->bo);
		if (ret)
			return ret;
	}
	ret = vws_bo_map(obj->bo, &obj->ptr);
	if (ret && s == VWS_BENCH_LAZY) {
		/* lazy-blob keeps no blob it could not map */
		vws_bo_unref(obj->bo);
		obj->bo = NULL;
	}
	return ret;
}

void vws_bench_free(struct vws_bench_obj *obj)
{
	if (obj->bo)
		vws_bo_unref(obj->bo);
	*obj = (struct vws_bench_obj){ 0 };
}

void vws_bench_counts(struct vws_bench_env *env, struct vws_device *dev,
		      struct vws_bench_counts *c)
{
	struct vws_stats st;

	vws_device_get_stats(dev, &st);
	if (env->model.get_counters) {
		struct vgshim_counters k;

		env->model.get_counters(&k);
		c->region_in_use = k.region_bytes_in_use;
		c->region_peak = k.region_bytes_peak;
		c->host_map_cmds = k.host_map_cmds;
		c->syscalls = k.ioctls_total + k.mmaps + k.munmaps;
	} else {
		/* A real kernel: what the winsys itself held and issued. */
		c->region_in_use = st.region_bytes_held;
		c->region_peak = st.region_bytes_peak;
		c->host_map_cmds = st.map_ioctls;
		c->syscalls = st.map_ioctls + st.mmaps;
	}
}
