/* SPDX-License-Identifier: MIT */
/* Context init, params, capsets, submissions and fences, syncobjs, WAIT,
 * fault injection, configuration validation, counters, and the model
 * preloaded into a program that does not know it. */
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts.h"

extern char **environ;

static int ctx_init(int fd, const struct drm_virtgpu_context_set_param *p, uint32_t n)
{
	struct drm_virtgpu_context_init ci = { n, 0, (uintptr_t)p };

	return ts_ioctl(fd, DRM_IOCTL_VIRTGPU_CONTEXT_INIT, &ci);
}

static void context_init_rules(void **state)
{
	const struct drm_virtgpu_context_set_param venus = { VIRTGPU_CONTEXT_PARAM_CAPSET_ID, 4 };
	struct drm_virtgpu_context_set_param p[4];
	int fd = ts_open(0);

	p[0] = (struct drm_virtgpu_context_set_param){ 99, 1 };
	assert_int_equal(ctx_init(fd, p, 1), -EINVAL);                 /* unknown param */
	p[0] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_CAPSET_ID, 1 };
	assert_int_equal(ctx_init(fd, p, 1), -EINVAL);                 /* capset not offered */
	p[0] = venus;
	p[1] = venus;
	assert_int_equal(ctx_init(fd, p, 2), -EINVAL);                 /* capset twice */
	p[1] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 65 };
	assert_int_equal(ctx_init(fd, p, 2), -EINVAL);                 /* too many rings */
	p[1] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_NUM_RINGS, 2 };
	p[2] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_POLL_RINGS_MASK, 4 };
	assert_int_equal(ctx_init(fd, p, 3), -EINVAL);                 /* ring 2 of 2 */
	assert_int_equal(ctx_init(fd, p, 5), -EINVAL);                 /* more than 4 params */
	p[2].value = 3;
	p[3] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_DEBUG_NAME,
						       (uintptr_t)"test" };
	assert_int_equal(ctx_init(fd, p, 4), 0);
	assert_int_equal(ctx_init(fd, p, 1), -EEXIST);                 /* only once */
	close(fd);

	/* a blob before CONTEXT_INIT creates a default context */
	fd = ts_open(0);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, NULL), 0);
	assert_int_equal(ctx_init(fd, &venus, 1), -EEXIST);
	close(fd);

	/* Linux 6.1: no DEBUG_NAME */
	tc_model_use(*state, "VGSHIM_PARAM_EXPLICIT_DEBUG_NAME", "absent", NULL);
	fd = ts_open(0);
	p[0] = venus;
	p[1] = (struct drm_virtgpu_context_set_param){ VIRTGPU_CONTEXT_PARAM_DEBUG_NAME,
						       (uintptr_t)"x" };
	assert_int_equal(ctx_init(fd, p, 2), -EINVAL);
	close(fd);
	/* no context init at all */
	tc_model_use(*state, "VGSHIM_PARAM_CONTEXT_INIT", "0", NULL);
	fd = ts_open(0);
	assert_int_equal(ctx_init(fd, &venus, 1), -EINVAL);
	close(fd);
}

