/* SPDX-License-Identifier: MIT */
/*
 * The vtest connection: framing, timeouts, fd passing and the commands.
 *
 * The server answers strictly in order and reports failures only by
 * closing the socket, so any reply that is late, short or malformed means
 * we no longer know where the next reply starts: the connection is marked
 * broken (sticky error) rather than guessed at.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vws_vtest_conn.h"
#include "vws_vtest_proto.h"

/* Room for a few fds so that a server sending too many is caught (and the
 * extras closed) rather than silently truncated. */
#define VWS_VTEST_MAX_FDS 4
/* Cap on one reply we are willing to read (a capset is a few KiB). */
#define VWS_VTEST_MAX_REPLY_DWORDS (1u << 20)

struct vws_vtest_conn {
	pthread_mutex_t lock;
	int sock;
	int timeout_ms;
	int broken; /* sticky transport error, 0 while healthy */
	uint32_t version;
};

/* One request's time budget. */
struct vws_vtest_deadline {
	struct timespec end;
};

static void vws_vtest_deadline_start(struct vws_vtest_deadline *d, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, &d->end);
	d->end.tv_sec += timeout_ms / 1000;
	d->end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (d->end.tv_nsec >= 1000000000L) {
		d->end.tv_sec++;
		d->end.tv_nsec -= 1000000000L;
	}
}

