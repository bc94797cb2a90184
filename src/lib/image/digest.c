#define _GNU_SOURCE
#include "digest.h"
#include "../sha256.h"

#include <errno.h>
#include <string.h>
#include <openssl/evp.h>

#include "../util.h"

struct husk_sha256 {
	EVP_MD_CTX *ctx;
};

struct husk_sha256 *husk_sha256_new(void)
{
	struct husk_sha256 *h = husk_xmalloc(sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		/* only allocation fails here */
		fputs("husk: cannot initialise sha256\n", stderr);
		abort();
	}
	return h;
}

void husk_sha256_update(struct husk_sha256 *h, const void *buf, size_t len)
{
	EVP_DigestUpdate(h->ctx, buf, len);
}

static void format_digest(const unsigned char md[32], char out[HUSK_DIGEST_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[HUSK_DIGEST_LEN] = '\0';
}

void husk_sha256_final(struct husk_sha256 *h, char out[HUSK_DIGEST_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	format_digest(md, out);
	husk_sha256_free(h);
}

void husk_sha256_free(struct husk_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void husk_sha256_buf(const void *buf, size_t len, char out[HUSK_DIGEST_LEN + 1])
{
	unsigned char md[HUSK_SHA256_LEN];

	/* a manifest or config read to run a container: the kernel's hash, no libcrypto to load */
	if (husk_sha256(buf, len, md) == 0) {
		format_digest(md, out);
		return;
	}
	struct husk_sha256 *h = husk_sha256_new();
	husk_sha256_update(h, buf, len);
	husk_sha256_final(h, out);
}

bool husk_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != HUSK_DIGEST_LEN)
		return false;
	for (const char *p = digest + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int husk_digest_check(const char *digest, const char *what, struct husk_err *err)
{
	if (husk_digest_valid(digest))
		return 0;
	return husk_err_set(err, EINVAL, "%s: \"%s\" is not a sha256 digest (sha256:<64 hex digits>)", what,
			    digest ? digest : "(none)");
}
