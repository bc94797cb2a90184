#define _GNU_SOURCE
#include "run.h"

#include <unistd.h>

int husk_container_run(const struct husk_create_opts *opts, struct husk_container *c, husk_run_created_fn created,
		       void *arg, struct husk_err *err)
{
	struct husk_err ignored = {0};
	int rc;

	if (husk_container_create(opts, c, err) < 0)
		return -1;
	rc = created ? created(c, arg, err) : 0;
	if (rc == 0)
		rc = husk_container_start_created(c, err);
	close(c->lock_fd);
	c->lock_fd = -1;
	if (rc >= 0)
		return rc;
	/* the one way back: the init (waiting, or gone) and everything create made */
	close(c->sync_fd);
	c->sync_fd = -1;
	if (c->terminal_fd >= 0)
		close(c->terminal_fd);
	c->terminal_fd = -1;
	husk_container_delete(opts->root, opts->id, true, &ignored);
	return -1;
}
