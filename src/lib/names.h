/* Name -> value tables from the runtime-spec: one sorted array each, one lookup function each. */
#ifndef HUSK_NAMES_H
#define HUSK_NAMES_H

#include <stdbool.h>
#include <stdint.h>

/* Signal by name ("TERM", "SIGTERM", "RTMIN+3") or number ("15"); -1 if unknown. */
int husk_signal_parse(const char *s);

/* RLIMIT_* name -> resource; -1 if unknown. */
int husk_rlimit_from_name(const char *name);

/* Namespace type name ("pid", "network", ...) -> CLONE_NEW* flag; 0 if unknown. */
unsigned long husk_namespace_from_name(const char *name);
const char *husk_namespace_name(unsigned long flag);
/* The /proc/self/ns/<file> name of a CLONE_NEW* flag. */
const char *husk_namespace_proc_name(unsigned long flag);

/* What a mount option does. */
enum husk_mount_opt_kind {
	HUSK_MOPT_FLAG,        /* set a MS_* flag */
	HUSK_MOPT_CLEAR,       /* clear a MS_* flag */
	HUSK_MOPT_PROPAGATION, /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (+MS_REC) */
	HUSK_MOPT_ATTR,        /* recursive MOUNT_ATTR_* via mount_setattr (rro, rnosuid, ...) */
	HUSK_MOPT_ATTR_CLEAR,  /* recursive clear (rrw, rsuid, ...) */
	HUSK_MOPT_DATA,        /* passed to the filesystem as data (newinstance, ...) */
	HUSK_MOPT_HUSK,        /* handled by husk itself (tmpcopyup, idmap, ...) */
};

struct husk_mount_opt {
	const char *name;
	enum husk_mount_opt_kind kind;
	unsigned long value;
};

/* Known option by name, or NULL (options of the form key=value are filesystem data). */
const struct husk_mount_opt *husk_mount_opt_lookup(const char *name);

/* For `features`: iterate the tables. */
const char *husk_mount_opt_name_at(unsigned i);
const char *husk_namespace_name_at(unsigned i);

#endif