static void getparam_and_caps(void **state)
{
	int fd, value = 0;
	struct drm_virtgpu_getparam gp = { 0, (uintptr_t)&value };
	unsigned char caps[256];
	struct drm_virtgpu_get_caps gc = { VIRTGPU_CAPSET_VENUS, 0, (uintptr_t)caps, sizeof(caps), 0 };

	tc_model_use(*state, "VGSHIM_PARAM_EXPLICIT_DEBUG_NAME", "absent",
		     "VGSHIM_PARAM_HOST_VISIBLE", "0", NULL);
	fd = ts_open(0);
	gp.param = VIRTGPU_PARAM_SUPPORTED_CAPSET_IDs;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), 0);
	assert_int_equal(value, (1 << 3) | (1 << 4));
	gp.param = VIRTGPU_PARAM_HOST_VISIBLE;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), 0);
	assert_int_equal(value, 0);
	gp.param = VIRTGPU_PARAM_EXPLICIT_DEBUG_NAME;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), -EINVAL);
	gp.param = 9;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), -EINVAL);
	gp.param = 1;
	gp.value = 0;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &gp), -EFAULT);

	/* capsets: the Venus one, version negotiation, truncation */
	memset(caps, 0xee, sizeof(caps));
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc), 0);
	assert_int_equal(caps[0], 1);          /* wire format version */
	assert_int_equal(caps[160], 0xee);     /* max_size 160 */
	gc.cap_set_ver = 1;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc), -EINVAL);
	gc.cap_set_ver = 0;
	gc.cap_set_id = VIRTGPU_CAPSET_VIRGL;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc), -EINVAL);
	/* without host-visible memory a mappable HOST3D blob cannot map */
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096,
				 0, 0, NULL), -EINVAL);
	close(fd);
	/* a capset list with another version */
	tc_model_use(*state, "VGSHIM_CAPSETS", "3:2:32", NULL);
	fd = ts_open(0);
	gc = (struct drm_virtgpu_get_caps){ 3, 2, (uintptr_t)caps, sizeof(caps), 0 };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc), 0);
	gc.cap_set_id = 4;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &gc), -EINVAL);
	close(fd);
}

static void execbuffer_and_fences(void **state)
{
	int fd, ffd = -1;
	uint32_t h, cmd[VGSHIM_CMD_CREATE_MEM_LEN], sync, bad = 77;
	struct drm_virtgpu_execbuffer e;
	struct drm_virtgpu_execbuffer_syncobj out;
	struct drm_virtgpu_3d_wait w;
	struct pollfd pfd;

	tc_model_use(*state, "VGSHIM_MAP_LATENCY_US", "1000", NULL);
	fd = ts_open(VIRTGPU_CAPSET_VENUS);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, &h), 0);
	vgshim_cmd_create_mem(cmd, 9, 4096, VGSHIM_MEM_MAPPABLE);
	assert_int_equal(drmSyncobjCreate(fd, 0, &sync), 0);

	e = (struct drm_virtgpu_execbuffer){ .flags = 0x80 };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), -EINVAL);
	e = (struct drm_virtgpu_execbuffer){ .flags = VIRTGPU_EXECBUF_RING_IDX, .ring_idx = 2 };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), -EINVAL);
	e = (struct drm_virtgpu_execbuffer){ .bo_handles = (uintptr_t)&bad, .num_bo_handles = 1 };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), -ENOENT);
	out = (struct drm_virtgpu_execbuffer_syncobj){ .handle = sync };
	e = (struct drm_virtgpu_execbuffer){ .num_out_syncobjs = 1, .out_syncobjs = (uintptr_t)&out,
					     .syncobj_stride = 8 };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), -EINVAL);
	/* an unsignalled in-syncobj has no fence to wait for */
	e = (struct drm_virtgpu_execbuffer){ .num_in_syncobjs = 1, .in_syncobjs = (uintptr_t)&out,
					     .syncobj_stride = sizeof(out) };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), -EINVAL);

	e = (struct drm_virtgpu_execbuffer){
		.flags = VIRTGPU_EXECBUF_FENCE_FD_OUT | VIRTGPU_EXECBUF_RING_IDX,
		.ring_idx = 1,
		.size = sizeof(cmd), .command = (uintptr_t)cmd,
		.bo_handles = (uintptr_t)&h, .num_bo_handles = 1,
		.syncobj_stride = sizeof(out), .num_out_syncobjs = 1,
		.out_syncobjs = (uintptr_t)&out,
	};
	vgshim_host_hold(true);
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &e), 0);
	ffd = e.fence_fd;
	assert_true(ffd >= 0);
	assert_true(fcntl(ffd, F_GETFD) & FD_CLOEXEC);
	/* the host command ran: its memory object exists */
	assert_int_equal(ts_counters().host_mem_objects, 1);
	/* busy until the host answers (held: no timing involved) */
	w = (struct drm_virtgpu_3d_wait){ h, VIRTGPU_WAIT_NOWAIT };
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &w), -EBUSY);
	pfd = (struct pollfd){ .fd = ffd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0);
	vgshim_host_hold(false);
	w.flags = 0;
	assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &w), 0);
	pfd = (struct pollfd){ .fd = ffd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(drmSyncobjWait(fd, &sync, 1, INT64_MAX, 0, NULL), 0);
	close(ffd);
	/* the same command from an old (40-byte) caller */
	{
		struct drm_virtgpu_execbuffer_v1 e1 = { 0 };

		assert_int_equal(ts_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER_V1, &e1), 0);
	}
	assert_int_equal(drmSyncobjDestroy(fd, sync), 0);
	assert_int_equal(ts_close_handle(fd, h), 0);
	close(fd);
}

