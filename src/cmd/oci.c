/* husk oci: global options (runc's) and the verb table. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/state.h"
#include "../lib/util.h"

static const struct husk_cmd oci_cmds[] = {
	{"create", husk_cmd_create, "create a container from a bundle, waiting to be started"},
	{"delete", husk_cmd_delete, "delete a container and everything it holds"},
	{"exec", husk_cmd_exec, "run another process in a running container"},
	{"events", husk_cmd_events, "stats (and OOM events) of a container, once or as a stream"},
	{"features", husk_cmd_features, "print what this runtime supports (JSON)"},
	{"kill", husk_cmd_kill, "send a signal to a container's init (or all its processes)"},
	{"list", husk_cmd_list, "list containers"},
	{"pause", husk_cmd_pause, "freeze every process of a container"},
	{"ps", husk_cmd_ps, "the processes of a container"},
	{"resume", husk_cmd_resume, "thaw a paused container"},
	{"run", husk_cmd_run, "create and start a container, wait for it"},
	{"spec", husk_cmd_spec, "write a default config.json"},
	{"start", husk_cmd_start, "start a created container"},
	{"state", husk_cmd_state, "print a container's state (JSON)"},
	{"update", husk_cmd_update, "change the resource limits of a container"},
};

static int oci_usage(FILE *out)
{
	fprintf(out, "usage: husk oci [--root DIR] [--log FILE] [--log-format text|json] [--debug] VERB [ARGS...]\n\nverbs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(oci_cmds); i++)
		fprintf(out, "  %-10s %s\n", oci_cmds[i].name, oci_cmds[i].summary);
	return out == stderr ? 1 : 0;
}

int husk_oci_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"systemd-cgroup", no_argument, NULL, 's'},
		{"rootless", required_argument, NULL, 'R'},
		{"criu", required_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct husk_globals g = {.root = "/run/husk", .command = "oci"};
	int c;

	optind = 0;
	/* '+': options stop at the verb; the verb parses its own */
	while ((c = getopt_long_only(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': g.root = optarg; break;
		case 'l': g.log_path = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				g.log_json = true;
			else if (strcmp(optarg, "text") != 0)
				return husk_cmd_usage(&g, "--log-format must be text or json, not \"%s\"", optarg);
			break;
		case 'd': g.debug = true; break;
		case 's': g.systemd_cgroup = true; break;
		case 'R': case 'C': break; /* accepted as runc does; husk decides rootless by itself */
		case 'v':
			printf("husk version %s\nspec: %s\n", HUSK_VERSION, HUSK_OCI_VERSION);
			return 0;
		case 'h': return oci_usage(stdout);
		default: return oci_usage(stderr);
		}
	}
	if (optind >= argc)
		return oci_usage(stderr);
	for (size_t i = 0; i < ARRAY_SIZE(oci_cmds); i++) {
		if (strcmp(argv[optind], oci_cmds[i].name) == 0) {
			g.command = oci_cmds[i].name;
			/* runc's flags parse as -flag or --flag: either spelling asks for help */
			if (optind + 1 < argc && husk_oci_verb_usage(oci_cmds[i].name) && (strcmp(argv[optind + 1], "--help") == 0 ||
						  strcmp(argv[optind + 1], "-help") == 0 || strcmp(argv[optind + 1], "-h") == 0))
				return husk_cmd_help(husk_oci_verb_usage(oci_cmds[i].name));
			husk_cmd_debug(&g, "%s", g.command);
			return oci_cmds[i].fn(&g, argc - optind, argv + optind);
		}
	}
	g.command = "oci";
	return husk_cmd_usage(&g, "unknown verb \"%s\" (husk oci --help lists them)", argv[optind]);
}
