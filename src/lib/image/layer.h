/* Unpacking an image layer (tar; gzip, zstd, xz or none) into a directory, as hostile input:
 * nothing it names may write or read outside that directory. */
#ifndef HUSK_LAYER_H
#define HUSK_LAYER_H

#include <stdint.h>

#include "../error.h"

struct husk_unpack_limits {
	uint64_t max_entries;
	uint64_t max_bytes;          /* of file data, in all */
};

#define HUSK_UNPACK_LIMITS_DEFAULT { .max_entries = 4u << 20, .max_bytes = 1ull << 40 }

/* Unpack the archive read from archive_fd into the directory rootfd. Owners, modes, times,
 * xattrs (security.capability and user.*), hard links, symlinks, device nodes; OCI whiteouts
 * become overlayfs ones (a 0/0 character device, trusted.overlay.opaque=y). Entries with ".."
 * components and malformed whiteouts are refused; absolute names are taken relative to rootfd;
 * every lookup goes through openat2(RESOLVE_IN_ROOT), so symlinks in the layer resolve inside it. */
int husk_layer_unpack(int archive_fd, int rootfd, const struct husk_unpack_limits *limits, struct husk_err *err);

/* The name of an entry cleaned for unpacking: leading "/" and "./" and "." components dropped,
 * "" for the root itself. Fails (EPERM) on a ".." component and (ENAMETOOLONG) on a name
 * longer than PATH_MAX. */
int husk_layer_clean_name(const char *name, char *out, size_t outlen, struct husk_err *err);

/* What a base name means in an OCI layer: 0 a plain name, 1 a whiteout of *target (a pointer
 * into base), 2 an opaque-directory marker; -1 (err set) a malformed whiteout. */
int husk_layer_whiteout(const char *base, const char **target, struct husk_err *err);

#endif
