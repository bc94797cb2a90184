/* husk nsexec [OPTIONS] [CMD [ARG...]]: a host command in new namespaces, with util-linux
 * unshare's options, so that a tutorial's `unshare --fork --pid --mount-proc` can be typed as
 * `husk nsexec --fork --pid --mount-proc`. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/names.h"
#include "../lib/ns.h"
#include "../lib/nsexec.h"
#include "../lib/spec.h"
#include "../lib/util.h"

static const char nsexec_usage[] =
	"usage: husk nsexec [OPTIONS] [CMD [ARG...]]\n"
	"\n"
	"Run CMD (default $SHELL, else /bin/sh) in new namespaces: util-linux unshare's options.\n"
	"A long namespace option's =FILE keeps that namespace alive, bind-mounted on FILE (created\n"
	"if missing), to be entered later with husk nsenter --net=FILE (umount FILE to let it go).\n"
	"  -m, --mount[=FILE]         a new mount namespace\n"
	"  -u, --uts[=FILE]           a new UTS namespace (hostname, domain name)\n"
	"  -i, --ipc[=FILE]           a new IPC namespace\n"
	"  -n, --net[=FILE]           a new network namespace (only lo, down)\n"
	"  -p, --pid[=FILE]           a new pid namespace (the first child is its PID 1: use --fork;\n"
	"                             --pid=FILE needs --fork)\n"
	"  -U, --user[=FILE]          a new user namespace\n"
	"  -C, --cgroup[=FILE]        a new cgroup namespace\n"
	"  -T, --time[=FILE]          a new time namespace\n"
	"  -f, --fork                 run CMD as a child, waiting for it\n"
	"      --mount-proc[=DIR]     mount a proc on DIR (default /proc); implies --mount\n"
	"      --kill-child[=SIG]     the child gets SIG (default KILL) when husk dies; implies --fork\n"
	"  -r, --map-root-user        uid and gid 0 inside mapped to the caller's; implies --user\n"
	"      --map-user=UID         UID inside mapped to the caller's uid; implies --user\n"
	"      --map-group=GID        GID inside mapped to the caller's gid; implies --user\n"
	"      --setgroups allow|deny\n"
	"                             whether setgroups(2) is allowed in the user namespace\n"
	"                             (deny when a gid map is written, unless allow is given)\n"
	"      --propagation slave|shared|private|unchanged\n"
	"                             the new mount namespace's propagation (default private)\n"
	"      --monotonic SECS       the time namespace's CLOCK_MONOTONIC offset; with --time\n"
	"      --boottime SECS        the time namespace's CLOCK_BOOTTIME offset; with --time\n"
	"  -R, --root DIR             chroot to DIR before running CMD\n"
	"  -w, --wd DIR               the working directory of CMD\n"
	"\n"
	"The exit status is CMD's (128+N when killed by signal N).\n";

struct nsexec_opts {
	unsigned long flags;
	const char *files[HUSK_NS_COUNT];   /* by index in husk_nskinds */
	bool fork;
	const char *mount_proc;
	int kill_child;
	long map_uid, map_gid;
	const char *setgroups;
	unsigned long propagation;          /* 0: unchanged */
	struct husk_spec time;              /* only time_monotonic and time_boottime */
	const char *root, *wd;
};

static const struct {
	const char *name;
	unsigned long flags;
} propagations[] = {
	{"private", MS_REC | MS_PRIVATE},
	{"shared", MS_REC | MS_SHARED},
	{"slave", MS_REC | MS_SLAVE},
	{"unchanged", 0},
};

static int parse_id(struct husk_globals *g, const char *flag, const char *text, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 0xfffffffeL)
		return husk_cmd_usage(g, "%s %s: give a number from 0 to 4294967294", flag, text), -1;
	*out = v;
	return 0;
}

static int parse_secs(struct husk_globals *g, const char *flag, const char *text, struct husk_time_offset *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text || *end)
		return husk_cmd_usage(g, "%s %s: give a whole number of seconds", flag, text), -1;
	*out = (struct husk_time_offset){.set = true, .secs = v};
	return 0;
}

