/* Capabilities of the container process, through libcap. */
#ifndef HUSK_CAPS_H
#define HUSK_CAPS_H

#include "error.h"
#include "spec.h"

/* Drop from the bounding set what is not listed (needs CAP_SETPCAP, so before the uid change). */
int husk_caps_apply_bounding(const struct husk_process *p, struct husk_err *err);
/* Set effective, permitted and inheritable, then the ambient set (after the uid change). */
int husk_caps_apply(const struct husk_process *p, struct husk_err *err);

/* Capability name ("CAP_CHOWN") -> number, -1 if unknown to libcap. */
int husk_cap_from_name(const char *name);

#endif
