/* Getting images into the store without a registry: a root filesystem tarball (import), an
 * OCI image layout or docker-archive (load), and busybox from the host (bootstrap). */
#ifndef HUSK_LOAD_H
#define HUSK_LOAD_H

#include <jansson.h>

#include "../error.h"
#include "store.h"

/* A root filesystem tar (any compression libarchive reads) from fd as a one-layer image. */
int husk_image_import(struct husk_store *s, int fd, const char *name, char id[HUSK_DIGEST_LEN + 1],
		      struct husk_err *err);
/* An OCI image layout (directory, or tar of one) or a docker-archive at path. Every image in it
 * is recorded; name (or NULL) names the only one, or one the archive left unnamed. loaded gets
 * [{id, names}] per image. */
int husk_image_load(struct husk_store *s, const char *path, const char *name, json_t *loaded, struct husk_err *err);
/* The host's static busybox, its applet links, /etc/passwd and /etc/group, as name. */
int husk_image_bootstrap_busybox(struct husk_store *s, const char *busybox, const char *name,
				 char id[HUSK_DIGEST_LEN + 1], struct husk_err *err);
/* Is path a statically linked ELF executable (no program interpreter)? */
bool husk_elf_is_static(const char *path);

#endif
