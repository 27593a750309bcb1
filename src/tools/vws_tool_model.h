/* SPDX-License-Identifier: MIT */
/*
 * What a command-line tool needs to run on the kernel model when the
 * machine has no virtio-gpu node: find libvirtgpu-shim.so, re-execute
 * itself with it preloaded, and reach the model's test API at run time
 * (dlsym), so the tool does not depend on the model on a real kernel.
 */
#ifndef VWS_TOOL_MODEL_H
#define VWS_TOOL_MODEL_H

#include <stdbool.h>

#include "vgshim.h"

/* Set in the environment of the re-executed tool: "<pid>:<model path>".
 * execv keeps the pid, so only the re-executed process itself finds its
 * own pid there; a marker left in the environment by anyone else (a parent
 * tool, a script) names another process and is stale. */
#define VWS_TOOL_MODEL_ENV "VWS_TOOL_ON_MODEL"

/* Sets env_name to this process's marker for model. 0 or -errno. */
int vws_tool_set_marker(const char *env_name, const char *model);
/* The model path of env_name's marker if it is this process's own; NULL
 * when absent or stale (*stale, when non-NULL, tells the latter). */
const char *vws_tool_marker_path(const char *env_name, bool *stale);

/* The model's test API, or NULL members when it is not loaded. */
struct vws_tool_model {
	void (*get_counters)(struct vgshim_counters *out);
	void (*host_drain)(void);
	int (*configure)(const char *name, const char *value);
	int (*reset)(void);
};

/* Path of the model to preload: $VWS_SHIM_PATH, else the build tree's,
 * else the installed one; NULL if none is readable. */
const char *vws_tool_find_model(const char *build_path, const char *installed_path);

/* Runs argv again with the model preloaded and VGSHIM_KERNEL=kernel (when
 * non-NULL). Returns only on failure, after printing why. */
int vws_tool_reexec_on_model(const char *prog, char **argv, const char *model,
			     const char *kernel);

/* Fills m from the running process; true when the model is loaded. */
bool vws_tool_model_lookup(struct vws_tool_model *m);

#endif
