/* SPDX-License-Identifier: MIT */
/*
 * The device: backend selection, feature checks, context, the hint probe.
 * Order matters: the context is initialised before anything that could
 * make the kernel create an implicit one (a blob creation would), because
 * CONTEXT_INIT fails with -EEXIST after that.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws_priv.h"

/* Capset versions tried, highest first, when the device fetches its
 * context's capset (hosts today offer version 0..2). */
#define VWS_CAPSET_PROBE_MAX_VERSION 4
/* vws_device_get_capset tries no version above this: "any version"
 * (UINT32_MAX) must not mean four billion failing calls. */
#define VWS_CAPSET_MAX_VERSION_TRIED 255u
#define VWS_CAPSET_BUF_SIZE 4096

static int vws_backend_select(struct vws_device *dev, enum vws_backend_kind kind)
{
	if (kind == VWS_BACKEND_DEFAULT) {
		const char *env = getenv("VWS_BACKEND");

		kind = VWS_BACKEND_KERNEL;
		if (env && !strcmp(env, "vtest"))
			kind = VWS_BACKEND_VTEST;
		else if (env && env[0] && strcmp(env, "kernel"))
			vws_warn("VWS_BACKEND='%s' is not kernel|vtest; using kernel", env);
	}
	switch (kind) {
	case VWS_BACKEND_KERNEL:
		dev->ops = &vws_kernel_backend_ops;
		break;
	case VWS_BACKEND_VTEST:
#ifdef VWS_HAVE_VTEST
		dev->ops = &vws_vtest_backend_ops;
		break;
#else
		vws_log(dev, VWS_DEBUG_INIT, "vtest backend not built in");
		return -EOPNOTSUPP;
#endif
	default:
		vws_log(dev, VWS_DEBUG_INIT, "unknown backend kind %d", (int)kind);
		return -EINVAL;
	}
	dev->info.backend = kind;
	return 0;
}

static bool vws_param_on(const struct vws_device *dev, unsigned p)
{
	return dev->info.param_present[p] && dev->info.param[p] != 0;
}

