/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: threads allocating, mapping shared and private objects,
 * exporting, importing and freeing, bounded, with the model's host
 * answering asynchronously. A watchdog turns a deadlock into a failure
 * with a message instead of a hung CI job; TSan (the tsan stage) turns a
 * race into one.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vws/vws.h"

#define THREADS 4
#define SHARED 8

static struct vws_device *dev;
static struct vws_bo *shared[SHARED];
static unsigned iterations;
static uint64_t ops_done;

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_done;

static void *watchdog(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 120;
	pthread_mutex_lock(&wd_lock);
	while (!wd_done)
		if (pthread_cond_timedwait(&wd_cond, &wd_lock, &ts)) {
			fprintf(stderr, "stress: no progress in 120 s: deadlock; aborting\n");
			abort();
		}
	pthread_mutex_unlock(&wd_lock);
	return NULL;
}

static int create(struct vws_bo **bo, unsigned size)
{
	struct vws_bo_create_info bi = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = size, .flags = VWS_BO_DEVICE_LOCAL,
	};

	return vws_bo_create(dev, &bi, bo);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;

	for (unsigned i = 0; i < iterations; i++) {
		struct vws_bo *bo = NULL, *imp = NULL;
		unsigned char *p;
		int fd = -1;

		switch (rand_r(&seed) % 4) {
		case 0: /* the same objects from every thread: first maps race */
			bo = vws_bo_ref(shared[rand_r(&seed) % SHARED]);
			if (!vws_bo_map(bo, (void **)&p))
				__atomic_add_fetch(&p[rand_r(&seed) % 4096], 1, __ATOMIC_RELAXED);
			vws_bo_unref(bo);
			break;
		case 1: /* a private life */
			if (!create(&bo, 65536)) {
				if (!vws_bo_map(bo, (void **)&p))
					memset(p, i, 65536);
				vws_bo_unref(bo);
			}
			break;
		case 2: /* export a shared object, import it back, drop both */
			bo = shared[rand_r(&seed) % SHARED];
			if (!vws_bo_export_fd(bo, &fd)) {
				if (!vws_bo_import_fd(dev, fd, 0, &imp)) {
					assert_ptr_equal(imp, bo);
					vws_bo_unref(imp);
				}
				close(fd);
			}
			break;
		default: /* export a private object, free it, import the fd:
			  * the import races the last unref of the object */
			if (!create(&bo, 4096) && !vws_bo_export_fd(bo, &fd)) {
				vws_bo_unref(bo);
				bo = NULL;
				if (!vws_bo_import_fd(dev, fd, 4096, &imp))
					vws_bo_unref(imp);
				close(fd);
			}
			if (bo)
				vws_bo_unref(bo);
			break;
		}
		__atomic_add_fetch(&ops_done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void stress(void **state)
{
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1,
					     .defer = VWS_DEFER_AUTO };
	struct tc_leak_baseline b;
	pthread_t t[THREADS], wd;
	const char *san = getenv("VWS_TEST_SANITIZER");
	char *conf = tc_write_temp("<vws/>\n");

	(void)state;
	iterations = san ? 300 : 2000;
	tc_model_use(*state, "VGSHIM_MAP_LATENCY_US", "200", NULL);
	tc_leak_begin(&b);
	ci.config_file = conf;
	assert_int_equal(vws_device_create(&ci, &dev), 0);
	for (int i = 0; i < SHARED; i++)
		assert_int_equal(create(&shared[i], 4096), 0);
	assert_int_equal(pthread_create(&wd, NULL, watchdog, NULL), 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_lock(&wd_lock);
	wd_done = true;
	pthread_cond_signal(&wd_cond);
	pthread_mutex_unlock(&wd_lock);
	pthread_join(wd, NULL);
	for (int i = 0; i < SHARED; i++)
		vws_bo_unref(shared[i]);
	{
		struct vws_stats st;

		vws_device_get_stats(dev, &st);
		assert_int_equal(st.objects, 0);
	}
	vws_device_unref(dev);
	tc_leak_check(&b);
	printf("# stress/%s: %d threads, %llu operations\n", (const char *)*state, THREADS,
	       (unsigned long long)__atomic_load_n(&ops_done, __ATOMIC_RELAXED));
	unlink(conf);
	free(conf);
	wd_done = false;
	ops_done = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(stress, "fixed"),
		cmocka_unit_test_prestate(stress, "legacy"),
	};

	return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
