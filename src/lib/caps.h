/* Capabilities of the container process, through libcap. */
#ifndef HUSK_CAPS_H
#define HUSK_CAPS_H

#include <stdint.h>

#include "error.h"
#include "spec.h"

/* Drop from the bounding set what is not listed (needs CAP_SETPCAP, so before the uid change). */
int husk_caps_apply_bounding(const struct husk_process *p, struct husk_err *err);
/* Set effective, permitted and inheritable, then the ambient set (after the uid change). */
int husk_caps_apply(const struct husk_process *p, struct husk_err *err);

/* Capability name ("CAP_CHOWN") -> number, -1 if unknown to libcap. */
int husk_cap_from_name(const char *name);

/* The ambient capabilities the kernel will not raise, as they are not both permitted and
 * inheritable: husk_caps_apply leaves them out. */
uint64_t husk_caps_ambient_unraisable(const struct husk_process *p);
/* If there are such, a warning naming them in *warning, and 1; else 0. */
int husk_caps_ambient_warning(const struct husk_process *p, struct husk_err *warning);

#endif
