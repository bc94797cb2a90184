#define _GNU_SOURCE
#include "spawn.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#include "cgroup.h"
#include "sync.h"
#include "util.h"

pid_t husk_clone3(unsigned long long flags, int cgroup_fd)
{
	/* with CLONE_PARENT the kernel takes the exit signal from the caller and refuses one here */
	struct clone_args args = {.flags = flags, .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD};

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (unsigned long long)cgroup_fd;
	}
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void husk_close_fds_except(int from, const int *keep, size_t n)
{
	int sorted[64];
	size_t m = 0;

	for (size_t i = 0; i < n && m < ARRAY_SIZE(sorted); i++)
		if (keep[i] >= from)
			sorted[m++] = keep[i];
	qsort(sorted, m, sizeof(int), cmp_int);
	for (size_t i = 0; i < m; i++) {
		if (sorted[i] > from)
			syscall(SYS_close_range, from, sorted[i] - 1, 0);
		from = sorted[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

/* In the spawner: forked from husk, in the host's pid namespace, where no container process can
 * see it. Everything that could lead back to the host (the state directory's lock, the cgroup
 * files, the namespace files, the caller's other fds) is gone before the clone, so the process
 * never has it; the order is cgroup (as the host's root, before any user namespace), fds,
 * namespaces, clone. */
__attribute__((noreturn)) static void spawner_run(const struct husk_spawn *s, const int *attach, size_t n_attach,
						  int report)
{
	struct husk_err err = {0};
	int keep[64];
	size_t n = 0;
	pid_t pid;

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	for (size_t i = 0; i < n_attach; i++)
		if (write(attach[i], "0", 1) != 1) {
			husk_err_sys(&err, "join the container's cgroup");
			goto fail;
		}
	keep[n++] = report;
	for (size_t i = 0; i < s->joins->n; i++)
		keep[n++] = s->joins->fd[i];
	for (size_t i = 0; i < s->n_keep && n < ARRAY_SIZE(keep); i++)
		keep[n++] = s->keep[i];
	if (s->chroot_fd && n < ARRAY_SIZE(keep))
		keep[n++] = *s->chroot_fd;
	husk_close_fds_except(3 + s->preserve_fds, keep, n);
	/* before the user namespace is joined: chroot takes CAP_SYS_CHROOT over this one */
	if (s->chroot_fd) {
		if (fchdir(*s->chroot_fd) < 0 || chroot(".") < 0) {
			husk_err_sys(&err, "chroot to the container's root");
			goto fail;
		}
		close(*s->chroot_fd);
	}
	if (husk_ns_join(s->joins, ~0ul, &err) < 0)
		goto fail;
	for (size_t i = 0; i < s->joins->n; i++)
		close(s->joins->fd[i]);
	if (s->new_time && (unshare(CLONE_NEWTIME) < 0 ? husk_err_sys(&err, "unshare the time namespace")
						  : husk_ns_write_time_offsets(s->new_time, &err)) < 0)
		goto fail;
	pid = husk_clone3(s->clone_flags | CLONE_PARENT, -1);
	if (pid < 0) {
		husk_err_sys(&err, "clone the process (namespaces %#llx)", s->clone_flags);
		goto fail;
	}
	if (pid == 0) {
		close(report);
		s->run(s->arg);
	}
	/* on a socket of its own: the process writes on the sync socket from its first instant,
	 * and on a shared one its first message could overtake this one */
	husk_sync_send(report, HUSK_SYNC_PID, pid, &err);
	_exit(0);
fail:
	husk_sync_send_error(report, &err);
	_exit(1);
}

pid_t husk_spawn(const struct husk_spawn *s, struct husk_err *err)
{
	_cleanup_close_ int procs_fd = -1;
	int report[2], attach[HUSK_CGROUP_MAX_HIER + 1], status = 0;
	size_t n_attach = 0;
	struct husk_sync_msg msg;
	pid_t spawner;
	int rc;

	for (size_t i = 0; i < s->n_attach && n_attach < ARRAY_SIZE(attach); i++)
		attach[n_attach++] = s->attach_fds[i];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0)
		return husk_err_sys(err, "socketpair for the spawner");
	/* v2: the spawner is born in the cgroup and the process inherits it, so the cgroup's fd is
	 * never in the process */
	spawner = husk_clone3(0, s->cgroup_fd);
	if (spawner < 0 && s->cgroup_fd >= 0 && (errno == EBUSY || errno == EOPNOTSUPP || errno == EINVAL)) {
		/* the cgroup refuses CLONE_INTO_CGROUP (threaded or domain-invalid): the spawner
		 * joins through cgroup.procs instead */
		procs_fd = openat(s->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		if (procs_fd < 0) {
			husk_err_sys(err, "open cgroup.procs of the container's cgroup");
			goto fail;
		}
		attach[n_attach++] = procs_fd;
		spawner = husk_clone3(0, -1);
	}
	if (spawner < 0) {
		husk_err_sys(err, "fork the namespace spawner");
		goto fail;
	}
	if (spawner == 0) {
		close(report[0]);
		spawner_run(s, attach, n_attach, report[1]);
	}
	close(report[1]);
	rc = husk_sync_expect(report[0], HUSK_SYNC_PID, &msg, err);
	close(report[0]);
	while (waitpid(spawner, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		if (err->errnum == EPIPE) {
			husk_err_clear(err);
			husk_err_set(err, 0, "the namespace spawner died (status %#x)", status);
		}
		return -1;
	}
	return (pid_t)msg.value;
fail:
	close(report[0]);
	close(report[1]);
	return -1;
}
