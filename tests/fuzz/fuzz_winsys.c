/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the input is a program of winsys operations (create
 * with random sizes, kinds and hints, map, write-and-check through the
 * dma-buf, export, import, free, close, inject a kernel fault) run on a
 * kernel-model generation chosen by the first byte. Invariants, checked
 * after every input (a violation aborts, which libFuzzer reports):
 *   - bytes written through a mapping read back through the dma-buf;
 *   - one kernel object is one winsys object (import of our export);
 *   - when everything is released: no fd, handle, mapping, dma-buf or
 *     object is left, and the winsys's counters are back to zero.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim.h"
#include "vws/vws.h"

#define MAX_BOS 16
#define MAX_FDS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const gens[] = { "legacy", "v1", "v2", "fixed" };
static const char *const sites[] = { "CREATE_BLOB", "MAP", "mmap", "PRIME_HANDLE_TO_FD",
				     "PRIME_FD_TO_HANDLE", "GEM_CLOSE", "RESOURCE_INFO", "hostmap",
				     "CONTEXT_INIT", "GETPARAM" };
static const char *const errs[] = { "ENOMEM", "EINVAL", "ENOSPC", "EFAULT", "EINTR", "EIO" };

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned next(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_winsys: invariant broken: %s\n", why);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct vws_device_create_info ci = { .capset_id = VIRTGPU_CAPSET_VENUS, .num_rings = 1 };
	struct vws_bo *bos[MAX_BOS] = { 0 };
	int fds[MAX_FDS], nfds = 0, base;
	struct vws_device *dev;
	struct vgshim_counters c;
	struct vws_stats st;
	unsigned b0 = next(&in);

	if (vgshim_reset() || vgshim_configure("VGSHIM_KERNEL", gens[b0 & 3]) ||
	    vgshim_configure("VGSHIM_HANG_MS", "2") ||
	    vgshim_configure("VGSHIM_HOSTMEM", (b0 & 4) ? "4M" : "64M") ||
	    vgshim_configure("VGSHIM_MAP_LATENCY_US", (b0 & 8) ? "50" : "0"))
		fail("model configuration refused");
	ci.defer = (b0 >> 4) % 3 + VWS_DEFER_AUTO;
	base = count_fds();
	if (vws_device_create(&ci, &dev))
		fail("device");

	while (in.n) {
		unsigned op = next(&in), a = next(&in), b = next(&in);
		struct vws_bo **slot = &bos[a % MAX_BOS];

		switch (op % 8) {
		case 0: { /* create */
			struct vws_bo_create_info bi = {
				.blob_mem = (b & 1) ? VIRTGPU_BLOB_MEM_GUEST : VIRTGPU_BLOB_MEM_HOST3D,
				.blob_flags = VIRTGPU_BLOB_FLAG_USE_SHAREABLE |
					      ((b & 2) ? 0 : VIRTGPU_BLOB_FLAG_USE_MAPPABLE),
				.size = 1 + (uint64_t)next(&in) * 4096 + (b & 0x30) * 100,
				.flags = (b & 4) ? VWS_BO_DEVICE_LOCAL : 0,
			};

			if (*slot)
				break;
			vws_bo_create(dev, &bi, slot);
			break;
		}
		case 1: { /* map */
			void *p;

			if (*slot)
				vws_bo_map(*slot, &p);
			break;
		}
		case 2: { /* write through the mapping, read through the dma-buf */
			struct vws_bo_info bi;
			unsigned char *p, *q;
			int fd;

			if (!*slot || vws_bo_map(*slot, (void **)&p) || vws_bo_get_info(*slot, &bi))
				break;
			p[b % bi.size] = (unsigned char)a;
			if (vws_bo_export_fd(*slot, &fd))
				break;
			q = mmap(NULL, bi.size, PROT_READ, MAP_SHARED, fd, 0);
			if (q != MAP_FAILED) {
				if (q[b % bi.size] != (unsigned char)a)
					fail("bytes written through the mapping differ in the dma-buf");
				munmap(q, bi.size);
			}
			close(fd);
			break;
		}
		case 3: /* export */
			if (*slot && nfds < MAX_FDS && !vws_bo_export_fd(*slot, &fds[nfds]))
				nfds++;
			break;
		case 4: { /* import */
			struct vws_bo *imp;

			if (!nfds)
				break;
			if (!vws_bo_import_fd(dev, fds[b % nfds], 0, &imp)) {
				if (*slot)
					vws_bo_unref(*slot);
				*slot = imp;
			}
			break;
		}
		case 5: /* free */
			if (*slot) {
				vws_bo_unref(*slot);
				*slot = NULL;
			}
			break;
		case 6: /* close an exported fd */
			if (nfds) {
				unsigned k = b % nfds;

				close(fds[k]);
				nfds--;
				fds[k] = fds[nfds];
			}
			break;
		default: { /* a kernel fault on a later call, or none */
			char rule[64];

			if (b & 1) {
				vgshim_set_fail(NULL);
				break;
			}
			snprintf(rule, sizeof(rule), "%s:%u:%s", sites[a % 10], 1 + (b >> 1) % 4,
				 errs[(b >> 3) % 6]);
			if (vgshim_set_fail(rule))
				fail("fault rule refused");
			break;
		}
		}
	}

	vgshim_set_fail(NULL);
	for (int i = 0; i < MAX_BOS; i++)
		if (bos[i])
			vws_bo_unref(bos[i]);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	vws_device_get_stats(dev, &st);
	if (st.objects || st.mapped_objects || st.deferred_objects || st.region_bytes_held)
		fail("winsys counters not back to zero");
	vws_device_unref(dev);
	vgshim_host_drain();
	vgshim_get_counters(&c);
	if (c.live_files || c.live_objects || c.live_handles || c.live_mappings || c.live_dmabufs ||
	    c.region_bytes_in_use)
		fail("the kernel model holds objects after everything was released");
	if (count_fds() - (int)c.host_mem_objects != base)
		fail("fd leak");
	return 0;
}
