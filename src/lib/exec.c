#define _GNU_SOURCE
#include "exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/openat2.h>

#include "cgroup.h"
#include "container.h"
#include "fdpass.h"
#include "init.h"
#include "names.h"
#include "ns.h"
#include "seccomp.h"
#include "spawn.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "util.h"

int husk_container_load_spec(const char *root, const char *id, struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	int rc;

	if (husk_state_load(root, id, &lock_fd, &st, err) < 0)
		return -1;
	rc = husk_spec_load(st.bundle, spec, err);
	husk_state_free(&st);
	return rc;
}

/* The init's namespaces that are not husk's own: those the exec'd process must enter. The
 * user namespace goes first in husk_ns_join. */
static int open_init_namespaces(pid_t pid, struct husk_ns_joins *joins, struct husk_err *err)
{
	static const unsigned long types[] = {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC,
					      CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME};
	memset(joins, 0, sizeof(*joins));
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		char theirs[64], ours[64];
		struct stat a, b;
		int fd;
		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)pid, husk_namespace_proc_name(types[i]));
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", husk_namespace_proc_name(types[i]));
		if (stat(theirs, &a) < 0) {
			if (errno == ENOENT && types[i] == CLONE_NEWTIME)
				continue; /* a kernel without time namespaces */
			return husk_err_sys(err, "look at %s", theirs);
		}
		if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		fd = open(theirs, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, "open %s", theirs);
		joins->type[joins->n] = types[i];
		joins->fd[joins->n++] = fd;
	}
	return 0;
}

struct exec_child {
	const struct husk_spec *spec;
	const struct husk_process *process;
	const struct husk_bpf *bpf;
	int sync_fd;
	int console_fd;
	int preserve_fds;
	bool new_keyring;
};

/* The exec'd process, cloned by the spawner in the container's namespaces and cgroup: it holds
 * stdio, the preserved fds, the sync socket and the console socket, and is not dumpable from
 * its first instant (the spawner's mm is copied with the flag). */
__attribute__((noreturn)) static void exec_child_run(void *arg)
{
	struct exec_child *c = arg;
	struct husk_err err = {0};
	_cleanup_free_ char *program = NULL;
	int notify_fd = 0, dmz_fd = -1;

	/* as root, before the identity changes: a keyring of the process's own, as the init has,
	 * and never the caller's, in which a key added inside would land on the host */
	if (c->new_keyring && husk_process_new_keyring(&err) < 0)
		goto fail;
	/* in the container's mount namespace now: its /dev/ptmx */
	if (c->process->terminal && husk_terminal_setup_exec(c->console_fd, c->process, &err) < 0)
		goto fail;
	if (c->console_fd >= 0)
		close(c->console_fd);
	if (husk_process_prepare(c->spec, c->process, c->bpf, &program, &notify_fd, &dmz_fd, &err) < 0)
		goto fail;
	if (c->process->no_new_privileges && (notify_fd = husk_seccomp_load(c->bpf, &err)) < 0)
		goto fail;
	/* exec'd processes do not hand a notify fd to the listener: the init's filter already did */
	if (notify_fd > 0)
		close(notify_fd);
	if (husk_sync_send(c->sync_fd, HUSK_SYNC_READY, 0, &err) < 0)
		_exit(1);
	husk_process_exec(c->process, program, dmz_fd, c->preserve_fds);
fail:
	husk_sync_send_error(c->sync_fd, &err);
	_exit(1);
}

/* exec --cgroup on v2: the sub-cgroup of the container's that the process goes into. runc's
 * syntax is "PATH" or "CONTROLLER[,CONTROLLER]:PATH"; v2 has one hierarchy, so one path without
 * controllers. It must exist, below the container's cgroup (no "..", no symlink). */
static int open_sub_cgroup(int container_fd, const char *container_dir, char *const *paths, size_t n,
			   struct husk_err *err)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	const char *path = paths[0];
	int fd;

	if (n > 1)
		return husk_err_set(err, EINVAL, "exec --cgroup: %zu paths given: cgroup v2 has one hierarchy, give one", n);
	if (strchr(path, ':'))
		return husk_err_set(err, EINVAL,
				    "exec --cgroup \"%s\": cgroup v2 has one hierarchy: give the path without controllers", path);
	while (*path == '/')
		path++;
	if (!*path)
		return husk_err_set(err, EINVAL, "exec --cgroup \"%s\": an empty path", paths[0]);
	fd = (int)syscall(SYS_openat2, container_fd, path, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOENT)
			return husk_err_set(err, ENOENT, "exec --cgroup \"%s\": no such cgroup under %s", paths[0], container_dir);
		if (errno == EXDEV || errno == ELOOP)
			return husk_err_set(err, errno, "exec --cgroup \"%s\": not a cgroup under %s", paths[0], container_dir);
		return husk_err_sys(err, "exec --cgroup \"%s\": open it under %s", paths[0], container_dir);
	}
	return fd;
}

