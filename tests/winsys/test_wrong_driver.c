/* SPDX-License-Identifier: MIT */
/*
 * A render node of another DRM driver. The model only plays virtio_gpu,
 * so this program puts a different name in libdrm's answer: its own
 * drmGetVersion() comes first in symbol lookup and wraps libdrm's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "tw.h"

static const char *fake_driver; /* NULL: pass libdrm's answer through */

drmVersionPtr drmGetVersion(int fd)
{
	drmVersionPtr (*real)(int) = (drmVersionPtr(*)(int))dlsym(RTLD_NEXT, "drmGetVersion");
	drmVersionPtr v = real(fd);

	if (v && fake_driver) {
		char *name = strdup(fake_driver);

		if (!name) {
			drmFreeVersion(v);
			return NULL;
		}
		/* drmFreeVersion frees name with free(). */
		free(v->name);
		v->name = name;
		v->name_len = (int)strlen(name);
	}
	return v;
}


static void wrong_driver(void **state)
{
	const char *log;
	int ret;

	fake_driver = "i915";
	/* The path given: -ENODEV, and the log names the driver found. */
	log = tw_open_log("init", (struct vws_device_create_info){ .path = "/dev/dri/renderD128" },
			    &ret);
	assert_int_equal(ret, -ENODEV);
	assert_non_null(strstr(log, "DRM driver is 'i915', not virtio_gpu"));
	/* The scan skips it, and says what it saw. */
	log = tw_open_log("init", (struct vws_device_create_info){ .capset_id = VIRTGPU_CAPSET_VENUS },
			    &ret);
	assert_int_equal(ret, -ENODEV);
	assert_non_null(strstr(log, "/dev/dri/renderD128: DRM driver is 'i915'"));
	assert_int_equal(tw_counters().live_files, 0);
	fake_driver = NULL;

	/* Sanity: the wrapper passes the real answer through. */
	log = tw_open_log("init", (struct vws_device_create_info){ .capset_id = VIRTGPU_CAPSET_VENUS },
			    &ret);
	assert_int_equal(ret, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_TEST(wrong_driver),
	};

	return cmocka_run_group_tests_name("wrong_driver", tests, NULL, NULL);
}