static int parse(struct husk_globals *g, int argc, char **argv, struct nsexec_opts *o)
{
	enum { O_MOUNT_PROC = 256, O_KILL_CHILD, O_MAP_USER, O_MAP_GROUP, O_SETGROUPS, O_PROPAGATION,
	       O_MONOTONIC, O_BOOTTIME };
	static const struct option opts[] = {
		{"mount", optional_argument, NULL, 'm'},  {"uts", optional_argument, NULL, 'u'},
		{"ipc", optional_argument, NULL, 'i'},    {"net", optional_argument, NULL, 'n'},
		{"pid", optional_argument, NULL, 'p'},    {"user", optional_argument, NULL, 'U'},
		{"cgroup", optional_argument, NULL, 'C'}, {"time", optional_argument, NULL, 'T'},
		{"fork", no_argument, NULL, 'f'},
		{"mount-proc", optional_argument, NULL, O_MOUNT_PROC},
		{"kill-child", optional_argument, NULL, O_KILL_CHILD},
		{"map-root-user", no_argument, NULL, 'r'},
		{"map-user", required_argument, NULL, O_MAP_USER},
		{"map-group", required_argument, NULL, O_MAP_GROUP},
		{"setgroups", required_argument, NULL, O_SETGROUPS},
		{"propagation", required_argument, NULL, O_PROPAGATION},
		{"monotonic", required_argument, NULL, O_MONOTONIC},
		{"boottime", required_argument, NULL, O_BOOTTIME},
		{"root", required_argument, NULL, 'R'},
		{"wd", required_argument, NULL, 'w'},
		{0},
	};
	int c;
	bool pid_file = false;

	o->map_uid = o->map_gid = -1;
	o->propagation = MS_REC | MS_PRIVATE;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:muinpUCTfrR:w:", opts, NULL)) != -1) {
		const struct husk_nskind *k = c < 128 ? husk_nskind_by_letter((char)c) : NULL;
		if (k) {
			o->flags |= k->flag;
			if (optarg) {
				if (!*optarg)
					return husk_cmd_usage(g, "--%s=: give a file to keep the namespace on", k->option), -1;
				o->files[k - husk_nskinds] = optarg;
				pid_file |= k->flag == CLONE_NEWPID;
			}
			continue;
		}
		switch (c) {
		case 'f': o->fork = true; break;
		case O_MOUNT_PROC: o->flags |= CLONE_NEWNS; o->mount_proc = optarg ? optarg : "/proc"; break;
		case O_KILL_CHILD:
			o->fork = true;
			o->kill_child = SIGKILL;
			if (optarg && (o->kill_child = husk_signal_parse(optarg)) <= 0)
				return husk_cmd_usage(g, "--kill-child=%s: not a signal", optarg), -1;
			break;
		case 'r': o->flags |= CLONE_NEWUSER; o->map_uid = o->map_gid = 0; break;
		case O_MAP_USER:
			o->flags |= CLONE_NEWUSER;
			if (parse_id(g, "--map-user", optarg, &o->map_uid) < 0)
				return -1;
			break;
		case O_MAP_GROUP:
			o->flags |= CLONE_NEWUSER;
			if (parse_id(g, "--map-group", optarg, &o->map_gid) < 0)
				return -1;
			break;
		case O_SETGROUPS:
			if (strcmp(optarg, "allow") != 0 && strcmp(optarg, "deny") != 0)
				return husk_cmd_usage(g, "--setgroups %s: give allow or deny", optarg), -1;
			o->setgroups = optarg;
			break;
		case O_PROPAGATION: {
			size_t i;
			for (i = 0; i < ARRAY_SIZE(propagations); i++)
				if (strcmp(optarg, propagations[i].name) == 0)
					break;
			if (i == ARRAY_SIZE(propagations))
				return husk_cmd_usage(g, "--propagation %s: give slave, shared, private or unchanged", optarg),
				       -1;
			o->propagation = propagations[i].flags;
			break;
		}
		case O_MONOTONIC:
			if (parse_secs(g, "--monotonic", optarg, &o->time.time_monotonic) < 0)
				return -1;
			break;
		case O_BOOTTIME:
			if (parse_secs(g, "--boottime", optarg, &o->time.time_boottime) < 0)
				return -1;
			break;
		case 'R': o->root = optarg; break;
		case 'w': o->wd = optarg; break;
		case ':': return husk_cmd_usage(g, "%s needs a value\n%s", argv[optind - 1], nsexec_usage), -1;
		default: return husk_cmd_usage(g, "unknown option %s\n%s", argv[optind - 1], nsexec_usage), -1;
		}
	}
	if (pid_file && !o->fork)
		return husk_cmd_usage(g, "--pid=FILE needs --fork: a pid namespace lives from its first process on"),
		       -1;
	if ((o->time.time_monotonic.set || o->time.time_boottime.set) && !(o->flags & CLONE_NEWTIME))
		return husk_cmd_usage(g, "--monotonic and --boottime need --time"), -1;
	if (o->map_gid >= 0 && !o->setgroups)
		o->setgroups = "deny";   /* an unprivileged gid map is refused while setgroups is allowed */
	return 0;
}

