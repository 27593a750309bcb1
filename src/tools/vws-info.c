/* SPDX-License-Identifier: MIT */
/*
 * vws-info: what the guest kernel's virtio-gpu offers, what the winsys
 * decided (hint support, defer policy), and a short self-check of the
 * blob life cycle with what each step cost.
 *
 * Without a virtio-gpu render node it runs itself again on the kernel
 * model (LD_PRELOAD of libvirtgpu-shim.so) and says so everywhere.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drm-uapi/virtgpu_drm.h"
#include "vgshim.h"
#include "vws_info.h"
#include "vws_tool_model.h"

/* Set in the re-executed process: "<pid>:<model library>" (a marker with
 * another pid was left by someone else and is ignored). */
#define VWS_INFO_MODEL_ENV "VWS_INFO_ON_MODEL"

enum {
	VWS_INFO_EXIT_OK,
	VWS_INFO_EXIT_CHECK,
	VWS_INFO_EXIT_USAGE,
	VWS_INFO_EXIT_DEVICE,
	VWS_INFO_EXIT_OUTPUT, /* the report could not be written */
};

/* Everything written to stdout reached it; else says so on stderr. */
static bool vws_info_output_ok(void)
{
	int err;

	errno = 0;
	if (!fflush(stdout) && !ferror(stdout))
		return true;
	err = errno;
	fprintf(stderr, "vws-info: writing the report to stdout failed%s%s\n",
		err ? ": " : "", err ? strerror(err) : "");
	return false;
}

static void vws_info_usage(FILE *f)
{
	fprintf(f,
		"usage: vws-info [options]\n"
		"Prints the virtio-gpu device, its params and capsets, the host-visible\n"
		"region, defer-mapping hint support and the policy in force, then runs a\n"
		"self-check (create, map, export, import, free) with its cost.\n"
		"\n"
		"  --device PATH        render node to use (default: scan renderD128..191)\n"
		"  --kernel GEN         run on the kernel model as GEN: legacy|v1|v2|fixed\n"
		"  --defer POLICY       the caller's defer policy: auto|always|never\n"
		"                       (VWS_DEFER and configuration files still apply)\n"
		"  --capset NAME        context capset: venus|gfxstream|none (default:\n"
		"                       venus, else gfxstream, else none)\n"
		"  --backend NAME       kernel (default) or vtest (virglrenderer's vtest\n"
		"                       server, e.g. virgl_test_server --venus)\n"
		"  --socket PATH        vtest socket (default: VWS_VTEST_SOCKET, else\n"
		"                       /tmp/.virgl_test); needs --backend vtest\n"
		"  --json               machine-readable output on stdout\n"
		"  --help               this text\n"
		"\n"
		"Without a virtio-gpu render node (or with --kernel) vws-info runs on the\n"
		"kernel model libvirtgpu-shim.so; VWS_SHIM_PATH names another copy.\n"
		"Exit status: 0 ok, 1 self-check failed, 2 usage, 3 no usable device,\n"
		"4 the report could not be written (stdout closed, full, broken).\n");
}

