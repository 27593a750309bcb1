/* SPDX-License-Identifier: MIT */
/*
 * Shared test helpers (cmocka): fd counting, leak checks against the
 * kernel model's live counters, and the model's kernel generations.
 * Include after <cmocka.h>'s prerequisites (stdarg, stddef, setjmp).
 */
#ifndef TC_COMMON_H
#define TC_COMMON_H

#include <stdbool.h>
#include <stdint.h>

/* Open file descriptors of this process (/proc/self/fd). */
int tc_count_fds(void);

/* The model's generations, in VGSHIM_KERNEL spelling. */
#define TC_NUM_GENERATIONS 4
extern const char *const tc_generations[TC_NUM_GENERATIONS];

/* Fresh model device of that generation (vgshim_reset + VGSHIM_KERNEL);
 * extra settings as name/value pairs, NULL-terminated. Fails the test if
 * the model refuses any of them. */
void tc_model_use(const char *generation, ...) __attribute__((sentinel));

/* What must come back to zero when a test has released everything. */
struct tc_leak_baseline {
	int fds;
	uint64_t host_mem_objects;
};

/* Call at the start of a test (after the model is set up). */
void tc_leak_begin(struct tc_leak_baseline *b);
/* Call when everything is released: waits for the host (no sleeping),
 * then asserts: same fd count, and no live model handles, mappings,
 * dma-bufs, objects, syncobjs or open node files. */
void tc_leak_check(const struct tc_leak_baseline *b);

/* Writes text into a new temporary file; returns its malloc'd path. */
char *tc_write_temp(const char *text);
/* A fresh empty temporary directory (malloc'd path). */
char *tc_temp_dir(void);
/* What fn(arg) wrote to stderr (fd 2 and stdio), in a static buffer that
 * the next call overwrites (at most 8 KiB kept). */
const char *tc_stderr_of(void (*fn)(void *), void *arg);

#endif /* TC_COMMON_H */
