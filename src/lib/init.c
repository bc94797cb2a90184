#define _GNU_SOURCE
#include "init.h"

#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <linux/close_range.h>

#include "caps.h"
#include "fdpass.h"
#include "hooks.h"
#include "lsm.h"
#include "scheduling.h"
#include "procfs.h"
#include "rootfs.h"
#include "spawn.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* husk-dmz, embedded by make (src/dmz/blob.S) */
extern const char husk_dmz_start[], husk_dmz_end[];

/* A sealed, executable copy of husk-dmz: what the init exec's instead of the program itself,
 * so /proc/self/exe is never husk's binary while the container's program is being exec'd. */
static int make_dmz(struct husk_err *err)
{
	size_t len = (size_t)(husk_dmz_end - husk_dmz_start);
	int fd = memfd_create("husk-dmz", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	/* kernels before 6.3 know no MFD_EXEC, and every memfd is executable there */
	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("husk-dmz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return husk_err_sys(err, "memfd_create for the exec stub");
	if (husk_write_all(fd, husk_dmz_start, len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		husk_err_sys(err, "seal the exec stub");
		close(fd);
		return -1;
	}
	return fd;
}

static const char *env_get(const char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static int check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EACCES;
		return -1;
	}
	return access(path, X_OK);
}

int husk_init_find_program(const char *prog, const char *const *env, char **out, struct husk_err *err)
{
	const char *path = env_get(env, "PATH");
	_cleanup_free_ char *copy = NULL;
	char *dir, *save = NULL;
	int first_errno = ENOENT;

	if (strchr(prog, '/')) {
		if (check_executable(prog) < 0)
			return husk_err_sys(err, "exec \"%s\"", prog);
		*out = husk_xstrdup(prog);
		return 0;
	}
	copy = husk_xstrdup(path ? path : DEFAULT_PATH);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *candidate = husk_xasprintf("%s/%s", *dir ? dir : ".", prog);
		if (check_executable(candidate) == 0) {
			*out = steal_pointer(&candidate);
			return 0;
		}
		/* like execvp: a permission problem is worth more than "not found" */
		if (errno == EACCES)
			first_errno = EACCES;
	}
	return husk_err_set(err, first_errno, "exec \"%s\"", prog);
}

static int set_user(const struct husk_process *p, struct husk_err *err)
{
	gid_t *gids = NULL;

	if (p->n_additional_gids) {
		gids = husk_xcalloc(p->n_additional_gids, sizeof(gid_t));
		for (size_t i = 0; i < p->n_additional_gids; i++)
			gids[i] = p->additional_gids[i];
	}
	/* setgroups is refused in a user namespace whose setgroups file says deny: then the
	 * supplementary groups cannot be changed and an empty list is what the process has */
	if (setgroups(p->n_additional_gids, gids) < 0 && !(errno == EPERM && p->n_additional_gids == 0)) {
		free(gids);
		return husk_err_sys(err, "setgroups");
	}
	free(gids);
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return husk_err_sys(err, "setgid %u", p->gid);
	/* keep the permitted set over the uid change: the configured sets are applied after */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl(PR_SET_KEEPCAPS)");
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return husk_err_sys(err, "setuid %u", p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl(PR_SET_KEEPCAPS)");
	return 0;
}

static int set_rlimits(const struct husk_process *p, struct husk_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit((__rlimit_resource_t)p->rlimits[i].resource, &rl) < 0)
			return husk_err_sys(err, "setrlimit %d to %llu/%llu", p->rlimits[i].resource,
					    (unsigned long long)p->rlimits[i].soft, (unsigned long long)p->rlimits[i].hard);
	}
	return 0;
}

static int set_oom_score_adj(const struct husk_process *p, struct husk_err *err)
{
	char buf[16];

	if (!p->has_oom_score_adj)
		return 0;
	snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
	if (husk_procfs_write_self("self/oom_score_adj", buf, strlen(buf), err) < 0)
		return husk_err_wrap(err, "oomScoreAdj %d", p->oom_score_adj);
	return 0;
}

/* Block until `start`: a byte on the exec fifo (husk oci create + start) or a START message on
 * the sync socket (husk oci run). */
static int wait_for_start(struct husk_init_ctx *ctx, struct husk_err *err)
{
	struct pollfd pfd = {.fd = ctx->start_fd, .events = POLLIN};
	char byte;

	if (ctx->start_fd < 0) {
		_cleanup_sync_msg_ struct husk_sync_msg msg = {0};
		return husk_sync_expect(ctx->sync_fd, HUSK_SYNC_START, &msg, err);
	}
	/* a fifo opened for reading before any writer came does not report POLLHUP, so
	 * poll sleeps until `start` opens it and writes */
	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return husk_err_sys(err, "wait for start");
		}
		if (read(ctx->start_fd, &byte, 1) >= 0 || errno != EAGAIN)
			return 0;
	}
}

