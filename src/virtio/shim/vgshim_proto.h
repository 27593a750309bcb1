/* SPDX-License-Identifier: MIT */
/*
 * The command format the kernel model's "host" understands.
 *
 * A real host (virglrenderer, gfxstream) creates a host memory object when
 * the guest driver's protocol says so (Venus: vkAllocateMemory), and a blob's
 * blob_id names that object. The model needs the same two-step dance so that
 * a wrong blob_id fails at map time as it does on a real host, so it reads
 * this tiny format from EXECBUFFER command streams and from the optional
 * creation command of RESOURCE_CREATE_BLOB. The kernel never parses command
 * streams; neither does the model's "kernel" side: only its host does.
 *
 * A stream is a sequence of commands. Each command starts with one header
 * dword: bits 31..16 opcode, bits 15..0 length in dwords including the
 * header. Payload dwords are little-endian; 64-bit values are lo then hi.
 * Unknown opcodes and malformed commands are counted (host_bad_cmds) and
 * skipped, never fatal, like a host ignoring a bad command from one context.
 */
#ifndef VGSHIM_PROTO_H
#define VGSHIM_PROTO_H

#include <stdint.h>

#define VGSHIM_CMD_HEADER(op, len) (((uint32_t)(op) << 16) | ((uint32_t)(len) & 0xffffu))
#define VGSHIM_CMD_OP(hdr) ((hdr) >> 16)
#define VGSHIM_CMD_LEN(hdr) ((hdr) & 0xffffu)

enum vgshim_cmd_op {
	VGSHIM_CMD_NOP = 0,         /* len >= 1, payload ignored */
	/* Create host memory object blob_id of size bytes.
	 * payload: blob_id lo, blob_id hi, size lo, size hi, flags. len 6 */
	VGSHIM_CMD_CREATE_MEM = 1,
	/* Destroy host memory object blob_id (blobs already created from it keep
	 * their memory, as a host keeps a resource's backing alive).
	 * payload: blob_id lo, blob_id hi. len 3 */
	VGSHIM_CMD_DESTROY_MEM = 2,
};

/* CREATE_MEM flags */
#define VGSHIM_MEM_MAPPABLE   (1u << 0) /* host memory can be mapped into the region */
#define VGSHIM_MEM_FAIL_MAP   (1u << 1) /* host refuses to map it (MAP_BLOB error) */

#define VGSHIM_CMD_CREATE_MEM_LEN 6
#define VGSHIM_CMD_DESTROY_MEM_LEN 3

/* Builds a CREATE_MEM command into out[VGSHIM_CMD_CREATE_MEM_LEN]. */
static inline void vgshim_cmd_create_mem(uint32_t *out, uint64_t blob_id,
					 uint64_t size, uint32_t flags)
{
	out[0] = VGSHIM_CMD_HEADER(VGSHIM_CMD_CREATE_MEM, VGSHIM_CMD_CREATE_MEM_LEN);
	out[1] = (uint32_t)blob_id;
	out[2] = (uint32_t)(blob_id >> 32);
	out[3] = (uint32_t)size;
	out[4] = (uint32_t)(size >> 32);
	out[5] = flags;
}

static inline void vgshim_cmd_destroy_mem(uint32_t *out, uint64_t blob_id)
{
	out[0] = VGSHIM_CMD_HEADER(VGSHIM_CMD_DESTROY_MEM, VGSHIM_CMD_DESTROY_MEM_LEN);
	out[1] = (uint32_t)blob_id;
	out[2] = (uint32_t)(blob_id >> 32);
}

#endif /* VGSHIM_PROTO_H */