static int vws_info_parse(int argc, char **argv, struct vws_info_opts *o)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "defer", required_argument, NULL, 'p' },
		{ "capset", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "backend", required_argument, NULL, 'b' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = NULL;
	int c;

	*o = (struct vws_info_opts){ .backend = VWS_BACKEND_KERNEL, .capset = -1 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->device = optarg;
			break;
		case 'k':
			if (strcmp(optarg, "legacy") && strcmp(optarg, "v1") &&
			    strcmp(optarg, "v2") && strcmp(optarg, "fixed")) {
				fprintf(stderr, "vws-info: --kernel %s: not legacy|v1|v2|fixed\n",
					optarg);
				return -1;
			}
			o->kernel = optarg;
			break;
		case 'p':
			if (vws_defer_policy_parse(optarg, &o->defer)) {
				fprintf(stderr, "vws-info: --defer %s: not auto|always|never\n",
					optarg);
				return -1;
			}
			break;
		case 'c':
			if (!strcmp(optarg, "venus"))
				o->capset = VIRTGPU_CAPSET_VENUS;
			else if (!strcmp(optarg, "gfxstream"))
				o->capset = VIRTGPU_CAPSET_GFXSTREAM_VULKAN;
			else if (!strcmp(optarg, "none"))
				o->capset = 0;
			else {
				fprintf(stderr, "vws-info: --capset %s: not venus|gfxstream|none\n",
					optarg);
				return -1;
			}
			break;
		case 'b':
			if (!strcmp(optarg, "kernel"))
				o->backend = VWS_BACKEND_KERNEL;
			else if (!strcmp(optarg, "vtest"))
				o->backend = VWS_BACKEND_VTEST;
			else {
				fprintf(stderr, "vws-info: --backend %s: not kernel|vtest\n", optarg);
				return -1;
			}
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			vws_info_usage(stdout);
			exit(vws_info_output_ok() ? VWS_INFO_EXIT_OK : VWS_INFO_EXIT_OUTPUT);
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vws-info: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->device && o->kernel) {
		fprintf(stderr, "vws-info: --device and --kernel exclude each other\n");
		return -1;
	}
	if (o->backend == VWS_BACKEND_VTEST) {
		/* A vtest server is a host, not a kernel: no model, no node. */
		if (o->kernel || o->device) {
			fprintf(stderr, "vws-info: --backend vtest takes --socket, not "
					"--kernel or --device\n");
			return -1;
		}
		o->device = socket_path;
	} else if (socket_path) {
		fprintf(stderr, "vws-info: --socket needs --backend vtest\n");
		return -1;
	}
	return 0;
}

/* Runs this program again with the model preloaded; returns only on error. */
static int vws_info_reexec_on_model(char **argv, const struct vws_info_opts *o)
{
	const char *model = vws_tool_find_model(VWS_INFO_SHIM_BUILD, VWS_INFO_SHIM_INSTALLED);

	if (!model) {
		fprintf(stderr,
			"vws-info: no kernel model found (looked at %s, %s; set VWS_SHIM_PATH)\n",
			VWS_INFO_SHIM_BUILD, VWS_INFO_SHIM_INSTALLED);
		return VWS_INFO_EXIT_DEVICE;
	}
	if (vws_tool_set_marker(VWS_INFO_MODEL_ENV, model)) {
		fprintf(stderr, "vws-info: setenv: %s\n", strerror(errno));
		return VWS_INFO_EXIT_DEVICE;
	}
	vws_tool_reexec_on_model("vws-info", argv, model, o->kernel);
	return VWS_INFO_EXIT_DEVICE;
}

/* The model's counters, found at run time so that vws-info does not
 * depend on the model when it runs on a real kernel. */
static bool vws_info_model_counts(uint64_t *ioctls, uint64_t *mmaps, uint64_t *region)
{
	void (*get)(struct vgshim_counters *) =
		(void (*)(struct vgshim_counters *))dlsym(RTLD_DEFAULT, "vgshim_get_counters");
	void (*drain)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "vgshim_host_drain");
	struct vgshim_counters c;

	if (!get)
		return false;
	/* Region space comes back when the host answers: wait for it. */
	if (drain)
		drain();
	get(&c);
	*ioctls = c.ioctls_total;
	*mmaps = c.mmaps;
	*region = c.region_bytes_in_use;
	return true;
}