int husk_process_new_keyring(struct husk_err *err)
{
	/* a kernel without keys, or a caller's seccomp filter refusing keyctl: then there is no
	 * keyring to leak either */
	if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 && errno != ENOSYS &&
	    errno != EACCES && errno != EPERM)
		return husk_err_sys(err, "create a session keyring");
	return 0;
}

int husk_process_prepare(const struct husk_spec *spec, const struct husk_process *p, const struct husk_bpf *bpf,
			 char **program, int *notify_fd, int *dmz_fd, struct husk_err *err)
{
	if (chdir(p->cwd) < 0)
		return husk_err_sys(err, "chdir to cwd \"%s\"", p->cwd);
	/* a cwd reached through an fd of the host (/proc/self/fd/N) lies outside the root, and
	 * getcwd says so: refuse it rather than hand the host's tree to the container
	 * (CVE-2024-21626) */
	{
		char where[PATH_MAX];
		if (!getcwd(where, sizeof(where)) || where[0] != '/')
			return husk_err_set(err, EPERM, "cwd \"%s\" is outside the container's root", p->cwd);
	}
	if (set_rlimits(p, err) < 0 || husk_sched_apply(spec, err) < 0)
		return -1;
	if (p->has_umask)
		umask(p->umask);
	/* without no_new_privs, loading a filter takes CAP_SYS_ADMIN: load it while husk still has
	 * it, like runc; what husk does after this is filtered too */
	if (!p->no_new_privileges && (*notify_fd = husk_seccomp_load(bpf, err)) < 0)
		return -1;
	if (husk_caps_apply_bounding(p, err) < 0 || set_user(p, err) < 0 || husk_caps_apply(p, err) < 0)
		return -1;
	/* before the filter is loaded: the kernel then lets an unprivileged task install it */
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, "prctl(PR_SET_NO_NEW_PRIVS)");
	/* looked up as the container user, after the switch, so create reports what exec will hit */
	if (husk_init_find_program(p->args[0], p->env, program, err) < 0)
		return -1;
	*dmz_fd = make_dmz(err);
	if (*dmz_fd < 0)
		return -1;
	return 0;
}

