/* pause, resume: freeze and thaw every process of the container (its cgroup). */
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
