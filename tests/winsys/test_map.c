/* SPDX-License-Identifier: MIT */
/* Mapping: deferred region use, the cache, concurrency, failures, placed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tw.h"

#define TW_REGION_SMALL "8M"

/* Region use before and after the first map, for the policy that hints on
 * this generation (always) and the default (auto). */
static void region_on_first_map(void **state)
{
	const char *gen = tw_gen(state);
	const enum vws_defer_policy pols[] = { VWS_DEFER_AUTO, VWS_DEFER_ALWAYS };

	for (size_t n = 0; n < 2; n++) {
		struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, pols[n]);
		struct vws_stats st;
		struct vws_bo_info bi;
		struct vws_bo *bo;
		void *p;
		bool deferred_in_kernel;

		assert_int_equal(tw_host3d(dev, 2 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
					   VWS_BO_DEVICE_LOCAL, &bo), 0);
		vgshim_host_drain();
		assert_int_equal(vws_bo_get_info(bo, &bi), 0);
		deferred_in_kernel = bi.hinted && tw_gen_defers(gen);
		/* The kernel reserves nothing before the first map exactly when
		 * the hint was sent to a kernel that honours it. */
		assert_int_equal(tw_object(dev, bo).region_reserved, !deferred_in_kernel);
		assert_int_equal(tw_counters().region_bytes_in_use,
				 deferred_in_kernel ? 0 : 2 * TW_MIB);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.region_bytes_held, bi.hinted ? 0 : 2 * TW_MIB);
		assert_int_equal(st.region_bytes_deferred, bi.hinted ? 2 * TW_MIB : 0);
		assert_int_equal(st.deferred_objects, bi.hinted ? 1 : 0);

		assert_int_equal(vws_bo_map(bo, &p), 0);
		memset(p, 0xab, 2 * TW_MIB);
		vgshim_host_drain();
		assert_true(tw_object(dev, bo).region_reserved);
		assert_int_equal(tw_counters().region_bytes_in_use, 2 * TW_MIB);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.region_bytes_held, 2 * TW_MIB);
		assert_int_equal(st.region_bytes_deferred, 0);
		assert_int_equal(st.mapped_objects, 1);
		assert_int_equal(vws_bo_get_info(bo, &bi), 0);
		assert_false(bi.deferred);
		assert_true(bi.mapped);

		vws_bo_unref(bo);
		vws_device_get_stats(dev, &st);
		assert_int_equal(st.region_bytes_held, 0);
		assert_int_equal(st.objects, 0);
		assert_int_equal(st.region_bytes_peak, 2 * TW_MIB);
		vws_device_unref(dev);
	}
}

/* vws_bo_set_account: an object is charged while it holds memory (from
 * now, or from its first map when deferred), taken back with NULL, moved
 * to a new account whole. */
static void account(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct vws_bo *d, *g = tw_guest(dev, 64 * 1024);
	struct vws_bo_info bi;
	uint64_t acc = 0, other = 0;
	void *p;

	(void)state;
	assert_int_equal(tw_host3d(dev, 2 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &d), 0);
	assert_int_equal(vws_bo_get_info(d, &bi), 0);
	assert_true(bi.deferred);
	vws_bo_set_account(d, &acc);
	vws_bo_set_account(g, &acc);
	assert_int_equal(acc, 64 * 1024);
	assert_int_equal(vws_bo_map(d, &p), 0);
	assert_int_equal(acc, 64 * 1024 + 2 * TW_MIB);
	/* the second map changes nothing */
	assert_int_equal(vws_bo_map(d, &p), 0);
	assert_int_equal(acc, 64 * 1024 + 2 * TW_MIB);
	vws_bo_set_account(d, &other);
	assert_int_equal(acc, 64 * 1024);
	assert_int_equal(other, 2 * TW_MIB);
	vws_bo_set_account(d, NULL);
	vws_bo_set_account(g, NULL);
	vws_bo_set_account(g, NULL);
	assert_int_equal(acc, 0);
	assert_int_equal(other, 0);
	vws_bo_set_account(NULL, &acc);
	vws_bo_unref(d);
	vws_bo_unref(g);
	vws_device_unref(dev);
}

