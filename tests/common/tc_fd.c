/* SPDX-License-Identifier: MIT */
/* File-descriptor counting and temporary files for tests. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tc_common.h"

int tc_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static char *tc_temp_base(const char *name)
{
	const char *tmp = getenv("TMPDIR");
	size_t len;
	char *path;

	if (!tmp || !tmp[0])
		tmp = "/tmp";
	len = strlen(tmp) + strlen(name) + 2;
	path = malloc(len);
	assert_non_null(path);
	snprintf(path, len, "%s/%s", tmp, name);
	return path;
}

char *tc_write_temp(const char *text)
{
	char *path = tc_temp_base("vws-test-XXXXXX");
	int fd = mkostemp(path, O_CLOEXEC);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

char *tc_temp_dir(void)
{
	char *path = tc_temp_base("vws-test-dir-XXXXXX");

	assert_non_null(mkdtemp(path));
	return path;
}

const char *tc_stderr_of(void (*fn)(void *), void *arg)
{
	static char buf[8192];
	char *path = tc_write_temp("");
	int fd = open(path, O_RDWR | O_CLOEXEC), saved = dup(2);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	free(path);
	return buf;
}
