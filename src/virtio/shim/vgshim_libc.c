/* SPDX-License-Identifier: MIT */
/*
 * The real libc functions behind the ones the model interposes, found with
 * dlsym(RTLD_NEXT) so that a sanitizer runtime loaded before us, or libc
 * itself, gets the call when it is not for the fake node.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgshim_priv.h"

int (*vgshim_real_open)(const char *, int, ...);
int (*vgshim_real_close)(int);
int (*vgshim_real_dup)(int);
int (*vgshim_real_dup2)(int, int);
int (*vgshim_real_dup3)(int, int, int);
int (*vgshim_real_fcntl)(int, int, ...);
int (*vgshim_real_ioctl)(int, unsigned long, ...);
void *(*vgshim_real_mmap)(void *, size_t, int, int, int, off_t);
int (*vgshim_real_munmap)(void *, size_t);
int (*vgshim_real_fstat)(int, struct stat *);
int (*vgshim_real_stat)(const char *, struct stat *);
int (*vgshim_real_eventfd)(unsigned int, int);

static pthread_once_t vgshim_libc_once = PTHREAD_ONCE_INIT;

static void *vgshim_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* Nothing sensible can run without libc's own function. */
		fprintf(stderr, "vgshim: cannot find libc's %s: %s\n", name, dlerror());
		abort();
	}
	return p;
}

#define VGSHIM_LOAD(var, name)                        \
	do {                                          \
		void *p_ = vgshim_sym(name);          \
		memcpy(&(var), &p_, sizeof(p_));      \
	} while (0)

static void vgshim_libc_load(void)
{
	VGSHIM_LOAD(vgshim_real_open, "open");
	VGSHIM_LOAD(vgshim_real_close, "close");
	VGSHIM_LOAD(vgshim_real_dup, "dup");
	VGSHIM_LOAD(vgshim_real_dup2, "dup2");
	VGSHIM_LOAD(vgshim_real_dup3, "dup3");
	VGSHIM_LOAD(vgshim_real_fcntl, "fcntl");
	VGSHIM_LOAD(vgshim_real_ioctl, "ioctl");
	VGSHIM_LOAD(vgshim_real_mmap, "mmap");
	VGSHIM_LOAD(vgshim_real_munmap, "munmap");
	VGSHIM_LOAD(vgshim_real_fstat, "fstat");
	VGSHIM_LOAD(vgshim_real_stat, "stat");
	/* not interposed, but a sanitizer may be: an fd it saw made and not
	 * closed (the model closes through libc) would look reused */
	VGSHIM_LOAD(vgshim_real_eventfd, "eventfd");
}

void vgshim_libc_init(void)
{
	pthread_once(&vgshim_libc_once, vgshim_libc_load);
}
