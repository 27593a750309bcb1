/* SPDX-License-Identifier: MIT */
/*
 * Workloads "memory" and "budget".
 *
 * memory: heap bytes and fds per live (unmapped) object, by layer: the
 * kernel model (raw ioctls), the winsys on top of it, the Vulkan layer on
 * top of that. Each is the growth of malloc's bytes in use (mallinfo2) over
 * N creations divided by N, less the layer below's measured in the same
 * state; tables that double are included at their size for N, in the layer
 * that owns them. On a real kernel the "model" row is this
 * process's only (the kernel's own memory is not seen).
 *
 * budget: vkGetMemoryBudget (the Vulkan layer's) with few and with many
 * allocations alive; its baseline is vws_device_get_stats, the winsys's
 * O(1) accounting the budget can be answered from.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vws/vws_vk.h"
#include "vws_bench.h"

#define VWS_BENCH_MEM_SIZE 4096u

/* Bytes malloc has handed out: chunks in use, and the blocks it mmap'ed
 * (large tables; whether one is mmap'ed depends on the process's history:
 * glibc raises its threshold as such blocks are freed). */
static double vws_bench_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (double)mi.uordblks + (double)mi.hblkhd;
}

static int vws_bench_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The driver's side of the host for the layer: host memory is allocated
 * by the kernel's host on first need (blob_id 0, no creation command). */
static VkResult vws_bench_vk_create_memory(void *user, uint32_t type, VkDeviceSize size,
					   uint64_t *blob_id, void *cmd, uint32_t *cmd_size)
{
	(void)user, (void)type, (void)size, (void)cmd;
	*blob_id = 0;
	*cmd_size = 0;
	return VK_SUCCESS;
}

static void vws_bench_vk_destroy_memory(void *user, uint64_t blob_id)
{
	(void)user, (void)blob_id;
}

/* One device-local host-visible coherent type, as a discrete GPU with a
 * resizable BAR offers (the defer hint applies to it). */
static const VkPhysicalDeviceMemoryProperties vws_bench_vk_props = {
	.memoryTypeCount = 1,
	.memoryTypes = { { VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
			   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, 0 } },
	.memoryHeapCount = 1,
	.memoryHeaps = { { 8ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT } },
};

static int vws_bench_vk_open(struct vws_device *dev, struct vws_vk_device **vk)
{
	struct vws_vk_device_create_info ci = {
		.dev = dev,
		.memory_properties = &vws_bench_vk_props,
		.host = { NULL, vws_bench_vk_create_memory, vws_bench_vk_destroy_memory },
	};

	return vws_vk_device_create(&ci, vk) == VK_SUCCESS ? 0 : -ENOMEM;
}

static int vws_bench_vk_alloc(struct vws_vk_device *vk, VkDeviceMemory *mem)
{
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = VWS_BENCH_MEM_SIZE,
		.memoryTypeIndex = 0,
	};

	return vws_vk_AllocateMemory(vk, &ai, NULL, mem) == VK_SUCCESS ? 0 : -ENOMEM;
}

enum vws_bench_layer { VWS_BENCH_L_MODEL, VWS_BENCH_L_WINSYS, VWS_BENCH_L_VK };

struct vws_bench_mem_ctx {
	struct vws_bench_env *env;
	struct vws_device *dev;
	struct vws_vk_device *vk;
	uint64_t n;
	uint32_t *handles;
	struct vws_bench_obj *objs;
	VkDeviceMemory *mems;
};

/* n objects of one stack up to layer l: heap bytes and fds each, measured
 * with all n alive; then all freed. */
static int vws_bench_mem_phase(struct vws_bench_mem_ctx *c, enum vws_bench_layer l,
			       double *bytes, double *fds)
{
	double h0 = vws_bench_heap();
	int f0 = vws_bench_fds(), fd = vws_device_get_fd(c->dev), ret = 0;
	uint64_t i;

	for (i = 0; i < c->n && !ret; i++) {
		if (l == VWS_BENCH_L_MODEL)
			ret = vws_bench_raw_create(fd, VWS_BENCH_MEM_SIZE, &c->handles[i]);
		else if (l == VWS_BENCH_L_WINSYS)
			ret = vws_bench_alloc(c->dev, VWS_BENCH_DEFERRED, VWS_BENCH_MEM_SIZE,
					      &c->objs[i]);
		else
			ret = vws_bench_vk_alloc(c->vk, &c->mems[i]);
	}
	if (!ret) {
		*bytes = (vws_bench_heap() - h0) / (double)c->n;
		*fds = (double)(vws_bench_fds() - f0) / (double)c->n;
	}
	for (uint64_t k = 0; k < i - (ret ? 1 : 0); k++) {
		if (l == VWS_BENCH_L_MODEL)
			vws_bench_raw_close(fd, c->handles[k]);
		else if (l == VWS_BENCH_L_WINSYS)
			vws_bench_free(&c->objs[k]);
		else
			vws_vk_FreeMemory(c->vk, c->mems[k], NULL);
	}
	if (c->env->model.host_drain)
		c->env->model.host_drain();
	return ret;
}

