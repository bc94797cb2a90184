/* ps: the processes of the container, as the host's ps shows them. */
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
