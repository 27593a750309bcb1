/* SPDX-License-Identifier: MIT */
/* Host-visible mapping: when each generation reserves region space, mmap
 * rules, exhaustion and retry, host failures, the v1/v2 hang, latency. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ts.h"

#define HOST3D VIRTGPU_BLOB_MEM_HOST3D
#define MAPPABLE VIRTGPU_BLOB_FLAG_USE_MAPPABLE
#define DEFER VIRTGPU_BLOB_HINT_DEFER_MAPPING

static bool is(void **state, const char *gen)
{
	return !strcmp(*state, gen);
}

static bool reserved(int fd, uint32_t h)
{
	struct vgshim_object_info oi;

	assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
	return oi.region_reserved;
}

/* legacy: at creation; v1 and fixed: at MAP or mmap; v2: at mmap only. */
static void deferred_reservation(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint64_t off;
	uint32_t h;
	void *p;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 2 * TS_MIB, DEFER, 0, &h), 0);
	assert_int_equal(reserved(fd, h), is(state, "legacy"));
	assert_int_equal(ts_counters().host_map_cmds, is(state, "legacy") ? 1 : 0);
	assert_int_equal(ts_map_ioctl(fd, h, &off), 0);
	assert_int_equal(reserved(fd, h), !is(state, "v2"));
	assert_int_equal(ts_counters().region_bytes_in_use, is(state, "v2") ? 0 : 2 * TS_MIB);
	p = mmap(NULL, 2 * TS_MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	assert_true(p != MAP_FAILED);
	assert_true(reserved(fd, h));
	assert_int_equal(ts_counters().region_bytes_in_use, 2 * TS_MIB);
	assert_int_equal(ts_counters().host_map_cmds, 1);
	memset(p, 0x11, 2 * TS_MIB);
	/* munmap does not give the range back; closing the last handle does,
	 * once the host answered the UNREF */
	munmap(p, 2 * TS_MIB);
	assert_int_equal(ts_counters().region_bytes_in_use, 2 * TS_MIB);
	assert_int_equal(ts_close_handle(fd, h), 0);
	vgshim_host_drain();
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	assert_int_equal(ts_counters().region_bytes_peak, 2 * TS_MIB);
	close(fd);
}

static void mmap_rules(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), other = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t h, nm;
	uint64_t off, off_nm;
	void *p;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 4 * TS_MIB, DEFER, 0, &h), 0);
	assert_int_equal(ts_map_ioctl(fd, h, &off), 0);
	/* up to Linux 6.14: the whole object, nothing else */
	assert_true(mmap(NULL, TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)off) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_true(mmap(NULL, TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)(off + TS_MIB)) ==
		    MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	/* an offset that is no object's */
	assert_true(mmap(NULL, 4 * TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)(off + 4096)) ==
		    MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	/* a file without a handle to the object */
	assert_true(mmap(NULL, 4 * TS_MIB, PROT_READ, MAP_SHARED, other, (off_t)off) == MAP_FAILED);
	assert_int_equal(errno, EACCES);
	/* HOST3D without MAPPABLE cannot be mapped */
	assert_int_equal(ts_blob(fd, HOST3D, 0, TS_MIB, 0, 0, &nm), 0);
	assert_int_equal(ts_map_ioctl(fd, nm, &off_nm), 0);
	assert_true(mmap(NULL, TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)off_nm) == MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ts_map_ioctl(fd, 999, NULL), -ENOENT);
	p = mmap(NULL, 4 * TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)off);
	assert_true(p != MAP_FAILED);
	munmap(p, 4 * TS_MIB);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_close_handle(fd, nm), 0);
	close(fd);
	close(other);
}

/* From Linux 6.15 a sub-range inside the object may be mapped. */
static void partial_mmap_switch(void **state)
{
	int fd;
	uint32_t h;
	uint64_t off;
	unsigned char *whole, *part;

	tc_model_use(*state, "VGSHIM_PARTIAL_MMAP", "1", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 4 * TS_MIB, DEFER, 0, &h), 0);
	assert_int_equal(ts_map_ioctl(fd, h, &off), 0);
	whole = mmap(NULL, 4 * TS_MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	part = mmap(NULL, TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)(off + TS_MIB));
	assert_true(whole != MAP_FAILED && part != MAP_FAILED);
	whole[TS_MIB + 5] = 0x77;
	assert_int_equal(part[5], 0x77);
	/* still inside the object only */
	assert_true(mmap(NULL, 2 * TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)(off + 3 * TS_MIB)) ==
		    MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	munmap(part, TS_MIB);
	munmap(whole, 4 * TS_MIB);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

