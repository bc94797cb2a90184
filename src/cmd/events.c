/* events: the container's stats (runc's shape), once or as a stream, and its OOM kills. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/util.h"

static void emit(const char *type, const char *id, json_t *data)
{
	json_t *ev = json_pack("{s:s, s:s}", "type", type, "id", id);
	if (data)
		json_object_set(ev, "data", data);
	json_dumpf(ev, stdout, JSON_COMPACT);
	putchar('\n');
	fflush(stdout);
	json_decref(ev);
}

/* husk oci events [--stats] [--interval DURATION] ID: runc's event stream on stdout, one JSON
 * object a line: stats every interval, and "oom" when the OOM killer strikes in the container. */
int husk_cmd_events(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'}, {0}};
	struct husk_err err = {0};
	bool stats_once = false;
	double interval = 5;
	long long oom_seen = -1;
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's') {
			stats_once = true;
		} else if (c == 'i') {
			char *end;
			interval = strtod(optarg, &end);
			/* "5s", "500ms", "2" (seconds) */
			if (strcmp(end, "ms") == 0)
				interval /= 1000;
			else if (*end && strcmp(end, "s") != 0)
				interval = -1;
			if (interval <= 0)
				return husk_cmd_usage(g, "--interval: \"%s\" is not a duration like 5s or 500ms", optarg);
		} else {
			return husk_cmd_usage(g, "usage: husk oci events [--stats] [--interval 5s] ID");
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "expected exactly one container id");
	for (;;) {
		enum husk_status status;
		long long ooms;
		json_t *stats;
		if (husk_container_stats(g->root, argv[optind], &stats, &ooms, &status, &err) < 0)
			return stats_once ? husk_cmd_fail(g, &err) : 0;
		if (!stats_once && oom_seen >= 0 && ooms > oom_seen)
			emit("oom", argv[optind], NULL);
		oom_seen = ooms;
		emit("stats", argv[optind], stats);
		json_decref(stats);
		if (stats_once || status == HUSK_STOPPED)
			return 0;
		nanosleep(&(struct timespec){(time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9)}, NULL);
	}
}
