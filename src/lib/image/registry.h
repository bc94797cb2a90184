/* husk pull: the OCI distribution API over HTTP(S) with libcurl. */
#ifndef HUSK_REGISTRY_H
#define HUSK_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "../error.h"
#include "digest.h"
#include "store.h"

enum husk_pull_event { HUSK_PULL_START, HUSK_PULL_PROGRESS, HUSK_PULL_EXISTS, HUSK_PULL_DONE };

struct husk_pull_opts {
	/* false: accept any certificate, and fall back to plain HTTP (a local registry);
	 * localhost and 127.0.0.0/8 are always treated so, as docker does */
	bool tls_verify;
	/* called as blobs come: what (config/layer digest), bytes so far, total (0 if unknown) */
	void (*progress)(void *arg, enum husk_pull_event ev, const char *digest, uint64_t done, uint64_t total);
	void *arg;
};

/* Fetch ref's manifest (for this platform), config and layers into the store, each verified
 * against its digest; blobs already there are not fetched again, and a blob a failed pull left
 * half-done resumes with an HTTP range request. name gets the reference the image is recorded
 * under. */
int husk_pull(struct husk_store *s, const char *ref, const struct husk_pull_opts *o, char id[HUSK_DIGEST_LEN + 1],
	      char **name, struct husk_err *err);

/* The parameters of a WWW-Authenticate challenge: scheme "Bearer" with realm, service and
 * scope (malloc'ed; absent ones NULL). Returns -1 for a header it cannot read. */
struct husk_auth_challenge {
	char *scheme, *realm, *service, *scope;
};
int husk_auth_parse(const char *header, struct husk_auth_challenge *c);
void husk_auth_free(struct husk_auth_challenge *c);

#endif
