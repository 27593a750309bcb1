/* SPDX-License-Identifier: MIT */
/*
 * A submission's fence: what completes when the host is done with it. The
 * objects it names are busy until then (WAIT waits for that), its
 * out-syncobjs are signalled, and its out-fence fd (an eventfd standing
 * in for a sync_file) turns readable.
 *
 * Completion is in two parts: the state waiters look at changes under the
 * device lock (vgshim_fence_signal_locked); the references it held are
 * dropped and its fds closed afterwards, with no lock held
 * (vgshim_fence_finish). The fd turns readable last: whoever sees it
 * readable finds the objects idle and released.
 */
#include <stdlib.h>
#include <unistd.h>

#include "vgshim_priv.h"

void vgshim_fence_free(struct vgshim_fence *fence)
{
	if (fence->efd >= 0)
		vgshim_real_close(fence->efd);
	if (fence->host_fd >= 0)
		vgshim_real_close(fence->host_fd);
	free(fence->objs);
	free(fence->out_syncobjs);
	free(fence->out_points);
	free(fence);
}

void vgshim_fence_signal_locked(struct vgshim_fence *fence)
{
	struct vgshim_file *f = fence->file;

	for (uint32_t i = 0; i < fence->num_objs; i++)
		fence->objs[i]->busy--;
	if (f) {
		for (uint32_t i = 0; i < fence->num_out; i++) {
			struct vgshim_syncobj *s = vgshim_syncobj_lookup(f, fence->out_syncobjs[i]);

			if (s) {
				s->signaled = true;
				if (fence->out_points[i] > s->point)
					s->point = fence->out_points[i];
			}
		}
		for (struct vgshim_fence **p = &f->fences; *p; p = &(*p)->file_next) {
			if (*p == fence) {
				*p = fence->file_next;
				break;
			}
		}
		fence->file = NULL;
	}
	pthread_cond_broadcast(&vgshim_dev.cond);
}

void vgshim_fence_finish(struct vgshim_fence *fence)
{
	uint64_t one = 1;

	for (uint32_t i = 0; i < fence->num_objs; i++)
		vgshim_obj_put(fence->objs[i]);
	if (fence->efd >= 0 && write(fence->efd, &one, sizeof(one)) < 0) {
		/* an eventfd write of 1 cannot fail short of overflow */
	}
	vgshim_fence_free(fence);
}

/* The real host's completions (the watcher, a lost or closed connection):
 * pending for vgshim_host_drain() until the fence's fds are closed, as
 * the simulated host's answers are. */
void vgshim_fence_complete(struct vgshim_fence *fence)
{
	vgshim_lock();
	vgshim_fence_signal_locked(fence);
	vgshim_dev.events_pending++;
	vgshim_unlock();
	vgshim_fence_finish(fence);
	vgshim_lock();
	vgshim_dev.events_pending--;
	pthread_cond_broadcast(&vgshim_dev.cond);
	vgshim_unlock();
}
