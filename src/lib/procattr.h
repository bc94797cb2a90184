/* Process attributes from the config: personality, I/O priority, scheduling policy. */
#ifndef HUSK_PROCATTR_H
#define HUSK_PROCATTR_H

#include "error.h"
#include "spec.h"

/* Before the privilege drop: a realtime class or policy needs CAP_SYS_NICE / CAP_SYS_ADMIN. */
int husk_procattr_apply(const struct husk_spec *spec, struct husk_err *err);

#endif
