/* husk COMMAND: the docker-like front end, its global options and command table. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/image/store.h"
#include "../lib/util.h"

static const struct husk_cmd engine_cmds[] = {
	{"attach", husk_cmd_engine_attach, "attach to a running container's input and output"},
	{"container", husk_cmd_engine_container, "container prune (and docker's container VERB spellings)"},
	{"cp", husk_cmd_cp, "copy files between a container and the host"},
	{"exec", husk_cmd_engine_exec, "run a command in a running container"},
	{"image", husk_cmd_image, "manage images: bootstrap, import, load, inspect, ls, rm, tag, prune"},
	{"images", husk_cmd_images, "list images"},
	{"inspect", husk_cmd_engine_inspect, "a container's record, as docker inspect shows it"},
	{"kill", husk_cmd_engine_kill, "send a signal to a container"},
	{"logs", husk_cmd_logs, "print a container's output (-f follows it)"},
	{"network", husk_cmd_network, "manage bridge networks: create, ls, inspect, rm, prune"},
	{"nsenter", husk_cmd_nsenter, "run a command in a process's, a file's or a container's namespaces"},
	{"nsexec", husk_cmd_nsexec, "run a host command in new namespaces (unshare's options)"},
	{"pause", husk_cmd_engine_pause, "freeze a container's processes"},
	{"port", husk_cmd_engine_port, "list a container's published ports"},
	{"ps", husk_cmd_engine_ps, "list containers"},
	{"pull", husk_cmd_pull, "fetch an image from a registry"},
	{"rename", husk_cmd_engine_rename, "rename a container"},
	{"restart", husk_cmd_engine_restart, "stop and start a container"},
	{"rm", husk_cmd_engine_rm, "remove containers, their filesystem and logs"},
	{"run", husk_cmd_engine_run, "run a command in a new container from an image"},
	{"start", husk_cmd_engine_start, "start stopped containers"},
	{"stats", husk_cmd_engine_stats, "containers' CPU, memory, network and block I/O"},
	{"stop", husk_cmd_engine_stop, "stop running containers"},
	{"system", husk_cmd_engine_system, "system boot: bring containers back after a reboot"},
	{"top", husk_cmd_engine_top, "a container's processes"},
	{"unpause", husk_cmd_engine_unpause, "thaw a paused container"},
	{"volume", husk_cmd_volume, "manage volumes: create, ls, inspect, rm, prune"},
	{"wait", husk_cmd_engine_wait, "wait for containers to stop, print their exit codes"},
};

static int engine_usage(FILE *out)
{
	fprintf(out,
		"usage: husk [--storage DIR] [--root DIR] [--debug] COMMAND [ARGS...]\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(engine_cmds); i++)
		fprintf(out, "  %-10s %s\n", engine_cmds[i].name, engine_cmds[i].summary);
	fprintf(out,
		"  oci        the OCI runtime, with runc's command line (husk oci --help)\n"
		"  version    print the version\n"
		"\n"
		"The image store is %s (--storage or HUSK_STORAGE moves it); container state is under\n"
		"/run/husk (--root). husk-oci (a link to this binary) is the same as `husk oci`.\n",
		HUSK_STORE_DEFAULT);
	return out == stderr ? 125 : 0;
}

void husk_cmd_engine_init(struct husk_globals *g, struct husk_engine *e)
{
	*e = (struct husk_engine){.root = g->root, .storage = g->storage, .run = g->run, .warn = husk_cmd_warn_cb,
				  .warn_arg = g};
}

/* `husk --root R oci VERB`: the global options the usage puts before every command reach the
 * runtime too, as if given after `oci` (where the runtime reads its own). */
static int oci_with_globals(const struct husk_globals *g, int argc, char **argv)
{
	_cleanup_free_ char **args = husk_xcalloc((size_t)argc + 8, sizeof(char *));
	int n = 0;

	args[n++] = argv[0];
	if (g->root_given) {
		args[n++] = "--root";
		args[n++] = (char *)g->root;
	}
	if (g->log_path) {
		args[n++] = "--log";
		args[n++] = (char *)g->log_path;
	}
	if (g->debug)
		args[n++] = "--debug";
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	return husk_oci_main(n, args);
}

int husk_engine_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"storage", required_argument, NULL, 's'},
		{"root", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"debug", no_argument, NULL, 'd'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct husk_globals g = {.root = "/run/husk", .command = "husk", .storage = getenv("HUSK_STORAGE")};
	int c;

	if (!g.storage || !*g.storage)
		g.storage = HUSK_STORE_DEFAULT;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.storage = optarg; break;
		case 'r': g.root = optarg; g.root_given = true; break;
		case 'l': g.log_path = optarg; break;
		case 'd': g.debug = true; break;
		case 'v':
			printf("husk version %s\nspec: %s\n", HUSK_VERSION, HUSK_OCI_VERSION);
			return 0;
		case 'h': return engine_usage(stdout);
		default: return engine_usage(stderr);
		}
	}
	if (optind >= argc)
		return engine_usage(stderr);
	if (strcmp(argv[optind], "version") == 0) {
		printf("husk version %s\nspec: %s\n", HUSK_VERSION, HUSK_OCI_VERSION);
		return 0;
	}
	if (strcmp(argv[optind], "help") == 0)
		return engine_usage(stdout);
	if (strcmp(argv[optind], "oci") == 0)
		return oci_with_globals(&g, argc - optind, argv + optind);
	if (g.storage[0] != '/') {
		g.command = "husk";
		return husk_cmd_usage(&g, "--storage %s: give an absolute path", g.storage), 125;
	}
	/* the monitors' sockets and locks: beside the runtime's state, gone at reboot as it is */
	size_t rootlen = strlen(g.root);
	while (rootlen > 1 && g.root[rootlen - 1] == '/')
		rootlen--;
	g.run = husk_xasprintf("%.*s-engine", (int)rootlen, g.root);
	return husk_engine_dispatch(&g, argc - optind, argv + optind);
}

int husk_engine_dispatch(struct husk_globals *g, int argc, char **argv)
{
	if (strcmp(argv[0], "monitor-exited") == 0) {
		g->command = "monitor";
		return husk_cmd_engine_monitor_exited(g, argc, argv);
	}
	for (size_t i = 0; i < ARRAY_SIZE(engine_cmds); i++) {
		if (strcmp(argv[0], engine_cmds[i].name) == 0) {
			g->command = engine_cmds[i].name;
			int rc = engine_cmds[i].fn(g, argc, argv);
			/* docker's status for a usage error, whichever parser reported it */
			return g->usage_failed ? 125 : rc;
		}
	}
	fprintf(stderr, "husk: unknown command \"%s\" (husk --help lists them)\n", argv[0]);
	return 125;
}
