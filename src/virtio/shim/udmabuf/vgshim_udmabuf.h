/* SPDX-License-Identifier: MIT */
/* The test API of the host's udmabuf model (libvgshim-udmabuf.so). */
#ifndef VGSHIM_UDMABUF_H
#define VGSHIM_UDMABUF_H

/* Buffers UDMABUF_CREATE / UDMABUF_CREATE_LIST made in this process. */
unsigned long vgshim_udmabuf_created(void);

#endif
