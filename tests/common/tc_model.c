/* SPDX-License-Identifier: MIT */
/* Kernel-model helpers: generations and leak checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "tc_common.h"
#include "vgshim.h"

const char *const tc_generations[TC_NUM_GENERATIONS] = { "legacy", "v1", "v2", "fixed" };

void tc_model_use(const char *generation, ...)
{
	const char *name;
	va_list ap;

	assert_int_equal(vgshim_reset(), 0);
	if (generation)
		assert_int_equal(vgshim_configure("VGSHIM_KERNEL", generation), 0);
	va_start(ap, generation);
	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);
		int ret = vgshim_configure(name, value);

		if (ret)
			print_error("vgshim_configure(%s, %s) = %d\n", name, value, ret);
		assert_int_equal(ret, 0);
	}
	va_end(ap);
}

void tc_leak_begin(struct tc_leak_baseline *b)
{
	struct vgshim_counters c;

	vgshim_get_counters(&c);
	b->fds = tc_count_fds();
	b->host_mem_objects = c.host_mem_objects;
}

void tc_leak_check(const struct tc_leak_baseline *b)
{
	struct vgshim_counters c;

	vgshim_host_drain();
	vgshim_get_counters(&c);
	/* Host memory objects (the model's registry) hold one memfd each: on a
	 * real system that memory lives in the host, not in this process. */
	assert_int_equal(tc_count_fds() - (int64_t)c.host_mem_objects,
			 b->fds - (int64_t)b->host_mem_objects);
	assert_int_equal(c.live_files, 0);
	assert_int_equal(c.live_handles, 0);
	assert_int_equal(c.live_mappings, 0);
	assert_int_equal(c.live_dmabufs, 0);
	assert_int_equal(c.live_objects, 0);
	assert_int_equal(c.live_syncobjs, 0);
}
