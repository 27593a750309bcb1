/* SPDX-License-Identifier: MIT */
/* The defer policy: configuration files, VWS_DEFER, precedence. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tw.h"

struct policy {
	enum vws_defer_policy defer;
	char source[PATH_MAX + 64];
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
	char want[PATH_MAX + 64];

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


struct open_args {
	enum vws_defer_policy caller;
	const char *file;
	struct policy p;
};

static void open_with_args(void *arg)
{
	struct open_args *a = arg;

	a->p = open_with(a->caller, a->file, NULL);
}

/* A file of `bytes` bytes holding one defer=never option whose element
 * carries one attribute value (a single token) filling the rest. */
static char *big_token_file(size_t bytes)
{
	static const char head[] = "<vws><option name=\"defer\" value=\"never\" pad=\"";
	static const char tail[] = "\"/></vws>\n";
	char *text = malloc(bytes + 1), *file;

	assert_non_null(text);
	assert_true(bytes > sizeof(head) + sizeof(tail));
	memcpy(text, head, sizeof(head) - 1);
	memset(text + sizeof(head) - 1, 'A', bytes - (sizeof(head) - 1) - (sizeof(tail) - 1));
	memcpy(text + bytes - (sizeof(tail) - 1), tail, sizeof(tail));
	file = tc_write_temp(text);
	free(text);
	return file;
}

/* A configuration file is read up to 1 MiB: a larger one (here 4 MB in one
 * token, which took 1.7 s per device creation to parse) is ignored as a
 * whole, and the warning says why; one just below the bound, also a single
 * token, is read and applies. */
static void config_size_bounded(void **state)
{
	struct open_args a = { .caller = VWS_DEFER_ALWAYS };
	const char *err;

	a.file = big_token_file(4u << 20);
	err = tc_stderr_of(open_with_args, &a);
	assert_int_equal(a.p.defer, VWS_DEFER_ALWAYS);
	assert_string_equal(a.p.source, "caller");
	if (!strstr(err, "more than") || !strstr(err, "ignored"))
		fail_msg("no warning about the size, stderr: '%s'", err);
	unlink(a.file);
	free((char *)a.file);

	a.file = big_token_file((1u << 20) - 1);
	err = tc_stderr_of(open_with_args, &a);
	assert_int_equal(a.p.defer, VWS_DEFER_NEVER);
	expect_source_file(&a.p, a.file);
	assert_string_equal(err, "");
	unlink(a.file);
	free((char *)a.file);
}

static void config_watchdog(int sig)
{
	static const char msg[] = "not ok - config_regular_files_only: device creation "
				  "blocked on the FIFO for 30 s\n";

	(void)sig;
	/* stdout: stderr is being captured */
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(98);
	_exit(99);
}

/* Only regular files are read, opened without blocking: a FIFO (or a
 * directory, or a device) at the configuration path is skipped with a
 * warning instead of blocking device creation. */
static void config_regular_files_only(void **state)
{
	char *dir = tc_temp_dir();
	char fifo[PATH_MAX];
	struct open_args a = { .caller = VWS_DEFER_NEVER, .file = fifo };
	const char *err;

	assert_true(snprintf(fifo, sizeof(fifo), "%s/vws.conf", dir) < (int)sizeof(fifo));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* a watchdog, not a wait: before the fix this call never returned */
	signal(SIGALRM, config_watchdog);
	alarm(30);
	err = tc_stderr_of(open_with_args, &a);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_string_equal(a.p.source, "caller");
	if (!strstr(err, "not a regular file"))
		fail_msg("no warning for the FIFO, stderr: '%s'", err);
	unlink(fifo);

	a.file = "/dev/zero";
	err = tc_stderr_of(open_with_args, &a);
	assert_string_equal(a.p.source, "caller");
	assert_non_null(strstr(err, "not a regular file"));
	rmdir(dir);
	free(dir);
}

/* Configuration paths are never cut short: a user file under a long
 * XDG_CONFIG_HOME or HOME, or a long config_file, is read and named whole
 * in the policy source; one longer than PATH_MAX is skipped with a warning. */
static void config_long_paths(void **state)
{
	char *top = tc_temp_dir();
	char dir[PATH_MAX], path[PATH_MAX], comp[201];
	char *too_long = malloc(PATH_MAX + 64);
	struct open_args a = { .caller = VWS_DEFER_ALWAYS };
	const char *err;
	FILE *f;

	assert_non_null(too_long);
	memset(comp, 'd', 200);
	comp[200] = '\0';
	/* top/ddd.../ddd...: well over the 320 bytes the winsys used to keep */
	assert_true(snprintf(dir, sizeof(dir), "%s/%s", top, comp) < (int)sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", comp) <
		    (int)(sizeof(dir) - strlen(dir)));
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(snprintf(path, sizeof(path), "%s/vws.conf", dir) < (int)sizeof(path));
	assert_true(strlen(path) > 400);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("<vws><option name=\"defer\" value=\"never\"/></vws>", f);
	fclose(f);

	a.file = path;
	a.p = open_with(a.caller, path, NULL);
	assert_int_equal(a.p.defer, VWS_DEFER_NEVER);
	expect_source_file(&a.p, path);

	setenv("XDG_CONFIG_HOME", dir, 1);
	a.p = open_with(VWS_DEFER_ALWAYS, NULL, NULL);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(a.p.defer, VWS_DEFER_NEVER);
	expect_source_file(&a.p, path);

	/* longer than any path can be: a warning, not a silent cut */
	memset(too_long, 'x', PATH_MAX + 10);
	too_long[0] = '/';
	too_long[PATH_MAX + 10] = '\0';
	setenv("XDG_CONFIG_HOME", too_long, 1);
	a.file = NULL;
	err = tc_stderr_of(open_with_args, &a);
	unsetenv("XDG_CONFIG_HOME");
	assert_string_not_equal(a.p.source, "");
	assert_null(strstr(a.p.source, "xxxx"));
	if (!strstr(err, "longer than"))
		fail_msg("no warning for the long path, stderr: '%s'", err);

	unlink(path);
	rmdir(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	rmdir(top);
	free(top);
	free(too_long);
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
		TW_TEST(config_size_bounded),
		TW_TEST(config_long_paths),
		TW_TEST(config_regular_files_only),
		cmocka_unit_test(policy_names),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