static int vws_check_required(struct vws_device *dev, uint32_t require)
{
	static const struct {
		uint32_t bit;
		unsigned param;
		const char *what;
	} req[] = {
		{ VWS_REQUIRE_BLOB, VIRTGPU_PARAM_RESOURCE_BLOB, "blob resources (RESOURCE_BLOB)" },
		{ VWS_REQUIRE_HOST_VISIBLE, VIRTGPU_PARAM_HOST_VISIBLE,
		  "a host-visible region (HOST_VISIBLE)" },
		{ VWS_REQUIRE_CONTEXT_INIT, VIRTGPU_PARAM_CONTEXT_INIT,
		  "context initialisation (CONTEXT_INIT)" },
	};

	if (require & ~(uint32_t)(VWS_REQUIRE_BLOB | VWS_REQUIRE_HOST_VISIBLE |
				  VWS_REQUIRE_CONTEXT_INIT)) {
		vws_log(dev, VWS_DEBUG_INIT, "unknown require bits 0x%x", require);
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if ((require & req[i].bit) && !vws_param_on(dev, req[i].param)) {
			vws_log(dev, VWS_DEBUG_INIT, "%s: no %s", dev->info.path, req[i].what);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int vws_context_setup(struct vws_device *dev, const struct vws_device_create_info *ci)
{
	struct vws_context_params p = {
		.capset_id = ci->capset_id,
		.num_rings = ci->num_rings ? ci->num_rings : 1,
		.ring_poll_mask = ci->ring_poll_mask,
	};
	char name[64];
	void *buf;
	int ret;

	if (!vws_param_on(dev, VIRTGPU_PARAM_CONTEXT_INIT)) {
		vws_log(dev, VWS_DEBUG_INIT,
			"capset %u requested but the kernel has no CONTEXT_INIT",
			ci->capset_id);
		return -EOPNOTSUPP;
	}
	if (ci->capset_id >= 64 || !(dev->info.supported_capsets & (1ull << ci->capset_id))) {
		vws_log(dev, VWS_DEBUG_INIT, "capset %u not offered (supported mask 0x%llx)",
			ci->capset_id, (unsigned long long)dev->info.supported_capsets);
		return -EOPNOTSUPP;
	}

	/* The capset is what the driver builds its view of the host from;
	 * negotiating its version now catches a host/driver mismatch here,
	 * with a log line, instead of later. */
	buf = malloc(VWS_CAPSET_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	ret = vws_device_get_capset(dev, ci->capset_id, VWS_CAPSET_PROBE_MAX_VERSION, buf,
				    VWS_CAPSET_BUF_SIZE, &dev->info.capset_version);
	free(buf);
	if (ret) {
		vws_log(dev, VWS_DEBUG_INIT, "capset %u: no usable version (%s)",
			ci->capset_id, strerror(-ret));
		return ret;
	}

	/* The kernel keeps the name only where it says it will. */
	if (vws_param_on(dev, VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME)) {
		snprintf(name, sizeof(name), "%s",
			 ci->debug_name ? ci->debug_name : program_invocation_short_name);
		p.debug_name = name;
	}
	ret = dev->ops->context_init(dev, &p);
	if (ret) {
		vws_log(dev, VWS_DEBUG_INIT, "CONTEXT_INIT capset %u, %u rings: %s",
			p.capset_id, p.num_rings, strerror(-ret));
		return ret;
	}
	dev->info.capset_id = ci->capset_id;
	dev->info.context_initialised = true;
	vws_log(dev, VWS_DEBUG_INIT, "context: capset %u version %u, %u rings, poll 0x%llx%s%s",
		p.capset_id, dev->info.capset_version, p.num_rings,
		(unsigned long long)p.ring_poll_mask, p.debug_name ? ", name " : "",
		p.debug_name ? p.debug_name : "");
	return 0;
}

static void vws_probe(struct vws_device *dev)
{
	dev->blob_ok = vws_param_on(dev, VIRTGPU_PARAM_RESOURCE_BLOB);
	dev->info.hint_support = VWS_HINT_NONE;
	if (!vws_param_on(dev, VIRTGPU_PARAM_RESOURCE_BLOB)) {
		snprintf(dev->hint_reason, sizeof(dev->hint_reason),
			 "no blob resources (RESOURCE_BLOB %s)",
			 dev->info.param_present[VIRTGPU_PARAM_RESOURCE_BLOB] ? "= 0" : "absent");
	} else if (!dev->ops->probe_hints) {
		snprintf(dev->hint_reason, sizeof(dev->hint_reason),
			 "the %s backend has no blob hints", dev->ops->name);
	} else {
		dev->ops->probe_hints(dev, &dev->info.hint_support, dev->hint_reason,
				      sizeof(dev->hint_reason));
	}
	dev->info.hint_reason = dev->hint_reason;
	dev->hint_ok = dev->info.defer_policy == VWS_DEFER_ALWAYS ||
		       (dev->info.defer_policy == VWS_DEFER_AUTO &&
			dev->info.hint_support == VWS_HINT_VALIDATED);
	vws_log(dev, VWS_DEBUG_INIT, "hint support %s: %s",
		vws_hint_support_name(dev->info.hint_support), dev->hint_reason);
}

void vws_spin_lock_slow(_Atomic uint32_t *l)
{
	unsigned spins = 0;

	do {
		while (atomic_load_explicit(l, memory_order_relaxed)) {
			if (++spins % 64 == 0)
				sched_yield(); /* the holder may be preempted */
		}
	} while (atomic_exchange_explicit(l, 1, memory_order_acquire));
}

static long vws_futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

void vws_mtx_lock_slow(_Atomic uint32_t *m, uint32_t c)
{
	/* c: what the fast path's compare-and-swap found (1 or 2). From here
	 * the word says 2 while we may sleep, so the holder's unlock wakes. */
	if (c != 2)
		c = atomic_exchange_explicit(m, 2, memory_order_acquire);
	while (c != 0) {
		vws_futex(m, FUTEX_WAIT, 2);
		c = atomic_exchange_explicit(m, 2, memory_order_acquire);
	}
}

void vws_mtx_unlock_slow(_Atomic uint32_t *m)
{
	/* it was 2: someone may sleep */
	atomic_store_explicit(m, 0, memory_order_release);
	vws_futex(m, FUTEX_WAKE, 1);
}

void vws_device_destroy(struct vws_device *dev)
{
	if (dev->ops && dev->backend)
		dev->ops->close(dev);
	vws_table_fini(dev);
	pthread_mutex_destroy(&dev->close_lock);
	pthread_cond_destroy(&dev->close_cond);
	pthread_mutex_destroy(&dev->import_lock);
	vws_stats_fini(dev);
	free(dev);
}

int vws_device_create(const struct vws_device_create_info *ci, struct vws_device **out)
{
	struct vws_device *dev;
	uint64_t region;
	int ret;

	if (!ci || !out)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	atomic_init(&dev->refcount, 1);
	pthread_mutex_init(&dev->close_lock, NULL);
	pthread_cond_init(&dev->close_cond, NULL);
	pthread_mutex_init(&dev->import_lock, NULL);
	vws_stats_init(dev);
	dev->debug = vws_debug_parse(getenv("VWS_DEBUG"));
	dev->info.defer_policy_source = dev->policy_source;
	dev->info.hint_reason = dev->hint_reason;

	ret = vws_backend_select(dev, ci->backend);
	if (ret)
		goto fail;
	ret = dev->ops->open(dev, ci);
	if (ret)
		goto fail;
	vws_log(dev, VWS_DEBUG_INIT, "%s: %s %d.%d.%d (%s backend)", dev->info.path,
		dev->info.driver_name, dev->info.driver_major, dev->info.driver_minor,
		dev->info.driver_patch, dev->ops->name);

	ret = vws_check_required(dev, ci->require);
	if (ret)
		goto fail;
	if (ci->capset_id) {
		ret = vws_context_setup(dev, ci);
		if (ret)
			goto fail;
	}
	vws_policy_resolve(dev, ci);
	vws_probe(dev);
	region = vws_host_visible_size_resolve(ci);
	if (region)
		dev->info.host_visible_size = region;

	*out = dev;
	return 0;
fail:
	vws_log(dev, VWS_DEBUG_INIT, "device creation failed: %s", strerror(-ret));
	vws_device_destroy(dev);
	return ret;
}

struct vws_device *vws_device_ref(struct vws_device *dev)
{
	if (dev)
		atomic_fetch_add(&dev->refcount, 1);
	return dev;
}

void vws_device_unref(struct vws_device *dev)
{
	if (dev && atomic_fetch_sub(&dev->refcount, 1) == 1)
		vws_device_destroy(dev);
}

const struct vws_device_info *vws_device_get_info(const struct vws_device *dev)
{
	return dev ? &dev->info : NULL;
}

int vws_device_get_fd(const struct vws_device *dev)
{
	if (!dev || !dev->ops->get_fd)
		return -1;
	return dev->ops->get_fd(dev);
}

int vws_device_get_capset(struct vws_device *dev, uint32_t capset_id, uint32_t max_version,
			  void *buf, size_t size, uint32_t *version_out)
{
	int ret = -EINVAL;

	if (!dev || !buf || !size || capset_id >= 64)
		return -EINVAL;
	if (dev->info.param_present[VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs] &&
	    !(dev->info.supported_capsets & (1ull << capset_id)))
		return -EOPNOTSUPP;
	if (max_version > VWS_CAPSET_MAX_VERSION_TRIED)
		max_version = VWS_CAPSET_MAX_VERSION_TRIED;
	for (uint32_t v = max_version;; v--) {
		ret = dev->ops->get_capset(dev, capset_id, v, buf, size);
		if (!ret) {
			if (version_out)
				*version_out = v;
			return 0;
		}
		/* Only "not this version" is worth a lower one. */
		if (ret != -EINVAL || !v)
			break;
	}
	return ret;
}