static void syncobjs(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	uint32_t a, b, first = 9;
	uint64_t pt = 0, five = 5;

	assert_int_equal(drmSyncobjCreate(fd, 0, &a), 0);
	assert_int_equal(drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &b), 0);
	assert_int_equal(ts_counters().live_syncobjs, 2);
	/* timeout: absolute, already past */
	assert_int_equal(drmSyncobjWait(fd, &a, 1, 0, 0, NULL), -ETIME);
	{
		uint32_t both[2] = { a, b };

		assert_int_equal(drmSyncobjWait(fd, both, 2, 0, 0, &first), 0);
		assert_int_equal(first, 1);
		assert_int_equal(drmSyncobjWait(fd, both, 2, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL),
				 -ETIME);
		assert_int_equal(drmSyncobjSignal(fd, &a, 1), 0);
		assert_int_equal(drmSyncobjWait(fd, both, 2, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL),
				 0);
		assert_int_equal(drmSyncobjReset(fd, both, 2), 0);
		assert_int_equal(drmSyncobjWait(fd, both, 2, 0, 0, NULL), -ETIME);
	}
	assert_int_equal(drmSyncobjTimelineSignal(fd, &a, &five, 1), 0);
	assert_int_equal(drmSyncobjQuery(fd, &a, &pt, 1), 0);
	assert_int_equal(pt, 5);
	assert_int_equal(drmSyncobjTimelineWait(fd, &a, &five, 1, 0, 0, NULL), 0);
	assert_int_equal(drmSyncobjDestroy(fd, 99), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(drmSyncobjWait(fd, (uint32_t[]){ 99 }, 1, 0, 0, NULL), -ENOENT);
	assert_int_equal(drmSyncobjDestroy(fd, a), 0);
	assert_int_equal(drmSyncobjDestroy(fd, b), 0);
	close(fd);
}

/* Every rule kind fails the call it names, with its errno, once. */
static void fault_injection(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS), nfd;
	uint32_t h, h2;
	uint64_t off;
	void *p;

	assert_int_equal(vgshim_set_fail("CREATE_BLOB:2:ENOMEM"), 0);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, &h), 0);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, &h2), -ENOMEM);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, &h2), 0);
	assert_int_equal(ts_close_handle(fd, h2), 0);
	assert_int_equal(ts_counters().faults_injected, 1);

	/* EINTR: drmIoctl retries, the caller sees success */
	assert_int_equal(vgshim_set_fail("MAP:1:EINTR"), 0);
	assert_int_equal(ts_map_ioctl(fd, h, &off), 0);

	assert_int_equal(vgshim_set_fail("mmap:*:ENOMEM"), 0);
	assert_true(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)off) == MAP_FAILED);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(vgshim_set_fail(NULL), 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)off);
	assert_true(p != MAP_FAILED);
	munmap(p, 4096);
	assert_int_equal(ts_close_handle(fd, h), 0);

	/* the host's answer to MAP_BLOB: ERR for that object */
	assert_int_equal(vgshim_set_fail("hostmap:1:EIO"), 0);
	assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE, 4096,
				 VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h), 0);
	assert_null(ts_mmap(fd, h, 4096));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ts_counters().host_map_errors, 1);
	assert_int_equal(ts_close_handle(fd, h), 0);

	/* open of the node */
	assert_int_equal(vgshim_set_fail("open:1:EACCES"), 0);
	nfd = open(TS_NODE, O_RDWR | O_CLOEXEC);
	assert_int_equal(nfd, -1);
	assert_int_equal(errno, EACCES);

	/* every allocation site of the model fails once, cleanly */
	assert_int_equal(vgshim_set_fail("alloc:once:ENOMEM"), 0);
	for (int i = 0; i < 20; i++) {
		int ret = ts_blob(fd, VIRTGPU_BLOB_MEM_GUEST, 0, 4096, 0, 0, &h);

		assert_true(ret == 0 || ret == -ENOMEM);
		if (!ret)
			assert_int_equal(ts_close_handle(fd, h), 0);
	}
	assert_int_equal(vgshim_set_fail(NULL), 0);

	/* bad rules are refused and leave the old ones */
	assert_int_equal(vgshim_set_fail("CREATE_BLOB:0:ENOMEM"), -EINVAL);
	assert_int_equal(vgshim_set_fail("CREATE_BLOB:1:EWHAT"), -EINVAL);
	assert_int_equal(vgshim_set_fail("mmap:once:ENOMEM"), -EINVAL);
	assert_int_equal(vgshim_set_fail("nonsense"), -EINVAL);
	close(fd);
}

