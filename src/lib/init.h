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
	int preserve_fds;
	bool no_pivot, no_new_keyring;
};

/* Never returns: exec's the container process or reports the failure on sync_fd and exits. */
__attribute__((noreturn)) void husk_init_run(struct husk_init_ctx *ctx);

/* Find prog on PATH (from env, else the default) the way execvp would, relative to the
 * current root; the result is malloc'ed. Fails with the errno execve would give. */
int husk_init_find_program(const char *prog, const char *const *env, char **out, struct husk_err *err);

#endif
