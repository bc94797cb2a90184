/* husk run IMAGE [CMD...], husk rm CONTAINER: containers from images, in the foreground. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "run_flags.h"
#include "../lib/engine/engine.h"
#include "../lib/util.h"

static const char run_usage[] =
	"usage: husk run [--rm] [-i] [-t] [-e K=V]... [-w DIR] [-u USER[:GROUP]] [-h HOSTNAME] [--entrypoint CMD]\n"
	"                [--network bridge|none|host|NAME] [-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]]...\n"
	HUSK_RUN_FLAG_USAGE "                IMAGE [CMD [ARG...]]";

int husk_cmd_engine_run(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rm", no_argument, NULL, 'R'}, {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
		{"env", required_argument, NULL, 'e'}, {"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'}, {"hostname", required_argument, NULL, 'h'},
		{"entrypoint", required_argument, NULL, 'E'}, {"network", required_argument, NULL, 'N'},
		{"net", required_argument, NULL, 'N'}, {"publish", required_argument, NULL, 'p'},
		HUSK_RUN_FLAG_OPTIONS, {0},
	};
	const struct husk_engine e = {.root = g->root, .storage = g->storage, .warn = husk_cmd_warn_cb, .warn_arg = g};
	struct husk_engine_run r = {0};
	_cleanup_run_flags_ struct husk_run_flags flags = {0};
	_cleanup_free_ char **env = husk_xcalloc((size_t)argc, sizeof(char *));
	_cleanup_free_ struct husk_port *ports = husk_xcalloc((size_t)argc, sizeof(struct husk_port));
	bool remove = false, interactive = false;
	struct husk_err err = {0};
	int opt, status;
	sigset_t set, old;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+ite:w:u:h:p:" HUSK_RUN_FLAG_SHORT, opts, NULL)) != -1) {
		switch (opt) {
		case 'R': remove = true; break;
		case 'i': interactive = true; break;
		case 't': r.ro.tty = true; break;
		case 'e': env[r.ro.n_env++] = optarg; break;
		case 'w': r.ro.workdir = optarg; break;
		case 'u': r.ro.user = optarg; break;
		case 'h': r.ro.hostname = optarg; break;
		case 'E': r.ro.entrypoint = optarg; break;
		case 'N': r.network = optarg; break;
		case 'p':
			if (husk_port_parse(optarg, &ports[r.n_ports++], &err) < 0)
				return husk_cmd_fail(g, &err);
			break;
		case 'm': case 'l': case HUSK_RF_FIRST ... HUSK_RF_LAST:
			if ((status = husk_run_flag(g, &flags, &r.ro, opt, optarg)))
				return status;
			break;
		default: return husk_cmd_usage(g, "%s", run_usage);
		}
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", run_usage);
	if ((status = husk_run_flags_finish(g, &flags, &r.ro)))
		return status;
	r.ro.env = env;
	r.ro.image = argv[optind];
	r.ro.cmd = argv + optind + 1;
	r.ro.n_cmd = (size_t)(argc - optind - 1);
	r.ports = ports;
	if (r.ro.tty && !isatty(STDIN_FILENO))
		return husk_cmd_usage(g, "-t needs a terminal on stdin (this is not one)");

	/* everything the network needs is checked before anything is made */
	if (husk_engine_run_check(&e, &r, &err) < 0) {
		husk_engine_run_free(&r);
		return husk_cmd_fail(g, &err);
	}
	if (r.note) {
		husk_err_set(&err, 0, "%s", r.note);
		husk_cmd_warn(g, &err);
		husk_err_clear(&err);
	}
	if (husk_engine_run_prepare(&e, &r, &err) < 0) {
		husk_engine_run_free(&r);
		return husk_cmd_fail(g, &err);
	}
	/* without -i the container reads nothing, as with docker */
	if (!interactive && !r.ro.tty) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
	}
	husk_cmd_block_forwarded(&set, &old);
	int started = husk_engine_run_start(&e, &r, &err);
	switch (started) {
	case 0: break;
	case 1: husk_cmd_warn(g, &err); husk_err_clear(&err); break;
	default:
		husk_cmd_fail(g, &err);
		husk_engine_run_free(&r);
		sigprocmask(SIG_SETMASK, &old, NULL);
		/* docker's status for "the container never ran" */
		return 125;
	}
	husk_cmd_debug(g, "container %s", r.id);
	if (r.mode == HUSK_NET_BRIDGE) {
		char addr[16];
		husk_ipv4_format(r.addr, addr);
		husk_cmd_debug(g, "container %.12s: %s on network %s", r.id, addr, r.net.name);
	}
	status = husk_cmd_wait(r.c.pid, r.c.terminal_fd, &set, &err);
	husk_err_clear(&err);
	if (husk_engine_run_finish(&e, &r, remove, &err) < 0)
		husk_cmd_fail(g, &err);
	husk_engine_run_free(&r);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int husk_cmd_engine_rm(struct husk_globals *g, int argc, char **argv)
{
	const struct husk_engine e = {.root = g->root, .storage = g->storage};
	struct husk_err err = {0};
	int ret = 0;

	if (argc < 2)
		return husk_cmd_usage(g, "usage: husk rm CONTAINER...");
	for (int i = 1; i < argc; i++) {
		if (husk_engine_remove(&e, argv[i], &err) < 0) {
			ret = husk_cmd_fail(g, &err);
			husk_err_clear(&err);
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return ret;
}
