/* The life of a container: create, start, kill, delete, state. See docs/ARCHITECTURE.md. */
#ifndef HUSK_CONTAINER_H
#define HUSK_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "error.h"
#include "spec.h"
#include "state.h"

struct husk_create_opts {
	const char *root;            /* state directory, e.g. /run/husk */
	const char *id;
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool no_pivot;
	bool no_new_keyring;
	bool run;                    /* husk oci run: this process starts and waits for it */
	bool systemd_cgroup;         /* --systemd-cgroup: cgroupsPath is slice:prefix:name */
	bool relay_terminal;         /* run without --console-socket: husk itself takes the pty */
	bool has_root_mount;         /* root_mount_fd is a detached mount (fsmount, open_tree) the
				      * init moves onto root.path in its own mount namespace, so it is
				      * never in the host's mount table: an image snapshot */
	int root_mount_fd;
	bool die_with_parent;        /* the container's init gets SIGKILL when its parent (the
				      * engine's monitor) dies: PR_SET_PDEATHSIG, set last before exec */
	husk_warn_fn warn;           /* what create lets pass with a warning (labels for an absent
				      * LSM), or NULL */
	void *warn_arg;
};

/* What `run` keeps of a created container. */
struct husk_container {
	pid_t pid;
	int sync_fd;                 /* run only: START goes here */
	int lock_fd;
	int terminal_fd;             /* relay_terminal and process.terminal: the pty master, or -1 */
};

int husk_container_create(const struct husk_create_opts *opts, struct husk_container *c, struct husk_err *err);
/* run: release the init created with opts.run and record it running. */
int husk_container_start_created(struct husk_container *c, struct husk_err *err);
/* start and delete return 1 (with err set) when only a poststart / poststop hook failed:
 * the spec makes that a warning. */
int husk_container_start(const char *root, const char *id, struct husk_err *err);
int husk_container_kill(const char *root, const char *id, int sig, bool all, struct husk_err *err);
int husk_container_delete(const char *root, const char *id, bool force, struct husk_err *err);
/* The runtime-spec state of one container. */
int husk_container_state(const char *root, const char *id, json_t **out, struct husk_err *err);

/* Change the limits of a created, running or paused container. */
int husk_container_update(const char *root, const char *id, const struct husk_resources *res, struct husk_err *err);
/* Freeze / thaw every process of the container, and record it paused / running. */
int husk_container_pause(const char *root, const char *id, bool pause, struct husk_err *err);
/* The processes of the container (host pids). */
int husk_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct husk_err *err);
/* runc's stats event data (stats may be NULL: the OOM count only); *oom_kills the OOM kill count;
 * stopped when the container is. */
int husk_container_stats(const char *root, const char *id, json_t **stats, long long *oom_kills,
			 enum husk_status *status, struct husk_err *err);

/* Write a pid file atomically (temporary + rename), as engines read it while it is written. */
int husk_write_pid_file(const char *path, pid_t pid, struct husk_err *err);

#endif
