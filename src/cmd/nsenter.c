/* husk nsenter: a command in the namespaces of a process (util-linux nsenter's options), of
 * namespace files (kept by husk nsexec --net=FILE or unshare), or of a husk container. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/ops.h"
#include "../lib/engine/record.h"
#include "../lib/nsexec.h"
#include "../lib/util.h"

static const char nsenter_usage[] =
	"usage: husk nsenter -t PID [-a] [NAMESPACES] [OPTIONS] [CMD [ARG...]]\n"
	"       husk nsenter --net=FILE ... [CMD [ARG...]]\n"
	"       husk nsenter CONTAINER [CMD [ARG...]]\n"
	"\n"
	"Run CMD (default $SHELL, else /bin/sh) in the namespaces of process PID, of namespace files,\n"
	"or (the last form) in all the namespaces of a running husk container (by name or id).\n"
	"util-linux nsenter's options; a namespace option's FILE (-nFILE, --net=FILE) enters the\n"
	"namespace kept on FILE instead of PID's.\n"
	"  -t, --target PID           the process whose namespaces are entered\n"
	"  -a, --all                  all of PID's namespaces (those that differ from the caller's)\n"
	"  -m, --mount[=FILE]         the mount namespace\n"
	"  -u, --uts[=FILE]           the UTS namespace\n"
	"  -i, --ipc[=FILE]           the IPC namespace\n"
	"  -n, --net[=FILE]           the network namespace\n"
	"  -p, --pid[=FILE]           the pid namespace (CMD runs as a child, to be in it)\n"
	"  -U, --user[=FILE]          the user namespace (uid and gid 0 there, unless\n"
	"                             --preserve-credentials)\n"
	"  -C, --cgroup[=FILE]        the cgroup namespace\n"
	"  -T, --time[=FILE]          the time namespace\n"
	"      --preserve-credentials keep the caller's uid, gid and groups after entering -U\n"
	"  -r, --root[=DIR]           the root directory: DIR, or PID's\n"
	"  -w, --wd[=DIR]             the working directory: DIR, or PID's\n"
	"  -F, --no-fork              exec CMD directly, even when entering a pid namespace\n"
	"\n"
	"The exit status is CMD's (128+N when killed by signal N).\n";

struct nsenter_opts {
	pid_t pid;
	bool all, preserve, no_fork;
	bool want[HUSK_NS_COUNT];
	const char *files[HUSK_NS_COUNT];
	bool root, wd;
	const char *root_dir, *wd_dir;
};

static int parse(struct husk_globals *g, int argc, char **argv, struct nsenter_opts *o)
{
	enum { O_PRESERVE = 256 };
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'}, {"all", no_argument, NULL, 'a'},
		{"mount", optional_argument, NULL, 'm'},  {"uts", optional_argument, NULL, 'u'},
		{"ipc", optional_argument, NULL, 'i'},    {"net", optional_argument, NULL, 'n'},
		{"pid", optional_argument, NULL, 'p'},    {"user", optional_argument, NULL, 'U'},
		{"cgroup", optional_argument, NULL, 'C'}, {"time", optional_argument, NULL, 'T'},
		{"preserve-credentials", no_argument, NULL, O_PRESERVE},
		{"root", optional_argument, NULL, 'r'},   {"wd", optional_argument, NULL, 'w'},
		{"no-fork", no_argument, NULL, 'F'},      {0},
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:t:am::u::i::n::p::U::C::T::r::w::F", opts, NULL)) != -1) {
		const struct husk_nskind *k = c < 128 ? husk_nskind_by_letter((char)c) : NULL;
		if (k) {
			o->want[k - husk_nskinds] = true;
			o->files[k - husk_nskinds] = optarg && *optarg ? optarg : NULL;
			continue;
		}
		switch (c) {
		case 't': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v <= 0 || v > 0x3fffffff)
				return husk_cmd_usage(g, "--target %s: not a process id", optarg), -1;
			o->pid = (pid_t)v;
			break;
		}
		case 'a': o->all = true; break;
		case O_PRESERVE: o->preserve = true; break;
		case 'r': o->root = true; o->root_dir = optarg; break;
		case 'w': o->wd = true; o->wd_dir = optarg; break;
		case 'F': o->no_fork = true; break;
		case ':': return husk_cmd_usage(g, "%s needs a value\n%s", argv[optind - 1], nsenter_usage), -1;
		default: return husk_cmd_usage(g, "unknown option %s\n%s", argv[optind - 1], nsenter_usage), -1;
		}
	}
	return 0;
}

/* A running container's init pid, from its record (reconciled with the kernel). */
static int container_pid(struct husk_globals *g, const char *ref, pid_t *pid)
{
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	json_t *rec = NULL;

	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, ref, id, &err) < 0 || husk_engine_inspect(&e, id, &rec, &err) < 0)
		return husk_cmd_fail(g, &err), -1;
	json_t *state = json_object_get(rec, "State");
	json_int_t p = json_integer_value(json_object_get(state, "Pid"));
	bool running = json_is_true(json_object_get(state, "Running"));
	json_decref(rec);
	if (!running || p <= 0) {
		husk_err_set(&err, 0, "container %s is not running (husk start %s)", ref, ref);
		return husk_cmd_fail(g, &err), -1;
	}
	*pid = (pid_t)p;
	return 0;
}

