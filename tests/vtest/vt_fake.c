/* SPDX-License-Identifier: MIT */
/*
 * A scripted fake vtest server (one thread, one client) for the error
 * paths a real server does not produce on demand. It speaks just enough
 * of the protocol to reach the misbehaviour its script names. It makes no
 * cmocka assertions (those must stay on the test's thread).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vt_server.h"
#include "vws_vtest_proto.h"

static bool vt_read_all(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool vt_write_all(int fd, const void *buf, size_t n)
{
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n;
}

static bool vt_reply(int fd, uint32_t cmd, const uint32_t *data, uint32_t dw)
{
	uint32_t hdr[2] = { dw, cmd };

	return vt_write_all(fd, hdr, sizeof(hdr)) && (!dw || vt_write_all(fd, data, dw * 4));
}

/* Reads one request; *cmd gets its id. With f, a non-ping request is
 * recorded there; otherwise the payload is discarded. */
static bool vt_read_request_rec(int fd, uint32_t *cmd, struct vt_fake *f)
{
	uint32_t hdr[2];
	size_t len;
	char *buf;
	bool ok;

	if (!vt_read_all(fd, hdr, sizeof(hdr)))
		return false;
	*cmd = hdr[1];
	len = hdr[1] == VWS_VTEST_CMD_CREATE_RENDERER ? hdr[0] : (size_t)hdr[0] * 4;
	if (!len)
		return true;
	buf = malloc(len);
	if (!buf)
		return false;
	ok = vt_read_all(fd, buf, len);
	if (ok && f && hdr[1] != VWS_VTEST_CMD_PING_PROTOCOL_VERSION && !(len % 4)) {
		uint32_t dw;

		f->last_cmd = hdr[1];
		f->last_len = hdr[0];
		f->last_sum = 0;
		memset(f->last_head, 0, sizeof(f->last_head));
		memcpy(f->last_head, buf, len < sizeof(f->last_head) ? len : sizeof(f->last_head));
		for (size_t i = 0; i < len; i += 4) {
			memcpy(&dw, buf + i, 4);
			f->last_sum += dw;
		}
	}
	free(buf);
	return ok;
}

static bool vt_read_request(int fd, uint32_t *cmd)
{
	return vt_read_request_rec(fd, cmd, NULL);
}

/* Sends n fds (copies of one memfd of size bytes) with a one-byte message. */
static bool vt_send_fds_sized(int sock, int n, uint64_t size)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} ctl;
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2] = { -1, -1 };
	bool ok;

	memset(&ctl, 0, sizeof(ctl));
	if (n) {
		fds[0] = memfd_create("vt-fake", MFD_CLOEXEC);
		if (fds[0] < 0 || ftruncate(fds[0], (off_t)size)) {
			if (fds[0] >= 0)
				close(fds[0]);
			return false;
		}
		fds[1] = fds[0];
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	}
	ok = sendmsg(sock, &msg, MSG_NOSIGNAL) == 1;
	if (fds[0] >= 0)
		close(fds[0]);
	return ok;
}

static bool vt_send_fds(int sock, int n)
{
	return vt_send_fds_sized(sock, n, 4096);
}

/* VT_FAKE_SERVE: a session as a real server would serve it (no context). */
static void vt_serve(int c)
{
	for (;;) {
		uint32_t hdr[2], req[8] = { 0 }, reply[2] = { 1, 64 };
		size_t len;

		if (!vt_read_all(c, hdr, sizeof(hdr)))
			return;
		len = (size_t)hdr[0] * 4;
		if (len > sizeof(req))
			return; /* nothing this script serves is that long */
		if (len && !vt_read_all(c, req, len))
			return;
		switch (hdr[1]) {
		case VWS_VTEST_CMD_PING_PROTOCOL_VERSION:
			if (!vt_reply(c, hdr[1], NULL, 0))
				return;
			break;
		case VWS_VTEST_CMD_GET_PARAM:
			if (!vt_reply(c, hdr[1], reply, 2))
				return;
			break;
		case VWS_VTEST_CMD_GET_CAPSET:
			reply[0] = 0;
			if (!vt_reply(c, hdr[1], reply, 1))
				return;
			break;
		case VWS_VTEST_CMD_RESOURCE_CREATE_BLOB:
			/* res_id = blob_id lo; the fd sized as asked */
			if (!vt_reply(c, hdr[1], &req[4], 1) ||
			    !vt_send_fds_sized(c, 1, req[2] | (uint64_t)req[3] << 32))
				return;
			break;
		default:
			break; /* RESOURCE_UNREF, SYNC_UNREF...: no reply */
		}
	}
}

/* The good handshake, or the script's misbehaviour in it. false: the
 * script is over (connection to be closed). */
static bool vt_handshake(struct vt_fake *f, int c)
{
	uint32_t cmd, zero = 0, three = 3, two = 2;
	uint32_t junk[4] = { 0xdeadbeef, 0x12345678, 0xcafef00d, 0x0badc0de };

	if (!vt_read_request(c, &cmd) || cmd != VWS_VTEST_CMD_CREATE_RENDERER)
		return false;
	if (f->script == VT_FAKE_CLOSE_AT_HELLO)
		return false;
	/* ping + busy wait */
	if (!vt_read_request(c, &cmd) || !vt_read_request(c, &cmd))
		return false;
	if (f->script == VT_FAKE_GARBAGE_HELLO) {
		vt_write_all(c, junk, sizeof(junk));
		return false;
	}
	if (f->script != VT_FAKE_OLD_SERVER &&
	    !vt_reply(c, VWS_VTEST_CMD_PING_PROTOCOL_VERSION, NULL, 0))
		return false;
	if (!vt_reply(c, VWS_VTEST_CMD_RESOURCE_BUSY_WAIT, &zero, 1))
		return false;
	if (f->script == VT_FAKE_OLD_SERVER)
		return false;
	if (!vt_read_request(c, &cmd) || cmd != VWS_VTEST_CMD_PROTOCOL_VERSION)
		return false;
	return vt_reply(c, VWS_VTEST_CMD_PROTOCOL_VERSION,
			f->script == VT_FAKE_VERSION_2 ? &two : &three, 1) &&
	       f->script != VT_FAKE_VERSION_2;
}

