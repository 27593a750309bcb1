/* SPDX-License-Identifier: MIT */
/*
 * Fault injection. VGSHIM_FAIL is a comma-separated list of rules
 *     SITE:WHEN:ERRNO
 * SITE  an ioctl name (CREATE_BLOB, MAP, GETPARAM, ...: see
 *       docs/kernel-model.md), "mmap" (mmap of the node or a dma-buf),
 *       "hostmap" (the host's answer to MAP_BLOB), "open" (open of the node)
 *       or "alloc" (the model's own allocations).
 * WHEN  N (the Nth call of that site, from 1), "*" (every call), or, for
 *       alloc only, "once" (each allocation site of the model fails the
 *       first time it runs, then works: every ENOMEM path is exercised).
 * ERRNO a name (ENOMEM, EINVAL, ...) or a number.
 * Calls are counted per site from the moment the rules are set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vgshim_priv.h"

#define VGSHIM_MAX_RULES 16
#define VGSHIM_MAX_SITES 64
#define VGSHIM_MAX_ONCE 256

struct vgshim_rule {
	char site[24];
	uint64_t nth;     /* 0 = every call */
	bool once;
	int err;
};

static struct {
	pthread_mutex_t lock;  /* own lock: allocations happen under the model's locks */
	struct vgshim_rule rules[VGSHIM_MAX_RULES];
	unsigned num_rules;
	char sites[VGSHIM_MAX_SITES][24];
	uint64_t counts[VGSHIM_MAX_SITES];
	unsigned num_sites;
	void *once_seen[VGSHIM_MAX_ONCE];
	unsigned num_once;
} vgshim_faults = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const struct {
	const char *name;
	int err;
} vgshim_errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EINTR", EINTR }, { "EIO", EIO },
	{ "EBADF", EBADF }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EACCES", EACCES },
	{ "EFAULT", EFAULT }, { "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "ENODEV", ENODEV },
	{ "EINVAL", EINVAL }, { "EMFILE", EMFILE }, { "ENOTTY", ENOTTY }, { "ENOSPC", ENOSPC },
	{ "EDEADLK", EDEADLK }, { "ETIMEDOUT", ETIMEDOUT }, { "ETIME", ETIME },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ENXIO", ENXIO }, { "EPROTO", EPROTO },
};

static int vgshim_errno_parse(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(vgshim_errnos) / sizeof(vgshim_errnos[0]); i++)
		if (!strcasecmp(s, vgshim_errnos[i].name))
			return vgshim_errnos[i].err;
	v = strtol(s, &end, 10);
	return (*end || end == s || v <= 0 || v > 4095) ? 0 : (int)v;
}

int vgshim_fault_parse(const char *rules)
{
	struct vgshim_rule parsed[VGSHIM_MAX_RULES];
	unsigned n = 0;
	char buf[512], *save = NULL;

	if (rules && strlen(rules) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", rules ? rules : "");
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *when = strchr(t, ':'), *err;
		struct vgshim_rule r = { 0 };

		if (!when || n == VGSHIM_MAX_RULES)
			return -EINVAL;
		*when++ = 0;
		err = strchr(when, ':');
		if (!err)
			return -EINVAL;
		*err++ = 0;
		if (!t[0] || strlen(t) >= sizeof(r.site))
			return -EINVAL;
		snprintf(r.site, sizeof(r.site), "%s", t);
		if (!strcmp(when, "*")) {
			r.nth = 0;
		} else if (!strcmp(when, "once")) {
			if (strcmp(t, VGSHIM_FAULT_ALLOC_SITE))
				return -EINVAL;
			r.once = true;
		} else {
			char *end;
			unsigned long long v = strtoull(when, &end, 10);

			if (*end || end == when || !v || when[0] == '-')
				return -EINVAL;
			r.nth = v;
		}
		r.err = vgshim_errno_parse(err);
		if (!r.err)
			return -EINVAL;
		parsed[n++] = r;
	}
	pthread_mutex_lock(&vgshim_faults.lock);
	memcpy(vgshim_faults.rules, parsed, n * sizeof(parsed[0]));
	__atomic_store_n(&vgshim_faults.num_rules, n, __ATOMIC_RELEASE);
	vgshim_faults.num_sites = 0;
	vgshim_faults.num_once = 0;
	pthread_mutex_unlock(&vgshim_faults.lock);
	return 0;
}

void vgshim_fault_reset_counts(void)
{
	pthread_mutex_lock(&vgshim_faults.lock);
	vgshim_faults.num_sites = 0;
	vgshim_faults.num_once = 0;
	pthread_mutex_unlock(&vgshim_faults.lock);
}

static int vgshim_fault_check_at(const char *site, void *caller)
{
	uint64_t count = 0;
	int err = 0;
	unsigned i;

	/* no rules (the common case): no lock, no count (counts only matter
	 * from when rules are set, which resets them) */
	if (!__atomic_load_n(&vgshim_faults.num_rules, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&vgshim_faults.lock);
	if (!vgshim_faults.num_rules) {
		pthread_mutex_unlock(&vgshim_faults.lock);
		return 0;
	}
	for (i = 0; i < vgshim_faults.num_sites; i++)
		if (!strcmp(vgshim_faults.sites[i], site))
			break;
	if (i == vgshim_faults.num_sites && i < VGSHIM_MAX_SITES) {
		snprintf(vgshim_faults.sites[i], sizeof(vgshim_faults.sites[i]), "%s", site);
		vgshim_faults.counts[i] = 0;
		vgshim_faults.num_sites++;
	}
	if (i < VGSHIM_MAX_SITES)
		count = ++vgshim_faults.counts[i];
	for (unsigned r = 0; r < vgshim_faults.num_rules && !err; r++) {
		const struct vgshim_rule *rule = &vgshim_faults.rules[r];

		if (strcmp(rule->site, site))
			continue;
		if (rule->once) {
			bool seen = false;

			for (unsigned k = 0; k < vgshim_faults.num_once; k++)
				seen |= vgshim_faults.once_seen[k] == caller;
			if (!seen && vgshim_faults.num_once < VGSHIM_MAX_ONCE) {
				vgshim_faults.once_seen[vgshim_faults.num_once++] = caller;
				err = rule->err;
			}
		} else if (!rule->nth || rule->nth == count) {
			err = rule->err;
		}
	}
	pthread_mutex_unlock(&vgshim_faults.lock);
	if (err)
		VGSHIM_INC(faults_injected);
	return err;
}

int vgshim_fault_check(const char *site)
{
	return vgshim_fault_check_at(site, NULL);
}

__attribute__((noinline)) void *vgshim_calloc(size_t n, size_t size)
{
	if (vgshim_fault_check_at(VGSHIM_FAULT_ALLOC_SITE, __builtin_return_address(0)))
		return NULL;
	return calloc(n, size);
}

__attribute__((noinline)) void *vgshim_realloc(void *p, size_t size)
{
	if (vgshim_fault_check_at(VGSHIM_FAULT_ALLOC_SITE, __builtin_return_address(0)))
		return NULL;
	return realloc(p, size);
}
