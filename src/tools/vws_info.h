/* SPDX-License-Identifier: MIT */
/* vws-info: what it gathers, shared by its parts. */
#ifndef VWS_INFO_H
#define VWS_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include "vws/vws.h"

struct vws_info_opts {
	enum vws_backend_kind backend;  /* room for --backend vtest */
	const char *device;             /* --device, or --socket for vtest */
	const char *kernel;             /* --kernel: model generation */
	enum vws_defer_policy defer;    /* --defer, DEFAULT if not given */
	int capset;                     /* --capset: -1 auto, 0 none, id */
	bool json;
};

/* Where the device came from, for the label. */
struct vws_info_env {
	bool on_model;                  /* running on the kernel model */
	const char *model_generation;   /* VGSHIM_KERNEL or "model default" */
	const char *model_path;         /* the preloaded library */
	/* Set when the model is there: its ioctl and mmap counters. */
	bool (*model_counts)(uint64_t *ioctls, uint64_t *mmaps, uint64_t *region_in_use);
	/* The model's host-visible region size (it knows it; the UAPI does
	 * not say), 0 if unknown. */
	uint64_t model_region_size;
};

#define VWS_INFO_MAX_STEPS 12

struct vws_info_step {
	const char *name;
	const char *note;               /* what happened, one short phrase */
	int error;                      /* 0 or negative errno */
	bool ok;
	int64_t held_delta;             /* winsys region_bytes_held change */
	int64_t deferred_delta;         /* winsys region_bytes_deferred change */
	int64_t ioctls;                 /* -1: not countable */
	int64_t mmaps;
	int64_t model_region_delta;     /* model's region_bytes_in_use, -1 n/a */
	bool model_region_known;
};

struct vws_info_selfcheck {
	bool host3d;                    /* HOST3D steps ran (need the model) */
	const char *skipped_why;
	unsigned num_steps;
	struct vws_info_step steps[VWS_INFO_MAX_STEPS];
	bool passed;
	bool not_applicable;            /* no blob resources: nothing to check */
};

/* vws_info_selfcheck.c */
void vws_info_run_selfcheck(struct vws_device *dev, const struct vws_info_env *env,
			    struct vws_info_selfcheck *out);

/* vws_info_print.c */
const char *vws_info_param_name(unsigned param);
const char *vws_info_capset_name(unsigned id);
void vws_info_print_text(const struct vws_device *dev, const struct vws_info_env *env,
			 const struct vws_info_selfcheck *sc);
void vws_info_print_json(const struct vws_device *dev, const struct vws_info_env *env,
			 const struct vws_info_selfcheck *sc);

#endif /* VWS_INFO_H */
