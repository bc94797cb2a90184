/* husk oci update: new limits for a live container, from --resources or runc's flags. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/util.h"

/* "512", "64k", "32M", "1g", "-1" as bytes (runc takes docker's unit suffixes) */
static int parse_bytes(const char *s, long long *out)
{
	char *end;
	double v = strtod(s, &end);
	long long mult = 1;

	if (end == s)
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1024; end++; break;
	case 'm': mult = 1024 * 1024; end++; break;
	case 'g': mult = 1024LL * 1024 * 1024; end++; break;
	case 't': mult = 1024LL * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end || v < -1)
		return -1;
	*out = (long long)(v * (double)mult);
	return 0;
}

static int parse_int(const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end || end == s ? -1 : 0;
}

/* Each flag is a path in the resources object and how its value is read. */
static const struct {
	const char *flag, *group, *key;
	bool bytes, string;
} flags[] = {
	{"memory", "memory", "limit", true, false},
	{"memory-reservation", "memory", "reservation", true, false},
	{"memory-swap", "memory", "swap", true, false},
	{"kernel-memory", "memory", "kernel", true, false},
	{"kernel-memory-tcp", "memory", "kernelTCP", true, false},
	{"cpu-period", "cpu", "period", false, false},
	{"cpu-quota", "cpu", "quota", false, false},
	{"cpu-share", "cpu", "shares", false, false},
	{"cpu-shares", "cpu", "shares", false, false},
	{"cpu-rt-period", "cpu", "realtimePeriod", false, false},
	{"cpu-rt-runtime", "cpu", "realtimeRuntime", false, false},
	{"cpuset-cpus", "cpu", "cpus", false, true},
	{"cpuset-mems", "cpu", "mems", false, true},
	{"pids-limit", "pids", "limit", false, false},
	{"blkio-weight", "blockIO", "weight", false, false},
};

int husk_cmd_update(struct husk_globals *g, int argc, char **argv)
{
	struct option opts[ARRAY_SIZE(flags) + 3];
	const char *resources_file = NULL;
	json_t *doc = json_object(), *json = NULL;
	struct husk_resources res;
	struct husk_err err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len;
	int c, rc;

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		opts[i] = (struct option){flags[i].flag, required_argument, NULL, 1000 + (int)i};
	opts[ARRAY_SIZE(flags)] = (struct option){"resources", required_argument, NULL, 'r'};
	opts[ARRAY_SIZE(flags) + 1] = (struct option){"r", required_argument, NULL, 'r'};
	opts[ARRAY_SIZE(flags) + 2] = (struct option){0};
	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c == 'r') {
			resources_file = optarg;
		} else if (c >= 1000) {
			size_t i = (size_t)(c - 1000);
			json_t *group = json_object_get(doc, flags[i].group);
			long long v;
			if (!group)
				json_object_set_new(doc, flags[i].group, group = json_object());
			if (flags[i].string)
				json_object_set_new(group, flags[i].key, json_string(optarg));
			else if ((flags[i].bytes ? parse_bytes(optarg, &v) : parse_int(optarg, &v)) < 0)
				return husk_cmd_usage(g, "--%s: \"%s\" is not a %s", flags[i].flag, optarg,
						      flags[i].bytes ? "size (like 512m)" : "number");
			else
				json_object_set_new(group, flags[i].key, json_integer(v));
		} else {
			return husk_cmd_usage(g, "usage: husk oci update [--resources FILE|-] [--memory N] [--cpu-quota N] ... ID");
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "expected exactly one container id");
	if (resources_file) {
		if (json_object_size(doc))
			return husk_cmd_usage(g, "--resources and the single-value flags do not mix");
		if (husk_read_file_at(AT_FDCWD, strcmp(resources_file, "-") == 0 ? "/dev/stdin" : resources_file, &text,
				      &len, &err) < 0)
			return husk_cmd_fail(g, &err);
	} else {
		text = json_dumps(doc, JSON_COMPACT);
		len = strlen(text);
	}
	json_decref(doc);
	/* the same parser and range checks as config.json's linux.resources */
	if (husk_resources_parse(resources_file ? resources_file : "flags", text, len, &json, &res, &err) < 0)
		return husk_cmd_fail(g, &err);
	rc = husk_container_update(g->root, argv[optind], &res, &err);
	husk_resources_free(&res);
	json_decref(json);
	return rc < 0 ? husk_cmd_fail(g, &err) : 0;
}