/* legacy: a full region fails creation; the deferring kernels fail the
 * map (fixed) instead, and a retry works once space was freed. */
static void region_exhaustion(void **state)
{
	int fd;
	uint32_t a, b;
	void *pa, *pb;

	tc_model_use(*state, "VGSHIM_HOSTMEM", "8M", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &a), 0);
	pa = ts_mmap(fd, a, 6 * TS_MIB);
	assert_non_null(pa);
	if (is(state, "legacy")) {
		assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &b), -ENOSPC);
		munmap(pa, 6 * TS_MIB);
		assert_int_equal(ts_close_handle(fd, a), 0);
		vgshim_host_drain();
		assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &b), 0);
		assert_int_equal(ts_close_handle(fd, b), 0);
		close(fd);
		return;
	}
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &b), 0);
	if (is(state, "fixed")) {
		assert_int_equal(ts_map_ioctl(fd, b, NULL), -ENOSPC);
		assert_null(ts_mmap(fd, b, 6 * TS_MIB));
		assert_int_equal(errno, ENOSPC);
		assert_false(reserved(fd, b));
		munmap(pa, 6 * TS_MIB);
		assert_int_equal(ts_close_handle(fd, a), 0);
		/* the range comes back when the host answers the UNREF */
		vgshim_host_drain();
		pb = ts_mmap(fd, b, 6 * TS_MIB);
		assert_non_null(pb);
		munmap(pb, 6 * TS_MIB);
	} else {
		/* v1/v2: the deferred map's failure is dropped and mmap would
		 * wait forever; the model says so and fails after HANG_MS */
		munmap(pa, 6 * TS_MIB);
		assert_int_equal(ts_close_handle(fd, a), 0);
	}
	assert_int_equal(ts_close_handle(fd, b), 0);
	close(fd);
}

static void hang_detected(void **state)
{
	int fd;
	uint32_t a, b;
	uint64_t off;
	void *pa;

	tc_model_use(*state, "VGSHIM_HOSTMEM", "8M", "VGSHIM_HANG_MS", "10", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &a), 0);
	pa = ts_mmap(fd, a, 6 * TS_MIB);
	assert_non_null(pa);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, 6 * TS_MIB, DEFER, 0, &b), 0);
	/* the MAP ioctl "succeeds": the error is dropped */
	assert_int_equal(ts_map_ioctl(fd, b, &off), 0);
	assert_true(mmap(NULL, 6 * TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)off) == MAP_FAILED);
	assert_int_equal(errno, EDEADLK);
	assert_int_equal(ts_counters().hangs_detected, 1);
	/* the buggy kernel retries the map on the next mmap: with space
	 * freed it now works */
	munmap(pa, 6 * TS_MIB);
	assert_int_equal(ts_close_handle(fd, a), 0);
	vgshim_host_drain();
	pa = mmap(NULL, 6 * TS_MIB, PROT_READ, MAP_SHARED, fd, (off_t)off);
	assert_true(pa != MAP_FAILED);
	munmap(pa, 6 * TS_MIB);
	assert_int_equal(ts_close_handle(fd, b), 0);
	close(fd);
}

/* A blob whose blob_id the host does not know is created fine and fails
 * at map time (state ERR), permanently, and never hangs. */
static void unknown_blob_id(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct vgshim_object_info oi;
	uint32_t h, g;
	void *p;

	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, DEFER, 1234, &h), 0);
	assert_null(ts_mmap(fd, h, TS_MIB));
	assert_int_equal(errno, EINVAL);
	assert_null(ts_mmap(fd, h, TS_MIB));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
	assert_int_equal(oi.map_state, 2);
	assert_int_equal(ts_counters().host_map_errors, 1);
	assert_int_equal(ts_counters().hangs_detected, 0);
	/* a host object created first makes the same blob_id work */
	assert_int_equal(ts_host_mem(fd, 77, TS_MIB, VGSHIM_MEM_MAPPABLE), 0);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, DEFER, 77, &g), 0);
	p = ts_mmap(fd, g, TS_MIB);
	assert_non_null(p);
	munmap(p, TS_MIB);
	assert_int_equal(ts_counters().host_mem_objects, 1);
	assert_int_equal(ts_close_handle(fd, h), 0);
	assert_int_equal(ts_close_handle(fd, g), 0);
	close(fd);
}