static void map_cached(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct vgshim_counters before, after;
	struct vws_stats st;
	struct vws_bo *bo;
	void *first = NULL;

	assert_int_equal(tw_host3d(dev, TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	before = tw_counters();
	for (int n = 0; n < 100; n++) {
		void *p = NULL;

		assert_int_equal(vws_bo_map(bo, &p), 0);
		if (!first)
			first = p;
		assert_ptr_equal(p, first);
		((volatile uint32_t *)p)[n] = (uint32_t)n;
	}
	after = tw_counters();
	assert_int_equal(after.ioctls[TW_NR_MAP] - before.ioctls[TW_NR_MAP], 1);
	assert_int_equal(after.mmaps - before.mmaps, 1);
	assert_int_equal(after.ioctls_total - before.ioctls_total, 1);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.map_calls, 100);
	assert_int_equal(st.map_ioctls, 1);
	assert_int_equal(st.mmaps, 1);
	vws_bo_unref(bo);
	vws_device_unref(dev);
}

#define TW_THREADS 8
#define TW_ROUNDS 25

struct race {
	pthread_barrier_t start;
	struct vws_bo *bo;
	void *ptr[TW_THREADS];
	int ret[TW_THREADS];
};

struct racer {
	struct race *r;
	int idx;
};

static void *map_racer(void *arg)
{
	struct racer *me = arg;

	pthread_barrier_wait(&me->r->start);
	me->r->ret[me->idx] = vws_bo_map(me->r->bo, &me->r->ptr[me->idx]);
	return NULL;
}

static void map_concurrent_first(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_ALWAYS);
	struct race r;
	struct racer who[TW_THREADS];
	pthread_t th[TW_THREADS];

	for (int round = 0; round < TW_ROUNDS; round++) {
		struct vgshim_counters before, after;

		memset(&r, 0, sizeof(r));
		assert_int_equal(tw_host3d(dev, 256 * 1024, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
					   VWS_BO_DEVICE_LOCAL, &r.bo), 0);
		pthread_barrier_init(&r.start, NULL, TW_THREADS);
		before = tw_counters();
		for (int t = 0; t < TW_THREADS; t++) {
			who[t] = (struct racer){ &r, t };
			assert_int_equal(pthread_create(&th[t], NULL, map_racer, &who[t]), 0);
		}
		for (int t = 0; t < TW_THREADS; t++)
			pthread_join(th[t], NULL);
		after = tw_counters();
		pthread_barrier_destroy(&r.start);
		for (int t = 0; t < TW_THREADS; t++) {
			assert_int_equal(r.ret[t], 0);
			assert_ptr_equal(r.ptr[t], r.ptr[0]);
		}
		assert_int_equal(after.ioctls[TW_NR_MAP] - before.ioctls[TW_NR_MAP], 1);
		assert_int_equal(after.mmaps - before.mmaps, 1);
		vws_bo_unref(r.bo);
	}
	vws_device_unref(dev);
}

/* A full region fails the first map with -ENOSPC; the object stays usable
 * and maps once space comes back. */
static void region_exhaustion_retry(void **state)
{
	struct vws_device *dev;
	struct vws_bo *a, *b;
	struct vws_bo_info bi;
	int fds;
	void *p;

	tc_model_use("fixed", "VGSHIM_HOSTMEM", TW_REGION_SMALL, NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &b), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);

	fds = tc_count_fds();
	for (int n = 0; n < 3; n++)
		assert_int_equal(vws_bo_map(b, &p), -ENOSPC);
	assert_int_equal(tc_count_fds(), fds);
	assert_int_equal(tw_counters().live_mappings, 1);
	assert_int_equal(vws_bo_get_info(b, &bi), 0);
	assert_false(bi.mapped);
	assert_true(bi.deferred);

	vws_bo_unref(a);
	vgshim_host_drain();
	assert_int_equal(vws_bo_map(b, &p), 0);
	memset(p, 1, 6 * TW_MIB);
	vws_bo_unref(b);
	vws_device_unref(dev);
}

/* Policy always on a kernel that does not validate hints (v1, Linux 7.2
 * as merged): a deferred map into a full region would sleep forever in a
 * real kernel (the model reports it as EDEADLK after VGSHIM_HANG_MS). When
 * the caller gave host_visible_size, the winsys knows what it holds and
 * refuses such a map, or an export's forced map, with -ENOSPC before the
 * kernel is reached; with room again it maps. Without host_visible_size
 * nothing is known and the kernel is reached (the documented risk). */
