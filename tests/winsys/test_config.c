/* SPDX-License-Identifier: MIT */
/* The defer policy: configuration files, VWS_DEFER, precedence. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tw.h"

struct policy {
	enum vws_defer_policy defer;
	char source[400];
};

/* Opens a device with this caller policy, file and application name and
 * reads back the policy in force; also checks the hint follows it. */
static struct policy open_with(enum vws_defer_policy caller, const char *file, const char *app)
{
	struct vws_device_create_info ci = {
		.capset_id = VIRTGPU_CAPSET_VENUS,
		.defer = caller,
		.config_file = file,
		.app_name = app,
	};
	struct drm_virtgpu_resource_create_blob last;
	struct vws_device *dev = NULL;
	struct vws_bo *bo;
	struct policy p;

	/* No file: the standard ones (tw_try_open would replace NULL). */
	if (file)
		assert_int_equal(tw_try_open(&ci, &dev), 0);
	else
		assert_int_equal(vws_device_create(&ci, &dev), 0);
	p.defer = vws_device_get_info(dev)->defer_policy;
	snprintf(p.source, sizeof(p.source), "%s", vws_device_get_info(dev)->defer_policy_source);
	/* The model is "fixed": auto and always hint, never does not. */
	assert_int_equal(tw_host3d(dev, 4096, VIRTGPU_BLOB_FLAG_USE_MAPPABLE,
				   VWS_BO_DEVICE_LOCAL, &bo), 0);
	tw_last_blob(&last);
	assert_int_equal(last.blob_hints != 0, p.defer != VWS_DEFER_NEVER);
	vws_bo_unref(bo);
	vws_device_unref(dev);
	return p;
}

static void expect_source_file(const struct policy *p, const char *file)
{
	char want[600];

	snprintf(want, sizeof(want), "config:%s", file);
	assert_string_equal(p->source, want);
}

static void default_and_caller(void **state)
{
	struct policy p = open_with(VWS_DEFER_DEFAULT, TW_NO_CONFIG, NULL);

	assert_int_equal(p.defer, VWS_DEFER_AUTO);
	assert_string_equal(p.source, "default");
	p = open_with(VWS_DEFER_NEVER, TW_NO_CONFIG, NULL);
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	assert_string_equal(p.source, "caller");
}

static void environment_overrides(void **state)
{
	char *file = tc_write_temp("<vws><option name=\"defer\" value=\"always\"/></vws>");
	struct policy p;

	setenv("VWS_DEFER", "never", 1);
	p = open_with(VWS_DEFER_ALWAYS, file, NULL);
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	assert_string_equal(p.source, "environment");

	/* Invalid: a warning, and the next source in line decides. */
	setenv("VWS_DEFER", "sometimes", 1);
	p = open_with(VWS_DEFER_NEVER, file, NULL);
	assert_int_equal(p.defer, VWS_DEFER_ALWAYS);
	expect_source_file(&p, file);
	setenv("VWS_DEFER", "", 1);
	p = open_with(VWS_DEFER_NEVER, TW_NO_CONFIG, NULL);
	assert_string_equal(p.source, "caller");
	unsetenv("VWS_DEFER");
	unlink(file);
	free(file);
}

static void config_global_and_app(void **state)
{
	char *file = tc_write_temp(
		"<?xml version=\"1.0\"?>\n"
		"<!-- test -->\n"
		"<vws>\n"
		"  <option name=\"defer\" value=\"never\"/>\n"
		"  <application name=\"Game\" executable=\"game\">\n"
		"    <option name=\"defer\" value=\"always\"/>\n"
		"  </application>\n"
		"  <application name=\"Other\" executable=\"other\">\n"
		"    <option name=\"defer\" value=\"auto\"/>\n"
		"  </application>\n"
		"</vws>\n");
	struct policy p;

	/* The file beats the caller; the matching section beats the global. */
	p = open_with(VWS_DEFER_AUTO, file, "game");
	assert_int_equal(p.defer, VWS_DEFER_ALWAYS);
	expect_source_file(&p, file);
	p = open_with(VWS_DEFER_ALWAYS, file, "other");
	assert_int_equal(p.defer, VWS_DEFER_AUTO);
	p = open_with(VWS_DEFER_ALWAYS, file, "unlisted");
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	expect_source_file(&p, file);
	/* Names match exactly. */
	p = open_with(VWS_DEFER_ALWAYS, file, "gam");
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	unlink(file);
	free(file);
}

static void config_app_only(void **state)
{
	char *file = tc_write_temp(
		"<vws><application executable=\"game\">"
		"<option name=\"defer\" value=\"never\"/></application></vws>");
	struct policy p = open_with(VWS_DEFER_ALWAYS, file, "notgame");

	/* Nothing applies to this application: the caller decides. */
	assert_int_equal(p.defer, VWS_DEFER_ALWAYS);
	assert_string_equal(p.source, "caller");
	p = open_with(VWS_DEFER_ALWAYS, file, "game");
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	unlink(file);
	free(file);
}

