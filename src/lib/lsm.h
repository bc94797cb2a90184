/* AppArmor and SELinux: the labels a config asks for, through /proc/thread-self/attr. */
#ifndef HUSK_LSM_H
#define HUSK_LSM_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

enum husk_lsm { HUSK_LSM_APPARMOR, HUSK_LSM_SELINUX };

/* Is that LSM active on this kernel? (/sys/kernel/security/lsm, else its own files) */
bool husk_lsm_enabled(enum husk_lsm lsm);

/* What the next execve is labelled with: the attr file (under /proc/thread-self/attr) and the
 * text to write to it. Pure. *text is malloc'ed. */
void husk_lsm_exec_attr(enum husk_lsm lsm, const char *label, const char **file, char **text);

/* Filesystem mount options with the SELinux mount label added (context="..."). Pure, malloc'ed. */
char *husk_lsm_mount_data(const char *data, const char *mount_label);

/* Before anything is created: labels for an LSM the kernel does not have are dropped from
 * spec with a warning through warn (when not NULL), as crun does, so that a config written on
 * an SELinux or AppArmor host runs here. A label for an LSM that is enabled stays, and failing
 * to apply it is an error (husk_lsm_apply, the mounts). */
void husk_lsm_check(struct husk_spec *spec, husk_warn_fn warn, void *warn_arg);

/* In the init, before the switch to the new root: label the container's program. */
int husk_lsm_apply(const struct husk_spec *spec, struct husk_err *err);

#endif
