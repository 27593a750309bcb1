/* SPDX-License-Identifier: MIT */
/*
 * One connection to a vtest server (virglrenderer's virgl_test_server).
 *
 * Standalone on purpose (no winsys internals): the backend builds on it and
 * the protocol tests link it directly.
 *
 * Every call is one request and, when the command has one, its reply, under
 * the connection's mutex, so threads may share a connection. Every read
 * waits at most the connection's timeout (one deadline per request).
 *
 * Errors: 0 or a negative errno, never a crash or a hang.
 *   -ECONNRESET  the server closed the connection (this is also how it
 *                reports a bad request: it never sends error replies)
 *   -EIO         the connection closed in the middle of a reply
 *   -EPROTO      a malformed reply (wrong command id or length, missing or
 *                extra fds)
 *   -ETIMEDOUT   no complete reply within the timeout
 *   -EPROTONOSUPPORT  the server is older than protocol version 3
 *   -EINVAL      the server answered "not valid" (GET_CAPSET) or the
 *                caller's arguments cannot be sent
 * A transport error (all but -EINVAL) leaves the byte stream out of step,
 * so it is sticky: every later call returns it at once.
 */
#ifndef VWS_VTEST_CONN_H
#define VWS_VTEST_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vws_vtest_conn;

#define VWS_VTEST_DEFAULT_TIMEOUT_MS 10000

/* Connects to the UNIX socket at path, sends CREATE_RENDERER (name is the
 * client's name in the server's logs) and negotiates protocol version 3.
 * timeout_ms <= 0: VWS_VTEST_DEFAULT_TIMEOUT_MS. A missing server gives
 * the connect error (-ENOENT, -ECONNREFUSED). */
int vws_vtest_conn_open(const char *path, const char *name, int timeout_ms,
			struct vws_vtest_conn **out);
void vws_vtest_conn_destroy(struct vws_vtest_conn *c);

uint32_t vws_vtest_conn_version(const struct vws_vtest_conn *c);
/* The socket, only to poll for POLLRDHUP (server gone) while waiting on
 * something else; never read or write it. */
int vws_vtest_conn_fd(const struct vws_vtest_conn *c);
/* 0, or the sticky transport error. */
int vws_vtest_conn_error(struct vws_vtest_conn *c);

/* A round trip that proves the server is alive and has processed every
 * earlier request (the server answers in order). */
int vws_vtest_ping(struct vws_vtest_conn *c);

int vws_vtest_get_param(struct vws_vtest_conn *c, uint32_t param, bool *valid,
			uint32_t *value);
/* Copies at most size bytes of the capset; *data_size (optional) gets the
 * capset's full size. -EINVAL when the server says id/version is invalid. */
int vws_vtest_get_capset(struct vws_vtest_conn *c, uint32_t id, uint32_t version,
			 void *buf, size_t size, size_t *data_size);
/* CONTEXT_INIT, confirmed by a ping (the server closes the connection when
 * the context cannot be created). */
int vws_vtest_context_init(struct vws_vtest_conn *c, uint32_t capset_id);

/* *fd is the caller's (O_CLOEXEC). */
int vws_vtest_blob_create(struct vws_vtest_conn *c, uint32_t type, uint32_t flags,
			  uint64_t size, uint64_t blob_id, uint32_t *res_id, int *fd);
/* No reply; not confirmed. */
int vws_vtest_resource_unref(struct vws_vtest_conn *c, uint32_t res_id);
int vws_vtest_busy_wait(struct vws_vtest_conn *c, uint32_t res_id, uint32_t flags,
			bool *busy);

int vws_vtest_sync_create(struct vws_vtest_conn *c, uint64_t value, uint32_t *id);
/* No reply; not confirmed. */
int vws_vtest_sync_unref(struct vws_vtest_conn *c, uint32_t id);
int vws_vtest_sync_read(struct vws_vtest_conn *c, uint32_t id, uint64_t *value);
/* Confirmed by a ping. */
int vws_vtest_sync_write(struct vws_vtest_conn *c, uint32_t id, uint64_t value);
/* *fd (O_CLOEXEC) becomes readable once the syncs reach the values (any one
 * of them with VWS_VTEST_SYNC_WAIT_FLAG_ANY); timeout_ms bounds how long
 * the server keeps watching. */
int vws_vtest_sync_wait(struct vws_vtest_conn *c, uint32_t flags, uint32_t timeout_ms,
			const uint32_t *ids, const uint64_t *values, uint32_t count,
			int *fd);

/* One batch: cmd (cmd_size bytes, a multiple of 4) on ring ring_idx; when
 * it completes the syncs are set to the values. Confirmed by a ping (the
 * server closes the connection on a command stream it rejects). */
int vws_vtest_submit(struct vws_vtest_conn *c, const void *cmd, uint32_t cmd_size,
		     uint32_t ring_idx, const uint32_t *sync_ids,
		     const uint64_t *sync_values, uint32_t sync_count);

#endif /* VWS_VTEST_CONN_H */
