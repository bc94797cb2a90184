/* husk oci exec: another process in a running container. */
#ifndef HUSK_EXEC_H
#define HUSK_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct husk_exec_opts {
	const char *root, *id;
	const struct husk_process *process;  /* what to run (the CLI merges flags into it) */
	const char *pid_file;
	const char *console_socket; /* process.terminal: where the pty master goes */
	int *terminal_fd;           /* no console_socket: the pty master comes back here */
	int preserve_fds;
	char *const *cgroups;       /* --cgroup: "PATH" or "CONTROLLER[,...]:PATH", a sub-cgroup of the
				     * container's (cgroup v2 only: one path, no controllers) */
	size_t n_cgroups;
};

/* The container's config, for the CLI to build the process from. */
int husk_container_load_spec(const char *root, const char *id, struct husk_spec *spec, struct husk_err *err);

/* Start the process in every namespace and the cgroup of the container's init, with the
 * container's seccomp filter and the process's own user, capabilities and limits. Returns once
 * it is about to exec (errors before that come back with their cause); *pid is husk's child. */
int husk_container_exec(const struct husk_exec_opts *o, pid_t *pid, struct husk_err *err);

#endif
