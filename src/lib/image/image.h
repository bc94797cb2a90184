/* Images in the store: manifests, configs, the records naming them, and what removes them. */
#ifndef HUSK_IMAGE_H
#define HUSK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../error.h"
#include "digest.h"
#include "store.h"

#define HUSK_MANIFEST_MAX (4u << 20)     /* manifests, indexes and configs are JSON of this size at most */

#define HUSK_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HUSK_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HUSK_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HUSK_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HUSK_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HUSK_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

struct husk_manifest {
	char config[HUSK_DIGEST_LEN + 1];
	size_t n_layers;
	char (*layers)[HUSK_DIGEST_LEN + 1];
};

/* An image manifest (OCI or docker v2 schema 2); layer media types husk cannot unpack
 * (encrypted, foreign) are refused. */
int husk_manifest_parse(const char *text, size_t len, struct husk_manifest *m, struct husk_err *err);
void husk_manifest_free(struct husk_manifest *m);
/* Is this JSON an index / manifest list (1), a manifest (0), or neither (-1, err set)? */
int husk_manifest_kind(json_t *doc, const char *media_type, struct husk_err *err);
/* The manifest of an index for this machine (linux and its architecture); entries without a
 * platform match when they are the only one. */
int husk_index_pick(json_t *index, char digest[HUSK_DIGEST_LEN + 1], struct husk_err *err);
/* This machine's architecture in GOARCH spelling: amd64, arm64, ... */
const char *husk_image_arch(void);

/* Record an image whose manifest, config and layer blobs are in the store: checks them,
 * unpacks the layers and names it (names taken from any image that had them). id gets the
 * image id, the config's digest. */
int husk_image_commit(struct husk_store *s, const char *manifest_digest, const char *const *names, size_t n_names,
		      char id[HUSK_DIGEST_LEN + 1], struct husk_err *err);

/* The record of an image by name (short names as docker resolves them, then localhost/NAME)
 * or by id (a unique prefix of its hex digits, or sha256:...). */
int husk_image_find(json_t *images, const char *text, json_t **record, struct husk_err *err);
/* Look one up in the store; the error for an unknown image says how to get it. */
int husk_image_lookup(struct husk_store *s, const char *text, json_t **record, struct husk_err *err);
int husk_image_tag(struct husk_store *s, const char *source, const char *target, struct husk_err *err);
/* Untag (by name) or delete (by id; force when it has several names). Content no image
 * needs any more goes with it. Fills removed (if given) with what went. */
int husk_image_remove(struct husk_store *s, const char *text, bool force, json_t *removed, struct husk_err *err);
/* Remove unnamed images no container uses, blobs and layers no image uses, and tmp/ litter.
 * Needs the store locked exclusively. */
int husk_image_gc(struct husk_store *s, bool dangling, uint64_t *freed, struct husk_err *err);
/* What `husk image inspect` prints: the record, manifest and config. */
int husk_image_inspect(struct husk_store *s, json_t *record, json_t **out, struct husk_err *err);
/* Bytes the image's layer blobs take. */
uint64_t husk_image_size(struct husk_store *s, json_t *record);

#endif
