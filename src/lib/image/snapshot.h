/* A container's root filesystem from an image: overlayfs with the image's layers as lower
 * directories and the container's own upper and work directories under containers/<id>/. It is
 * made as a detached mount (fsmount): the container's init attaches it in its own mount
 * namespace, so the host's mount table never holds it and nothing is left mounted if husk dies. */
#ifndef HUSK_SNAPSHOT_H
#define HUSK_SNAPSHOT_H

#include "../error.h"
#include "store.h"

/* containers/<id>/ with upper/, work/, rootfs/ and the file image (the manifest digest, which
 * keeps the image's content from being pruned while the container exists). */
int husk_snapshot_create(struct husk_store *s, const char *id, const char *manifest_digest, struct husk_err *err);
/* The overlay, as a detached mount fd (its root directory). */
int husk_snapshot_mount(struct husk_store *s, const char *id, struct husk_err *err);
int husk_snapshot_remove(struct husk_store *s, const char *id, struct husk_err *err);

#endif
