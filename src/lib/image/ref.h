/* Image references as docker spells them: [REGISTRY[:PORT]/]REPOSITORY[:TAG][@DIGEST].
 * Short names are Docker Hub's: busybox is docker.io/library/busybox:latest. */
#ifndef HUSK_REF_H
#define HUSK_REF_H

#include <stdbool.h>

#include "../error.h"

struct husk_ref {
	char *domain;                /* docker.io, localhost, 127.0.0.1:5000 */
	char *repository;            /* library/busybox */
	char *tag;                   /* latest when neither tag nor digest was given */
	char *digest;                /* or NULL */
	bool explicit_domain;        /* the name said where it lives */
};

int husk_ref_parse(const char *text, struct husk_ref *ref, struct husk_err *err);
void husk_ref_free(struct husk_ref *ref);
/* "docker.io/library/busybox:latest" or "...@sha256:..." (malloc'ed) */
char *husk_ref_string(const struct husk_ref *ref);
/* Where the registry API of domain is: registry-1.docker.io for docker.io. */
const char *husk_ref_api_host(const struct husk_ref *ref);

/* The name an image made on this machine gets (import, tag, bootstrap): as given when it
 * names a registry, else under localhost/ (busybox -> localhost/busybox:latest), as podman does. */
char *husk_ref_local_name(const char *text, struct husk_err *err);

#endif
