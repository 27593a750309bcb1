/* SPDX-License-Identifier: MIT */
/* Submission, object waits and syncobjs: argument checks, then the backend. */
#include <errno.h>
#include <string.h>

#include "vws_priv.h"

static int vws_check_points(const struct vws_syncobj_point *p, uint32_t n)
{
	return n && !p ? -EINVAL : 0;
}

int vws_submit(struct vws_device *dev, const struct vws_submit_info *info)
{
	int ret;

	if (!dev || !info)
		return -EINVAL;
	if (info->cmd_size % 4 || (info->cmd_size && !info->cmd) ||
	    (info->num_bos && !info->bos) ||
	    vws_check_points(info->in_syncobjs, info->num_in_syncobjs) ||
	    vws_check_points(info->out_syncobjs, info->num_out_syncobjs))
		return -EINVAL;
	for (uint32_t i = 0; i < info->num_bos; i++) {
		if (!info->bos[i] || info->bos[i]->dev != dev) {
			vws_log(dev, VWS_DEBUG_SUBMIT, "submit: object %u is NULL or foreign", i);
			return -EINVAL;
		}
	}
	if (!dev->ops->submit)
		return -EOPNOTSUPP;
	ret = dev->ops->submit(dev, info);
	vws_log(dev, VWS_DEBUG_SUBMIT, "submit %u bytes, %u objects, ring %s%u: %s",
		info->cmd_size, info->num_bos, info->use_ring ? "" : "(default) ",
		info->ring_idx, ret ? strerror(-ret) : "ok");
	return ret;
}

int vws_bo_wait(struct vws_bo *bo, bool nowait)
{
	if (!bo)
		return -EINVAL;
	return bo->dev->ops->bo_wait(bo->dev, bo, nowait);
}

int vws_syncobj_create(struct vws_device *dev, bool signaled, uint32_t *handle)
{
	if (!dev || !handle)
		return -EINVAL;
	if (!dev->ops->syncobj_create)
		return -EOPNOTSUPP;
	return dev->ops->syncobj_create(dev, signaled, handle);
}

int vws_syncobj_destroy(struct vws_device *dev, uint32_t handle)
{
	if (!dev)
		return -EINVAL;
	if (!dev->ops->syncobj_destroy)
		return -EOPNOTSUPP;
	return dev->ops->syncobj_destroy(dev, handle);
}

int vws_syncobj_wait(struct vws_device *dev, const uint32_t *handles, uint32_t count,
		     int64_t timeout_ns, bool wait_all)
{
	if (!dev || !handles || !count)
		return -EINVAL;
	if (!dev->ops->syncobj_wait)
		return -EOPNOTSUPP;
	return dev->ops->syncobj_wait(dev, handles, count, timeout_ns, wait_all);
}

int vws_syncobj_signal(struct vws_device *dev, const uint32_t *handles, uint32_t count)
{
	if (!dev || !handles || !count)
		return -EINVAL;
	if (!dev->ops->syncobj_signal)
		return -EOPNOTSUPP;
	return dev->ops->syncobj_signal(dev, handles, count);
}
