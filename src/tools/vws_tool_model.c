/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vws_tool_model.h"

const char *vws_tool_find_model(const char *build_path, const char *installed_path)
{
	const char *env = getenv("VWS_SHIM_PATH");

	if (env && env[0])
		return access(env, R_OK) == 0 ? env : NULL;
	if (build_path && access(build_path, R_OK) == 0)
		return build_path;
	if (installed_path && access(installed_path, R_OK) == 0)
		return installed_path;
	return NULL;
}

int vws_tool_set_marker(const char *env_name, const char *model)
{
	size_t len = strlen(model) + 24;
	char *v = malloc(len);
	int ret = 0;

	if (!v)
		return -ENOMEM;
	snprintf(v, len, "%ld:%s", (long)getpid(), model);
	if (setenv(env_name, v, 1))
		ret = -errno;
	free(v);
	return ret;
}

const char *vws_tool_marker_path(const char *env_name, bool *stale)
{
	const char *v = getenv(env_name);
	char *end;
	long pid;

	if (stale)
		*stale = false;
	if (!v)
		return NULL;
	errno = 0;
	pid = strtol(v, &end, 10);
	if (errno || end == v || *end != ':' || pid != (long)getpid()) {
		if (stale)
			*stale = true;
		return NULL;
	}
	return end + 1;
}

int vws_tool_reexec_on_model(const char *prog, char **argv, const char *model,
			     const char *kernel)
{
	const char *old = getenv("LD_PRELOAD");
	size_t len = strlen(model) + (old ? strlen(old) + 1 : 0) + 1;
	char *preload = malloc(len);

	if (!preload) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -ENOMEM;
	}
	/* The model first: its ioctl/mmap must win over anything else preloaded. */
	snprintf(preload, len, "%s%s%s", model, old && old[0] ? ":" : "", old ? old : "");
	if (setenv("LD_PRELOAD", preload, 1) || vws_tool_set_marker(VWS_TOOL_MODEL_ENV, model) ||
	    (kernel && setenv("VGSHIM_KERNEL", kernel, 1))) {
		int err = errno ? errno : ENOMEM;

		fprintf(stderr, "%s: setenv: %s\n", prog, strerror(err));
		free(preload);
		return -err;
	}
	free(preload);
	fflush(NULL);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "%s: re-executing on the kernel model: %s\n", prog, strerror(errno));
	return -errno;
}

bool vws_tool_model_lookup(struct vws_tool_model *m)
{
	/* dlsym returns void *; going through memcpy keeps -Wpedantic quiet
	 * about object-to-function pointer casts. */
	void *p;

	p = dlsym(RTLD_DEFAULT, "vgshim_get_counters");
	memcpy(&m->get_counters, &p, sizeof(p));
	p = dlsym(RTLD_DEFAULT, "vgshim_host_drain");
	memcpy(&m->host_drain, &p, sizeof(p));
	p = dlsym(RTLD_DEFAULT, "vgshim_configure");
	memcpy(&m->configure, &p, sizeof(p));
	p = dlsym(RTLD_DEFAULT, "vgshim_reset");
	memcpy(&m->reset, &p, sizeof(p));
	return m->get_counters != NULL;
}
