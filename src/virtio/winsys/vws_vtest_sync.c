/* SPDX-License-Identifier: MIT */
/*
 * vtest backend, submission and syncs.
 *
 * The API's syncobj handles are vtest sync ids used as binary syncs
 * (value 0 = unsignalled, >= 1 = signalled; a timeline point, when given,
 * is the value). Out-syncs ride on the batch and are set when it completes
 * on its ring; in-syncs are waited for here, before sending, because a
 * vtest batch has no wait list. A sync_file (fence fd) has no vtest
 * equivalent: -EOPNOTSUPP.
 *
 * Waiting in the caller's thread must not wait for something only a later
 * call of that thread would send (wait-before-signal: it would never
 * return). The kernel refuses such a submission at once (an in-syncobj
 * without a fence for the point is -EINVAL), and so do we: each sync
 * remembers the highest value what was already sent will give it, and a
 * submission may only wait for values up to that. What it does wait for is
 * work the server already has, bounded by VWS_VTEST_TIMEOUT_MS (-ETIME,
 * nothing sent) and by the server's death (-ECONNRESET).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vws_vtest.h"
#include "vws_vtest_proto.h"

static bool vws_vtest_sync_known_locked(struct vws_vtest *vt, uint32_t id, uint32_t *at)
{
	for (uint32_t i = 0; i < vt->num_syncs; i++) {
		if (vt->syncs[i].id == id) {
			if (at)
				*at = i;
			return true;
		}
	}
	return false;
}

static bool vws_vtest_syncs_known(struct vws_vtest *vt, const uint32_t *ids, uint32_t count)
{
	bool ok = true;

	pthread_mutex_lock(&vt->sync_lock);
	for (uint32_t i = 0; ok && i < count; i++)
		ok = vws_vtest_sync_known_locked(vt, ids[i], NULL);
	pthread_mutex_unlock(&vt->sync_lock);
	return ok;
}

/* Records that what was sent gives sync id the value (max with what it
 * had: exact, when reset). */
static void vws_vtest_sync_promise(struct vws_vtest *vt, uint32_t id, uint64_t value,
				   bool exact)
{
	uint32_t at;

	pthread_mutex_lock(&vt->sync_lock);
	if (vws_vtest_sync_known_locked(vt, id, &at) &&
	    (exact || vt->syncs[at].submitted < value))
		vt->syncs[at].submitted = value;
	pthread_mutex_unlock(&vt->sync_lock);
}

void vws_vtest_syncs_fini(struct vws_vtest *vt)
{
	free(vt->syncs);
	vt->syncs = NULL;
	vt->num_syncs = vt->cap_syncs = 0;
}

int vws_vtest_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint32_t id;
	int ret;

	ret = vws_vtest_sync_create(vt->conn, signaled ? 1 : 0, &id);
	if (ret)
		return ret;
	pthread_mutex_lock(&vt->sync_lock);
	if (vt->num_syncs == vt->cap_syncs) {
		uint32_t cap = vt->cap_syncs ? vt->cap_syncs * 2 : 16;
		struct vws_vtest_sync *s =
			cap > vt->cap_syncs ? realloc(vt->syncs, cap * sizeof(*s)) : NULL;

		if (!s) {
			pthread_mutex_unlock(&vt->sync_lock);
			vws_vtest_sync_unref(vt->conn, id);
			return -ENOMEM;
		}
		vt->syncs = s;
		vt->cap_syncs = cap;
	}
	vt->syncs[vt->num_syncs++] = (struct vws_vtest_sync){ id, signaled ? 1 : 0 };
	pthread_mutex_unlock(&vt->sync_lock);
	*handle = id;
	return 0;
}

