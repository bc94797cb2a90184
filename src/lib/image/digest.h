/* sha256 content digests ("sha256:<64 hex>"), the names of everything in the image store. */
#ifndef HUSK_DIGEST_H
#define HUSK_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "../error.h"

#define HUSK_DIGEST_LEN (7 + 64)     /* "sha256:" + hex */

struct husk_sha256;

struct husk_sha256 *husk_sha256_new(void);
void husk_sha256_update(struct husk_sha256 *h, const void *buf, size_t len);
/* Finish into out ("sha256:<hex>", HUSK_DIGEST_LEN + 1 bytes) and free h. */
void husk_sha256_final(struct husk_sha256 *h, char out[HUSK_DIGEST_LEN + 1]);
void husk_sha256_free(struct husk_sha256 *h);
void husk_sha256_buf(const void *buf, size_t len, char out[HUSK_DIGEST_LEN + 1]);

/* A digest husk can name a file after: "sha256:" and 64 lowercase hex digits (other algorithms
 * are refused rather than trusted unverified). */
bool husk_digest_valid(const char *digest);
int husk_digest_check(const char *digest, const char *what, struct husk_err *err);
/* The hex part of a valid digest. */
static inline const char *husk_digest_hex(const char *digest) { return digest + 7; }

#endif
