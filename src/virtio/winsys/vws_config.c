/* SPDX-License-Identifier: MIT */
/*
 * The defer policy in force, and where it came from; the host-visible
 * region's size when the environment gives it.
 *
 * Precedence, highest first (the driconf model: the user's run-time switch
 * beats files, files carry per-application workarounds that beat what the
 * application itself asks for):
 *   1. VWS_DEFER in the environment
 *   2. configuration files: the user file over the system file; inside one
 *      file an <application> section matching the executable over the
 *      file's global options
 *   3. the caller (vws_device_create_info.defer != VWS_DEFER_DEFAULT)
 *   4. the default, auto
 * Anything unusable (bad value, unreadable or malformed file) is a warning
 * and is skipped, never fatal. The format is documented in docs/winsys.md.
 */
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vws_priv.h"

/* Configuration files are a few hundred bytes; anything past this is not
 * one (and would cost time at every device creation). */
#define VWS_CONFIG_MAX_BYTES (1u << 20)

/* What one file says. */
struct vws_conf_result {
	bool have_global, have_app;
	enum vws_defer_policy global, app;
};

struct vws_conf_parser {
	XML_Parser xml;
	const char *path;
	const char *app_name;
	const struct vws_device *dev;
	int depth;
	bool in_app;        /* inside an <application> element */
	bool app_matches;   /* ... that names this executable */
	bool failed;
	struct vws_conf_result res;
};

static void vws_conf_fail(struct vws_conf_parser *p, const char *why)
{
	if (!p->failed)
		vws_warn("config %s:%lu: %s; file ignored", p->path,
			 (unsigned long)XML_GetCurrentLineNumber(p->xml), why);
	p->failed = true;
	XML_StopParser(p->xml, XML_FALSE);
}

static const char *vws_conf_attr(const XML_Char **attrs, const char *name)
{
	for (int i = 0; attrs[i]; i += 2)
		if (!strcmp(attrs[i], name))
			return attrs[i + 1];
	return NULL;
}

static void vws_conf_option(struct vws_conf_parser *p, const XML_Char **attrs)
{
	const char *name = vws_conf_attr(attrs, "name");
	const char *value = vws_conf_attr(attrs, "value");
	enum vws_defer_policy pol;

	if (!name || !value) {
		vws_conf_fail(p, "<option> needs name and value");
		return;
	}
	if (strcmp(name, "defer")) {
		/* Options of later versions: not an error. */
		vws_warn("config %s:%lu: unknown option '%s' ignored", p->path,
			 (unsigned long)XML_GetCurrentLineNumber(p->xml), name);
		return;
	}
	if (vws_defer_policy_parse(value, &pol)) {
		vws_warn("config %s:%lu: defer='%s' is not auto|always|never; ignored",
			 p->path, (unsigned long)XML_GetCurrentLineNumber(p->xml), value);
		return;
	}
	if (!p->in_app) {
		p->res.have_global = true;
		p->res.global = pol;
	} else if (p->app_matches) {
		p->res.have_app = true;
		p->res.app = pol;
	}
}

static void XMLCALL vws_conf_start(void *data, const XML_Char *el, const XML_Char **attrs)
{
	struct vws_conf_parser *p = data;
	int depth = p->depth++;

	if (p->failed)
		return;
	if (depth == 0) {
		if (strcmp(el, "vws"))
			vws_conf_fail(p, "root element is not <vws>");
		return;
	}
	if (!strcmp(el, "option") && (depth == 1 || (depth == 2 && p->in_app))) {
		vws_conf_option(p, attrs);
	} else if (!strcmp(el, "application") && depth == 1) {
		const char *exe = vws_conf_attr(attrs, "executable");

		if (!exe) {
			vws_conf_fail(p, "<application> needs executable");
			return;
		}
		p->in_app = true;
		p->app_matches = p->app_name && !strcmp(exe, p->app_name);
	} else {
		char why[96];

		snprintf(why, sizeof(why), "unexpected element <%.40s>", el);
		vws_conf_fail(p, why);
	}
}

