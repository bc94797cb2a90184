#define _GNU_SOURCE
#include "exec.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#include "cgroup.h"
#include "container.h"
#include "fdpass.h"
#include "init.h"
#include "ns.h"
#include "seccomp.h"
#include "state.h"
#include "sync.h"
#include "names.h"
#include "terminal.h"
#include "util.h"

int husk_container_load_spec(const char *root, const char *id, struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	struct husk_state st;
	int rc;

	if (husk_state_open(root, id, &lock_fd, err) < 0 || husk_state_read(lock_fd, &st, err) < 0)
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
	int *tasks_fds;
	size_t n_tasks;
	int preserve_fds;
};

__attribute__((noreturn)) static void exec_child_run(struct exec_child *c)
{
	struct husk_err err = {0};
	_cleanup_free_ char *program = NULL;
	int notify_fd = 0, dmz_fd = -1;

	/* as the container's init: nobody in the container may inspect it until exec */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t i = 0; i < c->n_tasks; i++)
		if (write(c->tasks_fds[i], "0", 1) != 1) {
			husk_err_sys(&err, "join the container's cgroup");
			goto fail;
		}
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
	pid_t spawner, pid = -1;

	if (husk_state_open(o->root, o->id, &lock_fd, err) < 0 || husk_state_read(lock_fd, &st, err) < 0)
		return -1;
	status = husk_state_status(&st);
	if (status != HUSK_RUNNING) {
		husk_err_set(err, EINVAL, "container \"%s\" is %s: exec needs a running container", o->id,
			     husk_status_name(status));
		goto out;
	}
	if (o->process->terminal && !o->console_socket && !o->terminal_fd) {
		husk_err_set(err, EINVAL, "a terminal needs --console-socket");
		goto out;
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
	if (husk_cgroup_dirs_v2(st.cgroup_dirs, st.n_cgroup_dirs)) {
		cgroup_fd = open(st.cgroup_dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgroup_fd < 0) {
			husk_err_sys(err, "open cgroup %s", st.cgroup_dirs[0]);
			goto out;
		}
	} else {
		for (size_t i = 0; i < st.n_cgroup_dirs && n_tasks < HUSK_CGROUP_MAX_HIER; i++) {
			_cleanup_free_ char *tasks = husk_xasprintf("%s/tasks", st.cgroup_dirs[i]);
			int fd = open(tasks, O_WRONLY | O_CLOEXEC);
			if (fd < 0) {
				husk_err_sys(err, "open %s", tasks);
				goto out;
			}
			tasks_fds[n_tasks++] = fd;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		husk_err_sys(err, "socketpair");
		goto out;
	}
	/* setns into a pid namespace only affects children: a spawner joins, then clones the
	 * process with CLONE_PARENT so that it is husk's child */
	spawner = fork();
	if (spawner < 0) {
		husk_err_sys(err, "fork");
		goto out;
	}
	if (spawner == 0) {
		struct husk_err serr = {0};
		struct exec_child child = {&spec, o->process, &bpf, sv[1], console_fd, tasks_fds, n_tasks, o->preserve_fds};
		struct clone_args args = {.flags = CLONE_PARENT};
		pid_t p;
		close(sv[0]);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		/* before the user namespace is joined: chroot takes CAP_SYS_CHROOT over this one */
		if (root_fd >= 0 && (fchdir(root_fd) < 0 || chroot(".") < 0)) {
			husk_err_sys(&serr, "chroot to the container's root");
			goto spawner_fail;
		}
		if (husk_ns_join(&joins, ~0ul, &serr) < 0)
			goto spawner_fail;
		if (cgroup_fd >= 0) {
			args.flags |= CLONE_INTO_CGROUP;
			args.cgroup = (unsigned long long)cgroup_fd;
		}
		p = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (p < 0) {
			husk_err_sys(&serr, "clone the process in the container");
			goto spawner_fail;
		}
		if (p == 0)
			exec_child_run(&child);
		husk_sync_send(sv[1], HUSK_SYNC_PID, p, &serr);
		_exit(0);
spawner_fail:
		husk_sync_send_error(sv[1], &serr);
		_exit(1);
	}
	close(sv[1]);
	sv[1] = -1;
	rc = husk_sync_expect(sv[0], HUSK_SYNC_PID, &msg, err);
	waitpid(spawner, NULL, 0);
	if (rc < 0)
		goto out;
	rc = -1;
	pid = (pid_t)msg.value;
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