/* Serves GET_PARAM/GET_CAPSET/PING honestly (for scripts that misbehave
 * later); returns the first request it does not serve. */
static bool vt_serve_until(struct vt_fake *f, int c, uint32_t *cmd)
{
	for (;;) {
		uint32_t reply[2] = { 1, 64 };

		if (!vt_read_request_rec(c, cmd, f->script == VT_FAKE_RECORD ? f : NULL))
			return false;
		f->requests++;
		if (f->script != VT_FAKE_GET_PARAM_GARBAGE)
			return true;
		switch (*cmd) {
		case VWS_VTEST_CMD_PING_PROTOCOL_VERSION:
			if (!vt_reply(c, *cmd, NULL, 0))
				return false;
			break;
		case VWS_VTEST_CMD_GET_CAPSET:
			reply[0] = 0;
			if (!vt_reply(c, *cmd, reply, 1))
				return false;
			break;
		default:
			return true;
		}
	}
}

static void vt_misbehave(struct vt_fake *f, int c, uint32_t cmd)
{
	uint32_t two[2] = { 1, 64 };
	uint32_t blob_id = 7;
	uint32_t hdr[2];
	uint32_t data[8] = { 0 };

	switch (f->script) {
	case VT_FAKE_WRONG_CMD:
		vt_reply(c, cmd + 40, two, 2);
		break;
	case VT_FAKE_WRONG_LEN:
		vt_reply(c, cmd, data, 5);
		break;
	case VT_FAKE_SHORT_REPLY:
	case VT_FAKE_CAPSET_TRUNCATED:
		hdr[0] = f->script == VT_FAKE_SHORT_REPLY ? 2 : 40;
		hdr[1] = cmd;
		vt_write_all(c, hdr, sizeof(hdr));
		data[0] = 1;
		vt_write_all(c, data, f->script == VT_FAKE_SHORT_REPLY ? 4 : 16);
		break;
	case VT_FAKE_CLOSE:
		break;
	case VT_FAKE_SILENT:
		/* Hold the connection until the client gives up and closes. */
		while (vt_read_request(c, &cmd))
			;
		break;
	case VT_FAKE_BLOB_NO_FD:
		if (vt_reply(c, cmd, &blob_id, 1))
			vt_send_fds(c, 0);
		break;
	case VT_FAKE_BLOB_TWO_FDS:
		if (vt_reply(c, cmd, &blob_id, 1))
			vt_send_fds(c, 2);
		break;
	case VT_FAKE_BLOB_CLOSE_BEFORE_FD:
		vt_reply(c, cmd, &blob_id, 1);
		break;
	case VT_FAKE_CAPSET_INVALID_DATA:
		vt_reply(c, cmd, data, 4); /* data[0] = 0: "invalid", then 3 more */
		break;
	case VT_FAKE_RECORD:
		do {
			if (cmd == VWS_VTEST_CMD_PING_PROTOCOL_VERSION &&
			    !vt_reply(c, cmd, NULL, 0))
				break;
		} while (vt_read_request_rec(c, &cmd, f) && ++f->requests);
		break;
	case VT_FAKE_GET_PARAM_GARBAGE:
		hdr[0] = 0xffffffffu;
		hdr[1] = 0x41414141u;
		vt_write_all(c, hdr, sizeof(hdr));
		break;
	default:
		break;
	}
}

static void *vt_fake_main(void *arg)
{
	struct vt_fake *f = arg;
	uint32_t cmd;
	int c = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return NULL;
	if (f->script == VT_FAKE_SERVE) {
		if (vt_handshake(f, c))
			vt_serve(c);
	} else if (vt_handshake(f, c) && vt_serve_until(f, c, &cmd)) {
		vt_misbehave(f, c, cmd);
	}
	/* Wait for the client to close its side before closing ours, so that
	 * what the client sees is exactly what the script sent. Scripts that
	 * close early (CLOSE, SHORT_REPLY...) do so by returning here. */
	if (f->script == VT_FAKE_SILENT)
		while (vt_read_request(c, &cmd))
			;
	close(c);
	return NULL;
}

void vt_fake_start(struct vt_fake *f, enum vt_fake_script script)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *tmp = getenv("TMPDIR");
	memset(f, 0, sizeof(*f));
	f->script = script;
	f->dir = malloc(256);
	assert_non_null(f->dir);
	snprintf(f->dir, 256, "%s/vws-vtfake-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/fake.sock", f->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->sock);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, vt_fake_main, f), 0);
}

void vt_fake_stop(struct vt_fake *f)
{
	/* Wakes an accept that never got its client (a test that failed
	 * before connecting), so the join cannot hang. */
	shutdown(f->listen_fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	vt_remove_dir(f->dir);
	free(f->dir);
	f->dir = NULL;
}
