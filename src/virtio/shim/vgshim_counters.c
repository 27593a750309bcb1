/* SPDX-License-Identifier: MIT */
/*
 * The model's counters, kept per thread and summed when read, as a kernel
 * keeps per-CPU statistics: a call bumps only its own thread's copy, so
 * threads working on their own objects share no cache line for counting.
 * A shard is written by its owner only (plain load + store, atomically so
 * that a reader may look at any time); a thread that exits hands its shard
 * to the next new thread, its counts still part of the sum.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgshim_priv.h"

#define VGSHIM_NUM_COUNTERS (sizeof(struct vgshim_counters) / sizeof(uint64_t))

struct vgshim_shard {
	uint64_t v[VGSHIM_NUM_COUNTERS];
	struct vgshim_shard *next;      /* all shards */
	struct vgshim_shard *next_free; /* shards of exited threads */
	/* the thread's last CREATE_BLOB as sent (tests): a sequence lock
	 * (odd while its owner writes), so that keeping it costs no atomic
	 * read-modify-write */
	_Atomic uint64_t blob_seq;
	_Atomic uint64_t blob_time;
	_Atomic uint64_t blob_size;
	_Atomic uint64_t blob[8];
};

static struct {
	pthread_mutex_t lock;
	struct vgshim_shard *all;
	struct vgshim_shard *free;
	pthread_key_t key;
	pthread_once_t once;
	bool key_ok;
	/* when a shard cannot be allocated: shared, updated atomically */
	uint64_t spill[VGSHIM_NUM_COUNTERS];
} vgshim_shards = { .lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT };

/* initial-exec: the model is preloaded or linked, never dlopened */
static __thread struct vgshim_shard *vgshim_my_shard __attribute__((tls_model("initial-exec")));

static void vgshim_shard_release(void *p)
{
	struct vgshim_shard *s = p;

	/* this thread's later counts (other destructors) take a new shard */
	vgshim_my_shard = NULL;
	pthread_mutex_lock(&vgshim_shards.lock);
	s->next_free = vgshim_shards.free;
	vgshim_shards.free = s;
	pthread_mutex_unlock(&vgshim_shards.lock);
}

static void vgshim_shard_key(void)
{
	vgshim_shards.key_ok = pthread_key_create(&vgshim_shards.key, vgshim_shard_release) == 0;
}

static struct vgshim_shard *vgshim_shard_acquire(void)
{
	struct vgshim_shard *s;

	pthread_once(&vgshim_shards.once, vgshim_shard_key);
	if (!vgshim_shards.key_ok)
		return NULL;
	pthread_mutex_lock(&vgshim_shards.lock);
	s = vgshim_shards.free;
	if (s) {
		vgshim_shards.free = s->next_free;
	} else {
		/* not fault-injected: counting must not change what it counts */
		s = calloc(1, sizeof(*s));
		if (s) {
			s->next = vgshim_shards.all;
			vgshim_shards.all = s;
		}
	}
	pthread_mutex_unlock(&vgshim_shards.lock);
	if (s && pthread_setspecific(vgshim_shards.key, s)) {
		vgshim_shard_release(s);
		s = NULL;
	}
	return s;
}

static struct vgshim_shard *vgshim_shard_mine(void)
{
	if (!vgshim_my_shard)
		vgshim_my_shard = vgshim_shard_acquire();
	return vgshim_my_shard;
}

void vgshim_count_add(size_t idx, int64_t n)
{
	struct vgshim_shard *s = vgshim_shard_mine();

	if (!s) {
		__atomic_add_fetch(&vgshim_shards.spill[idx], (uint64_t)n, __ATOMIC_RELAXED);
		return;
	}
	__atomic_store_n(&s->v[idx], __atomic_load_n(&s->v[idx], __ATOMIC_RELAXED) + (uint64_t)n,
			 __ATOMIC_RELAXED);
}

