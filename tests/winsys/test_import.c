/* SPDX-License-Identifier: MIT */
/* dma-buf import: one object per GEM handle, sizes, and the unref race. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tw.h"

static void import_dedup(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = tw_guest(dev, 64 * 1024), *i1 = NULL, *i2 = NULL;
	struct vgshim_counters before, after;
	struct vws_bo_info bi;
	struct vws_stats st;
	uint32_t *p;
	int fd;

	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	p[0] = 0xfeedf00d;
	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	assert_int_equal(vws_bo_import_fd(dev, fd, 0, &i1), 0);
	assert_int_equal(vws_bo_import_fd(dev, fd, 64 * 1024, &i2), 0);
	assert_ptr_equal(i1, bo);
	assert_ptr_equal(i2, bo);
	/* Our own object: its flags are known. */
	assert_int_equal(vws_bo_get_info(i1, &bi), 0);
	assert_true(bi.flags_known);
	assert_int_equal(bi.blob_flags,
			 VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE);
	vws_device_get_stats(dev, &st);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.imports, 2);
	assert_int_equal(tw_counters().live_handles, 1);

	/* Three references, one kernel handle: only the last unref closes. */
	before = tw_counters();
	vws_bo_unref(i1);
	vws_bo_unref(bo);
	assert_int_equal(vws_bo_get_info(i2, &bi), 0);
	assert_int_equal(tw_object(dev, i2).handles, 1);
	assert_int_equal(p[0], 0xfeedf00d);
	after = tw_counters();
	assert_int_equal(after.ioctls[TW_NR_GEM_CLOSE], before.ioctls[TW_NR_GEM_CLOSE]);
	vws_bo_unref(i2);
	after = tw_counters();
	assert_int_equal(after.ioctls[TW_NR_GEM_CLOSE] - before.ioctls[TW_NR_GEM_CLOSE], 1);
	assert_int_equal(after.live_handles, 0);
	close(fd);
	vws_device_unref(dev);
}

/* A second device (another file) gets its own object, with the kernel's
 * resource id and size, sharing the memory. */
static void import_other_device(void **state)
{
	struct vws_device *a = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_device *b = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = tw_guest(a, 3 * 4096 + 1), *imp = NULL;
	struct vws_bo_info ai, bi;
	struct vws_stats st;
	uint8_t *pa, *pb;
	int fd;

	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	assert_int_equal(vws_bo_import_fd(b, fd, 5 * 4096, &imp), -EINVAL);
	assert_null(imp);
	assert_int_equal(tw_counters().live_handles, 1); /* rejected handle closed */
	assert_int_equal(vws_bo_import_fd(b, fd, 4 * 4096, &imp), 0);
	assert_int_equal(vws_bo_get_info(bo, &ai), 0);
	assert_int_equal(vws_bo_get_info(imp, &bi), 0);
	assert_true(bi.imported);
	assert_false(ai.imported);
	assert_int_equal(bi.res_id, ai.res_id);
	assert_int_equal(bi.size, 4 * 4096);
	assert_int_equal(bi.blob_mem, VIRTGPU_BLOB_MEM_GUEST);
	/* The kernel does not say how the other device created it. */
	assert_true(ai.flags_known);
	assert_false(bi.flags_known);
	assert_int_equal(bi.blob_flags, 0);
	vws_device_get_stats(b, &st);
	assert_int_equal(st.imported_objects, 1);
	assert_int_equal(st.region_bytes_held, 0);

	assert_int_equal(vws_bo_map(bo, (void **)&pa), 0);
	assert_int_equal(vws_bo_map(imp, (void **)&pb), 0);
	pa[100] = 42;
	assert_int_equal(pb[100], 42);

	/* Too big an expectation of a known object: the reference taken for
	 * the check is given back. */
	{
		struct vws_bo *again = NULL;

		assert_int_equal(vws_bo_import_fd(b, fd, 8 * 4096, &again), -EINVAL);
		assert_null(again);
	}
	close(fd);
	vws_bo_unref(imp);
	vws_bo_unref(bo);
	vws_device_unref(b);
	vws_device_unref(a);
}

/* The object table under churn: many objects, half freed in a scattered
 * order (holes in the hash map's probe runs), the table grown and handles
 * reused; every live object is still found by import, exactly once. */
