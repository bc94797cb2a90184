#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/util.h"

/* The flags create and run share, as runc has them. */
int husk_parse_create_flags(struct husk_globals *g, int argc, char **argv, struct husk_create_opts *o,
			    bool *detach, bool *keep)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},
		{"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'},
		{"preserve-fds", required_argument, NULL, 'P'},
		{"no-pivot", no_argument, NULL, 'n'},
		{"no-new-keyring", no_argument, NULL, 'k'},
		{"detach", no_argument, NULL, 'd'},
		{"keep", no_argument, NULL, 'K'},
		{"no-subreaper", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	o->bundle = ".";
	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+b:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'b': o->bundle = optarg; break;
		case 'p': o->pid_file = optarg; break;
		case 'c': o->console_socket = optarg; break;
		case 'P':
			if (husk_cmd_parse_fd_count(g, "--preserve-fds", optarg, &o->preserve_fds) != 0)
				return 1;
			break;
		case 'n': o->no_pivot = true; break;
		case 'k': o->no_new_keyring = true; break;
		case 'd':
			if (!detach)
				return husk_cmd_usage(g, "unknown option --detach");
			*detach = true;
			break;
		case 'K':
			if (!keep)
				return husk_cmd_usage(g, "unknown option --keep");
			*keep = true;
			break;
		case 'S': break;
		case 'h':
			printf("usage: husk oci %s [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] "
			       "[--preserve-fds N] [--no-pivot] [--no-new-keyring]%s ID\n", g->command,
			       detach ? " [--detach] [--keep]" : "");
			exit(0);
		default: return husk_cmd_usage(g, "bad option (see husk oci %s --help)", g->command);
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "expected exactly one container id");
	o->id = argv[optind];
	o->root = g->root;
	o->systemd_cgroup = g->systemd_cgroup;
	o->warn = husk_cmd_warn_cb;
	o->warn_arg = g;
	return 0;
}

int husk_cmd_create(struct husk_globals *g, int argc, char **argv)
{
	struct husk_create_opts o = {0};
	struct husk_container c;
	struct husk_err err = {0};

	if (husk_parse_create_flags(g, argc, argv, &o, NULL, NULL) != 0)
		return 1;
	if (husk_container_create(&o, &c, &err) < 0)
		return husk_cmd_fail(g, &err);
	husk_cmd_debug(g, "created %s, init pid %d", o.id, (int)c.pid);
	close(c.sync_fd);
	close(c.lock_fd);
	return 0;
}
