/* Writing into procfs safely. /proc is where husk (and the kernel) keep security settings:
 * sysctls, LSM labels, oom_score_adj, time offsets. A file reached by path may not be what its
 * path says: a bind mount or a tmpfs over a /proc sub-path, or a symlink planted in a volume,
 * would receive the write instead (CVE-2025-52881). Every write goes through here: from a
 * directory checked to be the root of a procfs instance, one openat2 that refuses symlinks,
 * magic links and mount crossings, and the opened file checked to be on procfs again. */
#ifndef HUSK_PROCFS_H
#define HUSK_PROCFS_H

#include <stddef.h>

#include "error.h"

/* Open `path` (under dirfd, resolved as if dirfd were "/"; or from the process's root with
 * AT_FDCWD; no symlinks) and check that it is the root directory of a procfs instance.
 * Returns an O_PATH directory fd. */
int husk_procfs_open_root(int dirfd, const char *path, struct husk_err *err);
/* Open `rel` beneath a procfs root fd: no symlink, no magic link, no mount crossed; a leading
 * "self" or "thread-self" is read with readlinkat and replaced by the pid path it names. */
int husk_procfs_open(int procfd, const char *rel, int flags, struct husk_err *err);
/* husk_procfs_open(O_WRONLY) and write all of buf. */
int husk_procfs_write(int procfd, const char *rel, const char *buf, size_t len, struct husk_err *err);
/* The same, from the /proc of the calling process's mount namespace. */
int husk_procfs_write_self(const char *rel, const char *buf, size_t len, struct husk_err *err);

#endif
