/* husk oci: global options (runc's) and the verb table. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
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

static void log_line(struct husk_globals *g, const char *level, const char *msg)
{
	_cleanup_free_ char *now = NULL;
	int fd;

	if (!g->log_path)
		return;
	fd = open(g->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	now = husk_timestamp_now();
	if (g->log_json) {
		json_t *obj = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", now);
		_cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
		if (text)
			dprintf(fd, "%s\n", text);
	} else {
		dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
	}
	close(fd);
}

int husk_cmd_fail(struct husk_globals *g, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 256];

	husk_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "husk: %s: %s\n", g->command, msg);
	log_line(g, "error", msg);
	return 1;
}

int husk_cmd_warn(struct husk_globals *g, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 256];

	husk_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "husk: %s: warning: %s\n", g->command, msg);
	log_line(g, "warning", msg);
	return 0;
}

void husk_cmd_warn_cb(void *g, const struct husk_err *warning)
{
	husk_cmd_warn(g, warning);
}

int husk_cmd_usage(struct husk_globals *g, const char *fmt, ...)
{
	struct husk_err err = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	return husk_cmd_fail(g, &err);
}

void husk_cmd_debug(struct husk_globals *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!g->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g->log_path)
		log_line(g, "debug", msg);
	else
		fprintf(stderr, "husk: debug: %s\n", msg);
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
			husk_cmd_debug(&g, "%s", g.command);
			return oci_cmds[i].fn(&g, argc - optind, argv + optind);
		}
	}
	g.command = "oci";
	return husk_cmd_usage(&g, "unknown verb \"%s\" (husk oci --help lists them)", argv[optind]);
}
