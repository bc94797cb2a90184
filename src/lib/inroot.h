/* Paths inside a root that is hostile: a container's root filesystem, an image layout, a
 * volume. Every lookup is one openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): symlinks and
 * ".." resolve as they would inside, never to the host. */
#ifndef HUSK_INROOT_H
#define HUSK_INROOT_H

#include <stdbool.h>

#include "error.h"

/* Open path inside the directory rootfd as if rootfd were "/": symlinks and ".." cannot leave it.
 * flags are open flags (O_PATH, O_DIRECTORY, ...). */
int husk_open_in_root(int rootfd, const char *path, int flags, struct husk_err *err);
/* The same, creating the missing directories on the way (and the last component as a
 * directory, or as an empty file when as_file). Returns an O_PATH fd. */
int husk_mkpath_in_root(int rootfd, const char *path, bool as_file, struct husk_err *err);

#endif
