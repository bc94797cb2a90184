/* The spawner: how husk starts a process in namespaces it cannot enter itself (create's init
 * in a joined pid or user namespace or a new time namespace, every exec'd process), with
 * nothing of the host's in its hands. */
#ifndef HUSK_SPAWN_H
#define HUSK_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "ns.h"
#include "spec.h"

struct husk_spawn {
	const struct husk_ns_joins *joins; /* setns into each (the user namespace first) */
	const struct husk_spec *new_time;  /* or NULL: unshare(CLONE_NEWTIME) with its offsets */
	unsigned long long clone_flags;    /* the new namespaces the process is born in */
	int cgroup_fd;                     /* v2: the spawner is cloned into this cgroup; or -1 */
	const int *attach_fds;             /* v1 "tasks" files: the spawner writes "0" into each */
	size_t n_attach;
	const int *keep;                   /* the fds the process needs (beyond 0-2 and the preserved) */
	size_t n_keep;
	int preserve_fds;                  /* fds 3..3+N-1 go to the process too */
	const int *chroot_fd;              /* or NULL: chroot here before the namespaces are joined
					    * (a container without a mount namespace of its own) */
	__attribute__((noreturn)) void (*run)(void *arg); /* the process: runs in the child, never returns */
	void *arg;
};

/* Fork a spawner (non-dumpable, in the host's pid namespace, so that nothing in a container
 * can see it) which joins the cgroup, closes every fd but those the process needs, joins the
 * namespaces, then clones the process with CLONE_PARENT (husk's child, in the namespaces and
 * the cgroup) and reports its pid on a socket of its own. The process is born holding only
 * stdio, the preserved fds and keep[]: no window in which a peer with CAP_SYS_PTRACE could
 * reach the host through one of husk's fds. Returns the pid, or -1 with the spawner's error. */
pid_t husk_spawn(const struct husk_spawn *s, struct husk_err *err);

/* clone3 with flags (and CLONE_INTO_CGROUP when cgroup_fd >= 0); fork-like: 0 in the child. */
pid_t husk_clone3(unsigned long long flags, int cgroup_fd);

/* Close every fd from `from` up, except those in keep[] (negative entries are ignored). */
void husk_close_fds_except(int from, const int *keep, size_t n);

#endif