static void import_table_churn(void **state)
{
	enum { N = 300 };
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo[N], *imp;
	int fd[N];
	unsigned seed = 42;

	for (int i = 0; i < N; i++) {
		bo[i] = tw_guest(dev, 4096);
		assert_int_equal(vws_bo_export_fd(bo[i], &fd[i]), 0);
	}
	for (int n = 0; n < N / 2; n++) {
		int i = rand_r(&seed) % N;

		while (!bo[i])
			i = (i + 1) % N;
		vws_bo_unref(bo[i]);
		bo[i] = NULL;
		close(fd[i]);
	}
	/* new objects take the freed handles */
	for (int i = 0; i < N; i += 7) {
		if (bo[i])
			continue;
		bo[i] = tw_guest(dev, 4096);
		assert_int_equal(vws_bo_export_fd(bo[i], &fd[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		if (!bo[i])
			continue;
		assert_int_equal(vws_bo_import_fd(dev, fd[i], 0, &imp), 0);
		assert_ptr_equal(imp, bo[i]);
		vws_bo_unref(imp);
	}
	for (int i = 0; i < N; i++) {
		if (!bo[i])
			continue;
		close(fd[i]);
		vws_bo_unref(bo[i]);
	}
	{
		struct vws_stats st;

		vws_device_get_stats(dev, &st);
		assert_int_equal(st.objects, 0);
	}
	vws_device_unref(dev);
}

static void import_bad_fd(void **state)
{
	struct vws_device *dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	struct vws_bo *bo = NULL;
	int fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(vws_bo_import_fd(dev, fd, 0, &bo) < 0);
	assert_true(vws_bo_import_fd(dev, -1, 0, &bo) < 0);
	assert_null(bo);
	close(fd);
	vws_device_unref(dev);
}

/*
 * The import/unref race. Each round, the only reference to the object is
 * dropped by one thread while others import the object's dma-buf. Whatever
 * the interleaving, each importer must get a live object (the revived one
 * or a new one for the same buffer), the device must hold exactly one
 * handle for the buffer, and nothing may be closed twice or leaked.
 */
#define RACE_IMPORTERS 2
/* Fewer rounds under sanitizers/valgrind (VWS_TEST_SANITIZER), which are
 * 5-50x slower; the interleavings still vary round to round. */
static int race_rounds(void)
{
	return getenv("VWS_TEST_SANITIZER") ? 500 : 3000;
}

struct race {
	pthread_barrier_t go, done;
	struct vws_device *dev;
	int fd;
	struct vws_bo *victim;
	struct vws_bo *got[RACE_IMPORTERS];
	int ret[RACE_IMPORTERS];
	bool stop;
};

static void *race_unref(void *arg)
{
	struct race *r = arg;

	for (;;) {
		pthread_barrier_wait(&r->go);
		if (r->stop)
			return NULL;
		vws_bo_unref(r->victim);
		pthread_barrier_wait(&r->done);
	}
}

struct importer {
	struct race *r;
	int idx;
};

static void *race_import(void *arg)
{
	struct importer *me = arg;
	struct race *r = me->r;

	for (;;) {
		pthread_barrier_wait(&r->go);
		if (r->stop)
			return NULL;
		r->ret[me->idx] = vws_bo_import_fd(r->dev, r->fd, 4096, &r->got[me->idx]);
		pthread_barrier_wait(&r->done);
	}
}

static void import_unref_race(void **state)
{
	struct race r = { 0 };
	struct importer imp[RACE_IMPORTERS];
	pthread_t th[RACE_IMPORTERS + 1];
	struct vws_bo *bo;
	uint32_t *p;
	unsigned revived = 0, fresh = 0;
	const int rounds = race_rounds();

	r.dev = tw_open(VIRTGPU_CAPSET_VENUS, VWS_DEFER_DEFAULT);
	bo = tw_guest(r.dev, 4096);
	assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
	p[0] = 0x600d600d;
	assert_int_equal(vws_bo_export_fd(bo, &r.fd), 0);
	pthread_barrier_init(&r.go, NULL, RACE_IMPORTERS + 2);
	pthread_barrier_init(&r.done, NULL, RACE_IMPORTERS + 2);
	assert_int_equal(pthread_create(&th[0], NULL, race_unref, &r), 0);
	for (int i = 0; i < RACE_IMPORTERS; i++) {
		imp[i] = (struct importer){ &r, i };
		assert_int_equal(pthread_create(&th[i + 1], NULL, race_import, &imp[i]), 0);
	}

	for (int round = 0; round < rounds; round++) {
		struct vws_stats st;
		struct vws_bo_info bi;
		struct vgshim_object_info oi;

		r.victim = bo;
		pthread_barrier_wait(&r.go);
		pthread_barrier_wait(&r.done);

		for (int i = 0; i < RACE_IMPORTERS; i++) {
			assert_int_equal(r.ret[i], 0);
			assert_ptr_equal(r.got[i], r.got[0]);
		}
		if (r.got[0] == bo)
			revived++;
		else
			fresh++;
		bo = r.got[0];
		/* The object is alive and its handle is the kernel's. */
		assert_int_equal(vws_bo_get_info(bo, &bi), 0);
		assert_int_equal(vgshim_object_info(vws_device_get_fd(r.dev), bi.gem_handle, &oi),
				 0);
		assert_int_equal(tw_counters().live_handles, 1);
		vws_device_get_stats(r.dev, &st);
		assert_int_equal(st.objects, 1);
		assert_int_equal(vws_bo_map(bo, (void **)&p), 0);
		assert_int_equal(p[0], 0x600d600d);
		/* Back to one reference for the next round. */
		for (int i = 1; i < RACE_IMPORTERS; i++)
			vws_bo_unref(r.got[i]);
	}
	r.stop = true;
	pthread_barrier_wait(&r.go);
	for (int i = 0; i < RACE_IMPORTERS + 1; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&r.go);
	pthread_barrier_destroy(&r.done);
	print_message("# race: %u rounds revived the object, %u made a new one\n", revived,
		      fresh);
	assert_int_equal(revived + fresh, (unsigned)rounds);
	vws_bo_unref(bo);
	close(r.fd);
	vws_device_unref(r.dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_ALL_GENS(import_dedup),
		TW_TEST(import_other_device),
		TW_TEST(import_table_churn),
		TW_TEST(import_bad_fd),
		TW_TEST(import_unref_race),
	};

	return cmocka_run_group_tests_name("import", tests, NULL, NULL);
}