static int vws_vtest_deadline_left_ms(const struct vws_vtest_deadline *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(d->end.tv_sec - now.tv_sec) * 1000 +
	     (d->end.tv_nsec - now.tv_nsec) / 1000000L;
	if (ms < 0)
		return 0;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* Waits for the socket to be ready for `events` before the deadline. */
static int vws_vtest_wait(struct vws_vtest_conn *c, short events,
			  const struct vws_vtest_deadline *d)
{
	for (;;) {
		struct pollfd p = { .fd = c->sock, .events = events };
		int left = vws_vtest_deadline_left_ms(d);
		int n = poll(&p, 1, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		/* POLLHUP/POLLERR: let the following read/write report it. */
		return 0;
	}
}

static int vws_vtest_fail(struct vws_vtest_conn *c, int err)
{
	if (!c->broken)
		c->broken = err;
	return err;
}

static int vws_vtest_send(struct vws_vtest_conn *c, struct iovec *iov, int iovcnt,
			  const struct vws_vtest_deadline *d)
{
	while (iovcnt > 0) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
		ssize_t n;
		int ret;

		/* MSG_NOSIGNAL: a dead server must be an error, not SIGPIPE. */
		n = sendmsg(c->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ret = vws_vtest_wait(c, POLLOUT, d);
				if (ret)
					return vws_vtest_fail(c, ret);
				continue;
			}
			return vws_vtest_fail(c, errno == EPIPE ? -ECONNRESET : -errno);
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Reads exactly size bytes. A close before the first byte is -ECONNRESET
 * (how the server refuses a request); a close after it is -EIO (a reply
 * cut short), unless mid_reply says we are already inside a reply. */
static int vws_vtest_recv(struct vws_vtest_conn *c, void *buf, size_t size, bool mid_reply,
			  const struct vws_vtest_deadline *d)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = recv(c->sock, (char *)buf + got, size - got, MSG_DONTWAIT);
		int ret;

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return vws_vtest_fail(c, got || mid_reply ? -EIO : -ECONNRESET);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return vws_vtest_fail(c, errno == ECONNRESET && !got && !mid_reply
							 ? -ECONNRESET : -EIO);
		ret = vws_vtest_wait(c, POLLIN, d);
		if (ret)
			return vws_vtest_fail(c, ret);
	}
	return 0;
}

/* Discards size bytes of a reply we have no room for. */
static int vws_vtest_skip(struct vws_vtest_conn *c, size_t size,
			  const struct vws_vtest_deadline *d)
{
	char tmp[256];

	while (size) {
		size_t n = size < sizeof(tmp) ? size : sizeof(tmp);
		int ret = vws_vtest_recv(c, tmp, n, true, d);

		if (ret)
			return ret;
		size -= n;
	}
	return 0;
}

static void vws_vtest_close_fds(struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[VWS_VTEST_MAX_FDS];

		if (n > VWS_VTEST_MAX_FDS)
			n = VWS_VTEST_MAX_FDS;
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
}

/* The server sends an fd as one data byte carrying SCM_RIGHTS. */
static int vws_vtest_recv_fd(struct vws_vtest_conn *c, int *fd,
			     const struct vws_vtest_deadline *d)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VWS_VTEST_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;
	int ret;

	for (;;) {
		n = recvmsg(c->sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return vws_vtest_fail(c, -EIO);
		ret = vws_vtest_wait(c, POLLIN, d);
		if (ret)
			return vws_vtest_fail(c, ret);
	}
	if (n == 0)
		return vws_vtest_fail(c, -EIO);
	if (msg.msg_flags & MSG_CTRUNC) {
		vws_vtest_close_fds(&msg);
		return vws_vtest_fail(c, -EPROTO);
	}
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(&msg, cm)) {
		vws_vtest_close_fds(&msg);
		return vws_vtest_fail(c, -EPROTO);
	}
	memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Reads a reply header and checks it: command id `cmd`, payload length
 * between min_dw and max_dw dwords. */
static int vws_vtest_recv_hdr(struct vws_vtest_conn *c, uint32_t cmd, uint32_t min_dw,
			      uint32_t max_dw, uint32_t *len_dw,
			      const struct vws_vtest_deadline *d)
{
	uint32_t hdr[VWS_VTEST_HDR_DWORDS];
	int ret = vws_vtest_recv(c, hdr, sizeof(hdr), false, d);

	if (ret)
		return ret;
	if (hdr[VWS_VTEST_HDR_CMD] != cmd || hdr[VWS_VTEST_HDR_LEN] < min_dw ||
	    hdr[VWS_VTEST_HDR_LEN] > max_dw)
		return vws_vtest_fail(c, -EPROTO);
	if (len_dw)
		*len_dw = hdr[VWS_VTEST_HDR_LEN];
	return 0;
}

/* Sends one command: header (len is the header's length field) and up to
 * two payload pieces. Lock held. */
static int vws_vtest_send_cmd(struct vws_vtest_conn *c, uint32_t cmd, uint32_t len,
			      const void *p0, size_t s0, const void *p1, size_t s1,
			      const struct vws_vtest_deadline *d)
{
	uint32_t hdr[VWS_VTEST_HDR_DWORDS] = { [VWS_VTEST_HDR_LEN] = len,
					       [VWS_VTEST_HDR_CMD] = cmd };
	struct iovec iov[3] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)p0, .iov_len = s0 },
		{ .iov_base = (void *)p1, .iov_len = s1 },
	};

	return vws_vtest_send(c, iov, s1 ? 3 : s0 ? 2 : 1, d);
}

/* Fixed-size request and fixed-size reply (reply_dw may be 0), lock held. */
static int vws_vtest_call_locked(struct vws_vtest_conn *c, uint32_t cmd, const uint32_t *req,
				 uint32_t req_dw, uint32_t *reply, uint32_t reply_dw,
				 const struct vws_vtest_deadline *d)
{
	int ret = vws_vtest_send_cmd(c, cmd, req_dw, req, req_dw * 4u, NULL, 0, d);

	if (ret)
		return ret;
	ret = vws_vtest_recv_hdr(c, cmd, reply_dw, reply_dw, NULL, d);
	if (ret || !reply_dw)
		return ret;
	return vws_vtest_recv(c, reply, reply_dw * 4u, true, d);
}