/* What the command's process does after the namespaces: proc, root, working directory, exec. */
static int run_command(struct husk_globals *g, const struct nsexec_opts *o, char **cmd)
{
	struct husk_err err = {0};

	if (o->mount_proc) {
		/* private first, so the new proc does not propagate back to the host's DIR */
		if (mount("none", o->mount_proc, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return husk_err_sys(&err, "make %s private", o->mount_proc), husk_cmd_fail(g, &err);
		if (mount("proc", o->mount_proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			return husk_err_sys(&err, "mount proc on %s", o->mount_proc), husk_cmd_fail(g, &err);
	}
	if (o->root) {
		if (chroot(o->root) < 0)
			return husk_err_sys(&err, "chroot to %s", o->root), husk_cmd_fail(g, &err);
		if (!o->wd && chdir("/") < 0)
			return husk_err_sys(&err, "chdir to / in %s", o->root), husk_cmd_fail(g, &err);
	}
	if (o->wd && chdir(o->wd) < 0)
		return husk_err_sys(&err, "chdir to %s", o->wd), husk_cmd_fail(g, &err);
	execvp(cmd[0], cmd);
	int rc = errno == ENOENT ? 127 : 126;
	husk_err_sys(&err, "run %s", cmd[0]);
	husk_cmd_fail(g, &err);
	return rc;
}

/* The helper that keeps the namespaces on their files: it stays in the caller's namespaces
 * (the bind mounts must be made in the host's mount namespace) and waits for the word that
 * the namespaces exist (for pid, that its first process does). */
static pid_t start_binder(struct husk_globals *g, const struct nsexec_opts *o, int *go)
{
	int p[2];
	struct husk_err err = {0};
	pid_t parent = getpid(), pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_err_sys(&err, "pipe"), husk_cmd_fail(g, &err), -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return husk_err_sys(&err, "fork"), husk_cmd_fail(g, &err), -1;
	}
	if (pid == 0) {
		char word;
		close(p[1]);
		if (read(p[0], &word, 1) != 1)
			_exit(1);   /* the parent failed before the namespaces were made: it said why */
		for (size_t i = 0; i < HUSK_NS_COUNT; i++) {
			if (o->files[i] && husk_nsexec_persist(parent, &husk_nskinds[i], o->files[i], &err) < 0) {
				husk_cmd_fail(g, &err);
				/* all or nothing: undo the files already kept */
				for (size_t j = 0; j < i; j++)
					if (o->files[j])
						umount2(o->files[j], MNT_DETACH);
				_exit(1);
			}
		}
		_exit(0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int finish_binder(pid_t binder, int go)
{
	int st;
	ssize_t n = write(go, "g", 1);
	close(go);
	while (waitpid(binder, &st, 0) < 0 && errno == EINTR)
		;
	return n == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int husk_cmd_nsexec(struct husk_globals *g, int argc, char **argv)
{
	struct nsexec_opts o = {0};
	struct husk_err err = {0};
	char *dflt[] = {getenv("SHELL") && *getenv("SHELL") ? getenv("SHELL") : "/bin/sh", NULL};
	char **cmd;
	pid_t binder = -1;
	int go = -1;
	bool persist = false;
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(nsexec_usage);
	if (parse(g, argc, argv, &o) < 0)
		return 125;
	cmd = optind < argc ? argv + optind : dflt;
	for (size_t i = 0; i < HUSK_NS_COUNT; i++)
		persist |= o.files[i] != NULL;
	if (persist && (binder = start_binder(g, &o, &go)) < 0)
		return 1;
	if (unshare((int)o.flags) < 0) {
		husk_err_sys(&err, "unshare");
		goto fail;
	}
	if ((o.flags & CLONE_NEWUSER) &&
	    husk_nsexec_map_self(o.map_uid, uid, o.map_gid, gid, o.setgroups, &err) < 0)
		goto fail;
	if ((o.flags & CLONE_NEWTIME) && husk_ns_write_time_offsets(&o.time, &err) < 0)
		goto fail;
	if ((o.flags & CLONE_NEWNS) && o.propagation && mount("none", "/", NULL, o.propagation, NULL) < 0) {
		husk_err_sys(&err, "set the propagation of / in the new mount namespace");
		goto fail;
	}
	if (!o.fork) {
		if (binder > 0 && finish_binder(binder, go) < 0)
			return 1;
		return run_command(g, &o, cmd);
	}

	sigset_t set, old;
	pid_t parent = getpid();
	husk_cmd_block_forwarded(&set, &old);
	pid_t child = fork();
	if (child < 0) {
		husk_err_sys(&err, "fork");
		goto fail;
	}
	if (child == 0) {
		if (go >= 0)
			close(go);
		if (o.kill_child && (prctl(PR_SET_PDEATHSIG, o.kill_child) < 0 || getppid() != parent))
			_exit(1);
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(run_command(g, &o, cmd));
	}
	/* the pid namespace now has its first process: pid_for_children can be kept */
	if (binder > 0 && finish_binder(binder, go) < 0) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
		return 1;
	}
	return husk_cmd_wait_forwarding(child, &set);

fail:
	if (go >= 0) {
		close(go);   /* the binder reads EOF and leaves without keeping anything */
		while (waitpid(binder, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return husk_cmd_fail(g, &err);
}
