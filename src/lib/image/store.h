/* The image store: a directory (default /var/lib/husk) holding
 *   blobs/sha256/<hex>   content by digest, verified on every write
 *   layers/<hex>/        a layer blob unpacked once, named by the blob's digest
 *   images.json          image records: id (config digest), manifest digest, names
 *   containers/<id>/     a container's bundle and overlay snapshot (upper, work)
 *   tmp/                 work in progress; renamed into place when complete
 *   lock                 flock: shared while content is added, exclusive to remove any
 * Every change is written to tmp/ and renamed, so a crash at any point leaves the old or the new
 * state, plus litter in tmp/ that the next prune removes. */
#ifndef HUSK_STORE_H
#define HUSK_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "../error.h"
#include "digest.h"

#define HUSK_STORE_DEFAULT "/var/lib/husk"

struct husk_store {
	char *path;
	int dirfd;
	int lock_fd;
};

/* Open (creating it) and lock: shared for adding content and reading, exclusive for removing. */
int husk_store_open(struct husk_store *s, const char *path, bool exclusive, struct husk_err *err);
void husk_store_close(struct husk_store *s);

struct husk_blob_writer {
	struct husk_store *store;
	int fd;
	char tmp[96];               /* name under tmp/ */
	struct husk_sha256 *hash;
	uint64_t size;
};

int husk_blob_begin(struct husk_store *s, struct husk_blob_writer *w, struct husk_err *err);
/* A download that may resume: tmp/<name> is kept (locked, so only one husk fills it) and
 * what it already holds is hashed and counted in size; husk_blob_suspend leaves it for the
 * next attempt. */
int husk_blob_begin_resumable(struct husk_store *s, struct husk_blob_writer *w, const char *name, struct husk_err *err);
void husk_blob_suspend(struct husk_blob_writer *w);
/* Throw away what a resumable writer holds and start from nothing. */
int husk_blob_restart(struct husk_blob_writer *w, struct husk_err *err);
int husk_blob_write(struct husk_blob_writer *w, const void *buf, size_t len, struct husk_err *err);
/* Verify (against expected, when given), fsync, and move into blobs/; digest gets the digest.
 * The writer is finished either way. */
int husk_blob_commit(struct husk_blob_writer *w, const char *expected, char digest[HUSK_DIGEST_LEN + 1],
		     struct husk_err *err);
void husk_blob_abort(struct husk_blob_writer *w);
int husk_blob_put(struct husk_store *s, const void *buf, size_t len, char digest[HUSK_DIGEST_LEN + 1],
		  struct husk_err *err);
bool husk_blob_exists(struct husk_store *s, const char *digest);
int husk_blob_open(struct husk_store *s, const char *digest, struct husk_err *err);
/* A small blob (manifest, config: at most max bytes) read whole and checked against its digest. */
int husk_blob_read(struct husk_store *s, const char *digest, size_t max, char **out, size_t *len,
		   struct husk_err *err);
int64_t husk_blob_size(struct husk_store *s, const char *digest);

/* Unpack a layer blob into layers/<hex> unless it is there. */
int husk_store_layer_ensure(struct husk_store *s, const char *digest, struct husk_err *err);
/* An O_PATH fd of layers/<hex>. */
int husk_store_layer_open(struct husk_store *s, const char *digest, struct husk_err *err);

/* The image records, a JSON array of {id, manifest, names[], created}. */
int husk_store_images_load(struct husk_store *s, json_t **images, struct husk_err *err);
/* Read-modify-write the records under their own lock; fn changes the array in place and may
 * fail (then nothing is written). The store's files are synced before the new records land, so
 * a record never points at content a crash could lose. */
typedef int (*husk_images_edit_fn)(json_t *images, void *arg, struct husk_err *err);
int husk_store_images_edit(struct husk_store *s, husk_images_edit_fn fn, void *arg, struct husk_err *err);

#endif