/* Sums every shard (a decrement in one thread and an increment in another
 * add up to the right total: the arithmetic is modulo 2^64). */
void vgshim_counters_sum(struct vgshim_counters *out)
{
	uint64_t *o = (uint64_t *)out;

	for (size_t i = 0; i < VGSHIM_NUM_COUNTERS; i++)
		o[i] = __atomic_load_n(&vgshim_shards.spill[i], __ATOMIC_RELAXED);
	pthread_mutex_lock(&vgshim_shards.lock);
	for (struct vgshim_shard *s = vgshim_shards.all; s; s = s->next)
		for (size_t i = 0; i < VGSHIM_NUM_COUNTERS; i++)
			o[i] += __atomic_load_n(&s->v[i], __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vgshim_shards.lock);
}

void vgshim_note_blob(const void *arg, size_t size)
{
	struct vgshim_shard *s = vgshim_shard_mine();
	uint64_t seq, w[8] = { 0 };
	struct timespec ts;

	if (!s)
		return; /* not kept: the counters' spill has no room for it */
	memcpy(w, arg, size < sizeof(w) ? size : sizeof(w));
	/* a coarse clock: which thread's call was last only matters when
	 * they are apart */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	seq = atomic_load_explicit(&s->blob_seq, memory_order_relaxed);
	atomic_store_explicit(&s->blob_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < 8; i++)
		atomic_store_explicit(&s->blob[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&s->blob_size, size, memory_order_relaxed);
	atomic_store_explicit(&s->blob_time,
			      (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
			      memory_order_relaxed);
	atomic_store_explicit(&s->blob_seq, seq + 2, memory_order_release);
}

size_t vgshim_last_create_blob(void *buf, size_t size)
{
	uint64_t best = 0, w[8], best_w[8];
	size_t n = 0;

	pthread_mutex_lock(&vgshim_shards.lock);
	for (struct vgshim_shard *s = vgshim_shards.all; s; s = s->next) {
		uint64_t s1, s2, t, sz;

		do {
			s1 = atomic_load_explicit(&s->blob_seq, memory_order_acquire);
			for (size_t i = 0; i < 8; i++)
				w[i] = atomic_load_explicit(&s->blob[i], memory_order_relaxed);
			sz = atomic_load_explicit(&s->blob_size, memory_order_relaxed);
			t = atomic_load_explicit(&s->blob_time, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			s2 = atomic_load_explicit(&s->blob_seq, memory_order_relaxed);
		} while (s1 != s2 || (s1 & 1));
		if (sz && t >= best) {
			best = t;
			n = sz;
			memcpy(best_w, w, sizeof(w));
		}
	}
	pthread_mutex_unlock(&vgshim_shards.lock);
	if (n) {
		size_t copy = n < size ? n : size;

		memcpy(buf, best_w, copy < sizeof(best_w) ? copy : sizeof(best_w));
	}
	return n;
}

/* Only while nothing of the model is in use (reconfiguration). */
void vgshim_counters_zero(void)
{
	pthread_mutex_lock(&vgshim_shards.lock);
	for (size_t i = 0; i < VGSHIM_NUM_COUNTERS; i++)
		__atomic_store_n(&vgshim_shards.spill[i], 0, __ATOMIC_RELAXED);
	for (struct vgshim_shard *s = vgshim_shards.all; s; s = s->next) {
		for (size_t i = 0; i < VGSHIM_NUM_COUNTERS; i++)
			__atomic_store_n(&s->v[i], 0, __ATOMIC_RELAXED);
		atomic_store(&s->blob_size, 0);
	}
	pthread_mutex_unlock(&vgshim_shards.lock);
}

/* fork: the child gets the shards in a consistent state. */
void vgshim_counters_atfork(int phase)
{
	if (phase == 0)
		pthread_mutex_lock(&vgshim_shards.lock);
	else
		pthread_mutex_unlock(&vgshim_shards.lock);
}
