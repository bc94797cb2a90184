/* husk cp [-a] [-L] CONTAINER:SRC DEST|-, husk cp [-a] [-L] SRC|- CONTAINER:DEST: docker's. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/engine/cp.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/record.h"
#include "../lib/util.h"

static const char cp_usage[] =
	"usage: husk cp [-a] [-L] CONTAINER:SRC DEST|-\n"
	"       husk cp [-a] [-L] SRC|- CONTAINER:DEST\n"
	"\n"
	"Copy files between a container (running or stopped) and the host. `-` is a tar stream on\n"
	"stdin or stdout. A directory SRC goes into an existing directory DEST under its name, or\n"
	"becomes DEST; SRC/. copies what the directory holds.\n"
	"  -a, --archive      keep the owners (uid:gid) of the source; else what is copied in\n"
	"                     belongs to the container's root, what is copied out to you\n"
	"  -L, --follow-link  follow SRC when it is a symlink\n";

/* docker's split: an absolute or ./ path is the host's, else NAME:PATH names a container */
static char *container_part(char *arg, char **path)
{
	char *colon;

	if (arg[0] == '/' || arg[0] == '.' || !(colon = strchr(arg, ':')))
		return NULL;
	*colon = '\0';
	*path = colon[1] ? colon + 1 : "/";
	return arg;
}

int husk_cmd_cp(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"archive", no_argument, NULL, 'a'},
		{"follow-link", no_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct husk_cp_opts o = {.warn = husk_cmd_warn_cb, .warn_arg = g};
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	char *src, *dest, *src_path = NULL, *dest_path = NULL, *name;
	_cleanup_close_ int rootfd = -1;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+aLh", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': o.archive = true; break;
		case 'L': o.follow = true; break;
		case 'h': fputs(cp_usage, stdout); return 0;
		default: return husk_cmd_usage(g, "%s", cp_usage);
		}
	}
	if (argc - optind != 2)
		return husk_cmd_usage(g, "%s", cp_usage);
	src = argv[optind];
	dest = argv[optind + 1];
	char *src_ctr = container_part(src, &src_path), *dest_ctr = container_part(dest, &dest_path);
	if (src_ctr && dest_ctr)
		return husk_cmd_usage(g, "copying between containers is not supported");
	if (!src_ctr && !dest_ctr)
		return husk_cmd_usage(g, "one of SRC and DEST must be CONTAINER:PATH");
	name = src_ctr ? src_ctr : dest_ctr;
	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, name, id, &err) < 0)
		return husk_cmd_fail(g, &err);
	rootfd = husk_engine_open_root(&e, id, &err);
	if (rootfd < 0)
		return husk_cmd_fail(g, &err);
	if (src_ctr)
		rc = strcmp(dest, "-") == 0 ? husk_cp_out_tar(rootfd, src_path, STDOUT_FILENO, &o, &err)
					    : husk_cp_out(rootfd, src_path, dest, &o, &err);
	else
		rc = strcmp(src, "-") == 0 ? husk_cp_in_tar(rootfd, STDIN_FILENO, dest_path, &o, &err)
					   : husk_cp_in(rootfd, src, dest_path, &o, &err);
	if (rc < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}
