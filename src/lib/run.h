/* husk oci run, and husk run under it: create, something between (the engine joins the
 * network there), start; on failure undone, so that the caller has a running container or
 * nothing. Waiting for it and deleting it stay with the caller. */
#ifndef HUSK_RUN_H
#define HUSK_RUN_H

#include "container.h"

/* Called between create and start: the init waits, its namespaces exist. */
typedef int (*husk_run_created_fn)(const struct husk_container *c, void *arg, struct husk_err *err);

/* opts->run must be set. Returns 0, or 1 with err set when only a poststart hook failed (a
 * warning, as the spec says), or -1: then the container is deleted and c's fds are closed.
 * On success c->lock_fd is closed; c->sync_fd (and c->terminal_fd) are the caller's. */
int husk_container_run(const struct husk_create_opts *opts, struct husk_container *c, husk_run_created_fn created,
		       void *arg, struct husk_err *err);

#endif