static void XMLCALL vws_conf_end(void *data, const XML_Char *el)
{
	struct vws_conf_parser *p = data;

	p->depth--;
	if (p->depth == 1 && !strcmp(el, "application"))
		p->in_app = p->app_matches = false;
}

/* The whole file in a malloc'd buffer: a regular file of at most
 * VWS_CONFIG_MAX_BYTES, opened without blocking (a FIFO or a device at the
 * path must not stall device creation). 1 with *buf and *len, 0 when it is
 * absent (silently) or unusable (warned). */
static int vws_conf_read(const struct vws_device *dev, const char *path, char **buf,
			 size_t *len)
{
	struct stat st;
	size_t got = 0, cap;
	bool failed = false;
	char *b;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			vws_log(dev, VWS_DEBUG_CONFIG, "%s: not present", path);
		else
			vws_warn("config %s: %s; ignored", path, strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		vws_warn("config %s: not a regular file; ignored", path);
		close(fd);
		return 0;
	}
	if (st.st_size > VWS_CONFIG_MAX_BYTES) {
		vws_warn("config %s: %lld bytes, more than the %u a configuration file may "
			 "have; ignored", path, (long long)st.st_size, VWS_CONFIG_MAX_BYTES);
		close(fd);
		return 0;
	}
	/* One byte more than its size tells a file that grew meanwhile. */
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		vws_warn("config %s: out of memory; ignored", path);
		close(fd);
		return 0;
	}
	for (;;) {
		ssize_t n = read(fd, b + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vws_warn("config %s: %s; ignored", path, strerror(errno));
			failed = true;
			break;
		}
		got += (size_t)n;
		if (!n || got == cap)
			break;
	}
	close(fd);
	if (!failed && got == cap) {
		vws_warn("config %s: changed while it was read; ignored", path);
		failed = true;
	}
	if (failed) {
		free(b);
		return 0;
	}
	*buf = b;
	*len = got;
	return 1;
}

/* 1: the file says something, 0: it does not exist or says nothing or is
 * unusable (warned). */
static int vws_conf_parse_file(const struct vws_device *dev, const char *path,
			       const char *app_name, struct vws_conf_result *out)
{
	struct vws_conf_parser p = { .path = path, .app_name = app_name, .dev = dev };
	char *buf;
	size_t len;

	if (!vws_conf_read(dev, path, &buf, &len))
		return 0;
	p.xml = XML_ParserCreate(NULL);
	if (!p.xml) {
		free(buf);
		vws_warn("config %s: out of memory; ignored", path);
		return 0;
	}
	XML_SetUserData(p.xml, &p);
	XML_SetElementHandler(p.xml, vws_conf_start, vws_conf_end);
	/* One call over the whole file: expat fed in pieces rescans a token
	 * that spans them from its start, quadratic in the token's length. */
	if (XML_Parse(p.xml, buf, (int)len, XML_TRUE) == XML_STATUS_ERROR && !p.failed) {
		vws_warn("config %s:%lu: %s; file ignored", path,
			 (unsigned long)XML_GetCurrentLineNumber(p.xml),
			 XML_ErrorString(XML_GetErrorCode(p.xml)));
		p.failed = true;
	}
	XML_ParserFree(p.xml);
	free(buf);
	if (p.failed)
		return 0;
	*out = p.res;
	vws_log(dev, VWS_DEBUG_CONFIG, "%s: global %s, application '%s' %s", path,
		p.res.have_global ? vws_defer_policy_name(p.res.global) : "-",
		app_name ? app_name : "?",
		p.res.have_app ? vws_defer_policy_name(p.res.app) : "-");
	return p.res.have_global || p.res.have_app;
}

/* Appends a+b as one path to paths (never cut short: a path longer than
 * PATH_MAX could not be opened anyway, and is named in a warning). */
