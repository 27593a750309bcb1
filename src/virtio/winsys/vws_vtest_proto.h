/* SPDX-License-Identifier: MIT */
/*
 * The subset of virglrenderer's vtest wire protocol (version 3) that the
 * vtest backend speaks. Our own statement of the facts (command ids and
 * payload layouts); see docs/vtest.md for the behaviour around them.
 *
 * Every message, in both directions, is a header of two little-endian
 * dwords (payload length, command id) followed by the payload. The length
 * counts dwords, except for CREATE_RENDERER whose length counts bytes.
 */
#ifndef VWS_VTEST_PROTO_H
#define VWS_VTEST_PROTO_H

#include <stdint.h>

#define VWS_VTEST_PROTOCOL_VERSION 3
/* virglrenderer's default socket when none is given. */
#define VWS_VTEST_DEFAULT_SOCKET "/tmp/.virgl_test"

#define VWS_VTEST_HDR_DWORDS 2
#define VWS_VTEST_HDR_LEN 0 /* header dword: payload length */
#define VWS_VTEST_HDR_CMD 1 /* header dword: command id */

enum vws_vtest_cmd {
	VWS_VTEST_CMD_RESOURCE_UNREF = 3,      /* res_id; no reply */
	VWS_VTEST_CMD_RESOURCE_BUSY_WAIT = 7,  /* res_id, flags -> busy */
	VWS_VTEST_CMD_CREATE_RENDERER = 8,     /* name bytes; no reply */
	VWS_VTEST_CMD_PING_PROTOCOL_VERSION = 10, /* -> empty reply */
	VWS_VTEST_CMD_PROTOCOL_VERSION = 11,   /* version -> version */
	/* protocol version 3 */
	VWS_VTEST_CMD_GET_PARAM = 15,          /* param -> valid, value */
	VWS_VTEST_CMD_GET_CAPSET = 16,         /* id, version -> valid, data */
	VWS_VTEST_CMD_CONTEXT_INIT = 17,       /* capset id; no reply */
	VWS_VTEST_CMD_RESOURCE_CREATE_BLOB = 18, /* see below -> res_id + fd */
	VWS_VTEST_CMD_SYNC_CREATE = 19,        /* value lo, hi -> sync id */
	VWS_VTEST_CMD_SYNC_UNREF = 20,         /* sync id; no reply */
	VWS_VTEST_CMD_SYNC_READ = 21,          /* sync id -> value lo, hi */
	VWS_VTEST_CMD_SYNC_WRITE = 22,         /* sync id, value lo, hi; no reply */
	VWS_VTEST_CMD_SYNC_WAIT = 23,          /* see below -> empty + fd */
	VWS_VTEST_CMD_SUBMIT_CMD2 = 24,        /* see below; no reply */
};

/* RESOURCE_BUSY_WAIT */
#define VWS_VTEST_BUSY_WAIT_DWORDS 2
#define VWS_VTEST_BUSY_WAIT_FLAG_WAIT 1u

/* GET_PARAM params */
#define VWS_VTEST_PARAM_MAX_TIMELINE_COUNT 1

/* RESOURCE_CREATE_BLOB payload: type, flags, size lo, size hi, blob id lo,
 * blob id hi. The reply is one dword (res_id); the object's fd follows in
 * a separate one-byte message carrying it by SCM_RIGHTS. */
#define VWS_VTEST_BLOB_DWORDS 6
#define VWS_VTEST_BLOB_TYPE_GUEST 1
#define VWS_VTEST_BLOB_TYPE_HOST3D 2
#define VWS_VTEST_BLOB_TYPE_HOST3D_GUEST 3
#define VWS_VTEST_BLOB_FLAG_MAPPABLE 0x1u
#define VWS_VTEST_BLOB_FLAG_SHAREABLE 0x2u
#define VWS_VTEST_BLOB_FLAG_CROSS_DEVICE 0x4u

/* SYNC_WAIT payload: flags, timeout (ms), then per sync: id, value lo,
 * value hi. The reply is empty; an eventfd follows by SCM_RIGHTS and
 * becomes readable when the wait is satisfied. */
#define VWS_VTEST_SYNC_WAIT_FLAG_ANY 0x1u
#define VWS_VTEST_SYNC_WAIT_DWORDS(n) (2u + 3u * (n))

/* SUBMIT_CMD2 payload: batch count, then per batch a header of 8 dwords
 * (the server indexes batches with that stride), then the command words
 * and sync triples the headers point at by dword offsets from the start
 * of the payload. Header fields: */
#define VWS_VTEST_BATCH_DWORDS 8
#define VWS_VTEST_BATCH_FLAGS 0
#define VWS_VTEST_BATCH_CMD_OFFSET 1
#define VWS_VTEST_BATCH_CMD_SIZE 2    /* dwords */
#define VWS_VTEST_BATCH_SYNC_OFFSET 3
#define VWS_VTEST_BATCH_SYNC_COUNT 4  /* (id, value lo, value hi) triples */
#define VWS_VTEST_BATCH_RING_IDX 5
/* Syncs are signalled when the batch completes on ring ring_idx. */
#define VWS_VTEST_BATCH_FLAG_RING_IDX 0x1u

/* Size of the Venus capset's fixed leading fields we check for sanity:
 * wire format version, vk.xml version, command serialization spec
 * version, Venus protocol spec version, blob_id 0 support. */
#define VWS_VTEST_VENUS_CAPSET_MIN_DWORDS 5

#endif /* VWS_VTEST_PROTO_H */
