/* The verbs that take an id and act on it: start, state, kill, delete. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/names.h"
#include "../lib/util.h"

/* Parse [flags] ID [extra]; flags are given as a getopt table. Returns the getopt index of
 * the id, or -1 after printing a usage error. */
static int parse_id(struct husk_globals *g, int argc, char **argv, const struct option *opts,
		    int (*on_opt)(int c, void *data), void *data, int max_extra)
{
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+afh", opts, NULL)) != -1) {
		if (c == '?' || !on_opt || on_opt(c, data) < 0) {
			husk_cmd_usage(g, "bad option (see husk oci --help)");
			return -1;
		}
	}
	if (optind >= argc || argc - optind - 1 > max_extra) {
		husk_cmd_usage(g, "expected a container id%s", max_extra ? " and a signal" : "");
		return -1;
	}
	return optind;
}

int husk_cmd_start(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{0}};
	struct husk_err err = {0};
	int i = parse_id(g, argc, argv, opts, NULL, NULL, 0);

	if (i < 0)
		return 1;
	switch (husk_container_start(g->root, argv[i], &err)) {
	case 0: return 0;
	case 1: return husk_cmd_warn(g, &err);
	default: return husk_cmd_fail(g, &err);
	}
}

int husk_cmd_state(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{0}};
	struct husk_err err = {0};
	json_t *state;
	int i = parse_id(g, argc, argv, opts, NULL, NULL, 0);

	if (i < 0)
		return 1;
	if (husk_container_state(g->root, argv[i], &state, &err) < 0)
		return husk_cmd_fail(g, &err);
	json_dumpf(state, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(state);
	return 0;
}

static int flag_all(int c, void *data)
{
	if (c != 'a')
		return -1;
	*(bool *)data = true;
	return 0;
}

int husk_cmd_kill(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
	struct husk_err err = {0};
	bool all = false;
	int sig = SIGTERM;
	int i = parse_id(g, argc, argv, opts, flag_all, &all, 1);

	if (i < 0)
		return 1;
	if (i + 1 < argc && (sig = husk_signal_parse(argv[i + 1])) < 0)
		return husk_cmd_usage(g, "unknown signal \"%s\"", argv[i + 1]);
	if (husk_container_kill(g->root, argv[i], sig, all, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

static int flag_force(int c, void *data)
{
	if (c != 'f')
		return -1;
	*(bool *)data = true;
	return 0;
}

int husk_cmd_delete(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	struct husk_err err = {0};
	bool force = false;
	int i = parse_id(g, argc, argv, opts, flag_force, &force, 0);

	if (i < 0)
		return 1;
	int rc = husk_container_delete(g->root, argv[i], force, &err);
	if (rc == 1)
		return husk_cmd_warn(g, &err);
	if (rc < 0) {
		/* runc: deleting what is already gone with --force is not an error */
		if (force && err.errnum == ENOENT)
			return 0;
		return husk_cmd_fail(g, &err);
	}
	return 0;
}