static void vws_conf_add(char paths[2][PATH_MAX], int *n, const char *a, const char *b)
{
	int len = snprintf(paths[*n], PATH_MAX, "%s%s", a, b);

	if (len < 0 || len >= PATH_MAX) {
		vws_warn("config: %.64s...%s is longer than PATH_MAX (%d bytes); ignored", a, b,
			 PATH_MAX);
		return;
	}
	(*n)++;
}

/* Standard files, lowest precedence first. */
static int vws_conf_paths(const struct vws_device_create_info *ci, char paths[2][PATH_MAX])
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n = 0;

	if (ci->config_file) {
		vws_conf_add(paths, &n, ci->config_file, "");
		return n;
	}
	vws_conf_add(paths, &n, "/etc/vws.conf", "");
	if (xdg && xdg[0] == '/')
		vws_conf_add(paths, &n, xdg, "/vws.conf");
	else if (home && home[0] == '/')
		vws_conf_add(paths, &n, home, "/.vws.conf");
	return n;
}

void vws_policy_resolve(struct vws_device *dev, const struct vws_device_create_info *ci)
{
	char paths[2][PATH_MAX];
	const char *app = ci->app_name ? ci->app_name : program_invocation_short_name;
	const char *env = getenv("VWS_DEFER");
	enum vws_defer_policy pol = VWS_DEFER_AUTO;
	int n;

	snprintf(dev->policy_source, sizeof(dev->policy_source), "default");

	if (ci->defer != VWS_DEFER_DEFAULT) {
		if (ci->defer == VWS_DEFER_AUTO || ci->defer == VWS_DEFER_ALWAYS ||
		    ci->defer == VWS_DEFER_NEVER) {
			pol = ci->defer;
			snprintf(dev->policy_source, sizeof(dev->policy_source), "caller");
		} else {
			vws_warn("defer policy %d from the caller is not valid; ignored",
				 (int)ci->defer);
		}
	}

	n = vws_conf_paths(ci, paths);
	for (int i = 0; i < n; i++) {
		struct vws_conf_result r;

		if (vws_conf_parse_file(dev, paths[i], app, &r) <= 0)
			continue;
		pol = r.have_app ? r.app : r.global;
		snprintf(dev->policy_source, sizeof(dev->policy_source), "config:%s", paths[i]);
	}

	if (env && env[0]) {
		enum vws_defer_policy e;

		if (vws_defer_policy_parse(env, &e)) {
			vws_warn("VWS_DEFER='%s' is not auto|always|never; ignored", env);
		} else {
			pol = e;
			snprintf(dev->policy_source, sizeof(dev->policy_source),
				 "environment");
		}
	}

	dev->info.defer_policy = pol;
	dev->info.defer_policy_source = dev->policy_source;
	vws_log(dev, VWS_DEBUG_CONFIG, "defer policy %s (from %s)",
		vws_defer_policy_name(pol), dev->policy_source);
}

/* The host-visible region's size is not in the UAPI. A caller that knows it
 * passes it; a driver such as Venus cannot, so VWS_HOST_VISIBLE_SIZE gives
 * it from outside (bytes, or with a K, M or G suffix; 0 = unknown). Like
 * VWS_DEFER it overrides the caller: it is the user's run-time switch. A
 * value that is not a size is a warning and is ignored. */
uint64_t vws_host_visible_size_resolve(const struct vws_device_create_info *ci)
{
	const char *env = getenv("VWS_HOST_VISIBLE_SIZE");
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!env || !env[0])
		return ci->host_visible_size;
	errno = 0;
	v = strtoull(env, &end, 10);
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
	}
	if (env[0] < '0' || env[0] > '9' || errno || *end || v > (UINT64_MAX >> shift)) {
		vws_warn("VWS_HOST_VISIBLE_SIZE='%s' is not a size (bytes, K, M or G); ignored",
			 env);
		return ci->host_visible_size;
	}
	return v ? (uint64_t)v << shift : ci->host_visible_size;
}