static int open_dir(pid_t pid, const char *dir, const char *which, const char *proc, int *fd, struct husk_err *err)
{
	char path[64];
	if (!dir) {
		if (pid <= 0)
			return husk_err_set(err, EINVAL, "--%s without DIR needs --target PID", which);
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, proc);
		dir = path;
	}
	*fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return husk_err_sys(err, "open the %s directory %s", which, dir);
	return 0;
}

int husk_cmd_nsenter(struct husk_globals *g, int argc, char **argv)
{
	struct nsenter_opts o = {0};
	struct husk_err err = {0};
	struct husk_ns_joins joins = {0};
	char *dflt[] = {getenv("SHELL") && *getenv("SHELL") ? getenv("SHELL") : "/bin/sh", NULL};
	char **cmd;
	bool any = false, user = false, pidns = false;
	_cleanup_close_ int root_fd = -1;
	_cleanup_close_ int wd_fd = -1;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(nsenter_usage);
	if (parse(g, argc, argv, &o) < 0)
		return 125;
	for (size_t i = 0; i < HUSK_NS_COUNT; i++)
		any |= o.want[i];
	if (!o.pid && !any && !o.all) {
		/* husk nsenter CONTAINER [CMD...] */
		if (optind >= argc)
			return husk_cmd_usage(g, "give -t PID, a namespace file or a container\n%s", nsenter_usage), 125;
		if (container_pid(g, argv[optind++], &o.pid) < 0)
			return 1;
		o.all = true;
		/* a container's shell is its own, not the caller's $SHELL */
		dflt[0] = "/bin/sh";
	}
	cmd = optind < argc ? argv + optind : dflt;
	if (!any && !o.all)
		return husk_cmd_usage(g, "no namespace to enter: give -a or some of -m -u -i -n -p -U -C -T"), 125;
	if (o.all && !o.pid)
		return husk_cmd_usage(g, "--all needs --target PID"), 125;
	for (size_t i = 0; i < HUSK_NS_COUNT; i++)
		if (o.want[i] && !o.files[i] && !o.pid)
			return husk_cmd_usage(g, "--%s without FILE needs --target PID", husk_nskinds[i].option), 125;
	if (o.pid && kill(o.pid, 0) < 0 && errno == ESRCH)
		return husk_err_sys(&err, "process %d", (int)o.pid), husk_cmd_fail(g, &err);

	/* everything opened before the first setns: after it, /proc/PID may no longer be ours */
	for (size_t i = 0; i < HUSK_NS_COUNT; i++) {
		const struct husk_nskind *k = &husk_nskinds[i];
		int fd;
		bool own = false;
		if (!o.want[i] && !o.all)
			continue;
		if (husk_nsexec_open(o.pid, k, o.files[i], &fd, &err) < 0) {
			/* -a: a kind this kernel lacks (no /proc/PID/ns/time) is not PID's either */
			if (!o.want[i] && err.errnum == ENOENT)
				continue;
			goto fail;
		}
		joins.type[joins.n] = k->flag;
		joins.fd[joins.n++] = fd;
		if (!o.want[i]) {
			if (husk_nsexec_is_own(fd, k, &own, &err) < 0)
				goto fail;
			if (own) {
				close(joins.fd[--joins.n]);
				continue;
			}
		}
		user |= k->flag == CLONE_NEWUSER;
		pidns |= k->flag == CLONE_NEWPID;
	}
	if (o.root && open_dir(o.pid, o.root_dir, "root", "root", &root_fd, &err) < 0)
		goto fail;
	if (o.wd && open_dir(o.pid, o.wd_dir, "wd", "cwd", &wd_fd, &err) < 0)
		goto fail;

	if (husk_ns_join(&joins, ~0UL, &err) < 0)
		goto fail;
	husk_ns_close_joins(&joins);
	if (user && !o.preserve) {
		/* as util-linux: the namespace's root, with no supplementary groups */
		if ((setgroups(0, NULL) < 0 && errno != EPERM) || setgid(0) < 0 || setuid(0) < 0)
			return husk_err_sys(&err, "become uid and gid 0 in the user namespace"), husk_cmd_fail(g, &err);
	}
	if (root_fd >= 0 && (fchdir(root_fd) < 0 || chroot(".") < 0))
		return husk_err_sys(&err, "chroot to the root directory"), husk_cmd_fail(g, &err);
	if (wd_fd >= 0 ? fchdir(wd_fd) < 0 : (root_fd >= 0 && chdir("/") < 0))
		return husk_err_sys(&err, "change to the working directory"), husk_cmd_fail(g, &err);

	if (pidns && !o.no_fork) {
		/* setns(CLONE_NEWPID) places only the caller's children in the namespace */
		sigset_t set, old;
		husk_cmd_block_forwarded(&set, &old);
		pid_t child = fork();
		if (child < 0)
			return husk_err_sys(&err, "fork"), husk_cmd_fail(g, &err);
		if (child > 0)
			return husk_cmd_wait_forwarding(child, &set);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	execvp(cmd[0], cmd);
	int rc = errno == ENOENT ? 127 : 126;
	husk_err_sys(&err, "run %s", cmd[0]);
	husk_cmd_fail(g, &err);
	return rc;

fail:
	husk_ns_close_joins(&joins);
	return husk_cmd_fail(g, &err);
}
