#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/defaults.h"
#include "../lib/util.h"

int husk_cmd_spec(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'}, {0},
	};
	const char *bundle = ".";
	bool rootless = false;
	_cleanup_free_ char *path = NULL, *out = NULL;
	json_t *spec;
	int c, fd;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 'r')
			rootless = true;
		else
			return husk_cmd_usage(g, "usage: husk oci spec [--bundle DIR] [--rootless]");
	}
	spec = husk_spec_default(rootless);
	out = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	path = husk_xasprintf("%s/config.json", bundle);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		struct husk_err err = {0};
		husk_err_sys(&err, "write %s%s", path, errno == EEXIST ? " (remove it first)" : "");
		return husk_cmd_fail(g, &err);
	}
	if (husk_write_all(fd, out, strlen(out)) < 0 || husk_write_all(fd, "\n", 1) < 0) {
		struct husk_err err = {0};
		husk_err_sys(&err, "write %s", path);
		close(fd);
		return husk_cmd_fail(g, &err);
	}
	close(fd);
	return 0;
}