int vws_bench_memory(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	struct vws_bench_mem_ctx c = {
		.env = env,
		.n = o->memory_objects,
		.handles = calloc(o->memory_objects, sizeof(*c.handles)),
		.objs = calloc(o->memory_objects, sizeof(*c.objs)),
		.mems = calloc(o->memory_objects, sizeof(*c.mems)),
	};
	/* model, winsys, Vulkan layer (first time each), model and winsys
	 * again (their tables already sized for n) */
	double model, ws, vk, model_warm, ws_warm, fds[5];
	int ret = !c.handles || !c.objs || !c.mems ? -ENOMEM : 0;

	if (!ret)
		ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &c.dev);
	if (!ret)
		ret = vws_bench_vk_open(c.dev, &c.vk);
	if (ret)
		goto out;
	vws_bench_progress(env, "[memory] %llu objects", (unsigned long long)c.n);
	/* Each layer is its stack less the stack below, both measured in the
	 * same state: a layer's tables grow (and stay grown) the first time
	 * n of its objects live, so the stack below is measured again once
	 * its tables have grown, and each layer's growth counts once, its
	 * own. */
	ret = vws_bench_mem_phase(&c, VWS_BENCH_L_MODEL, &model, &fds[0]);
	if (!ret)
		ret = vws_bench_mem_phase(&c, VWS_BENCH_L_WINSYS, &ws, &fds[1]);
	if (!ret)
		ret = vws_bench_mem_phase(&c, VWS_BENCH_L_VK, &vk, &fds[2]);
	if (!ret)
		ret = vws_bench_mem_phase(&c, VWS_BENCH_L_MODEL, &model_warm, &fds[3]);
	if (!ret)
		ret = vws_bench_mem_phase(&c, VWS_BENCH_L_WINSYS, &ws_warm, &fds[4]);
	vws_bench_progress_done(env);
	if (ret)
		goto out;
	vws_bench_note("memory", "%llu live unmapped 4 KiB objects; heap bytes in use (mallinfo2: in use and mmap'ed) "
				 "per object, less the layer below's (measured again after the "
				 "layer above ran: each layer's table growth counts once, its "
				 "own)", (unsigned long long)c.n);
	vws_bench_single("memory", env->on_model ? "kernel model" : "kernel (this process's part)",
			 "heap per object", "bytes", model);
	vws_bench_single("memory", "winsys", "heap per object", "bytes", ws - model_warm);
	vws_bench_single("memory", "Vulkan layer", "heap per allocation", "bytes", vk - ws_warm);
	vws_bench_single("memory", "all three", "heap per allocation", "bytes",
			 model + ws - model_warm + vk - ws_warm);
	vws_bench_single("memory", "all three", "fds per allocation", "", fds[2]);
	vws_bench_single("memory", "winsys", "fds per object", "", fds[1] - fds[0]);
out:
	if (c.vk)
		vws_vk_device_destroy(c.vk);
	if (c.dev)
		vws_bench_close(env, c.dev);
	free(c.handles);
	free(c.objs);
	free(c.mems);
	return ret;
}

static void vws_bench_budget_call(struct vws_vk_device *vk, struct vws_device *dev, bool budget)
{
	VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
	};
	struct vws_stats st;

	if (budget)
		vws_vk_GetMemoryBudget(vk, &b);
	else
		vws_device_get_stats(dev, &st);
}

/* Median cost of one call over samples, in ns; each sample times a batch
 * of calls (about 20 us of them: the clock's resolution is not a call's
 * cost). */
static double vws_bench_call_cost(struct vws_vk_device *vk, struct vws_device *dev, bool budget,
				  unsigned samples)
{
	double *t = calloc(samples, sizeof(*t)), med;
	uint64_t t0 = vws_bench_now_ns(), one;
	unsigned batch;

	if (!t)
		return NAN;
	for (int i = 0; i < 10; i++)
		vws_bench_budget_call(vk, dev, budget);
	one = (vws_bench_now_ns() - t0) / 10 + 1;
	batch = one >= 20000 ? 1 : (unsigned)(20000 / one);
	if (batch > 10000)
		batch = 10000;
	for (unsigned i = 0; i < samples; i++) {
		t0 = vws_bench_now_ns();
		for (unsigned k = 0; k < batch; k++)
			vws_bench_budget_call(vk, dev, budget);
		t[i] = (double)(vws_bench_now_ns() - t0) / batch;
	}
	med = vws_bench_median(t, samples);
	free(t);
	return med;
}

