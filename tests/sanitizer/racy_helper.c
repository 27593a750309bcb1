/* SPDX-License-Identifier: MIT */
/*
 * A program with one deliberate data race, for tests/sanitizer: under
 * ThreadSanitizer it must be reported (and the process must end), never
 * hang. The race happens the way the suite's own races would: while node
 * objects of the kernel model are mapped and other threads are inside the
 * model (creating, mapping and freeing objects), so that the sanitizer's
 * report path (its symbolizer maps, reads and unmaps ELF files) runs
 * through the model's interposed libc functions at a busy moment.
 *
 * Without ThreadSanitizer the race is not detected; the program then ends
 * normally (exit 0) after "racy-helper: done".
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim.h"
#include "vws/vws.h"

#define BUSY_THREADS 3
/* Iterations every busy thread has done before the race is made: the
 * model's tables have been written by all of them by then. */
#define WARM_ITERATIONS 200

static struct vws_device *dev;
static unsigned warm[BUSY_THREADS];
static int stop;
static int racy_counter; /* the deliberate race: plain, unsynchronised */

/* Not inlined: the report then names it (symbolized). */
__attribute__((noinline)) void racy_bump(void);
__attribute__((noinline)) void racy_bump(void)
{
	racy_counter++;
}

static void *busy_main(void *arg)
{
	unsigned *count = arg;
	struct vws_bo_create_info ci = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = 4096,
		.flags = VWS_BO_DEVICE_LOCAL,
	};

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct vws_bo *bo;
		void *p;

		if (vws_bo_create(dev, &ci, &bo))
			continue;
		if (!vws_bo_map(bo, &p))
			*(volatile char *)p = 1;
		vws_bo_unref(bo);
		/* Relaxed on purpose: no happens-before edge to the main thread,
		 * which only needs to know that the work was done. */
		__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *racer_main(void *arg)
{
	(void)arg;
	racy_bump();
	return NULL;
}

int main(void)
{
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.config_file = "/nonexistent/vws-racy-helper.conf",
	};
	struct vws_bo_create_info keep = {
		.blob_mem = VIRTGPU_BLOB_MEM_GUEST,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
		.size = 4096,
	};
	pthread_t busy[BUSY_THREADS], racer;
	struct vws_bo *bo;
	void *p;
	int ret;

	/* The model linked in (as in every suite test): the fixed kernel,
	 * where a hinted object is mapped on its first map. */
	ret = vgshim_configure("VGSHIM_KERNEL", "fixed");
	if (!ret)
		ret = vws_device_create(&ci, &dev);
	if (!ret)
		ret = vws_bo_create(dev, &keep, &bo);
	if (!ret)
		ret = vws_bo_map(bo, &p); /* a node object stays mapped throughout */
	if (ret) {
		fprintf(stderr, "racy-helper: setup failed: %d\n", ret);
		return 2;
	}
	for (int i = 0; i < BUSY_THREADS; i++)
		if (pthread_create(&busy[i], NULL, busy_main, &warm[i]))
			return 2;
	for (int i = 0; i < BUSY_THREADS; i++)
		while (__atomic_load_n(&warm[i], __ATOMIC_RELAXED) < WARM_ITERATIONS)
			sched_yield();
	if (pthread_create(&racer, NULL, racer_main, NULL))
		return 2;
	racy_bump();
	pthread_join(racer, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < BUSY_THREADS; i++)
		pthread_join(busy[i], NULL);
	vws_bo_unref(bo);
	vws_device_unref(dev);
	fprintf(stderr, "racy-helper: done (counter %d)\n", racy_counter);
	return 0;
}
