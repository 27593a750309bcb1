/* SPDX-License-Identifier: MIT */
/*
 * The vtest connection layer against a real virgl_test_server (Venus on
 * lavapipe) and against a scripted fake server for the error paths.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "tc_common.h"
#include "vt_server.h"
#include "vws_vtest_conn.h"
#include "vws_vtest_proto.h"

#define VENUS 4
#define PAGE 4096u

static struct vt_server server;

static int group_setup(void **state)
{
	vt_server_start(&server, true);
	return 0;
}

static int group_teardown(void **state)
{
	vt_server_stop(&server);
	return 0;
}

static struct vws_vtest_conn *connect_ok(const char *path, int timeout_ms)
{
	struct vws_vtest_conn *c = NULL;

	assert_int_equal(vws_vtest_conn_open(path, "test_vtest_conn", timeout_ms, &c), 0);
	assert_non_null(c);
	return c;
}

static void test_connect_and_version(void **state)
{
	int fds = tc_count_fds();
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);

	assert_int_equal(vws_vtest_conn_version(c), 3);
	assert_int_equal(vws_vtest_ping(c), 0);
	assert_int_equal(vws_vtest_conn_error(c), 0);
	vws_vtest_conn_destroy(c);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_get_param(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	bool valid = false;
	uint32_t v = 0;

	assert_int_equal(vws_vtest_get_param(c, VWS_VTEST_PARAM_MAX_TIMELINE_COUNT, &valid, &v), 0);
	assert_true(valid);
	assert_int_equal(v, 64);
	/* An unknown param is answered "not valid", not by closing. */
	assert_int_equal(vws_vtest_get_param(c, 0x7777, &valid, &v), 0);
	assert_false(valid);
	assert_int_equal(vws_vtest_ping(c), 0);
	vws_vtest_conn_destroy(c);
}

static void test_venus_capset(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	uint32_t caps[64];
	size_t size = 0;

	memset(caps, 0xa5, sizeof(caps));
	assert_int_equal(vws_vtest_get_capset(c, VENUS, 0, caps, sizeof(caps), &size), 0);
	/* 39 dwords after the "valid" dword: a 40-dword reply. */
	assert_int_equal(size, 39 * 4);
	assert_true(caps[0] < 0x10000);                  /* wire format version */
	assert_int_equal((caps[1] >> 22) & 0x7f, 1);     /* vk.xml 1.x */
	assert_true(caps[3] != 0);                       /* Venus protocol version */
	assert_int_equal(caps[4], 1);                    /* blob_id 0 (render server) */
	assert_int_equal(caps[39], 0xa5a5a5a5);          /* nothing written past it */
	/* A version it does not have, and a capset id it does not have. */
	assert_int_equal(vws_vtest_get_capset(c, VENUS, 1, caps, sizeof(caps), NULL), -EINVAL);
	assert_int_equal(vws_vtest_get_capset(c, 5, 0, caps, sizeof(caps), NULL), -EINVAL);
	/* A smaller buffer gets a prefix and the rest is consumed. */
	assert_int_equal(vws_vtest_get_capset(c, VENUS, 0, caps, 8, &size), 0);
	assert_int_equal(size, 39 * 4);
	assert_int_equal(vws_vtest_ping(c), 0);
	vws_vtest_conn_destroy(c);
}

static void test_context_and_blobs(void **state)
{
	static const uint64_t sizes[] = { PAGE, 3 * PAGE, 1u << 20 };
	int fds = tc_count_fds();
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);

	assert_int_equal(vws_vtest_context_init(c, VENUS), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t res = 0;
		struct stat st;
		uint8_t *p;
		int fd = -1;

		assert_int_equal(vws_vtest_blob_create(c, VWS_VTEST_BLOB_TYPE_HOST3D,
						       VWS_VTEST_BLOB_FLAG_MAPPABLE, sizes[i], 0,
						       &res, &fd), 0);
		assert_true(res != 0);
		assert_true(fd >= 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		assert_int_equal(fstat(fd, &st), 0);
		assert_true((uint64_t)st.st_size >= sizes[i]);
		p = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		assert_true(p != MAP_FAILED);
		p[0] = 0x5a;
		p[sizes[i] - 1] = 0xa5;
		assert_int_equal(pread(fd, &p[1], 1, (off_t)sizes[i] - 1), 1);
		assert_int_equal(p[1], 0xa5);
		munmap(p, sizes[i]);
		close(fd);
		assert_int_equal(vws_vtest_resource_unref(c, res), 0);
	}
	assert_int_equal(vws_vtest_ping(c), 0);
	vws_vtest_conn_destroy(c);
	assert_int_equal(tc_count_fds(), fds);
}

