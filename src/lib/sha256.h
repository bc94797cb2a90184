/* SHA-256 of a buffer through the kernel's crypto API (AF_ALG), which costs a socket and no
 * library: husk's start-up does not load libcrypto (4 MB, ~1 ms of relocations for every husk
 * process) to hash a seccomp profile into its cache key. Kernels without AF_ALG hashing
 * (CONFIG_CRYPTO_USER_API_HASH off) get OpenSSL's, loaded then (lazylib.c). */
#ifndef HUSK_SHA256_H
#define HUSK_SHA256_H

#include <stddef.h>

#define HUSK_SHA256_LEN 32

/* 0, or -1 (errno set) when neither way works. */
int husk_sha256(const void *buf, size_t len, unsigned char out[HUSK_SHA256_LEN]);

#endif