int vws_bench_budget(struct vws_bench_env *env)
{
	const struct vws_bench_opts *o = env->o;
	unsigned rounds = o->rounds ? o->rounds : 1;
	VkDeviceMemory *mems[2] = { calloc(o->budget_sizes[0] + 1, sizeof(VkDeviceMemory)),
				    calloc(o->budget_sizes[1] + 1, sizeof(VkDeviceMemory)) };
	double cost[2][2], *samples[2][2] = { { NULL } };
	struct vws_device *dev = NULL;
	struct vws_vk_device *vk[2] = { NULL };
	uint64_t live[2] = { 0 };
	char row[48];
	int ret = mems[0] && mems[1] ? 0 : -ENOMEM;

	/* Two Vulkan devices (one winsys device under both), one with each
	 * count, timed in interleaved rounds: a slow spell of the machine hits
	 * both counts, not the comparison. */
	if (!ret)
		ret = vws_bench_open(env, VWS_BENCH_DEFERRED, 0, false, &dev);
	for (int z = 0; z < 2 && !ret; z++) {
		for (int k = 0; k < 2; k++) {
			samples[z][k] = calloc(rounds, sizeof(double));
			if (!samples[z][k])
				ret = -ENOMEM;
		}
		if (!ret)
			ret = vws_bench_vk_open(dev, &vk[z]);
		while (!ret && live[z] < o->budget_sizes[z]) {
			if (live[z] % 1024 == 0)
				vws_bench_progress(env, "[budget] %llu allocations",
						   (unsigned long long)live[z]);
			ret = vws_bench_vk_alloc(vk[z], &mems[z][live[z]]);
			if (!ret)
				live[z]++;
		}
	}
	for (unsigned r = 0; r < rounds && !ret; r++) {
		vws_bench_progress(env, "[budget] round %u/%u", r + 1, rounds);
		for (int z = 0; z < 2; z++) {
			samples[z][0][r] = vws_bench_call_cost(vk[z], dev, true, 101);
			samples[z][1][r] = vws_bench_call_cost(vk[z], dev, false, 101);
		}
	}
	vws_bench_progress_done(env);
	for (int z = 0; z < 2; z++) {
		for (uint64_t k = 0; k < live[z]; k++)
			vws_vk_FreeMemory(vk[z], mems[z][k], NULL);
		if (vk[z])
			vws_vk_device_destroy(vk[z]);
		free(mems[z]);
		for (int k = 0; k < 2 && !ret; k++)
			cost[z][k] = vws_bench_median(samples[z][k], rounds);
		for (int k = 0; k < 2; k++)
			free(samples[z][k]);
	}
	if (dev)
		vws_bench_close(env, dev);
	if (ret)
		return ret;
	vws_bench_note("budget", "vws_vk_GetMemoryBudget with N live 4 KiB allocations of a "
				 "device-local host-visible type (one Vulkan device per N); each round "
				 "the median of 101 samples (each a batch of about 20 us of calls) "
				 "per device, the devices alternating; the median of %u rounds; "
				 "baseline: vws_device_get_stats (the winsys device under both)", rounds);
	for (int z = 0; z < 2; z++) {
		snprintf(row, sizeof(row), "%llu allocations", (unsigned long long)o->budget_sizes[z]);
		vws_bench_single("budget", row, "vkGetMemoryBudget", "ns", cost[z][0]);
		vws_bench_single("budget", row, "baseline (winsys stats)", "ns", cost[z][1]);
	}
	snprintf(row, sizeof(row), "%llu vs %llu", (unsigned long long)o->budget_sizes[1],
		 (unsigned long long)o->budget_sizes[0]);
	vws_bench_single("budget", row, "vkGetMemoryBudget", "x (growth)", cost[1][0] / cost[0][0]);
	vws_bench_single("budget", row, "baseline (winsys stats)", "x (growth)",
			 cost[1][1] / cost[0][1]);
	vws_bench_target(env, "vkGetMemoryBudget cost, most vs fewest allocations (x)",
			 cost[1][0] / cost[0][0], "<=", 1.2);
	return 0;
}