/* The server's answer to a request it rejects: it closes the connection. */
static void test_refused_blob_closes(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	uint32_t res;
	int fd, ret;

	assert_int_equal(vws_vtest_context_init(c, VENUS), 0);
	ret = vws_vtest_blob_create(c, VWS_VTEST_BLOB_TYPE_HOST3D,
				    VWS_VTEST_BLOB_FLAG_MAPPABLE | VWS_VTEST_BLOB_FLAG_SHAREABLE,
				    PAGE, 0, &res, &fd);
	assert_int_equal(ret, -ECONNRESET);
	/* Sticky: the stream is gone. */
	assert_int_equal(vws_vtest_ping(c), -ECONNRESET);
	assert_int_equal(vws_vtest_conn_error(c), -ECONNRESET);
	vws_vtest_conn_destroy(c);
}

static void test_syncs(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	uint32_t id, ids[1];
	uint64_t v = 99, vals[1];
	struct pollfd p;
	int efd;

	assert_int_equal(vws_vtest_context_init(c, VENUS), 0);
	assert_int_equal(vws_vtest_sync_create(c, 3, &id), 0);
	assert_int_equal(vws_vtest_sync_read(c, id, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(vws_vtest_sync_write(c, id, 5), 0);
	assert_int_equal(vws_vtest_sync_read(c, id, &v), 0);
	assert_int_equal(v, 5);

	/* Waiting for 7: not ready; submitting an empty batch that sets 7 on
	 * ring 0 makes the eventfd readable. */
	ids[0] = id;
	vals[0] = 7;
	assert_int_equal(vws_vtest_sync_wait(c, 0, 20000, ids, vals, 1, &efd), 0);
	p = (struct pollfd){ .fd = efd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(vws_vtest_submit(c, NULL, 0, 0, ids, vals, 1), 0);
	assert_int_equal(poll(&p, 1, 20000), 1);
	close(efd);
	assert_int_equal(vws_vtest_sync_read(c, id, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(vws_vtest_sync_unref(c, id), 0);
	assert_int_equal(vws_vtest_ping(c), 0);
	vws_vtest_conn_destroy(c);
}

static void test_bad_arguments(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	uint32_t one = 1;
	int fd;

	assert_int_equal(vws_vtest_submit(c, &one, 3, 0, NULL, NULL, 0), -EINVAL);
	assert_int_equal(vws_vtest_submit(c, NULL, 4, 0, NULL, NULL, 0), -EINVAL);
	assert_int_equal(vws_vtest_sync_wait(c, 0, 0, NULL, NULL, 0, &fd), -EINVAL);
	/* Nothing was sent: the connection is fine. */
	assert_int_equal(vws_vtest_ping(c), 0);
	vws_vtest_conn_destroy(c);
	assert_int_equal(vws_vtest_conn_open(NULL, "x", 0, &c), -EINVAL);
}

struct hammer {
	struct vws_vtest_conn *c;
	int failures;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < 200; i++) {
		bool valid;
		uint32_t v;

		if (vws_vtest_get_param(h->c, VWS_VTEST_PARAM_MAX_TIMELINE_COUNT, &valid, &v) ||
		    !valid || v != 64 || vws_vtest_ping(h->c))
			h->failures++;
	}
	return NULL;
}

/* One socket, four threads: replies never go to the wrong caller. */
static void test_threads_share_connection(void **state)
{
	struct vws_vtest_conn *c = connect_ok(server.sock, 0);
	struct hammer h[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .c = c };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].failures, 0);
	}
	assert_int_equal(vws_vtest_conn_error(c), 0);
	vws_vtest_conn_destroy(c);
}

static void test_no_server(void **state)
{
	char *dir = tc_temp_dir();
	char path[256];
	struct vws_vtest_conn *c = NULL;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fds = tc_count_fds(), s;

	snprintf(path, sizeof(path), "%s/none.sock", dir);
	assert_int_equal(vws_vtest_conn_open(path, "x", 0, &c), -ENOENT);
	assert_null(c);
	/* A socket file nobody listens on any more. */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	close(s);
	assert_int_equal(vws_vtest_conn_open(path, "x", 0, &c), -ECONNREFUSED);
	assert_null(c);
	assert_int_equal(tc_count_fds(), fds);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void test_server_killed(void **state)
{
	struct vt_server own;
	struct vws_vtest_conn *c;
	uint32_t res;
	int fd, ret;

	vt_server_start(&own, true);
	c = connect_ok(own.sock, 0);
	assert_int_equal(vws_vtest_context_init(c, VENUS), 0);
	vt_server_kill(&own);
	ret = vws_vtest_ping(c);
	assert_true(ret == -ECONNRESET || ret == -EIO);
	ret = vws_vtest_blob_create(c, VWS_VTEST_BLOB_TYPE_HOST3D, VWS_VTEST_BLOB_FLAG_MAPPABLE,
				    PAGE, 0, &res, &fd);
	assert_true(ret == -ECONNRESET || ret == -EIO);
	/* Requests without a reply fail too once the stream is known dead. */
	assert_true(vws_vtest_resource_unref(c, 1) < 0);
	vws_vtest_conn_destroy(c);
	vt_server_stop(&own);
}

/* ---- fake server ---- */

static int fake_open(enum vt_fake_script script, int timeout_ms, struct vt_fake *f,
		     struct vws_vtest_conn **c)
{
	vt_fake_start(f, script);
	return vws_vtest_conn_open(f->sock, "fake", timeout_ms, c);
}

static void expect_handshake_error(enum vt_fake_script script, int err)
{
	struct vws_vtest_conn *c = NULL;
	struct vt_fake f;
	int fds = tc_count_fds();

	assert_int_equal(fake_open(script, 2000, &f, &c), err);
	assert_null(c);
	vt_fake_stop(&f);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_fake_close_at_hello(void **state)
{
	expect_handshake_error(VT_FAKE_CLOSE_AT_HELLO, -ECONNRESET);
}

static void test_fake_old_server(void **state)
{
	expect_handshake_error(VT_FAKE_OLD_SERVER, -EPROTONOSUPPORT);
}

static void test_fake_version_2(void **state)
{
	expect_handshake_error(VT_FAKE_VERSION_2, -EPROTONOSUPPORT);
}

static void test_fake_garbage_hello(void **state)
{
	expect_handshake_error(VT_FAKE_GARBAGE_HELLO, -EPROTO);
}

/* A good handshake, then one request answered by the script. */
static struct vws_vtest_conn *fake_session(enum vt_fake_script script, int timeout_ms,
					   struct vt_fake *f)
{
	struct vws_vtest_conn *c = NULL;

	assert_int_equal(fake_open(script, timeout_ms, f, &c), 0);
	assert_int_equal(vws_vtest_conn_version(c), 3);
	return c;
}

static void expect_param_error(enum vt_fake_script script, int timeout_ms, int err)
{
	int fds = tc_count_fds();
	struct vt_fake f;
	struct vws_vtest_conn *c = fake_session(script, timeout_ms, &f);
	bool valid;
	uint32_t v;

	assert_int_equal(vws_vtest_get_param(c, 1, &valid, &v), err);
	/* Sticky, and immediate: no second wait. */
	assert_int_equal(vws_vtest_ping(c), err);
	assert_int_equal(vws_vtest_conn_error(c), err);
	vws_vtest_conn_destroy(c);
	vt_fake_stop(&f);
	assert_int_equal(f.requests, 1);
	assert_int_equal(tc_count_fds(), fds);
}

static void test_fake_wrong_cmd(void **state)
{
	expect_param_error(VT_FAKE_WRONG_CMD, 2000, -EPROTO);
}

static void test_fake_wrong_len(void **state)
{
	expect_param_error(VT_FAKE_WRONG_LEN, 2000, -EPROTO);
}

static void test_fake_short_reply(void **state)
{
	expect_param_error(VT_FAKE_SHORT_REPLY, 2000, -EIO);
}

static void test_fake_close(void **state)
{
	expect_param_error(VT_FAKE_CLOSE, 2000, -ECONNRESET);
}

static void test_fake_silent(void **state)
{
	expect_param_error(VT_FAKE_SILENT, 1000, -ETIMEDOUT);
}

static void expect_blob_error(enum vt_fake_script script, int err)
{
	int fds = tc_count_fds();
	struct vt_fake f;
	struct vws_vtest_conn *c = fake_session(script, 2000, &f);
	uint32_t res = 0;
	int fd = -7;

	assert_int_equal(vws_vtest_blob_create(c, VWS_VTEST_BLOB_TYPE_HOST3D,
					       VWS_VTEST_BLOB_FLAG_MAPPABLE, PAGE, 0, &res,
					       &fd), err);
	assert_int_equal(fd, -7); /* outputs untouched on failure */
	assert_int_equal(res, 0);
	vws_vtest_conn_destroy(c);
	vt_fake_stop(&f);
	/* Any fd that did arrive was closed. */
	assert_int_equal(tc_count_fds(), fds);
}

static void test_fake_blob_no_fd(void **state)
{
	expect_blob_error(VT_FAKE_BLOB_NO_FD, -EPROTO);
}

static void test_fake_blob_two_fds(void **state)
{
	expect_blob_error(VT_FAKE_BLOB_TWO_FDS, -EPROTO);
}

static void test_fake_blob_close_before_fd(void **state)
{
	expect_blob_error(VT_FAKE_BLOB_CLOSE_BEFORE_FD, -EIO);
}

static void expect_capset_error(enum vt_fake_script script, int err)
{
	struct vt_fake f;
	struct vws_vtest_conn *c = fake_session(script, 2000, &f);
	uint32_t buf[64];

	assert_int_equal(vws_vtest_get_capset(c, VENUS, 0, buf, sizeof(buf), NULL), err);
	assert_int_equal(vws_vtest_conn_error(c), err);
	vws_vtest_conn_destroy(c);
	vt_fake_stop(&f);
}

static void test_fake_capset_invalid_with_data(void **state)
{
	expect_capset_error(VT_FAKE_CAPSET_INVALID_DATA, -EPROTO);
}

static void test_fake_capset_truncated(void **state)
{
	expect_capset_error(VT_FAKE_CAPSET_TRUNCATED, -EIO);
}

/* What goes on the wire: a big submit (more than the socket buffer holds,
 * so sends are partial) and the 64-bit sync value split. */
static void test_fake_wire_layout(void **state)
{
	const uint32_t n = 1u << 20;
	uint32_t *cmd = malloc(n * 4), ids[2] = { 11, 12 };
	uint64_t vals[2] = { 5, 0x100000007ull }, sum = 0;
	struct vt_fake f;
	struct vws_vtest_conn *c = fake_session(VT_FAKE_RECORD, 5000, &f);
	uint32_t *h = f.last_head;

	assert_non_null(cmd);
	for (uint32_t i = 0; i < n; i++) {
		cmd[i] = i * 2654435761u;
		sum += cmd[i];
	}
	assert_int_equal(vws_vtest_submit(c, cmd, n * 4, 3, ids, vals, 2), 0);
	assert_int_equal(vws_vtest_conn_error(c), 0);
	vws_vtest_conn_destroy(c);
	vt_fake_stop(&f);
	free(cmd);

	assert_int_equal(f.requests, 2); /* the submit and its confirming ping */
	assert_int_equal(f.last_cmd, VWS_VTEST_CMD_SUBMIT_CMD2);
	assert_int_equal(f.last_len, 1 + 8 + 2 * 3 + n);
	assert_int_equal(h[0], 1);                              /* one batch */
	assert_int_equal(h[1 + VWS_VTEST_BATCH_FLAGS], VWS_VTEST_BATCH_FLAG_RING_IDX);
	assert_int_equal(h[1 + VWS_VTEST_BATCH_SYNC_OFFSET], 9);
	assert_int_equal(h[1 + VWS_VTEST_BATCH_SYNC_COUNT], 2);
	assert_int_equal(h[1 + VWS_VTEST_BATCH_CMD_OFFSET], 15);
	assert_int_equal(h[1 + VWS_VTEST_BATCH_CMD_SIZE], n);
	assert_int_equal(h[1 + VWS_VTEST_BATCH_RING_IDX], 3);
	assert_int_equal(h[7], 0);
	assert_int_equal(h[8], 0);
	assert_int_equal(h[9], 11);
	assert_int_equal(h[10], 5);
	assert_int_equal(h[11], 0);
	assert_int_equal(h[12], 12);
	assert_int_equal(h[13], 7);
	assert_int_equal(h[14], 1);
	assert_int_equal(h[15], 0);
	assert_int_equal(h[16], 2654435761u);
	sum += 1 + VWS_VTEST_BATCH_FLAG_RING_IDX + 9 + 2 + 15 + n + 3 + 11 + 5 + 12 + 7 + 1;
	assert_int_equal(f.last_sum, sum);
}

static void test_fake_sync_write_layout(void **state)
{
	struct vt_fake f;
	struct vws_vtest_conn *c = fake_session(VT_FAKE_RECORD, 2000, &f);

	assert_int_equal(vws_vtest_sync_write(c, 9, 0xabcdef0012345678ull), 0);
	vws_vtest_conn_destroy(c);
	vt_fake_stop(&f);
	assert_int_equal(f.last_cmd, VWS_VTEST_CMD_SYNC_WRITE);
	assert_int_equal(f.last_len, 3);
	assert_int_equal(f.last_head[0], 9);
	assert_int_equal(f.last_head[1], 0x12345678);
	assert_int_equal(f.last_head[2], 0xabcdef00);
}

int main(void)
{
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_connect_and_version),
		cmocka_unit_test(test_get_param),
		cmocka_unit_test(test_venus_capset),
		cmocka_unit_test(test_context_and_blobs),
		cmocka_unit_test(test_refused_blob_closes),
		cmocka_unit_test(test_syncs),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_threads_share_connection),
		cmocka_unit_test(test_no_server),
		cmocka_unit_test(test_server_killed),
	};
	const struct CMUnitTest fake[] = {
		cmocka_unit_test(test_fake_close_at_hello),
		cmocka_unit_test(test_fake_old_server),
		cmocka_unit_test(test_fake_version_2),
		cmocka_unit_test(test_fake_garbage_hello),
		cmocka_unit_test(test_fake_wrong_cmd),
		cmocka_unit_test(test_fake_wrong_len),
		cmocka_unit_test(test_fake_short_reply),
		cmocka_unit_test(test_fake_close),
		cmocka_unit_test(test_fake_silent),
		cmocka_unit_test(test_fake_blob_no_fd),
		cmocka_unit_test(test_fake_blob_two_fds),
		cmocka_unit_test(test_fake_blob_close_before_fd),
		cmocka_unit_test(test_fake_capset_invalid_with_data),
		cmocka_unit_test(test_fake_capset_truncated),
		cmocka_unit_test(test_fake_wire_layout),
		cmocka_unit_test(test_fake_sync_write_layout),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("vtest_conn_real_server", real, group_setup,
					      group_teardown);
	failed += cmocka_run_group_tests_name("vtest_conn_fake_server", fake, NULL, NULL);
	return failed ? 1 : 0;
}
