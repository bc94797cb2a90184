/* pause, resume, ps, events: the verbs that look at or act on the container's cgroup. */
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

static int one_id(struct husk_globals *g, int argc, char **argv)
{
	static const struct option none[] = {{0}};
	optind = 0;
	if (getopt_long_only(argc, argv, "+", none, NULL) != -1 || optind != argc - 1)
		return husk_cmd_usage(g, "expected exactly one container id"), -1;
	return optind;
}

static int pause_or_resume(struct husk_globals *g, int argc, char **argv, bool pause)
{
	struct husk_err err = {0};
	int i = one_id(g, argc, argv);

	if (i < 0)
		return 1;
	return husk_container_pause(g->root, argv[i], pause, &err) < 0 ? husk_cmd_fail(g, &err) : 0;
}

int husk_cmd_pause(struct husk_globals *g, int argc, char **argv)
{
	return pause_or_resume(g, argc, argv, true);
}

int husk_cmd_resume(struct husk_globals *g, int argc, char **argv)
{
	return pause_or_resume(g, argc, argv, false);
}

/* husk oci ps [--format table|json] ID [-- PS ARGS]: as runc, the table is the host's ps
 * (default -ef) cut down to the container's processes, matched on the PID column. */
int husk_cmd_ps(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	_cleanup_free_ pid_t *pids = NULL;
	struct husk_err err = {0};
	bool json_format = false;
	char **ps_argv, line[4096];
	size_t n;
	int c, pid_col = -1, fds[2];
	FILE *out;
	pid_t child;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json_format = strcmp(optarg, "json") == 0;
		else
			return husk_cmd_usage(g, "usage: husk oci ps [--format table|json] ID [-- PS ARGS]");
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "expected a container id");
	if (husk_container_pids(g->root, argv[optind], &pids, &n, &err) < 0)
		return husk_cmd_fail(g, &err);
	if (json_format) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_integer(pids[i]));
		json_dumpf(arr, stdout, 0);
		putchar('\n');
		json_decref(arr);
		return 0;
	}
	/* runc's "ps -- ARGS": everything after the id (past a "--") goes to ps */
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	ps_argv = husk_xcalloc((size_t)(argc - optind) + 3, sizeof(char *));
	ps_argv[0] = "ps";
	if (optind < argc)
		memcpy(ps_argv + 1, argv + optind, (size_t)(argc - optind) * sizeof(char *));
	else
		ps_argv[1] = "-ef";
	if (pipe(fds) < 0 || (child = fork()) < 0) {
		husk_err_sys(&err, "run ps");
		return husk_cmd_fail(g, &err);
	}
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp("ps", ps_argv);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), out)) {
		char copy[4096], *tok, *save = NULL;
		int col = 0;
		strcpy(copy, line);
		if (pid_col < 0) {
			/* the header says which column is PID */
			for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save), col++)
				if (strcmp(tok, "PID") == 0)
					pid_col = col;
			if (pid_col < 0) {
				fclose(out);
				waitpid(child, NULL, 0);
				return husk_cmd_usage(g, "the ps output has no PID column");
			}
			fputs(line, stdout);
			continue;
		}
		for (tok = strtok_r(copy, " \t\n", &save); tok && col < pid_col; tok = strtok_r(NULL, " \t\n", &save))
			col++;
		for (size_t i = 0; tok && i < n; i++)
			if (atoi(tok) == pids[i]) {
				fputs(line, stdout);
				break;
			}
	}
	fclose(out);
	waitpid(child, NULL, 0);
	free(ps_argv);
	return 0;
}

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
