/* SPDX-License-Identifier: MIT */
/* External memory, in the spirit of deqp-vk api.external.memory.dma_buf
 * and opaque_fd (written here): export/import across devices and
 * processes, dup, many imports, fd properties, forced map on export,
 * placed maps. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tv.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define DMABUF VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT
#define OPAQUE VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT

static VkResult alloc_exportable(struct tv *t, uint32_t type, VkDeviceSize size,
				 VkExternalMemoryHandleTypeFlags types, bool dedicated,
				 VkDeviceMemory *m)
{
	VkMemoryDedicatedAllocateInfo ded = { VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, NULL,
					      VK_NULL_HANDLE, VK_NULL_HANDLE };
	VkExportMemoryAllocateInfo exp = { VK_STRUCTURE_TYPE_EXPORT_MEMORY_ALLOCATE_INFO,
					   dedicated ? &ded : NULL, types };

	return tv_alloc(t, type, size, &exp, m);
}

static int get_fd(struct tv *t, VkDeviceMemory m, VkExternalMemoryHandleTypeFlagBits type)
{
	VkMemoryGetFdInfoKHR gi = { VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, NULL, m, type };
	int fd = -1;

	assert_int_equal(vws_vk_GetMemoryFdKHR(t->vk, &gi, &fd), VK_SUCCESS);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	return fd;
}

static VkResult import_fd(struct tv *t, uint32_t type, VkDeviceSize size,
			  VkExternalMemoryHandleTypeFlagBits ht, int fd, VkDeviceMemory *m)
{
	VkImportMemoryFdInfoKHR imp = { VK_STRUCTURE_TYPE_IMPORT_MEMORY_FD_INFO_KHR, NULL, ht, fd };

	return tv_alloc(t, type, size, &imp, m);
}

/* Export, then import into the same and into a second device: the same
 * bytes, for both handle types, host-visible or device-only, dedicated or
 * not; import twice, many times, and through dup'ed fds. */
static void export_import_matrix(void **state)
{
	const VkExternalMemoryHandleTypeFlagBits types[] = { DMABUF, OPAQUE };
	struct tv a, b;

	tv_open(&a, TV_DISCRETE_REBAR);
	tv_open(&b, TV_DISCRETE_REBAR);
	for (int ti = 0; ti < 2; ti++) {
		for (int visible = 0; visible < 2; visible++) {
			for (int dedicated = 0; dedicated < 2; dedicated++) {
				uint32_t type = (uint32_t)(visible ? tv_type(&a, DL | HV, 0) :
								     tv_type(&a, DL, HV));
				VkDeviceMemory src, imp[4];
				int fd;
				unsigned char *p = NULL, *q = NULL;

				assert_int_equal(alloc_exportable(&a, type, TV_MIB, types[ti],
								  dedicated, &src), VK_SUCCESS);
				if (visible) {
					assert_int_equal(vws_vk_MapMemory(a.vk, src, 0, VK_WHOLE_SIZE,
									  0, (void **)&p), 0);
					memset(p, 0x40 + ti * 4 + dedicated, TV_MIB);
				}
				/* same device, twice, and via dup/dup2/dup3 */
				fd = get_fd(&a, src, types[ti]);
				assert_int_equal(import_fd(&a, type, TV_MIB, types[ti], dup(fd), &imp[0]),
						 VK_SUCCESS);
				assert_int_equal(import_fd(&a, type, TV_MIB, types[ti], fd, &imp[1]),
						 VK_SUCCESS);
				assert_ptr_equal(vws_vk_memory_bo(imp[0]), vws_vk_memory_bo(src));
				/* second device */
				fd = get_fd(&a, src, types[ti]);
				{
					int d2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
					int d3 = open("/dev/null", O_RDONLY | O_CLOEXEC);

					assert_int_equal(dup2(fd, d2), d2);
					assert_int_equal(dup3(fd, d3, O_CLOEXEC), d3);
					assert_int_equal(import_fd(&b, type, TV_MIB, types[ti], d2,
								   &imp[2]), VK_SUCCESS);
					assert_int_equal(import_fd(&b, type, TV_MIB, types[ti], d3,
								   &imp[3]), VK_SUCCESS);
					close(fd);
				}
				if (visible) {
					assert_int_equal(vws_vk_MapMemory(b.vk, imp[2], 0, VK_WHOLE_SIZE,
									  0, (void **)&q), 0);
					assert_int_equal(q[TV_MIB - 1], p[0]);
					q[5] = 0x77;
					assert_int_equal(p[5], 0x77);
				}
				for (int i = 0; i < 4; i++)
					vws_vk_FreeMemory(i < 2 ? a.vk : b.vk, imp[i], NULL);
				vws_vk_FreeMemory(a.vk, src, NULL);
			}
		}
	}
	tv_close(&a);
	tv_close(&b);
}