int vws_vtest_syncobj_destroy(struct vws_device *dev, uint32_t handle)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint32_t at;

	pthread_mutex_lock(&vt->sync_lock);
	if (!vws_vtest_sync_known_locked(vt, handle, &at)) {
		pthread_mutex_unlock(&vt->sync_lock);
		return -EINVAL;
	}
	vt->syncs[at] = vt->syncs[--vt->num_syncs];
	pthread_mutex_unlock(&vt->sync_lock);
	return vws_vtest_sync_unref(vt->conn, handle);
}

static int64_t vws_vtest_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Waits for the server's eventfd until the absolute deadline, watching the
 * socket for the server going away so that a dead server is an error, not
 * a wait forever. */
static int vws_vtest_wait_fd(struct vws_vtest *vt, int efd, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = efd, .events = POLLIN },
			{ .fd = vws_vtest_conn_fd(vt->conn), .events = POLLRDHUP },
		};
		int64_t left = deadline_ns == INT64_MAX ? -1 : deadline_ns - vws_vtest_now_ns();
		int ms, n;

		if (deadline_ns != INT64_MAX && left < 0)
			left = 0;
		ms = left < 0 ? -1 : left / 1000000 > 0x7fffffff ? 0x7fffffff
								  : (int)((left + 999999) / 1000000);
		n = poll(p, 2, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[0].revents & POLLIN)
			return 0;
		if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return -ECONNRESET;
		if (n == 0)
			return -ETIME;
	}
}

static int vws_vtest_wait_values(struct vws_vtest *vt, const uint32_t *ids,
				 const uint64_t *values, uint32_t count, int64_t deadline_ns,
				 bool wait_all)
{
	int64_t left = deadline_ns == INT64_MAX ? INT64_MAX : deadline_ns - vws_vtest_now_ns();
	uint32_t timeout_ms;
	int efd, ret;

	/* The server's own bound on watching; ours is the poll below. Past
	 * INT32_MAX ms the server treats it as "forever". */
	if (left <= 0)
		timeout_ms = 0;
	else if (left / 1000000 >= 0x7fffffff)
		timeout_ms = 0x80000000u;
	else
		timeout_ms = (uint32_t)((left + 999999) / 1000000);
	ret = vws_vtest_sync_wait(vt->conn, wait_all ? 0 : VWS_VTEST_SYNC_WAIT_FLAG_ANY,
				  timeout_ms, ids, values, count, &efd);
	if (ret)
		return ret;
	ret = vws_vtest_wait_fd(vt, efd, deadline_ns);
	close(efd);
	return ret;
}

int vws_vtest_syncobj_wait(struct vws_device *dev, const uint32_t *handles, uint32_t count,
			   int64_t timeout_ns, bool wait_all)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint64_t *ones;
	int ret;

	if (!vws_vtest_syncs_known(vt, handles, count))
		return -EINVAL;
	ones = malloc(count * sizeof(*ones));
	if (!ones)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++)
		ones[i] = 1;
	ret = vws_vtest_wait_values(vt, handles, ones, count, timeout_ns, wait_all);
	free(ones);
	return ret;
}

int vws_vtest_syncobj_signal(struct vws_device *dev, const uint32_t *handles, uint32_t count)
{
	struct vws_vtest *vt = vws_vtest(dev);

	if (!vws_vtest_syncs_known(vt, handles, count))
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		int ret = vws_vtest_sync_write(vt->conn, handles[i], 1);

		if (ret)
			return ret;
		vws_vtest_sync_promise(vt, handles[i], 1, false);
	}
	return 0;
}

/* The in-syncs' values, each already promised by something sent: 0, or
 * -EINVAL (wait-before-signal) naming the first that is not. */
