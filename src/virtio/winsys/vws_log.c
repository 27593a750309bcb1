/* SPDX-License-Identifier: MIT */
/* VWS_DEBUG: opt-in, tagged log lines on stderr; quiet by default. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vws_priv.h"

static const struct {
	const char *name;
	uint32_t flag;
} vws_debug_names[] = {
	{ "init", VWS_DEBUG_INIT },
	{ "bo", VWS_DEBUG_BO },
	{ "map", VWS_DEBUG_MAP },
	{ "export", VWS_DEBUG_EXPORT },
	{ "import", VWS_DEBUG_IMPORT },
	{ "config", VWS_DEBUG_CONFIG },
	{ "submit", VWS_DEBUG_SUBMIT },
};

#define VWS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

uint32_t vws_debug_parse(const char *s)
{
	uint32_t flags = 0;

	while (s && *s) {
		size_t len = strcspn(s, ",: ");
		bool known = false;

		if (len == 3 && !strncmp(s, "all", 3)) {
			flags = ~0u;
			known = true;
		}
		for (size_t i = 0; i < VWS_ARRAY_SIZE(vws_debug_names); i++) {
			if (strlen(vws_debug_names[i].name) == len &&
			    !strncmp(s, vws_debug_names[i].name, len)) {
				flags |= vws_debug_names[i].flag;
				known = true;
			}
		}
		if (!known && len)
			vws_warn("VWS_DEBUG: unknown category '%.*s' ignored", (int)len, s);
		s += len;
		s += strspn(s, ",: ");
	}
	return flags;
}

static const char *vws_debug_tag(uint32_t flag)
{
	for (size_t i = 0; i < VWS_ARRAY_SIZE(vws_debug_names); i++)
		if (vws_debug_names[i].flag == flag)
			return vws_debug_names[i].name;
	return "debug";
}

void vws_log_print(const struct vws_device *dev, uint32_t flag, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!dev || !(dev->debug & flag))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines of concurrent threads do not mix. */
	fprintf(stderr, "vws: %s: %s\n", vws_debug_tag(flag), line);
}

void vws_warn(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vws: warning: %s\n", line);
}
