/* SPDX-License-Identifier: MIT */
/*
 * Test fixture: a real virglrenderer vtest server (virgl_test_server
 * --venus --render-server, lavapipe as the host GPU) on a socket in a
 * fresh temporary directory, and a scripted fake server for the error
 * paths. Helpers fail the current cmocka test on error: a missing server
 * binary is a failure, never a skip.
 */
#ifndef VT_SERVER_H
#define VT_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vt_server {
	pid_t pid;      /* the server, leader of its own session */
	int pidfd;
	char *dir;      /* mkdtemp directory holding the socket and the log */
	char sock[108];
	char log[256];
};

/* Starts the server (venus: with --venus) and returns once it accepts
 * connections (bounded wait). VWS_TEST_VIRGL_SERVER overrides the binary. */
void vt_server_start(struct vt_server *s, bool venus);
/* Kills every process of the server's session (the server, its
 * per-client children and the render servers they spawn: nothing else is
 * in it), reaps the server and removes its directory. Safe after
 * vt_server_kill. */
void vt_server_stop(struct vt_server *s);
/* Kills it now (SIGKILL to its session, waiting until each process has
 * exited, so its sockets are closed) and reaps it; the directory stays
 * until vt_server_stop. For "server died mid-session" tests. */
void vt_server_kill(struct vt_server *s);

/* What the fake server does after accepting its one client. */
enum vt_fake_script {
	/* during the handshake */
	VT_FAKE_CLOSE_AT_HELLO,     /* closes after CREATE_RENDERER */
	VT_FAKE_OLD_SERVER,         /* answers only the BUSY_WAIT (no ping) */
	VT_FAKE_VERSION_2,          /* negotiates protocol version 2 */
	VT_FAKE_GARBAGE_HELLO,      /* answers the ping with random bytes */
	/* after a good handshake, to the first request */
	VT_FAKE_WRONG_CMD,          /* reply header with another command id */
	VT_FAKE_WRONG_LEN,          /* reply header with a wrong length */
	VT_FAKE_SHORT_REPLY,        /* half a reply, then close */
	VT_FAKE_CLOSE,              /* close without replying */
	VT_FAKE_SILENT,             /* never reply (until the client leaves) */
	VT_FAKE_BLOB_NO_FD,         /* blob reply, fd byte without an fd */
	VT_FAKE_BLOB_TWO_FDS,       /* blob reply, two fds */
	VT_FAKE_BLOB_CLOSE_BEFORE_FD, /* blob reply, close before the fd */
	VT_FAKE_CAPSET_INVALID_DATA,  /* "invalid" capset carrying data */
	VT_FAKE_CAPSET_TRUNCATED,   /* capset shorter than its header says */
	VT_FAKE_GET_PARAM_GARBAGE,  /* good replies until GET_PARAM: garbage */
	VT_FAKE_RECORD,             /* answers pings, records other requests */
	/* an honest minimal server for a client without a context: GET_PARAM,
	 * GET_CAPSET ("invalid"), PING; a blob is answered with its request's
	 * blob_id (low dword) as res_id, so the test picks the ids a server
	 * hands out, with a memfd of the requested size */
	VT_FAKE_SERVE,
};

struct vt_fake {
	char *dir;
	char sock[108];
	int listen_fd;
	enum vt_fake_script script;
	pthread_t thread;
	int requests;          /* requests read after the handshake */
	/* VT_FAKE_RECORD: the last request other than a ping. */
	uint32_t last_cmd, last_len;
	uint32_t last_head[32];  /* its first payload dwords */
	uint64_t last_sum;       /* sum of all its payload dwords */
};

void vt_fake_start(struct vt_fake *f, enum vt_fake_script script);
/* Joins the fake server (it ends when the client has closed its side). */
void vt_fake_stop(struct vt_fake *f);

/* Removes a directory made by the fixture and everything in it (one
 * level). */
void vt_remove_dir(const char *dir);

#endif /* VT_SERVER_H */