static void config_validation(void **state)
{
	assert_int_equal(vgshim_configure("VGSHIM_KERNEL", "v3"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_HOSTMEM", "12Q"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_HOSTMEM", "1000"), -EINVAL); /* not pages */
	assert_int_equal(vgshim_configure("VGSHIM_HOSTMEM", "0"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_MAP_LATENCY_US", "-1"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_HANG_MS", "0"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_PARTIAL_MMAP", "yes"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_NODE", "relative"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_PARAM_NOPE", "1"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_CAPSETS", "x"), -EINVAL);
	assert_int_equal(vgshim_configure("VGSHIM_NOPE", "1"), -EINVAL);
	/* reconfiguring with a file open is refused */
	{
		int fd = ts_open(0);

		assert_int_equal(vgshim_configure("VGSHIM_KERNEL", "v2"), -EBUSY);
		close(fd);
	}
	assert_int_equal(vgshim_configure("VGSHIM_HOSTMEM", "1G"), 0);
	assert_int_equal(ts_counters().region_size, 1ull << 30);
	assert_int_equal(vgshim_reset(), 0);
	assert_int_equal(ts_counters().region_size, 256ull << 20);
}

/* Runs argv with extra environment; returns the exit status. */
static int run_with_env(char *const argv[], char *const extra[])
{
	char *envp[256];
	int n = 0, st;
	pid_t pid;

	for (char **e = environ; *e && n < 240; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "VGSHIM_", 7))
			envp[n++] = *e;
	for (; *extra; extra++)
		envp[n++] = *extra;
	envp[n] = NULL;
	assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, envp), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The real LD_PRELOAD path, its counters dump, and a bad variable. */
static void preloaded(void **state)
{
	const char *so = getenv("TEST_VGSHIM_SO"), *probe = getenv("PRELOAD_PROBE");
	char *stats = tc_write_temp(""), pre[512], st_env[512], line[128];
	char *argv[] = { (char *)probe, NULL };
	FILE *f;
	bool saw_objects = false, saw_ioctls = false;

	/* TSan cannot start a program whose preloaded (instrumented) library
	 * comes before its runtime; the path is covered by the other builds. */
	if (getenv("VWS_TEST_SANITIZER") && !strcmp(getenv("VWS_TEST_SANITIZER"), "tsan")) {
		unlink(stats);
		free(stats);
		skip();
	}
	assert_non_null(so);
	assert_non_null(probe);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", so);
	snprintf(st_env, sizeof(st_env), "VGSHIM_STATS=%s", stats);
	assert_int_equal(run_with_env(argv, (char *[]){ pre, st_env, "VGSHIM_KERNEL=v2", NULL }), 0);
	f = fopen(stats, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		saw_objects |= !strcmp(line, "live_objects 0\n");
		saw_ioctls |= !strncmp(line, "ioctls_total ", 13) && atoi(line + 13) >= 4;
	}
	fclose(f);
	assert_true(saw_objects);
	assert_true(saw_ioctls);
	/* a bad value: the node cannot be opened (probe exits 10) */
	assert_int_equal(run_with_env(argv, (char *[]){ pre, "VGSHIM_KERNEL=v9", NULL }), 10);
	assert_int_equal(run_with_env(argv, (char *[]){ pre, "VGSHIM_TYPO=1", NULL }), 10);
	/* without the model there is no node here */
	assert_int_equal(run_with_env(argv, (char *[]){ NULL }), 10);
	unlink(stats);
	free(stats);
}