static void always_refuses_before_hang(void **state)
{
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.defer = VWS_DEFER_ALWAYS,
		.host_visible_size = 12 * TW_MIB,
	};
	struct vws_device *dev;
	struct vws_bo *a, *b, *c, *d;
	struct vws_stats st;
	uint64_t calls;
	void *p = NULL;
	int fd = -5;

	tc_model_use(tw_gen(state), "VGSHIM_HOSTMEM", "12M", "VGSHIM_HANG_MS", "100", NULL);
	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_int_equal(vws_device_get_info(dev)->hint_support, VWS_HINT_IGNORED);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &b), 0);
	assert_int_equal(tw_host3d(dev, 4 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE |
				   VIRTGPU_BLOB_FLAG_USE_SHAREABLE, VWS_BO_DEVICE_LOCAL, &c), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);
	assert_int_equal(vws_bo_map(b, &p), 0);
	/* the region is full: refused here, the kernel not even asked */
	calls = tw_counters().ioctls_total + tw_counters().mmaps;
	p = NULL;
	assert_int_equal(vws_bo_map(c, &p), -ENOSPC);
	assert_null(p);
	assert_int_equal(vws_bo_export_fd(c, &fd), -ENOSPC);
	assert_int_equal(fd, -5);
	{
		void *range = mmap(NULL, 4 * TW_MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		assert_true(range != MAP_FAILED);
		assert_int_equal(vws_bo_map_placed(c, range), -ENOSPC);
		munmap(range, 4 * TW_MIB);
	}
	assert_int_equal(tw_counters().ioctls_total + tw_counters().mmaps, calls);
	assert_int_equal(tw_counters().hangs_detected, 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.region_bytes_held, 12 * TW_MIB);
	assert_int_equal(st.region_bytes_deferred, 4 * TW_MIB);
	/* room again: the same object maps and exports */
	vws_bo_unref(a);
	vgshim_host_drain();
	assert_int_equal(vws_bo_map(c, &p), 0);
	memset(p, 3, 4 * TW_MIB);
	assert_int_equal(vws_bo_export_fd(c, &fd), 0);
	close(fd);
	assert_int_equal(tw_counters().hangs_detected, 0);
	vws_bo_unref(b);
	vws_bo_unref(c);
	vws_device_unref(dev);

	/* host_visible_size unknown: the kernel is asked, and a real 7.2 kernel
	 * would hang there (the model says so and fails the mmap) */
	ci.host_visible_size = 0;
	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_int_equal(tw_host3d(dev, 12 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 4 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &d), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);
	assert_int_equal(vws_bo_map(d, &p), -EDEADLK);
	assert_int_equal(tw_counters().hangs_detected, 1);
	vws_bo_unref(d);
	vws_bo_unref(a);
	vws_device_unref(dev);
}

/* A driver cannot know the region's size (Venus does not): the user gives
 * it as VWS_HOST_VISIBLE_SIZE, which beats the caller's, and the refusal
 * above then protects it as well. A value that is not a size is ignored. */
static void always_refuses_with_size_from_environment(void **state)
{
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.defer = VWS_DEFER_ALWAYS,
		.host_visible_size = 64 * TW_MIB,
	};
	struct vws_device *dev;
	struct vws_bo *a, *b;
	void *p = NULL;

	tc_model_use(tw_gen(state), "VGSHIM_HOSTMEM", "12M", "VGSHIM_HANG_MS", "100", NULL);
	setenv("VWS_HOST_VISIBLE_SIZE", "12M", 1);
	assert_int_equal(tw_try_open(&ci, &dev), 0);
	assert_int_equal(vws_device_get_info(dev)->host_visible_size, 12 * TW_MIB);
	assert_int_equal(tw_host3d(dev, 8 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &a), 0);
	assert_int_equal(tw_host3d(dev, 8 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &b), 0);
	assert_int_equal(vws_bo_map(a, &p), 0);
	assert_int_equal(vws_bo_map(b, &p), -ENOSPC);
	assert_int_equal(tw_counters().hangs_detected, 0);
	vws_bo_unref(b);
	vws_bo_unref(a);
	vws_device_unref(dev);

	/* bytes and each suffix; 0 is "not given", so the caller's stands */
	static const struct { const char *env; uint64_t want; } sizes[] = {
		{ "4096", 4096 }, { "8K", 8192 }, { "3M", 3 * TW_MIB },
		{ "2G", 2ull << 30 }, { "0", 64 * TW_MIB },
		/* not sizes: a warning, the caller's value */
		{ "12X", 64 * TW_MIB }, { "-1M", 64 * TW_MIB }, { "M", 64 * TW_MIB },
		{ " 1M", 64 * TW_MIB }, { "99999999999G", 64 * TW_MIB },
		{ "18446744073709551616", 64 * TW_MIB },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		setenv("VWS_HOST_VISIBLE_SIZE", sizes[i].env, 1);
		assert_int_equal(tw_try_open(&ci, &dev), 0);
		assert_int_equal(vws_device_get_info(dev)->host_visible_size, sizes[i].want);
		vws_device_unref(dev);
	}
	unsetenv("VWS_HOST_VISIBLE_SIZE");
}

/* On a kernel that maps at creation, a full region fails the creation. */
static void region_exhaustion_at_create(void **state)
{
	struct vws_device *dev;
	struct vws_bo *a, *b = NULL;
	struct vws_stats st;

	tc_model_use(tw_gen(state), "VGSHIM_HOSTMEM", TW_REGION_SMALL, NULL);
	dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0, &a), 0);
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0, &b),
			 -ENOSPC);
	assert_null(b);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.region_bytes_held, 6 * TW_MIB);
	vws_bo_unref(a);
	vgshim_host_drain();
	assert_int_equal(tw_host3d(dev, 6 * TW_MIB, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 0, &b), 0);
	vws_bo_unref(b);
	vws_device_unref(dev);
}

