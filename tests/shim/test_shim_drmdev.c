/* SPDX-License-Identifier: MIT */
/*
 * libdrm's device enumeration through the model: the node is a virtio-gpu
 * PCI device (what unmodified drivers look for), alone or beside what
 * libdrm finds itself, freeable by libdrm's own drmFreeDevice.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ts.h"

static drmDevicePtr tsd_find_ours(drmDevicePtr *devs, int n)
{
	drmDevicePtr found = NULL;

	for (int i = 0; i < n; i++) {
		if ((devs[i]->available_nodes & (1 << DRM_NODE_RENDER)) &&
		    !strcmp(devs[i]->nodes[DRM_NODE_RENDER], TS_NODE)) {
			assert_null(found); /* reported once */
			found = devs[i];
		}
	}
	return found;
}

static void tsd_check_device(drmDevicePtr d)
{
	assert_non_null(d);
	assert_int_equal(d->bustype, DRM_BUS_PCI);
	assert_int_equal(d->deviceinfo.pci->vendor_id, 0x1af4);
	assert_int_equal(d->deviceinfo.pci->device_id, 0x1050);
	assert_string_equal(d->nodes[DRM_NODE_RENDER], TS_NODE);
	/* the model has no primary node */
	assert_false(d->available_nodes & (1 << DRM_NODE_PRIMARY));
}

static void tsd_enumerate(void **state)
{
	drmDevicePtr devs[16] = { 0 };
	int count, n;

	(void)state;
	count = drmGetDevices2(0, NULL, 0);
	assert_true(count >= 1);
	n = drmGetDevices2(0, devs, 16);
	assert_int_equal(n, count);
	tsd_check_device(tsd_find_ours(devs, n));
	drmFreeDevices(devs, n);
	for (int i = 0; i < n; i++)
		assert_null(devs[i]);
	/* the legacy entry point too */
	n = drmGetDevices(devs, 16);
	assert_int_equal(n, count);
	tsd_check_device(tsd_find_ours(devs, n));
	drmFreeDevices(devs, n);
}

/* A short array gets what fits; the rest is freed (the leak check of
 * the teardown counts fds, ASan the heap). */
static void tsd_short_array(void **state)
{
	drmDevicePtr one[1] = { 0 };

	(void)state;
	assert_int_equal(drmGetDevices2(0, one, 1), 1);
	assert_non_null(one[0]);
	drmFreeDevice(&one[0]);
	assert_null(one[0]);
	assert_int_equal(drmGetDevices2(0, one, 0), 0);
}

static void tsd_by_fd(void **state)
{
	drmDevicePtr d = NULL;
	int fd = ts_open(0), other = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_int_equal(drmGetDevice2(fd, 0, &d), 0);
	tsd_check_device(d);
	drmFreeDevice(&d);
	assert_int_equal(drmGetDevice(fd, &d), 0);
	tsd_check_device(d);
	drmFreeDevice(&d);
	/* not a DRM fd: libdrm's own answer, an error */
	assert_true(drmGetDevice2(other, 0, &d) < 0);
	close(other);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_TEST(tsd_enumerate),
		TS_TEST(tsd_short_array),
		TS_TEST(tsd_by_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
