/* husk cp: files between a container's root filesystem and the host (or a tar stream), with
 * docker's rules for what lands where.
 *
 * The container's side is a directory fd on its root (husk_engine_open_root); every path in it
 * is resolved with openat2(RESOLVE_IN_ROOT), and what is created there is created by its single
 * last name in a parent so resolved, never through a symlink: a symlink the container planted
 * (absolute, or climbing with ..) resolves inside its root, or not at all. Archives are hostile
 * input both ways: what a tar names is created under the directory it is unpacked into, as if
 * that directory were "/". */
#ifndef HUSK_ENGINE_CP_H
#define HUSK_ENGINE_CP_H

#include <stdbool.h>
#include <sys/types.h>

#include "../error.h"

struct husk_cp_opts {
	bool archive;                /* -a: owners from the source (else: see each function) */
	bool follow;                 /* -L: a symlink as SRC is followed (in the container: inside its root) */
	husk_warn_fn warn;           /* what is skipped (sockets; device nodes onto the host) */
	void *warn_arg;
};

/* CONTAINER:SRC → the host path dest (docker's rules); what is made is the caller's unless
 * archive. */
int husk_cp_out(int rootfd, const char *src, const char *dest, const struct husk_cp_opts *o, struct husk_err *err);
/* The host path src → CONTAINER:DEST; what is made is owned by the container's root (0:0)
 * unless archive. */
int husk_cp_in(int rootfd, const char *src, const char *dest, const struct husk_cp_opts *o, struct husk_err *err);
/* CONTAINER:SRC as a tar stream on fd (`husk cp CONTAINER:SRC -`). */
int husk_cp_out_tar(int rootfd, const char *src, int fd, const struct husk_cp_opts *o, struct husk_err *err);
/* A tar stream from fd unpacked into the directory CONTAINER:DEST (`husk cp - CONTAINER:DEST`). */
int husk_cp_in_tar(int rootfd, int fd, const char *dest, const struct husk_cp_opts *o, struct husk_err *err);

#endif
