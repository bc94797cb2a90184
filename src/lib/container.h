/* The life of a container: create, start, kill, delete, state. See docs/ARCHITECTURE.md. */
#ifndef HUSK_CONTAINER_H
#define HUSK_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "error.h"
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
};

/* What `run` keeps of a created container. */
struct husk_container {
	pid_t pid;
	int sync_fd;                 /* run only: START goes here */
	int lock_fd;
};

int husk_container_create(const struct husk_create_opts *opts, struct husk_container *c, struct husk_err *err);
/* run: release the init created with opts.run and record it running. */
int husk_container_start_created(struct husk_container *c, struct husk_err *err);
int husk_container_start(const char *root, const char *id, struct husk_err *err);
int husk_container_kill(const char *root, const char *id, int sig, bool all, struct husk_err *err);
int husk_container_delete(const char *root, const char *id, bool force, struct husk_err *err);
/* The runtime-spec state of one container. */
int husk_container_state(const char *root, const char *id, json_t **out, struct husk_err *err);

/* Write a pid file atomically (temporary + rename), as engines read it while it is written. */
int husk_write_pid_file(const char *path, pid_t pid, struct husk_err *err);

#endif