/* Two blobs of one host object share its pages. */
static void blobs_share_host_memory(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t a, b;
	unsigned char *pa, *pb;

	assert_int_equal(ts_host_mem(fd, 5, TS_MIB, VGSHIM_MEM_MAPPABLE), 0);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, 0, 5, &a), 0);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, 0, 5, &b), 0);
	pa = ts_mmap(fd, a, TS_MIB);
	pb = ts_mmap(fd, b, TS_MIB);
	assert_non_null(pa);
	assert_non_null(pb);
	pa[100] = 0x42;
	assert_int_equal(pb[100], 0x42);
	munmap(pa, TS_MIB);
	munmap(pb, TS_MIB);
	assert_int_equal(ts_close_handle(fd, a), 0);
	assert_int_equal(ts_close_handle(fd, b), 0);
	close(fd);
}

/* With host latency mmap really waits for the answer, then works. */
static void map_latency(void **state)
{
	int fd;
	uint32_t h;
	unsigned char *p;

	tc_model_use(*state, "VGSHIM_MAP_LATENCY_US", "20000", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, DEFER, 0, &h), 0);
	p = ts_mmap(fd, h, TS_MIB);
	assert_non_null(p);
	{
		struct vgshim_object_info oi;

		assert_int_equal(vgshim_object_info(fd, h, &oi), 0);
		assert_int_equal(oi.map_state, 1);
	}
	p[0] = 1;
	munmap(p, TS_MIB);
	vgshim_host_hold(true);
	assert_int_equal(ts_close_handle(fd, h), 0);
	/* the UNREF is answered later too: the range is still held */
	assert_int_equal(ts_counters().live_objects, 1);
	assert_int_equal(ts_counters().region_bytes_in_use, TS_MIB);
	vgshim_host_hold(false);
	vgshim_host_drain();
	assert_int_equal(ts_counters().live_objects, 0);
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	close(fd);
}

#define RACERS 4

struct racer {
	pthread_barrier_t *go;
	int fd;
	uint32_t handle;
	unsigned char *p; /* NULL when MAP or mmap failed */
};

static void *race_first_map(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->p = ts_mmap(r->fd, r->handle, TS_MIB);
	return NULL;
}

/* Threads racing to the first map of one deferred object (a winsys's
 * concurrent vkMapMemory): one host map, one range, and every thread's
 * mapping shows the same pages. The host answers late so the racers
 * overlap in the wait; nothing here depends on how they interleave. */
static void concurrent_first_map(void **state)
{
	pthread_barrier_t go;
	pthread_t t[RACERS];
	struct racer r[RACERS];
	struct vgshim_counters before;
	int fd;
	uint32_t h;

	tc_model_use(*state, "VGSHIM_MAP_LATENCY_US", "2000", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	before = ts_counters();
	assert_int_equal(ts_blob(fd, HOST3D, MAPPABLE, TS_MIB, DEFER, 0, &h), 0);
	assert_int_equal(pthread_barrier_init(&go, NULL, RACERS), 0);
	for (int i = 0; i < RACERS; i++) {
		r[i] = (struct racer){ &go, fd, h, NULL };
		assert_int_equal(pthread_create(&t[i], NULL, race_first_map, &r[i]), 0);
	}
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < RACERS; i++)
		assert_non_null(r[i].p);
	assert_int_equal(ts_counters().host_map_cmds - before.host_map_cmds, 1);
	assert_int_equal(ts_counters().region_bytes_in_use, TS_MIB);
	for (int i = 0; i < RACERS; i++)
		r[i].p[i * 4096] = (unsigned char)(0xa0 + i);
	for (int i = 0; i < RACERS; i++)
		for (int j = 0; j < RACERS; j++)
			assert_int_equal(r[i].p[j * 4096], 0xa0 + j);
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(munmap(r[i].p, TS_MIB), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	vgshim_host_drain();
	assert_int_equal(ts_counters().region_bytes_in_use, 0);
	assert_int_equal(ts_counters().live_mappings, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_ALL_GENS(deferred_reservation),
		TS_ALL_GENS(mmap_rules),
		TS_ALL_GENS(partial_mmap_switch),
		TS_ALL_GENS(region_exhaustion),
		TS_GEN(hang_detected, "v1"),
		TS_GEN(hang_detected, "v2"),
		TS_ALL_GENS(unknown_blob_id),
		TS_ALL_GENS(blobs_share_host_memory),
		TS_ALL_GENS(map_latency),
		TS_ALL_GENS(concurrent_first_map),
	};

	return cmocka_run_group_tests_name("shim-map", tests, NULL, NULL);
}