static int vws_vtest_begin(struct vws_vtest_conn *c, struct vws_vtest_deadline *d)
{
	pthread_mutex_lock(&c->lock);
	if (c->broken) {
		int err = c->broken;

		pthread_mutex_unlock(&c->lock);
		return err;
	}
	vws_vtest_deadline_start(d, c->timeout_ms);
	return 0;
}

static int vws_vtest_end(struct vws_vtest_conn *c, int ret)
{
	pthread_mutex_unlock(&c->lock);
	return ret;
}

static int vws_vtest_call(struct vws_vtest_conn *c, uint32_t cmd, const uint32_t *req,
			  uint32_t req_dw, uint32_t *reply, uint32_t reply_dw)
{
	struct vws_vtest_deadline d;
	int ret = vws_vtest_begin(c, &d);

	if (ret)
		return ret;
	return vws_vtest_end(c, vws_vtest_call_locked(c, cmd, req, req_dw, reply, reply_dw, &d));
}

/* A command without a reply, optionally confirmed by a ping in the same
 * critical section (so no other thread's reply can interleave). */
static int vws_vtest_post(struct vws_vtest_conn *c, uint32_t cmd, const uint32_t *req,
			  uint32_t req_dw, bool confirm)
{
	struct vws_vtest_deadline d;
	int ret = vws_vtest_begin(c, &d);

	if (ret)
		return ret;
	ret = vws_vtest_send_cmd(c, cmd, req_dw, req, req_dw * 4u, NULL, 0, &d);
	if (!ret && confirm)
		ret = vws_vtest_call_locked(c, VWS_VTEST_CMD_PING_PROTOCOL_VERSION, NULL, 0, NULL,
					    0, &d);
	return vws_vtest_end(c, ret);
}

/* Ping plus a harmless BUSY_WAIT in one go: a server too old for the ping
 * answers only the BUSY_WAIT, so the read cannot block forever. */
static int vws_vtest_negotiate(struct vws_vtest_conn *c, const struct vws_vtest_deadline *d)
{
	uint32_t bw[VWS_VTEST_BUSY_WAIT_DWORDS] = { 0, 0 };
	uint32_t hdr[VWS_VTEST_HDR_DWORDS];
	uint32_t busy, version = VWS_VTEST_PROTOCOL_VERSION;
	int ret;

	ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_PING_PROTOCOL_VERSION, 0, NULL, 0, NULL, 0, d);
	if (!ret)
		ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_RESOURCE_BUSY_WAIT,
					 VWS_VTEST_BUSY_WAIT_DWORDS, bw, sizeof(bw), NULL, 0, d);
	if (!ret)
		ret = vws_vtest_recv(c, hdr, sizeof(hdr), false, d);
	if (ret)
		return ret;
	if (hdr[VWS_VTEST_HDR_CMD] == VWS_VTEST_CMD_RESOURCE_BUSY_WAIT &&
	    hdr[VWS_VTEST_HDR_LEN] == 1) {
		/* No ping: protocol version 0 or 1. */
		ret = vws_vtest_recv(c, &busy, sizeof(busy), true, d);
		return ret ? ret : vws_vtest_fail(c, -EPROTONOSUPPORT);
	}
	if (hdr[VWS_VTEST_HDR_CMD] != VWS_VTEST_CMD_PING_PROTOCOL_VERSION ||
	    hdr[VWS_VTEST_HDR_LEN] != 0)
		return vws_vtest_fail(c, -EPROTO);
	ret = vws_vtest_recv_hdr(c, VWS_VTEST_CMD_RESOURCE_BUSY_WAIT, 1, 1, NULL, d);
	if (!ret)
		ret = vws_vtest_recv(c, &busy, sizeof(busy), true, d);
	if (!ret)
		ret = vws_vtest_call_locked(c, VWS_VTEST_CMD_PROTOCOL_VERSION, &version, 1,
					    &version, 1, d);
	if (ret)
		return ret;
	/* The server answers min(ours, its own). */
	if (version > VWS_VTEST_PROTOCOL_VERSION)
		return vws_vtest_fail(c, -EPROTO);
	if (version < VWS_VTEST_PROTOCOL_VERSION)
		return vws_vtest_fail(c, -EPROTONOSUPPORT);
	c->version = version;
	return 0;
}

