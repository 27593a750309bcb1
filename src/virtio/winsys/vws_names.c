/* SPDX-License-Identifier: MIT */
/* Names of the public enums, for tools, logs and configuration. */
#include <errno.h>
#include <string.h>

#include "vws/vws.h"

const char *vws_hint_support_name(enum vws_hint_support s)
{
	switch (s) {
	case VWS_HINT_NONE:
		return "none";
	case VWS_HINT_IGNORED:
		return "ignored";
	case VWS_HINT_VALIDATED:
		return "validated";
	}
	return "?";
}

const char *vws_defer_policy_name(enum vws_defer_policy p)
{
	switch (p) {
	case VWS_DEFER_DEFAULT:
		return "default";
	case VWS_DEFER_AUTO:
		return "auto";
	case VWS_DEFER_ALWAYS:
		return "always";
	case VWS_DEFER_NEVER:
		return "never";
	}
	return "?";
}

int vws_defer_policy_parse(const char *s, enum vws_defer_policy *out)
{
	static const enum vws_defer_policy all[] = {
		VWS_DEFER_AUTO, VWS_DEFER_ALWAYS, VWS_DEFER_NEVER,
	};

	if (!s || !out)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(s, vws_defer_policy_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}
