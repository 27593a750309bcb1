/* SPDX-License-Identifier: MIT */
/* vtest backend: private state shared by its files. */
#ifndef VWS_VTEST_H
#define VWS_VTEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vws_priv.h"
#include "vws_vtest_conn.h"

struct vws_vtest {
	struct vws_vtest_conn *conn;
	char path[108];
	uint32_t max_timelines;  /* GET_PARAM MAX_TIMELINE_COUNT, 0 if invalid */
	uint32_t num_rings;      /* rings of the context, 0 before CONTEXT_INIT */

	int timeout_ms;          /* VWS_VTEST_TIMEOUT_MS */

	/* Live syncs. The server closes the connection when a command
	 * names an unknown sync, so ids are checked here first. */
	pthread_mutex_t sync_lock;
	struct vws_vtest_sync *syncs;
	uint32_t num_syncs, cap_syncs;
};

/* One live vtest sync and the highest value that what was already sent
 * will give it (its creation value, a signal, or the out-sync of a batch
 * already submitted): the vtest counterpart of "the syncobj has a fence
 * for this point". A submission may wait only for values up to it. */
struct vws_vtest_sync {
	uint32_t id;
	uint64_t submitted;
};

static inline struct vws_vtest *vws_vtest(const struct vws_device *dev)
{
	return (struct vws_vtest *)dev->backend;
}

/* The object's fd, kept from creation to close (bo->backend_data). */
static inline int vws_vtest_bo_fd(const struct vws_bo *bo)
{
	return (int)bo->backend_data;
}

/* vws_vtest_bo.c */
int vws_vtest_bo_create(struct vws_device *dev, const struct vws_blob_request *req,
			struct vws_bo *bo);
void vws_vtest_bo_close(struct vws_device *dev, struct vws_bo *bo);
int vws_vtest_bo_map(struct vws_device *dev, struct vws_bo *bo, void *fixed_addr,
		     void **out, struct vws_shard *s);
int vws_vtest_bo_export(struct vws_device *dev, struct vws_bo *bo, int *fd);
int vws_vtest_bo_import(struct vws_device *dev, int fd, uint32_t *handle);
int vws_vtest_bo_query(struct vws_device *dev, uint32_t handle, int fd,
		       struct vws_bo *bo);
void vws_vtest_bo_import_abort(struct vws_device *dev, uint32_t handle);
int vws_vtest_bo_wait(struct vws_device *dev, struct vws_bo *bo, bool nowait);

/* vws_vtest_sync.c */
int vws_vtest_submit_op(struct vws_device *dev, const struct vws_submit_info *info);
int vws_vtest_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle);
int vws_vtest_syncobj_destroy(struct vws_device *dev, uint32_t handle);
int vws_vtest_syncobj_wait(struct vws_device *dev, const uint32_t *handles,
			   uint32_t count, int64_t timeout_ns, bool wait_all);
int vws_vtest_syncobj_signal(struct vws_device *dev, const uint32_t *handles,
			     uint32_t count);
void vws_vtest_syncs_fini(struct vws_vtest *vt);

#endif /* VWS_VTEST_H */