/* Export many times, import many times. */
static void many(void **state)
{
	struct tv t;
	VkDeviceMemory src, imp;
	uint32_t type;

	tv_open(&t, TV_UMA);
	type = (uint32_t)tv_type(&t, HV, 0);
	assert_int_equal(alloc_exportable(&t, type, 65536, DMABUF, false, &src), 0);
	for (int i = 0; i < 64; i++) {
		int fd = get_fd(&t, src, DMABUF);

		assert_int_equal(import_fd(&t, type, 65536, DMABUF, fd, &imp), VK_SUCCESS);
		vws_vk_FreeMemory(t.vk, imp, NULL);
	}
	vws_vk_FreeMemory(t.vk, src, NULL);
	tv_close(&t);
}

/* Bad imports: invalid, closed and non-dma-buf fds, a size larger than the
 * buffer, an unknown handle type. The fd stays the caller's on failure. */
static void bad_imports(void **state)
{
	struct tv t;
	VkDeviceMemory src, imp;
	uint32_t type;
	int fd, pfd[2];
	VkMemoryFdPropertiesKHR props = { VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR, NULL, 0 };

	tv_open(&t, TV_UMA);
	type = (uint32_t)tv_type(&t, HV, 0);
	assert_int_equal(import_fd(&t, type, 4096, DMABUF, -1, &imp),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(import_fd(&t, type, 4096, DMABUF, pfd[0], &imp),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	assert_true(fcntl(pfd[0], F_GETFD) >= 0); /* still the caller's */
	assert_int_equal(vws_vk_GetMemoryFdPropertiesKHR(t.vk, DMABUF, pfd[0], &props),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(alloc_exportable(&t, type, 65536, DMABUF, false, &src), 0);
	fd = get_fd(&t, src, DMABUF);
	assert_int_equal(import_fd(&t, type, 65536 * 4, DMABUF, fd, &imp),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	assert_int_equal(vws_vk_GetMemoryFdPropertiesKHR(t.vk, DMABUF, fd, &props), VK_SUCCESS);
	assert_int_equal(props.memoryTypeBits, (1u << t.props.memoryTypeCount) - 1);
	assert_int_equal(vws_vk_GetMemoryFdPropertiesKHR(t.vk, OPAQUE, fd, &props),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	close(fd);
	/* export of a type not requested at allocation */
	{
		VkMemoryGetFdInfoKHR gi = { VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR, NULL, src, OPAQUE };

		assert_int_equal(vws_vk_GetMemoryFdKHR(t.vk, &gi, &fd), VK_ERROR_TOO_MANY_OBJECTS);
	}
	vws_vk_FreeMemory(t.vk, src, NULL);
	tv_close(&t);
}

/* vkGetMemoryFdPropertiesKHR offers only the types the buffer can back: a
 * dma-buf of device-only (non-mappable) memory is not host-visible memory.
 * Importing it into a host-visible type is refused (the fd stays the
 * caller's); into a device-only type it works. Host-visible exports can be
 * imported as anything. */
static void fd_properties_match_the_buffer(void **state)
{
	VkMemoryFdPropertiesKHR props = { VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR, NULL, 0 };
	struct tv t;
	uint32_t all, visible = 0;
	VkDeviceMemory dev_only, vis, imp;
	int fd;

	tv_open(&t, TV_DISCRETE_REBAR);
	all = (1u << t.props.memoryTypeCount) - 1;
	for (uint32_t i = 0; i < t.props.memoryTypeCount; i++)
		if (t.props.memoryTypes[i].propertyFlags & HV)
			visible |= 1u << i;
	assert_int_equal(alloc_exportable(&t, (uint32_t)tv_type(&t, DL, HV), TV_MIB, DMABUF, false,
					  &dev_only), VK_SUCCESS);
	fd = get_fd(&t, dev_only, DMABUF);
	assert_int_equal(vws_vk_GetMemoryFdPropertiesKHR(t.vk, DMABUF, fd, &props), VK_SUCCESS);
	assert_int_equal(props.memoryTypeBits, all & ~visible);
	/* a host-visible type cannot take it: refused, fd still ours */
	assert_int_equal(import_fd(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, DMABUF, fd, &imp),
			 VK_ERROR_INVALID_EXTERNAL_HANDLE);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(import_fd(&t, (uint32_t)tv_type(&t, DL, HV), TV_MIB, DMABUF, fd, &imp),
			 VK_SUCCESS);
	vws_vk_FreeMemory(t.vk, imp, NULL);
	vws_vk_FreeMemory(t.vk, dev_only, NULL);

	assert_int_equal(alloc_exportable(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, DMABUF,
					  false, &vis), VK_SUCCESS);
	fd = get_fd(&t, vis, DMABUF);
	assert_int_equal(vws_vk_GetMemoryFdPropertiesKHR(t.vk, DMABUF, fd, &props), VK_SUCCESS);
	assert_int_equal(props.memoryTypeBits, all);
	close(fd);
	vws_vk_FreeMemory(t.vk, vis, NULL);
	tv_close(&t);
}

/* An fd sent over a UNIX socket to another process imports there. */
static void other_process(void **state)
{
	struct tv t;
	VkDeviceMemory src;
	unsigned char *p;
	int sv[2], fd, st;
	pid_t pid;

	tv_open(&t, TV_UMA);
	assert_int_equal(alloc_exportable(&t, (uint32_t)tv_type(&t, HV, 0), 65536, DMABUF, false,
					  &src), 0);
	assert_int_equal(vws_vk_MapMemory(t.vk, src, 0, VK_WHOLE_SIZE, 0, (void **)&p), 0);
	memset(p, 0x5e, 65536);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		char c, cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct tv c2;
		VkDeviceMemory imp;
		unsigned char *q;
		int rfd;

		close(sv[0]);
		if (recvmsg(sv[1], &mh, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&mh))
			_exit(2);
		memcpy(&rfd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(rfd));
		tv_open(&c2, TV_UMA);
		if (import_fd(&c2, (uint32_t)tv_type(&c2, HV, 0), 65536, DMABUF, rfd, &imp))
			_exit(3);
		if (vws_vk_MapMemory(c2.vk, imp, 0, VK_WHOLE_SIZE, 0, (void **)&q) || q[100] != 0x5e)
			_exit(4);
		_exit(0);
	}
	assert_true(pid > 0);
	close(sv[1]);
	fd = get_fd(&t, src, DMABUF);
	{
		char c = 'x', cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { &c, 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(fd));
		assert_int_equal(sendmsg(sv[0], &mh, 0), 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(sv[0]);
	close(fd);
	vws_vk_FreeMemory(t.vk, src, NULL);
	tv_close(&t);
}

/* vkGetMemoryFdKHR of never-mapped deferred memory maps it first: the
 * model shows the forced map, and a foreign importer sees a real range. */
static void export_forces_map(void **state)
{
	struct tv t;
	VkDeviceMemory m;
	uint64_t addr = 0, size = 0;
	int fd;

	tv_open(&t, TV_DISCRETE_REBAR);
	assert_int_equal(alloc_exportable(&t, (uint32_t)tv_type(&t, DL | HV, 0), TV_MIB, DMABUF,
					  true, &m), 0);
	assert_int_equal(tv_counters().region_bytes_in_use, 0);
	fd = get_fd(&t, m, DMABUF);
	assert_int_equal(tv_counters().region_bytes_in_use, TV_MIB);
	assert_int_equal(vgshim_dmabuf_attach(fd, &addr, &size), 0);
	assert_int_equal(size, TV_MIB);
	assert_int_equal(tv_counters().bogus_attaches, 0);
	close(fd);
	vws_vk_FreeMemory(t.vk, m, NULL);
	tv_close(&t);
}

/* VK_EXT_map_memory_placed at a caller-chosen address. */
static void placed_maps(void **state)
{
	struct tv t;
	VkDeviceMemory m;
	VkDeviceSize size = 256 * 1024;
	unsigned char *va, *p, *cached;
	VkMemoryMapPlacedInfoEXT pl = { VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_PLACED_INFO_EXT, NULL, NULL };
	VkMemoryMapInfoKHR mi = { VWS_VK_STRUCTURE_TYPE_MEMORY_MAP_INFO_KHR, &pl,
				  VWS_VK_MEMORY_MAP_PLACED_BIT_EXT, VK_NULL_HANDLE, 0,
				  VK_WHOLE_SIZE };
	VkMemoryUnmapInfoKHR ui = { VWS_VK_STRUCTURE_TYPE_MEMORY_UNMAP_INFO_KHR, NULL,
				    VWS_VK_MEMORY_UNMAP_RESERVE_BIT_EXT, VK_NULL_HANDLE };
	void *probe;

	tv_open(&t, TV_DISCRETE_REBAR);
	assert_int_equal(tv_alloc(&t, (uint32_t)tv_type(&t, DL | HV, 0), size, NULL, &m), 0);
	va = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(va != MAP_FAILED);
	pl.pPlacedAddress = va;
	mi.memory = m;
	ui.memory = m;
	assert_int_equal(vws_vk_MapMemory2KHR(t.vk, &mi, (void **)&p), VK_SUCCESS);
	assert_ptr_equal(p, va);
	memset(p, 0x21, size);
	/* unmap with RESERVE: the range stays ours, PROT_NONE */
	assert_int_equal(vws_vk_UnmapMemory2KHR(t.vk, &ui), VK_SUCCESS);
	probe = mmap(va, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_true(probe == MAP_FAILED);
	/* the bytes are the memory's: a normal map sees them */
	assert_int_equal(vws_vk_MapMemory(t.vk, m, 0, VK_WHOLE_SIZE, 0, (void **)&cached), 0);
	assert_int_equal(cached[size - 1], 0x21);
	vws_vk_UnmapMemory(t.vk, m);
	/* placed again, then unmapped for good */
	assert_int_equal(vws_vk_MapMemory2KHR(t.vk, &mi, (void **)&p), VK_SUCCESS);
	vws_vk_UnmapMemory(t.vk, m);
	probe = mmap(va, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	assert_ptr_equal(probe, va);
	munmap(va, size);
	/* misaligned and partial placed maps are refused */
	pl.pPlacedAddress = va + 1;
	assert_int_equal(vws_vk_MapMemory2KHR(t.vk, &mi, (void **)&p), VK_ERROR_MEMORY_MAP_FAILED);
	vws_vk_FreeMemory(t.vk, m, NULL);
	tv_close(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TV_ALL_GENS(export_import_matrix),
		TV_GEN(many, "fixed"),
		TV_GEN(bad_imports, "fixed"),
		TV_ALL_GENS(fd_properties_match_the_buffer),
		TV_ALL_GENS(other_process),
		TV_GEN(export_forces_map, "fixed"),
		TV_GEN(placed_maps, "fixed"),
		TV_GEN(placed_maps, "legacy"),
	};

	return cmocka_run_group_tests_name("vulkan-external", tests, NULL, NULL);
}