int husk_container_exec(const struct husk_exec_opts *o, pid_t *pid_out, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1, cgroup_fd = -1, console_fd = -1, receiver = -1, root_fd = -1;
	_cleanup_free_ char *cache_dir = husk_xasprintf("%s/.cache", o->root);
	struct husk_state st = {0};
	struct husk_spec spec = {0};
	struct husk_ns_joins joins = {0};
	struct husk_bpf bpf = {0};
	int tasks_fds[HUSK_CGROUP_MAX_HIER], sv[2] = {-1, -1}, rc = -1;
	size_t n_tasks = 0;
	enum husk_status status;
	struct husk_sync_msg msg;
	pid_t pid = -1;
	bool v2;

	if (husk_state_load(o->root, o->id, &lock_fd, &st, err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (status != HUSK_RUNNING) {
		husk_err_set(err, EINVAL, "container \"%s\" is %s: exec needs a running container", o->id,
			     husk_status_name(status));
		goto out;
	}
	v2 = husk_cgroup_dirs_v2(st.cgroup_dirs, st.n_cgroup_dirs);
	/* checked before anything is made: never accepted and ignored */
	if (o->n_cgroups && !v2) {
		husk_err_set(err, EOPNOTSUPP,
			     "exec --cgroup \"%s\": container \"%s\" is on cgroup v1, where husk cannot put an exec'd "
			     "process in a sub-cgroup",
			     o->cgroups[0], o->id);
		goto out;
	}
	if (o->process->terminal && !o->console_socket && !o->terminal_fd) {
		husk_err_set(err, EINVAL, "a terminal needs --console-socket");
		goto out;
	}
	if (v2) {
		cgroup_fd = open(st.cgroup_dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgroup_fd < 0) {
			husk_err_sys(err, "open cgroup %s", st.cgroup_dirs[0]);
			goto out;
		}
		if (o->n_cgroups) {
			int sub = open_sub_cgroup(cgroup_fd, st.cgroup_dirs[0], o->cgroups, o->n_cgroups, err);
			if (sub < 0)
				goto out;
			close(cgroup_fd);
			cgroup_fd = sub;
		}
	} else {
		for (size_t i = 0; i < st.n_cgroup_dirs && n_tasks < HUSK_CGROUP_MAX_HIER; i++) {
			int fd = husk_cgroup_open_tasks(st.cgroup_dirs[i], err);
			if (fd < 0)
				goto out;
			tasks_fds[n_tasks++] = fd;
		}
	}
	if (o->console_socket && (console_fd = husk_terminal_connect_socket(o->console_socket, err)) < 0)
		goto out;
	if (o->process->terminal && !o->console_socket && husk_terminal_pair(&console_fd, &receiver, err) < 0)
		goto out;
	if (husk_spec_load(st.bundle, &spec, err) < 0 || husk_seccomp_prepare(&spec, cache_dir, &bpf, err) < 0 ||
	    open_init_namespaces(st.pid, &joins, err) < 0)
		goto out;
	/* a container with no mount namespace of its own is chrooted in husk's: setns gives the
	 * process no root there, so it is entered the same way, through the init's */
	{
		bool own_mnt = false;
		for (size_t i = 0; i < joins.n; i++)
			own_mnt = own_mnt || joins.type[i] == CLONE_NEWNS;
		if (!own_mnt) {
			_cleanup_free_ char *init_root = husk_xasprintf("/proc/%d/root", (int)st.pid);
			root_fd = open(init_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (root_fd < 0) {
				husk_err_sys(err, "open %s", init_root);
				goto out;
			}
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_err_sys(err, "socketpair");
		goto out;
	}
	{
		struct exec_child child = {
			.spec = &spec, .process = o->process, .bpf = &bpf, .sync_fd = sv[1], .console_fd = console_fd,
			.preserve_fds = o->preserve_fds, .new_keyring = !st.no_new_keyring,
		};
		const int keep[] = {sv[1], console_fd};
		/* setns into a pid namespace only affects children: a spawner joins, then clones the
		 * process with CLONE_PARENT so that it is husk's child */
		struct husk_spawn sp = {
			.joins = &joins, .cgroup_fd = cgroup_fd, .attach_fds = tasks_fds, .n_attach = n_tasks,
			.keep = keep, .n_keep = ARRAY_SIZE(keep), .preserve_fds = o->preserve_fds,
			.chroot_fd = root_fd >= 0 ? &root_fd : NULL, .run = exec_child_run, .arg = &child,
		};
		pid = husk_spawn(&sp, err);
	}
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0)
		goto out;
	if (husk_sync_expect(sv[0], HUSK_SYNC_READY, &msg, err) < 0) {
		if (err->errnum == EPIPE) {
			husk_err_clear(err);
			husk_err_set(err, 0, "the process died before it could exec");
		}
		waitpid(pid, NULL, 0);
		goto out;
	}
	if ((receiver >= 0 && (*o->terminal_fd = husk_recv_fd(receiver, err)) < 0) ||
	    (o->pid_file && husk_write_pid_file(o->pid_file, pid, err) < 0)) {
		/* the caller gets an error, not a process: none is left running in the container */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (receiver >= 0 && *o->terminal_fd >= 0)
			close(*o->terminal_fd);
		goto out;
	}
	*pid_out = pid;
	rc = 0;
out:
	for (size_t i = 0; i < n_tasks; i++)
		close(tasks_fds[i]);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	husk_ns_close_joins(&joins);
	husk_bpf_free(&bpf);
	husk_spec_free(&spec);
	husk_state_free(&st);
	return rc;
}
