/* Resource limits: linux.resources planned as cgroup file writes (v1 or v2), then applied. */
#ifndef HUSK_CGROUP_LIMITS_H
#define HUSK_CGROUP_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spec.h"

struct husk_cgroup_write {
	char file[64];
	char value[160];
	char alt_file[64];      /* tried when file does not exist (blkio.weight -> blkio.bfq.weight) */
	char alt_value[160];
	bool optional;          /* gone from newer kernels (kernel memory): skipped when missing */
};

/* Pure: the writes that give res on cgroup v1 or v2, in order; what one version cannot do is an
 * error naming the field. *writes is malloc'ed. */
int husk_cgroup_plan(const struct husk_resources *res, bool v2, struct husk_cgroup_write **writes, size_t *n,
		     struct husk_err *err);

/* Write them into the container's cgroup: each file into the one of dirs that has it (v1 keeps
 * a controller per hierarchy). Writes the kernel refuses because of the order (a memory limit
 * above memory+swap, a quota longer than the period) are retried after the others. */
int husk_cgroup_apply(char *const *dirs, size_t n_dirs, const struct husk_cgroup_write *writes, size_t n,
		      struct husk_err *err);

/* cgroup v2: turn on, in each directory husk made above the leaf, the controllers its parent
 * offers, so the leaf has them. */
int husk_cgroup_enable_controllers(char *const *created, size_t n_created, const char *leaf, struct husk_err *err);

#endif