static int setup(struct husk_init_ctx *ctx, char **program, int *notify_fd, int *dmz_fd, struct husk_err *err)
{
	const struct husk_spec *spec = ctx->spec;
	const struct husk_process *p = &spec->process;
	bool new_user = spec->ns_new & CLONE_NEWUSER;
	/* root in a new user namespace may not walk the root's or the bundle's parents (a 0700
	 * directory on the way, owned by the host's root): husk opens both directories for us in
	 * our new mount namespace and sends them with MAPPED */
	bool given_dirs = new_user && (spec->ns_new & CLONE_NEWNS);
	_cleanup_close_ int rootfs_dir = -1, bundle_dir = -1;
	_cleanup_sync_msg_ struct husk_sync_msg msg = {0};

	if (new_user) {
		int fds[2];
		/* until husk has written our id maps we are nobody in our own namespace */
		if (given_dirs) {
			if (husk_sync_expect_fds(ctx->sync_fd, HUSK_SYNC_MAPPED, &msg, fds, 2, err) < 0)
				return -1;
			rootfs_dir = fds[0];
			bundle_dir = fds[1];
		} else if (husk_sync_expect(ctx->sync_fd, HUSK_SYNC_MAPPED, &msg, err) < 0) {
			return -1;
		}
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
			return husk_err_sys(err, "become root in the user namespace (is 0 mapped?)");
	}
	if (husk_cgroup_join_self(ctx->cgroup, err) < 0)
		return -1;
	husk_cgroup_close_fds(ctx->cgroup);
	/* after the cgroup join, so the container's cgroup is the root of its namespace */
	if ((spec->ns_new & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return husk_err_sys(err, "unshare the cgroup namespace");
	if (!ctx->joined && husk_ns_join(ctx->joins, ~0ul, err) < 0)
		return -1;
	/* in a user namespace joined by path our ids are still the host's, which it need not map:
	 * what we made would be refused (EOVERFLOW) or owned by the overflow id. Root there, as in
	 * a new one (setns gave us every capability in it, CAP_SETUID among them) */
	if ((spec->ns_join & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return husk_err_sys(err, "become root in the joined user namespace (is 0 mapped?)");
	if (spec->hostname && spec->hostname[0] && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return husk_err_sys(err, "set hostname \"%s\"", spec->hostname);
	if (spec->domainname && spec->domainname[0] && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return husk_err_sys(err, "set domainname \"%s\"", spec->domainname);
	if (!ctx->no_new_keyring && husk_process_new_keyring(err) < 0)
		return -1;
	if (set_oom_score_adj(p, err) < 0)
		return -1;
	/* the host's procfs, before the switch: the label holds until the next execve */
	if (husk_lsm_apply(spec, err) < 0)
		return -1;
	/* relative bind sources and the hooks start at the bundle */
	if ((bundle_dir >= 0 ? fchdir(bundle_dir) : chdir(ctx->bundle)) < 0)
		return husk_err_sys(err, "chdir to the bundle %s", ctx->bundle);

	/* hooks: husk runs prestart and createRuntime now that the namespaces exist, then this
	 * process runs createContainer in them, before the switch to the new root */
	if (husk_hooks_during_create(spec)) {
		struct husk_sync_msg creating, created;
		if (husk_sync_send(ctx->sync_fd, HUSK_SYNC_HOOKS, 0, err) < 0 ||
		    husk_sync_expect(ctx->sync_fd, HUSK_SYNC_STATE, &creating, err) < 0)
			return -1;
		ctx->hook_state = creating.text;
		if (husk_sync_expect(ctx->sync_fd, HUSK_SYNC_STATE, &created, err) < 0)
			return -1;
		ctx->start_state = created.text;
		if (husk_hooks_run(spec, HUSK_HOOK_CREATE_CONTAINER, ctx->hook_state, err) < 0)
			return -1;
	}

	int rc;
	struct husk_rootfs_opts ropts = {
		.rootfs = ctx->rootfs,
		.no_pivot = ctx->no_pivot,
		.in_user_ns = new_user || (spec->ns_join & CLONE_NEWUSER),
		.new_cgroup_ns = spec->ns_new & CLONE_NEWCGROUP,
		.cgroup = ctx->cgroup,
		.mount_label = spec->mount_label,
		.devnull_tree = -1,
		.mount_ns = (spec->ns_new | spec->ns_join) & CLONE_NEWNS,
		.rootfs_dir_fd = steal_fd(&rootfs_dir),
		.root_mount_fd = ctx->root_mount_fd,
	};
	rc = husk_rootfs_prepare(spec, &ropts, err);
	if (ropts.rootfs_dir_fd >= 0)
		close(ropts.rootfs_dir_fd);
	if (rc < 0 || husk_rootfs_finish(spec, &ropts, err) < 0) {
		if (ropts.devnull_tree >= 0)
			close(ropts.devnull_tree);
		return -1;
	}
	if (ropts.devnull_tree >= 0)
		close(ropts.devnull_tree);
	/* without a process (the runtime-spec makes it optional until start) there is nothing to
	 * prepare: the container is made and the init waits, as it would for one; `start` refuses.
	 * No mount namespace: /dev/console is not bound (that would mount in the host's table). */
	if (spec->has_process && p->terminal &&
	    (ropts.mount_ns ? husk_terminal_setup_console(ctx->console_fd, p, err)
			    : husk_terminal_setup_exec(ctx->console_fd, p, err)) < 0)
		return -1;
	if (husk_rootfs_seal(spec, err) < 0)
		return -1;
	if (!spec->has_process)
		return 0;
	return husk_process_prepare(spec, p, ctx->seccomp, program, notify_fd, dmz_fd, err);
}

/* The init is a copy of husk and holds every fd husk's caller gave it. While it waits for
 * `start` (which may be long) only stdio, the preserved fds and husk's own are kept: an engine's
 * pipe held open by a waiting container would keep the engine waiting for EOF. */
static void close_inherited_fds(struct husk_init_ctx *ctx)
{
	int keep[16 + HUSK_CGROUP_MAX_HIER];
	size_t n = 0;

	keep[n++] = ctx->sync_fd;
	keep[n++] = ctx->start_fd;
	keep[n++] = ctx->console_fd;
	keep[n++] = ctx->listener_fd;
	keep[n++] = ctx->root_mount_fd;
	for (size_t i = 0; i < ctx->cgroup->n_attach_fds; i++)
		keep[n++] = ctx->cgroup->attach_fds[i];
	for (size_t i = 0; i < ctx->joins->n && n < ARRAY_SIZE(keep); i++)
		keep[n++] = ctx->joins->fd[i];
	husk_close_fds_except(3 + ctx->preserve_fds, keep, n);
}

/* The seccomp notify fd goes to the listener with the container process state, as the
 * runtime-spec describes: SCM_RIGHTS with the state JSON (fds: ["seccompFd"]) as the data. */
static int send_to_listener(struct husk_init_ctx *ctx, int notify_fd, const char *state, struct husk_err *err)
{
	if (husk_send_fd(ctx->listener_fd, notify_fd, state, err) < 0)
		return husk_err_wrap(err, "seccomp listener %s", ctx->spec->seccomp.listener_path);
	close(notify_fd);
	close(ctx->listener_fd);
	return 0;
}

void husk_init_run(struct husk_init_ctx *ctx)
{
	struct husk_err err = {0};
	_cleanup_free_ char *program = NULL;
	char errbuf[HUSK_ERR_MSG_MAX + 64];
	struct husk_sync_msg state_msg = {0};
	int notify_fd = 0, dmz_fd = -1;

	/* until exec nobody may ptrace this process or open its /proc files, /proc/PID/exe (husk's
	 * binary) among them: execve makes the container's program dumpable again (CVE-2016-9962) */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		husk_err_sys(&err, "prctl(PR_SET_DUMPABLE)");
		husk_sync_send_error(ctx->sync_fd, &err);
		_exit(1);
	}
	close(ctx->lock_fd);
	close_inherited_fds(ctx);
	if (setup(ctx, &program, &notify_fd, &dmz_fd, &err) < 0 || husk_sync_send(ctx->sync_fd, HUSK_SYNC_READY, 0, &err) < 0) {
		husk_sync_send_error(ctx->sync_fd, &err);
		_exit(1);
	}
	/* husk sends the state for the listener right after READY, before any START */
	if (ctx->listener_fd >= 0 && husk_sync_expect(ctx->sync_fd, HUSK_SYNC_STATE, &state_msg, &err) < 0)
		_exit(1);
	if (notify_fd > 0 && send_to_listener(ctx, notify_fd, state_msg.text, &err) < 0)
		_exit(1);
	if (wait_for_start(ctx, &err) < 0)
		_exit(1);
	/* husk's start refuses a container without a process before it writes the fifo; a byte
	 * that came all the same (written by hand) finds nothing to run */
	if (!ctx->spec->has_process) {
		dprintf(STDERR_FILENO, "husk: start: the container has no process: its config.json had no \"process\"\n");
		_exit(1);
	}
	/* startContainer: in the container, its paths resolved in the new root, just before exec */
	if (husk_hooks_run(ctx->spec, HUSK_HOOK_START_CONTAINER, ctx->start_state, &err) < 0) {
		dprintf(STDERR_FILENO, "husk: %s\n", husk_err_format(&err, errbuf, sizeof(errbuf)));
		_exit(1);
	}
	/* as late as possible: after this only the signal mask, close_range and execve */
	if (ctx->spec->process.no_new_privileges) {
		notify_fd = husk_seccomp_load(ctx->seccomp, &err);
		if (notify_fd < 0 || (notify_fd > 0 && send_to_listener(ctx, notify_fd, state_msg.text, &err) < 0)) {
			dprintf(STDERR_FILENO, "husk: %s\n", husk_err_format(&err, errbuf, sizeof(errbuf)));
			_exit(127);
		}
	}
	/* after every credential change (which clears it): the monitor's death ends the container
	 * (a set-user-ID program exec'd later clears it too; husk ps catches that case) */
	if (ctx->die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		husk_err_sys(&err, "prctl(PR_SET_PDEATHSIG)");
		dprintf(STDERR_FILENO, "husk: %s\n", husk_err_format(&err, errbuf, sizeof(errbuf)));
		_exit(1);
	}
	husk_process_exec(&ctx->spec->process, program, dmz_fd, ctx->preserve_fds);
}

void husk_process_exec(const struct husk_process *p, const char *program, int dmz_fd, int preserve_fds)
{
	struct husk_err err = {0};
	char errbuf[HUSK_ERR_MSG_MAX + 64];
	const char **dmz_argv;
	sigset_t none;

	/* husk oci run blocks the signals it forwards; the container starts with none blocked, and
	 * with no signal ignored: an ignored disposition survives execve, and husk's caller (a
	 * shell's background job ignores SIGINT and SIGQUIT) must not decide the container's */
	for (int sig = 1; sig < NSIG; sig++) {
		/* the system call itself: glibc's signal() refuses 32 and 33, which it keeps for its
		 * threads, yet a caller may have them ignored too */
		struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; }
			dfl = {SIG_DFL, 0, NULL, 0};
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* everything husk opened is O_CLOEXEC; preserved fds 3..3+N-1 stay, the rest go */
	syscall(SYS_close_range, 3 + preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC);
	/* [program path, args...]: the stub exec's the path with the configured argv */
	dmz_argv = husk_xcalloc(p->n_args + 2, sizeof(char *));
	dmz_argv[0] = program;
	memcpy(dmz_argv + 1, p->args, p->n_args * sizeof(char *));
	syscall(SYS_execveat, dmz_fd, "", dmz_argv, p->env, AT_EMPTY_PATH);
	/* a custom seccomp filter may refuse execveat; the process is still not dumpable */
	if (errno == EPERM || errno == ENOSYS)
		execve(program, (char *const *)p->args, (char *const *)p->env);
	husk_err_sys(&err, "exec \"%s\"", program);
	dprintf(STDERR_FILENO, "husk: %s\n", husk_err_format(&err, errbuf, sizeof(errbuf)));
	_exit(127);
}
