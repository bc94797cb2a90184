/* husk run IMAGE [CMD...], husk rm CONTAINER: containers from images, in the foreground. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/engine/attach.h"
#include "run_flags.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/monitor.h"
#include "../lib/engine/record.h"
#include "../lib/engine/volume.h"
#include "../lib/util.h"

static const char run_usage[] =
	"usage: husk run [OPTIONS] IMAGE [CMD [ARG...]]\n"
	"\n"
	"Run a command in a new container from IMAGE. The container's monitor (one small process per\n"
	"container) holds its output and logs; husk itself may exit or be killed at any time.\n"
	"\n"
	"  -d, --detach               start it and print its id (husk logs, attach, stop, rm ...)\n"
	"      --name NAME            a unique name (default: one is made up)\n"
	"      --rm                   remove the container when it exits\n"
	"  -i, --interactive          keep stdin open\n"
	"  -t, --tty                  a terminal for the container\n"
	"      --detach-keys KEYS     keys that detach from -it (default ctrl-p,ctrl-q)\n"
	"  -e, --env K=V|K            environment (K alone: the caller's value)\n"
	"  -w, --workdir DIR          working directory\n"
	"  -u, --user USER[:GROUP]    user to run as\n"
	"  -h, --hostname NAME        the container's host name\n"
	"      --entrypoint CMD       replace the image's entrypoint (\"\" for none)\n"
	"      --network MODE         bridge (default), none, host or a network's name\n"
	"  -p, --publish [IP:][HOST:]CONTAINER[/tcp|/udp]   publish a port (bridge networks); ranges\n"
	"                             8080-8090:80-90 (as long on both sides); no HOST: a random one\n"
	"  -P, --publish-all          every port the image exposes, each to a random host port\n"
	"      --ip ADDR              the container's address on its network (husk network create's)\n"
	"      --ip6 ADDR             its IPv6 address there (a network made with --ipv6)\n"
	"      --add-host NAME:IP     a line in the container's /etc/hosts\n"
	"      --dns IP               a nameserver for the container's resolv.conf (replaces the host's)\n"
	"      --dns-search DOMAIN    a search domain for resolv.conf\n"
	"      --dns-option OPT       an options entry for resolv.conf (e.g. ndots:2)\n"
	"      --network-alias NAME   another name of the container on a user network\n"
	"      --restart POLICY       no, on-failure[:N], always, unless-stopped\n"
	"      --log-driver DRIVER    k8s-file (default) or none\n"
	"      --log-opt max-size=SIZE|max-file=N|path=FILE   log rotation, another file\n"
	"  -v, --volume SRC:TARGET[:OPTS]  SRC a host path (absolute; made if missing) or a volume's name\n"
	"                             (made on first use); TARGET alone: a new anonymous volume;\n"
	"                             OPTS: ro|rw, z|Z, nocopy, [r]shared|[r]slave|[r]private\n"
	"      --mount SPEC           type=bind|volume|tmpfs,source=,target=[,readonly][,bind-propagation=]\n"
	"                             [,volume-nocopy][,tmpfs-size=][,tmpfs-mode=] (docker's --mount)\n"
	"      --tmpfs TARGET[:OPTS]  a tmpfs (OPTS: size=, mode=, uid=, gid=, ro, exec, ...)\n"
	"      --volumes-from CONTAINER[:ro|rw]   the volumes and binds of another container\n"
	"      --help                 this text\n"
	"\n"
	"Container configuration:\n"
	HUSK_RUN_FLAG_USAGE;

/* a size as docker writes it: 10m, 512k, 1g, plain bytes */
static long long parse_size(const char *text)
{
	char *end;
	double v = strtod(text, &end);
	long long mult = 1;

	if (end == text || v < 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'b': case 'B': mult = 1; end++; break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024LL * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	return *end ? -1 : (long long)(v * (double)mult);
}

static int parse_log_opt(struct husk_globals *g, struct husk_engine_run *r, const char *opt)
{
	if (strncmp(opt, "max-size=", 9) == 0) {
		r->log_max_size = parse_size(opt + 9);
		if (r->log_max_size <= 0)
			return husk_cmd_usage(g, "--log-opt %s: a size such as 10m, 512k or 1g", opt);
	} else if (strncmp(opt, "max-file=", 9) == 0) {
		char *end;
		long n = strtol(opt + 9, &end, 10);
		if (*end || end == opt + 9 || n < 1 || n > 100)
			return husk_cmd_usage(g, "--log-opt %s: a count of files, 1 to 100", opt);
		r->log_max_file = (int)n;
	} else if (strncmp(opt, "path=", 5) == 0) {
		if (opt[5] != '/')
			return husk_cmd_usage(g, "--log-opt %s: give an absolute path", opt);
		r->log_path = opt + 5;
	} else {
		return husk_cmd_usage(g, "--log-opt %s: husk knows max-size=SIZE, max-file=N and path=FILE", opt);
	}
	return 0;
}

static int check_restart(struct husk_globals *g, const char *policy)
{
	static const char *const names[] = {"no", "always", "unless-stopped", "on-failure"};
	const char *colon = strchr(policy, ':');
	size_t len = colon ? (size_t)(colon - policy) : strlen(policy);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) != len || strncmp(names[i], policy, len) != 0)
			continue;
		if (!colon)
			return 0;
		char *end;
		long n = strtol(colon + 1, &end, 10);
		if (i == 3 && !*end && end != colon + 1 && n >= 0)
			return 0;
		return husk_cmd_usage(g, "--restart %s: only on-failure takes a count (on-failure:N, N >= 0)", policy);
	}
	return husk_cmd_usage(g, "--restart %s: one of no, on-failure[:N], always, unless-stopped", policy);
}

