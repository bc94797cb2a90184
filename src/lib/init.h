/* The container's init: what the cloned process does between clone and exec. */
#ifndef HUSK_INIT_H
#define HUSK_INIT_H

#include <stdbool.h>

#include "cgroup.h"
#include "ns.h"
#include "seccomp.h"
#include "spec.h"

struct husk_init_ctx {
	const struct husk_spec *spec;
	const char *bundle;     /* relative paths in the config (bind sources) start here */
	const char *rootfs;
	struct husk_cgroup *cgroup;
	const struct husk_ns_joins *joins;
	bool joined;            /* a spawner process already did the setns calls */
	int sync_fd;
	int lock_fd;            /* husk's lock on the state directory: closed first, since a copy held
				 * by the waiting init would keep `start` from taking the lock */
	int start_fd;           /* exec.fifo read end (create), or -1: START arrives on sync_fd (run) */
	int console_fd;         /* connected --console-socket, or -1 */
	const struct husk_bpf *seccomp; /* compiled filter, or insns == NULL */
	int listener_fd;        /* connected seccomp listenerPath, or -1 */
	char *hook_state;       /* the state JSON husk sends for createContainer ("creating") */
	char *start_state;      /* and for startContainer ("created") */
	int preserve_fds;
	int root_mount_fd;      /* or -1: see husk_create_opts */
	bool no_pivot, no_new_keyring;
	bool die_with_parent;   /* see husk_create_opts */
};

/* Never returns: exec's the container process or reports the failure on sync_fd and exits. */
__attribute__((noreturn)) void husk_init_run(struct husk_init_ctx *ctx);

/* Join a new anonymous session keyring, so that the process shares no keyring with husk's
 * caller (the init and every exec'd process, unless the container was created with
 * --no-new-keyring). */
int husk_process_new_keyring(struct husk_err *err);

/* The steps every container process goes through, the init and those of exec: cwd (checked to
 * be inside the root), rlimits, personality/ioprio/scheduler, umask, the seccomp filter when
 * no_new_privs is off, bounding set, uid/gid/groups, capabilities, no_new_privs, the program
 * looked up on PATH and the exec stub made. *notify_fd: a seccomp listener fd, or 0. */
int husk_process_prepare(const struct husk_spec *spec, const struct husk_process *p, const struct husk_bpf *bpf,
			 char **program, int *notify_fd, int *dmz_fd, struct husk_err *err);
/* Exec it through the stub, with fds 3..3+preserve_fds-1 kept. Never returns. */
__attribute__((noreturn)) void husk_process_exec(const struct husk_process *p, const char *program, int dmz_fd,
						 int preserve_fds);

/* Find prog on PATH (from env, else the default) the way execvp would, relative to the
 * current root; the result is malloc'ed. Fails with the errno execve would give. */
int husk_init_find_program(const char *prog, const char *const *env, char **out, struct husk_err *err);

#endif
