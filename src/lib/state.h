/* Container state on disk: ROOT/ID/state.json, serialised by a lock on ROOT/ID. */
#ifndef HUSK_STATE_H
#define HUSK_STATE_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>

#include "error.h"

enum husk_status { HUSK_CREATING, HUSK_CREATED, HUSK_RUNNING, HUSK_STOPPED, HUSK_PAUSED };

struct husk_state {
	char *id;
	char *bundle;
	char *rootfs;
	char *created;               /* RFC 3339, UTC, nanoseconds */
	char *owner;
	pid_t pid;                   /* container init in the host's pid namespace; 0 before clone */
	unsigned long long start_time; /* /proc/PID/stat field 22: guards against pid reuse */
	enum husk_status status;     /* as last recorded; husk_state_status() gives the live one */
	char **cgroup_dirs;          /* the container's cgroup directory in each hierarchy */
	size_t n_cgroup_dirs;
	char **cgroup_created;       /* the directories husk made for it, outermost first */
	size_t n_cgroup_created;
	json_t *annotations;
	bool hooks;                  /* the config has hooks: start and delete read it again */
	bool no_process;             /* created from a config without process: start refuses */
	bool no_new_keyring;         /* created with --no-new-keyring: exec'd processes keep the
				      * caller's session keyring too */
};

/* Container ids: letters, digits, '_', '+', '-', '.', not "." or "..", at most 1024 bytes. */
int husk_state_check_id(const char *id, struct husk_err *err);

/* Make ROOT/ID, refusing an id already in use, and lock it; *dirfd holds the lock. A directory
 * without state.json whose lock is free was left by a create that died: it is taken over. */
int husk_state_create(const char *root, const char *id, int *dirfd, struct husk_err *err);
/* Open and lock ROOT/ID of an existing container. */
int husk_state_open(const char *root, const char *id, int *dirfd, struct husk_err *err);
int husk_state_write(int dirfd, const struct husk_state *state, struct husk_err *err);
int husk_state_read(int dirfd, struct husk_state *state, struct husk_err *err);
/* husk_state_open + husk_state_read: the container's state, locked (*dirfd holds the lock; on
 * failure it is closed and -1). A directory without state.json (a create that died before
 * writing it) loads as a "creating" container with pid 0, an empty bundle and no cgroup. */
int husk_state_load(const char *root, const char *id, int *dirfd, struct husk_state *state, struct husk_err *err);
/* Remove ROOT/ID and what is in it. */
int husk_state_remove(const char *root, const char *id, struct husk_err *err);
void husk_state_free(struct husk_state *state);

/* The status now: a recorded created/running container whose process is gone is stopped. */
enum husk_status husk_state_status(const struct husk_state *state);
const char *husk_status_name(enum husk_status status);

/* The runtime-spec state document (runc's fields: ociVersion, id, pid, status, bundle,
 * rootfs, created, owner, annotations). */
json_t *husk_state_to_json(const struct husk_state *state, enum husk_status status);

/* Ids of the containers under ROOT, sorted; *ids is NULL-terminated. */
int husk_state_list(const char *root, char ***ids, size_t *n, struct husk_err *err);

/* "2026-11-23T09:46:58.123456789Z" for now, or for a given time. */
char *husk_timestamp_now(void);
char *husk_timestamp_of(const struct timespec *ts);

#endif
