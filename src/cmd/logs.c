/* husk logs [-f] [--tail N|all] [--since T] [--until T] [-t] CONTAINER: docker's. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/logs.h"
#include "../lib/engine/record.h"
#include "../lib/util.h"

static const char logs_usage[] =
	"usage: husk logs [-f] [-n|--tail N|all] [--since TIME] [--until TIME] [-t] CONTAINER\n"
	"\n"
	"The container's output: its stdout lines on stdout, its stderr lines on stderr.\n"
	"  -f, --follow      go on printing what the container writes until it stops\n"
	"  -n, --tail N      only the last N lines (all: every line, the default)\n"
	"      --since TIME  lines from TIME on: RFC 3339 (2026-11-29T15:04:05Z), Unix seconds,\n"
	"                    or a duration before now (10m, 2h, 30s)\n"
	"      --until TIME  lines up to TIME (the same forms)\n"
	"  -t, --timestamps  each line preceded by its time (RFC 3339, nanoseconds) and a space\n";

struct alive_arg {
	const struct husk_engine *e;
	const char *id;
};

static bool still_running(void *arg)
{
	struct alive_arg *a = arg;
	return husk_monitor_alive(a->e, a->id);
}

static int parse_time_flag(struct husk_globals *g, const char *flag, const char *text, uint64_t now, uint64_t *ns)
{
	if (husk_time_parse(text, now, ns) < 0)
		return husk_cmd_usage(g, "%s %s: not a time (RFC 3339 such as 2026-11-29T15:04:05Z, Unix seconds, "
					 "or a duration such as 10m)", flag, text);
	return 0;
}

int husk_cmd_logs(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"follow", no_argument, NULL, 'f'},      {"tail", required_argument, NULL, 'n'},
		{"since", required_argument, NULL, 'S'}, {"until", required_argument, NULL, 'U'},
		{"timestamps", no_argument, NULL, 't'},  {"help", no_argument, NULL, 'h'},
		{0},
	};
	struct husk_engine e;
	struct husk_logs_opts o = {.out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO, .tail = -1};
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	_cleanup_free_ char *path = NULL;
	uint64_t now = husk_realtime_ns();
	json_t *rec = NULL;
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+fn:th", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': o.follow = true; break;
		case 't': o.timestamps = true; break;
		case 'n': {
			char *end;
			long long v;
			if (strcmp(optarg, "all") == 0) {
				o.tail = -1;
				break;
			}
			errno = 0;
			v = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0)
				return husk_cmd_usage(g, "--tail %s: give a number of lines or \"all\"", optarg);
			o.tail = v;
			break;
		}
		case 'S':
			if (parse_time_flag(g, "--since", optarg, now, &o.since))
				return 1;
			break;
		case 'U':
			if (parse_time_flag(g, "--until", optarg, now, &o.until))
				return 1;
			break;
		case 'h': fputs(logs_usage, stdout); return 0;
		default: return husk_cmd_usage(g, "%s", logs_usage);
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "%s", logs_usage);
	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, argv[optind], id, &err) < 0 || husk_record_load(&e, id, &rec, &err) < 0)
		return husk_cmd_fail(g, &err);
	const char *driver = json_string_value(json_object_get(json_object_get(json_object_get(rec, "HostConfig"), "LogConfig"), "Type"));
	const char *log_path = json_string_value(json_object_get(rec, "LogPath"));
	if (driver && strcmp(driver, "none") == 0) {
		json_decref(rec);
		husk_err_set(&err, 0, "container %s has no logs (--log-driver none)", argv[optind]);
		return husk_cmd_fail(g, &err);
	}
	path = log_path && *log_path ? husk_xstrdup(log_path) : husk_xasprintf("%s/containers/%s/ctr.log", e.storage, id);
	json_decref(rec);

	struct alive_arg alive = {.e = &e, .id = id};
	o.path = path;
	o.running = still_running;
	o.running_arg = &alive;
	o.warn = husk_cmd_warn_cb;
	o.warn_arg = g;
	if (husk_logs_read(&o, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}
