/* SPDX-License-Identifier: MIT */
/*
 * Every fd the winsys (and the Vulkan layer) opens is close-on-exec: a
 * program that execs a child must not hand it the GPU. The test opens
 * everything there is to open, checks the flag on each new fd, then execs
 * itself as a child that lists what it inherited.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "drm-uapi/virtgpu_drm.h"
#include "tc_common.h"
#include "vgshim.h"
#include "vws/vws.h"

static char self[4096];

/* fds of this process above stderr, excluding the directory stream's */
static int list_fds(int *out, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d) &&
		    n < max)
			out[n++] = atoi(e->d_name);
	closedir(d);
	return n;
}

static void cloexec(void **state)
{
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1,
					     .defer = VWS_DEFER_ALWAYS };
	struct vws_bo_create_info bi = {
		.blob_mem = VIRTGPU_BLOB_MEM_HOST3D,
		.blob_flags = VIRTGPU_BLOB_FLAG_USE_MAPPABLE | VIRTGPU_BLOB_FLAG_USE_SHAREABLE,
		.size = 65536, .flags = VWS_BO_DEVICE_LOCAL,
	};
	struct vws_syncobj_point sp;
	struct vws_submit_info si = { .in_fence_fd = -1 };
	struct vws_device *dev;
	struct vws_bo *bo, *imp;
	int before[256], after[256], nb, na, fd, ffd = -1, st;
	char list[2048] = "";
	uint32_t sync;
	void *p;
	pid_t pid;

	(void)state;
	tc_model_use("fixed", NULL);
	nb = list_fds(before, 256);
	assert_int_equal(vws_device_create(&ci, &dev), 0);
	assert_int_equal(vws_bo_create(dev, &bi, &bo), 0);
	assert_int_equal(vws_bo_map(bo, &p), 0);
	assert_int_equal(vws_bo_export_fd(bo, &fd), 0);
	assert_int_equal(vws_bo_import_fd(dev, fd, 0, &imp), 0);
	assert_int_equal(vws_syncobj_create(dev, false, &sync), 0);
	sp = (struct vws_syncobj_point){ .handle = sync };
	si.out_fence_fd = &ffd;
	si.out_syncobjs = &sp;
	si.num_out_syncobjs = 1;
	assert_int_equal(vws_submit(dev, &si), 0);
	na = list_fds(after, 256);
	assert_true(na > nb);
	for (int i = 0; i < na; i++) {
		bool old = false;

		for (int j = 0; j < nb; j++)
			old |= before[j] == after[i];
		if (old)
			continue;
		if (!(fcntl(after[i], F_GETFD) & FD_CLOEXEC))
			print_error("fd %d is not close-on-exec\n", after[i]);
		assert_true(fcntl(after[i], F_GETFD) & FD_CLOEXEC);
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%d,", after[i]);
	}
	/* the child sees none of them */
	pid = fork();
	if (pid == 0) {
		execl(self, self, "--check-closed", list, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	/* exit status: how many of the winsys's fds the child inherited */
	assert_int_equal(WEXITSTATUS(st), 0);
	close(ffd);
	close(fd);
	vws_bo_unref(imp);
	vws_bo_unref(bo);
	assert_int_equal(vws_syncobj_destroy(dev, sync), 0);
	vws_device_unref(dev);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cloexec),
	};
	ssize_t n;

	if (argc > 2 && !strcmp(argv[1], "--check-closed")) {
		int open_fds = 0;

		for (char *t = strtok(argv[2], ","); t; t = strtok(NULL, ","))
			if (fcntl(atoi(t), F_GETFD) != -1) {
				fprintf(stderr, "cloexec: child inherited fd %s\n", t);
				open_fds++;
			}
		return open_fds;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	return cmocka_run_group_tests_name("cloexec", tests, NULL, NULL);
}
