/* husk oci exec: runc's flags, or --process FILE, merged onto the container's own process. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/caps.h"
#include "../lib/exec.h"

#include "../lib/util.h"

/* env with NAME=VALUE set (replacing an earlier NAME) */
static void set_env(const char ***env, size_t *n, const char *entry)
{
	size_t name = (size_t)(strchr(entry, '=') - entry);

	for (size_t i = 0; i < *n; i++)
		if (strncmp((*env)[i], entry, name + 1) == 0) {
			(*env)[i] = entry;
			return;
		}
	*env = husk_xrealloc(*env, (*n + 2) * sizeof(char *));
	(*env)[(*n)++] = entry;
	(*env)[*n] = NULL;
}

static int parse_id_value(const char *s, long long max, uint32_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s || (*end && *end != ':') || v < 0 || v > max)
		return -1;
	*out = (uint32_t)v;
	return (int)(end - s);
}

int husk_cmd_exec(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"cwd", required_argument, NULL, 'w'}, {"env", required_argument, NULL, 'e'},
		{"user", required_argument, NULL, 'u'}, {"additional-gids", required_argument, NULL, 'G'},
		{"cap", required_argument, NULL, 'c'}, {"no-new-privs", no_argument, NULL, 'n'},
		{"apparmor", required_argument, NULL, 'a'}, {"process-label", required_argument, NULL, 'l'},
		{"tty", no_argument, NULL, 't'}, {"console-socket", required_argument, NULL, 'S'},
		{"detach", no_argument, NULL, 'd'}, {"pid-file", required_argument, NULL, 'P'},
		{"preserve-fds", required_argument, NULL, 'F'}, {"process", required_argument, NULL, 'p'},
		{"cgroup", required_argument, NULL, 'C'}, {0},
	};
	struct husk_exec_opts o = {.root = g->root};
	struct husk_spec spec = {0};
	struct husk_process proc, from_file;
	struct husk_err err = {0};
	const char *process_file = NULL, **env = NULL;
	_cleanup_free_ const char **args = NULL;
	_cleanup_free_ uint32_t *gids = NULL;
	_cleanup_free_ char **cgroups = NULL;
	json_t *process_json = NULL;
	bool detach = false, tty = false;
	size_t n_env = 0, n_gids = 0;
	sigset_t set, old;
	pid_t pid;
	int c, status;

	memset(&proc, 0, sizeof(proc));
	optind = 0;
	/* parsed twice: first for --process and the id, then the flags onto the base process */
	while ((c = getopt_long(argc, argv, "+w:e:u:c:tdp:", opts, NULL)) != -1)
		if (c == 'p')
			process_file = optarg;
		else if (c == '?')
			return husk_cmd_usage(g, "usage: husk oci exec [flags] ID [COMMAND [ARGS...]] (see husk oci exec --help)");
	if (optind >= argc)
		return husk_cmd_usage(g, "expected a container id");
	o.id = argv[optind];
	if (process_file) {
		_cleanup_free_ char *text = NULL;
		size_t len;
		if (husk_read_file_at(AT_FDCWD, process_file, &text, &len, &err) < 0 ||
		    husk_process_parse(process_file, text, len, &process_json, &from_file, &err) < 0)
			return husk_cmd_fail(g, &err);
		proc = from_file;
	} else {
		if (optind + 1 >= argc)
			return husk_cmd_usage(g, "expected a command to run (or --process FILE)");
		if (husk_container_load_spec(g->root, o.id, &spec, &err) < 0)
			return husk_cmd_fail(g, &err);
		/* the container's own process is the base, as in runc */
		proc = spec.process;
		proc.terminal = false;
		proc.console_width = proc.console_height = 0;
		args = husk_xcalloc((size_t)(argc - optind), sizeof(char *));
		for (int i = optind + 1; i < argc; i++)
			args[i - optind - 1] = argv[i];
		proc.args = args;
		proc.n_args = (size_t)(argc - optind - 1);
		for (size_t i = 0; i < spec.process.n_env; i++)
			set_env(&env, &n_env, spec.process.env[i]);
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "+w:e:u:c:tdp:", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (optarg[0] != '/')
				return husk_cmd_usage(g, "--cwd: \"%s\" is not an absolute path", optarg);
			proc.cwd = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return husk_cmd_usage(g, "--env: \"%s\" is not NAME=VALUE", optarg);
			set_env(&env, &n_env, optarg);
			break;
		case 'u': {
			int n = parse_id_value(optarg, INT32_MAX, &proc.uid);
			if (n < 0 || (optarg[n] == ':' && parse_id_value(optarg + n + 1, INT32_MAX, &proc.gid) < 0))
				return husk_cmd_usage(g, "--user: \"%s\" is not uid[:gid] (0..2147483647)", optarg);
			break;
		}
		case 'G':
			gids = husk_xrealloc(gids, (n_gids + 1) * sizeof(uint32_t));
			if (parse_id_value(optarg, INT32_MAX, &gids[n_gids]) < 0 || strchr(optarg, ':'))
				return husk_cmd_usage(g, "--additional-gids: \"%s\" is not a gid", optarg);
			n_gids++;
			proc.additional_gids = gids;
			proc.n_additional_gids = n_gids;
			break;
		case 'c': {
			int cap = husk_cap_from_name(optarg);
			if (cap < 0)
				return husk_cmd_usage(g, "--cap: unknown capability \"%s\"", optarg);
			proc.has_caps = true;
			proc.caps[HUSK_CAP_BOUNDING] |= 1ull << cap;
			proc.caps[HUSK_CAP_EFFECTIVE] |= 1ull << cap;
			proc.caps[HUSK_CAP_PERMITTED] |= 1ull << cap;
			break;
		}
		case 'n': proc.no_new_privileges = true; break;
		case 'a': proc.apparmor_profile = optarg; break;
		case 'l': proc.selinux_label = optarg; break;
		case 't': tty = true; break;
		case 'S': o.console_socket = optarg; break;
		case 'd': detach = true; break;
		case 'C':
			/* checked by the library against the container's cgroup version */
			cgroups = husk_xrealloc(cgroups, (o.n_cgroups + 1) * sizeof(char *));
			cgroups[o.n_cgroups++] = optarg;
			o.cgroups = cgroups;
			break;
		case 'P': o.pid_file = optarg; break;
		case 'F':
			if (husk_cmd_parse_fd_count(g, "--preserve-fds", optarg, &o.preserve_fds) != 0)
				return 1;
			break;
		default: break;
		}
	}
	if (tty)
		proc.terminal = true;
	int terminal_fd = -1;
	if (proc.terminal && !o.console_socket) {
		if (detach)
			return husk_cmd_usage(g, "--tty with --detach needs --console-socket");
		o.terminal_fd = &terminal_fd; /* husk relays it */
	}
	if (env)
		proc.env = env, proc.n_env = n_env;
	o.process = &proc;
	{
		struct husk_err warning = {0};
		if (husk_caps_ambient_warning(&proc, &warning))
			husk_cmd_warn(g, &warning);
	}
	/* blocked before the process exists, so none arrives unhandled in between */
	husk_cmd_block_forwarded(&set, &old);
	if (husk_container_exec(&o, &pid, &err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return husk_cmd_fail(g, &err);
	}
	status = detach ? 0 : husk_cmd_wait(pid, terminal_fd, &set, &err);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(env);
	if (process_json) {
		husk_process_free(&from_file);
		json_decref(process_json);
	}
	husk_spec_free(&spec);
	return status;
}