int vws_vtest_conn_open(const char *path, const char *name, int timeout_ms,
			struct vws_vtest_conn **out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vws_vtest_deadline d;
	struct vws_vtest_conn *c;
	size_t name_len;
	int ret;

	if (!path || !out)
		return -EINVAL;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	if (!name || !name[0])
		name = "vws";
	name_len = strlen(name) + 1;
	if (name_len > 1024)
		return -EINVAL;
	strcpy(addr.sun_path, path);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : VWS_VTEST_DEFAULT_TIMEOUT_MS;
	c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0) {
		ret = -errno;
		free(c);
		return ret;
	}
	if (connect(c->sock, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		close(c->sock);
		free(c);
		return ret;
	}
	pthread_mutex_init(&c->lock, NULL);

	/* CREATE_RENDERER must come first; its length counts bytes. */
	vws_vtest_deadline_start(&d, c->timeout_ms);
	ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_CREATE_RENDERER, (uint32_t)name_len, name,
				 name_len, NULL, 0, &d);
	if (!ret)
		ret = vws_vtest_negotiate(c, &d);
	if (ret) {
		vws_vtest_conn_destroy(c);
		return ret;
	}
	*out = c;
	return 0;
}

void vws_vtest_conn_destroy(struct vws_vtest_conn *c)
{
	if (!c)
		return;
	close(c->sock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint32_t vws_vtest_conn_version(const struct vws_vtest_conn *c)
{
	return c->version;
}

int vws_vtest_conn_fd(const struct vws_vtest_conn *c)
{
	return c->sock;
}

int vws_vtest_conn_error(struct vws_vtest_conn *c)
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = c->broken;
	pthread_mutex_unlock(&c->lock);
	return err;
}

int vws_vtest_ping(struct vws_vtest_conn *c)
{
	return vws_vtest_call(c, VWS_VTEST_CMD_PING_PROTOCOL_VERSION, NULL, 0, NULL, 0);
}

int vws_vtest_get_param(struct vws_vtest_conn *c, uint32_t param, bool *valid,
			uint32_t *value)
{
	uint32_t reply[2];
	int ret = vws_vtest_call(c, VWS_VTEST_CMD_GET_PARAM, &param, 1, reply, 2);

	if (ret)
		return ret;
	*valid = reply[0] != 0;
	*value = reply[1];
	return 0;
}

int vws_vtest_get_capset(struct vws_vtest_conn *c, uint32_t id, uint32_t version,
			 void *buf, size_t size, size_t *data_size)
{
	uint32_t req[2] = { id, version };
	struct vws_vtest_deadline d;
	uint32_t len, valid;
	size_t bytes, copy;
	int ret;

	if (!buf && size)
		return -EINVAL;
	ret = vws_vtest_begin(c, &d);
	if (ret)
		return ret;
	ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_GET_CAPSET, 2, req, sizeof(req), NULL, 0, &d);
	if (!ret)
		ret = vws_vtest_recv_hdr(c, VWS_VTEST_CMD_GET_CAPSET, 1,
					 VWS_VTEST_MAX_REPLY_DWORDS, &len, &d);
	if (!ret)
		ret = vws_vtest_recv(c, &valid, sizeof(valid), true, &d);
	if (ret)
		return vws_vtest_end(c, ret);
	bytes = (size_t)(len - 1) * 4;
	if (!valid) {
		/* "Invalid" carries no data; anything else is out of step. */
		ret = bytes ? vws_vtest_fail(c, -EPROTO) : -EINVAL;
		return vws_vtest_end(c, ret);
	}
	copy = bytes < size ? bytes : size;
	ret = vws_vtest_recv(c, buf, copy, true, &d);
	if (!ret)
		ret = vws_vtest_skip(c, bytes - copy, &d);
	if (!ret && data_size)
		*data_size = bytes;
	return vws_vtest_end(c, ret);
}