/* A blob_id the host never created: the creation succeeds (the host works
 * asynchronously) and the map fails with an error, never a hang. */
static void unknown_blob_id(void **state)
{
	const enum vws_defer_policy pols[] = { VWS_DEFER_AUTO, VWS_DEFER_ALWAYS };

	for (size_t n = 0; n < 2; n++) {
		struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, pols[n]);
		struct vws_bo_create_info ci = {
			.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
			.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
			.size = TW_MIB,
			.blob_id = 0xdead0000beefull,
			.flags = VWS_BO_DEVICE_LOCAL,
		};
		struct vws_bo *bo;
		void *p = NULL;
		int ret;

		assert_int_equal(vws_bo_create(dev, &ci, &bo), 0);
		ret = vws_bo_map(bo, &p);
		assert_true(ret < 0);
		assert_null(p);
		/* Still failing, still not hanging. */
		assert_int_equal(vws_bo_map(bo, &p), ret);
		assert_int_equal(tw_counters().hangs_detected, 0);
		vws_bo_unref(bo);
		vws_device_unref(dev);
	}
}

static void placed_mapping(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	const size_t size = TW_MIB;
	struct vws_stats st;
	struct vws_bo *bo;
	uint8_t *range, *cached;

	assert_int_equal(tw_host3d(dev, size, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	range = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(range != MAP_FAILED);

	assert_int_equal(vws_bo_map_placed(bo, range + 1), -EINVAL);
	assert_int_equal(vws_bo_map_placed(bo, NULL), -EINVAL);
	assert_int_equal(vws_bo_unmap_placed(bo, false), -EINVAL);
	assert_int_equal(vws_bo_map_placed(bo, range), 0);
	assert_int_equal(vws_bo_map_placed(bo, range), -EBUSY);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.mapped_objects, 1);
	assert_int_equal(st.region_bytes_deferred, 0);

	/* Same memory as the cached mapping. */
	memset(range, 0x3c, size);
	assert_int_equal(vws_bo_map(bo, (void **)&cached), 0);
	assert_ptr_not_equal(cached, range);
	assert_int_equal(cached[size - 1], 0x3c);
	cached[0] = 0x11;
	assert_int_equal(range[0], 0x11);

	/* Unmap keeping the range reserved: nobody else can map there. */
	assert_int_equal(vws_bo_unmap_placed(bo, true), 0);
	{
		/* EEXIST, or (where the flag is only a hint, e.g. valgrind)
		 * another address: either way not the kept range. */
		void *q = mmap(range, 4096, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		assert_ptr_not_equal(q, range);
		if (q != MAP_FAILED)
			munmap(q, 4096);
	}
	assert_int_equal(vws_bo_unmap_placed(bo, true), -EINVAL);
	/* Placed again in the kept range, then removed for good. */
	assert_int_equal(vws_bo_map_placed(bo, range), 0);
	assert_int_equal(range[0], 0x11);
	assert_int_equal(vws_bo_unmap_placed(bo, false), 0);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.mapped_objects, 1); /* the cached one */

	vws_bo_unref(bo);
	vws_device_unref(dev);
}

/* A placed mapping alive at the last unref goes with the object. */
static void placed_mapping_freed_with_object(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_AUTO);
	struct vws_bo *bo = tw_guest(dev, 64 * 1024);
	void *range = mmap(NULL, 64 * 1024, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(range != MAP_FAILED);
	assert_int_equal(vws_bo_map_placed(bo, range), 0);
	assert_int_equal(tw_counters().live_mappings, 1);
	vws_bo_unref(bo);
	vws_device_unref(dev);
	/* The last unref unmapped the range: it is no longer ours to unmap
	 * (the allocator may have taken it again; ASan's did, and a munmap
	 * here then pulled its memory away). */
	assert_int_equal(tw_counters().live_mappings, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(region_on_first_map),
		TW_ALL_GENS(map_cached),
		TW_GEN(account, "fixed"),
		TW_GEN(account, "v2"),
		TW_GEN(map_concurrent_first, "fixed"),
		TW_GEN(map_concurrent_first, "v1"),
		TW_GEN(map_concurrent_first, "legacy"),
		TW_TEST(region_exhaustion_retry),
		TW_GEN(always_refuses_before_hang, "v1"),
		TW_GEN(always_refuses_before_hang, "v2"),
		TW_GEN(always_refuses_with_size_from_environment, "v2"),
		TW_GEN(region_exhaustion_at_create, "legacy"),
		TW_GEN(region_exhaustion_at_create, "fixed"),
		TW_ALL_GENS(unknown_blob_id),
		TW_ALL_GENS(placed_mapping),
		TW_TEST(placed_mapping_freed_with_object),
	};

	return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