/* the parsed -v, --mount and --tmpfs, freed however husk run ends */
struct run_mounts {
	struct husk_mount_spec *v;
	size_t n;
};

static void free_mounts(struct run_mounts *m)
{
	for (size_t i = 0; i < m->n; i++)
		husk_mount_spec_free(&m->v[i]);
	free(m->v);
}
#define _cleanup_mounts_ __attribute__((cleanup(free_mounts)))

struct forward {
	struct husk_globals *g;
	const char *id;
};

/* docker's sig-proxy: signals to the attached husk go to the container */
static void forward_signal(int sig, void *arg)
{
	struct forward *f = arg;
	struct husk_err err = {0};

	husk_container_kill(f->g->root, f->id, sig, false, &err);
}

/* long options of the network's (values clear of run_flags.h's) */
enum { NET_OPT_IP = 0x340, NET_OPT_ADD_HOST, NET_OPT_DNS, NET_OPT_DNS_SEARCH, NET_OPT_DNS_OPTION, NET_OPT_IP6 };

int husk_cmd_engine_run(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rm", no_argument, NULL, 'R'}, {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
		{"env", required_argument, NULL, 'e'}, {"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'}, {"hostname", required_argument, NULL, 'h'},
		{"entrypoint", required_argument, NULL, 'E'}, {"network", required_argument, NULL, 'N'},
		{"net", required_argument, NULL, 'N'}, {"publish", required_argument, NULL, 'p'},
		{"detach", no_argument, NULL, 'd'}, {"name", required_argument, NULL, 'n'},
		{"restart", required_argument, NULL, 'r'}, {"log-driver", required_argument, NULL, 'L'},
		{"log-opt", required_argument, NULL, 'O'}, {"detach-keys", required_argument, NULL, 'K'},
		{"volume", required_argument, NULL, 'v'}, {"mount", required_argument, NULL, 0x180},
		{"tmpfs", required_argument, NULL, 0x181}, {"volumes-from", required_argument, NULL, 0x182},
		{"network-alias", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'H'}, {"publish-all", no_argument, NULL, 'P'},
		{"ip", required_argument, NULL, NET_OPT_IP}, {"ip6", required_argument, NULL, NET_OPT_IP6}, {"add-host", required_argument, NULL, NET_OPT_ADD_HOST},
		{"dns", required_argument, NULL, NET_OPT_DNS}, {"dns-search", required_argument, NULL, NET_OPT_DNS_SEARCH},
		{"dns-option", required_argument, NULL, NET_OPT_DNS_OPTION}, HUSK_RUN_FLAG_OPTIONS, {0},
	};
	struct husk_engine e;
	struct husk_engine_run r = {0};
	_cleanup_run_flags_ struct husk_run_flags flags = {0};
	_cleanup_free_ char **env = husk_xcalloc((size_t)argc, sizeof(char *));
	_cleanup_free_ struct husk_port *ports = NULL;
	_cleanup_free_ char **port_specs = husk_xcalloc((size_t)argc, sizeof(char *));
	_cleanup_mounts_ struct run_mounts mounts = {husk_xcalloc((size_t)argc, sizeof(struct husk_mount_spec)), 0};
	_cleanup_free_ char **volumes_from = husk_xcalloc((size_t)argc, sizeof(char *));
	/* NULL-terminated lists: at most argc entries each */
	_cleanup_free_ char **add_hosts = husk_xcalloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **dns = husk_xcalloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **dns_search = husk_xcalloc((size_t)argc + 1, sizeof(char *));
	_cleanup_free_ char **dns_options = husk_xcalloc((size_t)argc + 1, sizeof(char *));
	size_t n_add_hosts = 0, n_dns = 0, n_dns_search = 0, n_dns_options = 0;
	_cleanup_free_ char **aliases = husk_xcalloc((size_t)argc, sizeof(char *));
	struct husk_attach_opts ao = {.out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO};
	const char *detach_keys = "ctrl-p,ctrl-q";
	bool detach = false;
	struct husk_err err = {0};
	int opt, status, conn;
	pid_t pid;

	husk_cmd_engine_init(g, &e);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+ite:w:u:h:p:dPv:" HUSK_RUN_FLAG_SHORT, opts, NULL)) != -1) {
		switch (opt) {
		case 'R': r.autoremove = true; break;
		case 'i': r.interactive = true; break;
		case 't': r.ro.tty = true; break;
		case 'e': env[r.ro.n_env++] = optarg; break;
		case 'w': r.ro.workdir = optarg; break;
		case 'u': r.ro.user = optarg; break;
		case 'h': r.ro.hostname = optarg; break;
		case 'E': r.ro.entrypoint = optarg; break;
		case 'N': r.network = optarg; break;
		case 'd': detach = true; break;
		case 'n':
			if (husk_name_check(optarg, &err) < 0)
				return husk_cmd_usage(g, "--name: %s", err.msg), 125;
			r.name = optarg;
			break;
		case 'r':
			if (check_restart(g, optarg) != 0)
				return 125;
			r.restart = strcmp(optarg, "no") == 0 ? NULL : optarg;
			break;
		case 'L':
			if (strcmp(optarg, "none") != 0 && strcmp(optarg, "k8s-file") != 0)
				return husk_cmd_usage(g, "--log-driver %s: husk writes k8s-file logs, or none", optarg), 125;
			r.log_driver = optarg;
			break;
		case 'O':
			if (parse_log_opt(g, &r, optarg) != 0)
				return 125;
			break;
		case 'K': detach_keys = optarg; break;
		case 'A':
			if (husk_name_check(optarg, &err) < 0)
				return husk_cmd_usage(g, "--network-alias: %s", err.msg), 125;
			aliases[r.n_aliases++] = optarg;
			break;
		case 'p':
			port_specs[r.n_port_specs++] = optarg;
			if (husk_ports_parse(optarg, &ports, &r.n_ports, &err) < 0)
				return husk_cmd_fail(g, &err), 125;
			break;
		case 'P': r.publish_all = true; break;
		case NET_OPT_IP: r.ip = optarg; break;
		case NET_OPT_IP6: r.ip6 = optarg; break;
		case NET_OPT_ADD_HOST: add_hosts[n_add_hosts++] = optarg; break;
		case NET_OPT_DNS: dns[n_dns++] = optarg; break;
		case NET_OPT_DNS_SEARCH: dns_search[n_dns_search++] = optarg; break;
		case NET_OPT_DNS_OPTION: dns_options[n_dns_options++] = optarg; break;
		case 'm': case 'l': case HUSK_RF_FIRST ... HUSK_RF_LAST:
			if ((status = husk_run_flag(g, &flags, &r.ro, opt, optarg)))
				return 125;
			break;
		case 'v': case 0x180: case 0x181: {
			struct husk_mount_spec *m = &mounts.v[mounts.n];
			int rc = opt == 'v' ? husk_mount_parse_volume(optarg, m, &err)
			       : opt == 0x180 ? husk_mount_parse_mount(optarg, m, &err) : husk_mount_parse_tmpfs(optarg, m, &err);
			if (rc < 0)
				return husk_cmd_usage(g, "%s", err.msg), 125;
			mounts.n++;
			if (m->relabel && !husk_selinux_enabled())
				husk_cmd_debug(g, "%s: :%c asks for an SELinux relabel; SELinux is not enabled here "
					       "(no /sys/fs/selinux/enforce): nothing to do", optarg, m->relabel);
			break;
		}
		case 0x182: volumes_from[r.n_volumes_from++] = optarg; break;
		case 'H': puts(run_usage); return 0;
		default: return husk_cmd_usage(g, "%s", run_usage), 125;
		}
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", run_usage), 125;
	r.mounts = mounts.v;
	r.n_mounts = mounts.n;
	r.volumes_from = volumes_from;
	if (r.autoremove && r.restart)
		return husk_cmd_usage(g, "--rm and --restart %s cannot go together: a container that restarts is kept",
				      r.restart), 125;
	if ((status = husk_run_flags_finish(g, &flags, &r.ro)))
		return 125;
	r.ro.env = env;
	r.ro.image = argv[optind];
	r.ro.cmd = argv + optind + 1;
	r.ro.n_cmd = (size_t)(argc - optind - 1);
	r.ports = ports;
	r.port_specs = port_specs;
	r.add_hosts = add_hosts;
	r.dns = dns;
	r.dns_search = dns_search;
	r.dns_options = dns_options;
	r.aliases = aliases;
	if (r.ro.tty && !detach && !isatty(STDIN_FILENO))
		return husk_cmd_usage(g, "-t needs a terminal on stdin (this is not one); with -d it needs none"), 125;
	if (husk_detach_keys_parse(detach_keys, ao.detach_keys, &ao.n_detach_keys, &err) < 0)
		return husk_cmd_usage(g, "%s", err.msg), 125;

	/* everything the network needs is checked before anything is made */
	if (husk_engine_run_check(&e, &r, &err) < 0) {
		husk_engine_run_free(&r);
		return husk_cmd_fail(g, &err), 125;
	}
	if (r.note) {
		husk_err_set(&err, 0, "%s", r.note);
		husk_cmd_warn(g, &err);
		husk_err_clear(&err);
	}
	if (husk_engine_run_prepare(&e, &r, &err) < 0) {
		husk_engine_run_free(&r);
		return husk_cmd_fail(g, &err), 125;
	}
	conn = husk_monitor_spawn_run(&e, &r, &err);
	husk_engine_run_free(&r);
	if (conn < 0) {
		/* no monitor was made (fork, socketpair): nothing else will take the container back */
		struct husk_err ignored = {0};
		int lock = husk_record_lock(&e, r.id, &ignored);
		husk_engine_remove(&e, r.id, &ignored);
		if (lock >= 0)
			close(lock);
		return husk_cmd_fail(g, &err), 125;
	}
	if (husk_monitor_started(conn, &pid, &err) < 0) {
		close(conn);
		husk_cmd_fail(g, &err);
		return husk_start_failure_code(&err);
	}
	husk_cmd_debug(g, "container %s: init %d", r.id, (int)pid);
	if (detach) {
		close(conn);
		printf("%s\n", r.id);
		return 0;
	}
	/* attached: the same client as husk attach */
	struct forward fw = {g, r.id};
	sigset_t forwarded;
	sigemptyset(&forwarded);
	for (size_t i = 0; i < ARRAY_SIZE(husk_cmd_forwarded); i++)
		/* (a SIGPIPE is husk's own: its stdout closed, not the container's business) */
		if ((!r.ro.tty || husk_cmd_forwarded[i] != SIGINT) && husk_cmd_forwarded[i] != SIGPIPE)
			sigaddset(&forwarded, husk_cmd_forwarded[i]);
	ao.stdin = r.interactive;
	ao.tty = r.ro.tty;
	ao.forward = &forwarded;
	ao.forward_fn = forward_signal;
	ao.forward_arg = &fw;
	if (!(r.ro.tty && r.interactive))
		ao.n_detach_keys = 0;
	status = husk_attach_relay(conn, &ao, &err);
	close(conn);
	if (status == HUSK_ATTACH_DETACHED)
		return 0;
	if (status == HUSK_ATTACH_LOST) {
		husk_err_set(&err, 0, "lost the monitor of container %.12s before it reported an exit (husk ps -a)", r.id);
		husk_cmd_fail(g, &err);
		return 125;
	}
	return status;
}