int vws_vtest_context_init(struct vws_vtest_conn *c, uint32_t capset_id)
{
	return vws_vtest_post(c, VWS_VTEST_CMD_CONTEXT_INIT, &capset_id, 1, true);
}

int vws_vtest_blob_create(struct vws_vtest_conn *c, uint32_t type, uint32_t flags,
			  uint64_t size, uint64_t blob_id, uint32_t *res_id, int *fd)
{
	uint32_t req[VWS_VTEST_BLOB_DWORDS] = {
		type, flags, (uint32_t)size, (uint32_t)(size >> 32),
		(uint32_t)blob_id, (uint32_t)(blob_id >> 32),
	};
	struct vws_vtest_deadline d;
	uint32_t id;
	int ret, f;

	ret = vws_vtest_begin(c, &d);
	if (ret)
		return ret;
	ret = vws_vtest_call_locked(c, VWS_VTEST_CMD_RESOURCE_CREATE_BLOB, req,
				    VWS_VTEST_BLOB_DWORDS, &id, 1, &d);
	if (!ret)
		ret = vws_vtest_recv_fd(c, &f, &d);
	if (!ret && !id) {
		/* res_id 0 is never valid; the object is unusable. */
		close(f);
		ret = vws_vtest_fail(c, -EPROTO);
	}
	if (!ret) {
		*res_id = id;
		*fd = f;
	}
	return vws_vtest_end(c, ret);
}

int vws_vtest_resource_unref(struct vws_vtest_conn *c, uint32_t res_id)
{
	return vws_vtest_post(c, VWS_VTEST_CMD_RESOURCE_UNREF, &res_id, 1, false);
}

int vws_vtest_busy_wait(struct vws_vtest_conn *c, uint32_t res_id, uint32_t flags,
			bool *busy)
{
	uint32_t req[VWS_VTEST_BUSY_WAIT_DWORDS] = { res_id, flags };
	uint32_t reply;
	int ret = vws_vtest_call(c, VWS_VTEST_CMD_RESOURCE_BUSY_WAIT, req,
				 VWS_VTEST_BUSY_WAIT_DWORDS, &reply, 1);

	if (!ret)
		*busy = reply != 0;
	return ret;
}

int vws_vtest_sync_create(struct vws_vtest_conn *c, uint64_t value, uint32_t *id)
{
	uint32_t req[2] = { (uint32_t)value, (uint32_t)(value >> 32) };

	return vws_vtest_call(c, VWS_VTEST_CMD_SYNC_CREATE, req, 2, id, 1);
}

int vws_vtest_sync_unref(struct vws_vtest_conn *c, uint32_t id)
{
	return vws_vtest_post(c, VWS_VTEST_CMD_SYNC_UNREF, &id, 1, false);
}

int vws_vtest_sync_read(struct vws_vtest_conn *c, uint32_t id, uint64_t *value)
{
	uint32_t reply[2];
	int ret = vws_vtest_call(c, VWS_VTEST_CMD_SYNC_READ, &id, 1, reply, 2);

	if (!ret)
		*value = reply[0] | (uint64_t)reply[1] << 32;
	return ret;
}

int vws_vtest_sync_write(struct vws_vtest_conn *c, uint32_t id, uint64_t value)
{
	uint32_t req[3] = { id, (uint32_t)value, (uint32_t)(value >> 32) };

	return vws_vtest_post(c, VWS_VTEST_CMD_SYNC_WRITE, req, 3, true);
}