/* Every one of these is ignored as a whole, with a warning. */
static void config_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"<vws>",
		"<vws><option name=\"defer\" value=\"never\"></vws>",
		"<notvws><option name=\"defer\" value=\"never\"/></notvws>",
		"<vws><option name=\"defer\" value=\"never\"/><bogus/></vws>",
		"<vws><option value=\"never\"/></vws>",
		"<vws><option name=\"defer\" value=\"never\"/><application>"
		"<option name=\"defer\" value=\"never\"/></application></vws>",
		"<vws><option name=\"defer\" value=\"never\"/></vws><vws/>",
		"<vws><option name=\"defer\" value=\"never\"/></vws>\xff\xfe",
		"<vws><application executable=\"x\"><application executable=\"y\"/>"
		"</application></vws>",
		"\x01\x02\x03 binary garbage",
	};

	for (size_t n = 0; n < sizeof(bad) / sizeof(bad[0]); n++) {
		char *file = tc_write_temp(bad[n]);
		struct policy p = open_with(VWS_DEFER_ALWAYS, file, "x");

		if (p.defer != VWS_DEFER_ALWAYS)
			print_error("case %zu not ignored\n", n);
		assert_int_equal(p.defer, VWS_DEFER_ALWAYS);
		assert_string_equal(p.source, "caller");
		unlink(file);
		free(file);
	}
	/* A directory and an unreadable path are skipped too. */
	{
		char *dir = tc_temp_dir();
		struct policy p = open_with(VWS_DEFER_NEVER, dir, NULL);

		assert_string_equal(p.source, "caller");
		rmdir(dir);
		free(dir);
	}
}

/* Bad options are skipped one by one; the rest of the file applies. */
static void config_bad_options(void **state)
{
	char *file = tc_write_temp(
		"<vws>"
		"<option name=\"defer\" value=\"always\"/>"
		"<option name=\"defer\" value=\"bogus\"/>"
		"<option name=\"future-option\" value=\"42\"/>"
		"</vws>");
	struct policy p = open_with(VWS_DEFER_NEVER, file, NULL);

	assert_int_equal(p.defer, VWS_DEFER_ALWAYS);
	expect_source_file(&p, file);
	unlink(file);
	free(file);
}

/* No config_file: /etc/vws.conf, then $XDG_CONFIG_HOME/vws.conf or
 * ~/.vws.conf. */
static void config_standard_paths(void **state)
{
	char *dir = tc_temp_dir();
	char path[512];
	const char *old_home = getenv("HOME");
	char *home = old_home ? strdup(old_home) : NULL;
	FILE *f;
	struct policy p;

	snprintf(path, sizeof(path), "%s/vws.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("<vws><option name=\"defer\" value=\"never\"/></vws>", f);
	fclose(f);
	setenv("XDG_CONFIG_HOME", dir, 1);
	p = open_with(VWS_DEFER_ALWAYS, NULL, NULL);
	assert_int_equal(p.defer, VWS_DEFER_NEVER);
	expect_source_file(&p, path);
	unlink(path);

	snprintf(path, sizeof(path), "%s/.vws.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("<vws><option name=\"defer\" value=\"auto\"/></vws>", f);
	fclose(f);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", dir, 1);
	p = open_with(VWS_DEFER_ALWAYS, NULL, NULL);
	assert_int_equal(p.defer, VWS_DEFER_AUTO);
	expect_source_file(&p, path);
	unlink(path);

	if (home)
		setenv("HOME", home, 1);
	free(home);
	rmdir(dir);
	free(dir);
}

static void policy_names(void **state)
{
	enum vws_defer_policy p;

	assert_int_equal(vws_defer_policy_parse("auto", &p), 0);
	assert_int_equal(p, VWS_DEFER_AUTO);
	assert_int_equal(vws_defer_policy_parse("always", &p), 0);
	assert_int_equal(p, VWS_DEFER_ALWAYS);
	assert_int_equal(vws_defer_policy_parse("never", &p), 0);
	assert_int_equal(p, VWS_DEFER_NEVER);
	assert_int_equal(vws_defer_policy_parse("Auto", &p), -EINVAL);
	assert_int_equal(vws_defer_policy_parse("default", &p), -EINVAL);
	assert_int_equal(vws_defer_policy_parse(NULL, &p), -EINVAL);
	assert_string_equal(vws_defer_policy_name(VWS_DEFER_ALWAYS), "always");
	assert_string_equal(vws_hint_support_name(VWS_HINT_VALIDATED), "validated");
	assert_string_equal(vws_hint_support_name(VWS_HINT_IGNORED), "ignored");
	assert_string_equal(vws_hint_support_name(VWS_HINT_NONE), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TW_TEST(default_and_caller),
		TW_TEST(environment_overrides),
		TW_TEST(config_global_and_app),
		TW_TEST(config_app_only),
		TW_TEST(config_malformed),
		TW_TEST(config_bad_options),
		TW_TEST(config_standard_paths),
		cmocka_unit_test(policy_names),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