static int vws_info_open(const struct vws_info_opts *o, struct vws_device **dev)
{
	static const uint32_t autos[] = { VIRTGPU_CAPSET_VENUS, VIRTGPU_CAPSET_GFXSTREAM_VULKAN, 0 };
	struct vws_device_create_info ci = {
		.backend = o->backend,
		.path = o->device,
		.defer = o->defer,
		.num_rings = 1,
		.debug_name = "vws-info",
	};
	int ret = -ENODEV;

	if (o->capset >= 0) {
		ci.capset_id = (uint32_t)o->capset;
		return vws_device_create(&ci, dev);
	}
	for (size_t i = 0; i < sizeof(autos) / sizeof(autos[0]); i++) {
		ci.capset_id = autos[i];
		ret = vws_device_create(&ci, dev);
		if (ret != -EOPNOTSUPP)
			break;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct vws_info_opts o;
	struct vws_info_env env = { 0 };
	struct vws_info_selfcheck sc;
	struct vws_device *dev = NULL;
	bool stale;
	const char *marker = vws_tool_marker_path(VWS_INFO_MODEL_ENV, &stale);
	int ret;

	/* A closed stdout would be taken by the first file opened (the
	 * device's), and the report would "succeed" into it. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		fprintf(stderr, "vws-info: stdout is closed: nowhere to write the report\n");
		return VWS_INFO_EXIT_OUTPUT;
	}
	if (vws_info_parse(argc, argv, &o)) {
		vws_info_usage(stderr);
		return VWS_INFO_EXIT_USAGE;
	}
	/* Only our own re-execution is "on the model"; a marker someone else
	 * left must not turn --kernel into a silent no-op. */
	if (stale)
		unsetenv(VWS_INFO_MODEL_ENV);
	env.on_model = marker != NULL;
	if (env.on_model && !dlsym(RTLD_DEFAULT, "vgshim_get_counters")) {
		fprintf(stderr, "vws-info: re-executed on the kernel model, but %s did not load\n",
			marker);
		return VWS_INFO_EXIT_DEVICE;
	}
	if (!env.on_model && o.kernel)
		return vws_info_reexec_on_model(argv, &o);

	ret = vws_info_open(&o, &dev);
	if (ret == -ENODEV && !env.on_model && !o.device && o.backend == VWS_BACKEND_KERNEL) {
		fprintf(stderr, "vws-info: no virtio-gpu render node in /dev/dri: "
				"running on the kernel model instead\n");
		return vws_info_reexec_on_model(argv, &o);
	}
	if (ret) {
		fprintf(stderr, "vws-info: cannot open the device%s%s: %s%s\n",
			o.device ? " " : "", o.device ? o.device : "", strerror(-ret),
			getenv("VWS_DEBUG") ? "" : " (VWS_DEBUG=init says why)");
		return VWS_INFO_EXIT_DEVICE;
	}
	if (env.on_model) {
		const char *gen = getenv("VGSHIM_KERNEL");

		env.model_path = marker;
		env.model_generation = gen && gen[0] ? gen : "fixed (the model's default)";
	}
	if (dlsym(RTLD_DEFAULT, "vgshim_get_counters")) {
		void (*get)(struct vgshim_counters *) = (void (*)(struct vgshim_counters *))dlsym(
			RTLD_DEFAULT, "vgshim_get_counters");
		struct vgshim_counters c;

		get(&c);
		env.model_region_size = c.region_size;
		env.model_counts = vws_info_model_counts;
		/* Preloaded by hand rather than by us: still the model. */
		if (!env.on_model) {
			const char *gen = getenv("VGSHIM_KERNEL");

			env.on_model = true;
			env.model_path = "preloaded by the caller";
			env.model_generation = gen && gen[0] ? gen : "fixed (the model's default)";
		}
	}

	vws_info_run_selfcheck(dev, &env, &sc);
	if (o.json)
		vws_info_print_json(dev, &env, &sc);
	else
		vws_info_print_text(dev, &env, &sc);
	vws_device_unref(dev);
	if (!vws_info_output_ok())
		return VWS_INFO_EXIT_OUTPUT;
	return sc.passed ? VWS_INFO_EXIT_OK : VWS_INFO_EXIT_CHECK;
}
