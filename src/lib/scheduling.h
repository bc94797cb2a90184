/* How the kernel runs the process, from the config: its scheduling policy and nice value, its
 * I/O priority, and its personality (the ABI uname reports). */
#ifndef HUSK_SCHEDULING_H
#define HUSK_SCHEDULING_H

#include "error.h"
#include "spec.h"

/* Before the privilege drop: a realtime class or policy needs CAP_SYS_NICE / CAP_SYS_ADMIN. */
int husk_sched_apply(const struct husk_spec *spec, struct husk_err *err);

#endif