static int vws_vtest_check_promised(struct vws_device *dev, const uint32_t *ids,
				    const uint64_t *values, uint32_t n)
{
	struct vws_vtest *vt = vws_vtest(dev);
	int ret = 0;

	pthread_mutex_lock(&vt->sync_lock);
	for (uint32_t i = 0; !ret && i < n; i++) {
		uint32_t at;

		if (!vws_vtest_sync_known_locked(vt, ids[i], &at)) {
			ret = -EINVAL;
		} else if (vt->syncs[at].submitted < values[i]) {
			vws_log(dev, VWS_DEBUG_SUBMIT,
				"vtest: in-sync %u waits for %llu, but what was sent only gives it "
				"%llu (wait-before-signal)", ids[i],
				(unsigned long long)values[i],
				(unsigned long long)vt->syncs[at].submitted);
			ret = -EINVAL;
		}
	}
	pthread_mutex_unlock(&vt->sync_lock);
	return ret;
}

/* ids and values of a point list; binary syncs (point 0) mean value 1. */
static int vws_vtest_points(struct vws_vtest *vt, const struct vws_syncobj_point *p,
			    uint32_t n, uint32_t **ids, uint64_t **values)
{
	*ids = NULL;
	*values = NULL;
	if (!n)
		return 0;
	*ids = malloc(n * sizeof(**ids));
	*values = malloc(n * sizeof(**values));
	if (!*ids || !*values) {
		free(*ids);
		free(*values);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		(*ids)[i] = p[i].handle;
		(*values)[i] = p[i].point ? p[i].point : 1;
	}
	if (!vws_vtest_syncs_known(vt, *ids, n)) {
		free(*ids);
		free(*values);
		return -EINVAL;
	}
	return 0;
}

int vws_vtest_submit_op(struct vws_device *dev, const struct vws_submit_info *info)
{
	struct vws_vtest *vt = vws_vtest(dev);
	uint32_t ring = info->use_ring ? info->ring_idx : 0;
	uint32_t *in_ids = NULL, *out_ids = NULL;
	uint64_t *in_vals = NULL, *out_vals = NULL;
	int ret;

	if (info->in_fence_fd >= 0 || info->out_fence_fd) {
		vws_log(dev, VWS_DEBUG_SUBMIT, "vtest: no sync_file fences over vtest");
		return -EOPNOTSUPP;
	}
	if (!vt->num_rings || ring >= vt->num_rings) {
		vws_log(dev, VWS_DEBUG_SUBMIT, "vtest: ring %u, context has %u rings", ring,
			vt->num_rings);
		return -EINVAL;
	}
	ret = vws_vtest_points(vt, info->in_syncobjs, info->num_in_syncobjs, &in_ids, &in_vals);
	if (ret)
		return ret;
	ret = vws_vtest_points(vt, info->out_syncobjs, info->num_out_syncobjs, &out_ids,
			       &out_vals);
	if (ret)
		goto out;
	if (info->num_in_syncobjs) {
		ret = vws_vtest_check_promised(dev, in_ids, in_vals, info->num_in_syncobjs);
		if (ret)
			goto out;
		ret = vws_vtest_wait_values(vt, in_ids, in_vals, info->num_in_syncobjs,
					    vws_vtest_now_ns() + vt->timeout_ms * 1000000ll, true);
		if (ret == -ETIME)
			vws_log(dev, VWS_DEBUG_SUBMIT,
				"vtest: in-syncs not signalled within %d ms; nothing submitted",
				vt->timeout_ms);
		for (uint32_t i = 0; !ret && i < info->num_in_syncobjs; i++) {
			if (!info->in_syncobjs[i].reset)
				continue;
			ret = vws_vtest_sync_write(vt->conn, in_ids[i], 0);
			if (!ret)
				vws_vtest_sync_promise(vt, in_ids[i], 0, true);
		}
		if (ret)
			goto out;
	}
	ret = vws_vtest_submit(vt->conn, info->cmd, info->cmd_size, ring, out_ids, out_vals,
			       info->num_out_syncobjs);
	for (uint32_t i = 0; !ret && i < info->num_out_syncobjs; i++)
		vws_vtest_sync_promise(vt, out_ids[i], out_vals[i], false);
out:
	free(in_ids);
	free(in_vals);
	free(out_ids);
	free(out_vals);
	return ret;
}