static uint32_t *vws_vtest_sync_triples(const uint32_t *ids, const uint64_t *values,
					uint32_t count, uint32_t *out)
{
	for (uint32_t i = 0; i < count; i++) {
		out[3 * i] = ids[i];
		out[3 * i + 1] = (uint32_t)values[i];
		out[3 * i + 2] = (uint32_t)(values[i] >> 32);
	}
	return out;
}

int vws_vtest_sync_wait(struct vws_vtest_conn *c, uint32_t flags, uint32_t timeout_ms,
			const uint32_t *ids, const uint64_t *values, uint32_t count,
			int *fd)
{
	struct vws_vtest_deadline d;
	uint32_t head[2] = { flags, timeout_ms };
	uint32_t *triples;
	int ret;

	if (!count || !ids || !values || count > VWS_VTEST_MAX_REPLY_DWORDS / 3)
		return -EINVAL;
	triples = malloc((size_t)count * 3 * sizeof(uint32_t));
	if (!triples)
		return -ENOMEM;
	vws_vtest_sync_triples(ids, values, count, triples);
	ret = vws_vtest_begin(c, &d);
	if (ret) {
		free(triples);
		return ret;
	}
	ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_SYNC_WAIT, VWS_VTEST_SYNC_WAIT_DWORDS(count),
				 head, sizeof(head), triples, (size_t)count * 12, &d);
	if (!ret)
		ret = vws_vtest_recv_hdr(c, VWS_VTEST_CMD_SYNC_WAIT, 0, 0, NULL, &d);
	if (!ret)
		ret = vws_vtest_recv_fd(c, fd, &d);
	free(triples);
	return vws_vtest_end(c, ret);
}

int vws_vtest_submit(struct vws_vtest_conn *c, const void *cmd, uint32_t cmd_size,
		     uint32_t ring_idx, const uint32_t *sync_ids,
		     const uint64_t *sync_values, uint32_t sync_count)
{
	/* Layout: batch count, one 8-dword batch header, syncs, then the
	 * command words (so the header and syncs go in one piece). */
	const uint32_t head_dw = 1 + VWS_VTEST_BATCH_DWORDS;
	struct vws_vtest_deadline d;
	uint32_t cmd_dw = cmd_size / 4, head_bytes, *head, *b;
	uint64_t total_dw;
	int ret;

	if (cmd_size % 4 || (cmd_size && !cmd) || (sync_count && (!sync_ids || !sync_values)))
		return -EINVAL;
	total_dw = (uint64_t)head_dw + 3ull * sync_count + cmd_dw;
	if (total_dw > UINT32_MAX / 4)
		return -EINVAL;
	head_bytes = (head_dw + 3 * sync_count) * 4;
	head = calloc(1, head_bytes);
	if (!head)
		return -ENOMEM;
	head[0] = 1;
	b = head + 1;
	b[VWS_VTEST_BATCH_FLAGS] = VWS_VTEST_BATCH_FLAG_RING_IDX;
	b[VWS_VTEST_BATCH_SYNC_OFFSET] = head_dw;
	b[VWS_VTEST_BATCH_SYNC_COUNT] = sync_count;
	b[VWS_VTEST_BATCH_CMD_OFFSET] = head_dw + 3 * sync_count;
	b[VWS_VTEST_BATCH_CMD_SIZE] = cmd_dw;
	b[VWS_VTEST_BATCH_RING_IDX] = ring_idx;
	vws_vtest_sync_triples(sync_ids, sync_values, sync_count, head + head_dw);

	ret = vws_vtest_begin(c, &d);
	if (!ret) {
		ret = vws_vtest_send_cmd(c, VWS_VTEST_CMD_SUBMIT_CMD2, (uint32_t)total_dw, head,
					 head_bytes, cmd, cmd_size, &d);
		if (!ret)
			ret = vws_vtest_call_locked(c, VWS_VTEST_CMD_PING_PROTOCOL_VERSION, NULL,
						    0, NULL, 0, &d);
		ret = vws_vtest_end(c, ret);
	}
	free(head);
	return ret;
}