/* The model under valgrind: the self-check (linked, so the model's
 * interposition is what valgrind runs) must report no memory error and no
 * definite leak. Small on purpose: valgrind is slow. */
static void under_valgrind(void **state)
{
	const char *check = getenv("TEST_VGSHIM_SELFCHECK"), *vg = getenv("TEST_VALGRIND");
	char *argv[] = { (char *)vg, "-q", "--error-exitcode=99", "--leak-check=full",
			 "--errors-for-leak-kinds=definite",
			 /* the host thread still runs at exit: its TLS is "possibly lost" */
			 "--show-possibly-lost=no", (char *)check, NULL };

	(void)state;
	/* sanitizer and valgrind stages already run everything instrumented */
	if (!vg || !*vg || getenv("VWS_TEST_SANITIZER"))
		skip();
	assert_non_null(check);
	assert_int_equal(run_with_env(argv, (char *[]){ "VGSHIM_KERNEL=v1", NULL }), 0);
	assert_int_equal(run_with_env(argv, (char *[]){ "VGSHIM_MAP_LATENCY_US=500", NULL }), 0);
}

/* The counters say what was done. */
static void counters_agree(void **state)
{
	int fd = ts_open(VIRTGPU_CAPSET_VENUS);
	struct vgshim_counters a = ts_counters(), b;
	uint32_t h[3];
	void *p;

	for (int i = 0; i < 3; i++)
		assert_int_equal(ts_blob(fd, VIRTGPU_BLOB_MEM_HOST3D, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
					 TS_MIB, VIRTGPU_BLOB_HINT_DEFER_MAPPING, 0, &h[i]), 0);
	p = ts_mmap(fd, h[1], TS_MIB);
	assert_non_null(p);
	b = ts_counters();
	assert_int_equal(b.ioctls[0x40 + DRM_VIRTGPU_RESOURCE_CREATE_BLOB] -
			 a.ioctls[0x40 + DRM_VIRTGPU_RESOURCE_CREATE_BLOB], 3);
	assert_int_equal(b.ioctls[0x40 + DRM_VIRTGPU_MAP] - a.ioctls[0x40 + DRM_VIRTGPU_MAP], 1);
	assert_int_equal(b.ioctls_total - a.ioctls_total, 4);
	assert_int_equal(b.live_objects, 3);
	assert_int_equal(b.live_handles, 3);
	assert_int_equal(b.live_mappings, 1);
	assert_int_equal(b.mmaps - a.mmaps, 1);
	/* legacy maps all three at creation; the others only the mapped one */
	assert_int_equal(b.host_map_cmds - a.host_map_cmds, strcmp(*state, "legacy") ? 1 : 3);
	assert_int_equal(b.region_bytes_in_use, strcmp(*state, "legacy") ? TS_MIB : 3 * TS_MIB);
	munmap(p, TS_MIB);
	assert_int_equal(ts_counters().munmaps - b.munmaps, 1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TS_TEST(context_init_rules),
		TS_TEST(getparam_and_caps),
		TS_ALL_GENS(execbuffer_and_fences),
		TS_TEST(syncobjs),
		TS_ALL_GENS(fault_injection),
		TS_TEST(config_validation),
		TS_TEST(preloaded),
		TS_TEST(under_valgrind),
		TS_ALL_GENS(counters_agree),
	};

	return cmocka_run_group_tests_name("shim-misc", tests, NULL, NULL);
}
