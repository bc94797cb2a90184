/* libarchive, libcurl, libnftables and libcrypto, loaded on first use. Linked normally they cost every
 * husk start ~6 ms (51 shared objects: curl alone brings 30, among them gnutls, krb5, ldap and
 * ICU through libarchive's libxml2), which `husk-oci create` and `husk run` would pay without
 * touching an archive, a registry or a published port. Each function here has the library's
 * own name and prototype (the headers check it), so callers are unchanged; the first call
 * dlopen()s the library and looks the symbol up. The packages are build dependencies: a
 * library that cannot be loaded ends husk with the loader's reason, as the dynamic linker
 * would have at start. */
#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <nftables/libnftables.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum lazy_lib { LAZY_ARCHIVE, LAZY_CURL, LAZY_NFTABLES, LAZY_CRYPTO };

static const char *const sonames[] = {
	[LAZY_ARCHIVE] = "libarchive.so.13",
	[LAZY_CURL] = "libcurl.so.4",
	[LAZY_NFTABLES] = "libnftables.so.1",
	[LAZY_CRYPTO] = "libcrypto.so.3",
};

static void *lazy_sym(enum lazy_lib lib, const char *name)
{
	static void *handles[sizeof(sonames) / sizeof(sonames[0])];
	void *sym;

	if (!handles[lib]) {
		handles[lib] = dlopen(sonames[lib], RTLD_NOW | RTLD_LOCAL);
		if (!handles[lib]) {
			fprintf(stderr, "husk: cannot load %s: %s\n", sonames[lib], dlerror());
			_exit(127);
		}
	}
	sym = dlsym(handles[lib], name);
	if (!sym) {
		fprintf(stderr, "husk: %s has no %s: %s\n", sonames[lib], name, dlerror());
		_exit(127);
	}
	return sym;
}

/* ret name(params) { return real(args); }, the real one looked up once */
#define LAZY(lib, ret, name, params, args) \
	ret name params \
	{ \
		static ret(*real) params; \
		if (!real) \
			real = (ret(*) params)lazy_sym(lib, #name); \
		return real args; \
	}
#define LAZY_VOID(lib, name, params, args) \
	void name params \
	{ \
		static void(*real) params; \
		if (!real) \
			real = (void(*) params)lazy_sym(lib, #name); \
		real args; \
	}

LAZY(LAZY_ARCHIVE, mode_t, archive_entry_filetype, (struct archive_entry *a0), (a0))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_free, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, la_int64_t, archive_entry_gid, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, const char *, archive_entry_hardlink, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, time_t, archive_entry_mtime, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, long int, archive_entry_mtime_nsec, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, struct archive_entry *, archive_entry_new, (void), ())
LAZY(LAZY_ARCHIVE, const char *, archive_entry_pathname, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, mode_t, archive_entry_perm, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, dev_t, archive_entry_rdev, (struct archive_entry *a0), (a0))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_filetype, (struct archive_entry *a0, unsigned int a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_gid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_mtime, (struct archive_entry *a0, time_t a1, long int a2), (a0, a1, a2))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_rdev, (struct archive_entry *a0, dev_t a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_perm, (struct archive_entry *a0, mode_t a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_size, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
LAZY_VOID(LAZY_ARCHIVE, archive_entry_set_uid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
LAZY(LAZY_ARCHIVE, la_int64_t, archive_entry_size, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, const char *, archive_entry_symlink, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, la_int64_t, archive_entry_uid, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_entry_xattr_next, (struct archive_entry *a0, const char **a1, const void **a2, size_t *a3), (a0, a1, a2, a3))
LAZY(LAZY_ARCHIVE, int, archive_entry_xattr_reset, (struct archive_entry *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_errno, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, const char *, archive_error_string, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, la_ssize_t, archive_read_data, (struct archive *a0, void *a1, size_t a2), (a0, a1, a2))
LAZY(LAZY_ARCHIVE, int, archive_read_data_block, (struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
LAZY(LAZY_ARCHIVE, int, archive_read_free, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, struct archive *, archive_read_new, (void), ())
LAZY(LAZY_ARCHIVE, int, archive_read_next_header, (struct archive *a0, struct archive_entry **a1), (a0, a1))
LAZY(LAZY_ARCHIVE, int, archive_read_open_fd, (struct archive *a0, int a1, size_t a2), (a0, a1, a2))
LAZY(LAZY_ARCHIVE, int, archive_read_support_filter_all, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_read_support_format_raw, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_read_support_format_tar, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_write_close, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, la_ssize_t, archive_write_data, (struct archive *a0, const void *a1, size_t a2), (a0, a1, a2))
LAZY(LAZY_ARCHIVE, int, archive_write_free, (struct archive *a0), (a0))
LAZY(LAZY_ARCHIVE, int, archive_write_header, (struct archive *a0, struct archive_entry *a1), (a0, a1))
LAZY(LAZY_ARCHIVE, struct archive *, archive_write_new, (void), ())
LAZY(LAZY_ARCHIVE, int, archive_write_open_fd, (struct archive *a0, int a1), (a0, a1))
LAZY(LAZY_ARCHIVE, int, archive_write_open2, (struct archive *a0, void *a1, archive_open_callback (*a2), archive_write_callback (*a3), archive_close_callback (*a4), archive_free_callback (*a5)), (a0, a1, a2, a3, a4, a5))
LAZY(LAZY_ARCHIVE, int, archive_write_set_bytes_in_last_block, (struct archive *a0, int a1), (a0, a1))
LAZY(LAZY_ARCHIVE, int, archive_write_set_format_pax_restricted, (struct archive *a0), (a0))
LAZY_VOID(LAZY_CURL, curl_easy_cleanup, (CURL *a0), (a0))
LAZY(LAZY_CURL, char *, curl_easy_escape, (CURL *a0, const char *a1, int a2), (a0, a1, a2))
LAZY(LAZY_CURL, CURL *, curl_easy_init, (void), ())
LAZY(LAZY_CURL, CURLcode, curl_easy_perform, (CURL *a0), (a0))
LAZY_VOID(LAZY_CURL, curl_easy_reset, (CURL *a0), (a0))
LAZY(LAZY_CURL, const char *, curl_easy_strerror, (CURLcode a0), (a0))
LAZY_VOID(LAZY_CURL, curl_free, (void *a0), (a0))
LAZY(LAZY_CURL, CURLcode, curl_global_init, (long int a0), (a0))
LAZY(LAZY_CURL, struct curl_slist *, curl_slist_append, (struct curl_slist *a0, const char *a1), (a0, a1))
LAZY_VOID(LAZY_CURL, curl_slist_free_all, (struct curl_slist *a0), (a0))
LAZY(LAZY_NFTABLES, int, nft_ctx_buffer_error, (struct nft_ctx *a0), (a0))
LAZY(LAZY_NFTABLES, int, nft_ctx_buffer_output, (struct nft_ctx *a0), (a0))
LAZY_VOID(LAZY_NFTABLES, nft_ctx_free, (struct nft_ctx *a0), (a0))
LAZY(LAZY_NFTABLES, const char *, nft_ctx_get_error_buffer, (struct nft_ctx *a0), (a0))
LAZY(LAZY_NFTABLES, const char *, nft_ctx_get_output_buffer, (struct nft_ctx *a0), (a0))
LAZY(LAZY_NFTABLES, struct nft_ctx *, nft_ctx_new, (uint32_t a0), (a0))
LAZY_VOID(LAZY_NFTABLES, nft_ctx_output_set_flags, (struct nft_ctx *a0, unsigned int a1), (a0, a1))
LAZY(LAZY_NFTABLES, int, nft_run_cmd_from_buffer, (struct nft_ctx *a0, const char *a1), (a0, a1))

/* curl's two variadic calls take one argument after the option: a long, a curl_off_t, a
 * pointer or a function pointer, all passed alike in an integer register on LP64 targets */
_Static_assert(sizeof(long) == sizeof(void *) && sizeof(curl_off_t) == sizeof(void *), "LP64 only");

#define LAZY_CURL_ONE_ARG(name, kind_type, kind) \
	CURLcode name(CURL *curl, kind_type kind, ...) \
	{ \
		static CURLcode (*real)(CURL *, kind_type, ...); \
		va_list ap; \
		void *arg; \
		if (!real) \
			real = (CURLcode(*)(CURL *, kind_type, ...))lazy_sym(LAZY_CURL, #name); \
		va_start(ap, kind); \
		arg = va_arg(ap, void *); \
		va_end(ap); \
		return real(curl, kind, arg); \
	}
LAZY_CURL_ONE_ARG(curl_easy_setopt, CURLoption, option)
LAZY_CURL_ONE_ARG(curl_easy_getinfo, CURLINFO, info)

/* libcrypto: image digests (digest.c), and SHA-256 where the kernel has no AF_ALG (sha256.c).
 * Linked normally it cost every husk process ~1 ms of relocations. */
LAZY(LAZY_CRYPTO, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
LAZY_VOID(LAZY_CRYPTO, EVP_MD_CTX_free, (EVP_MD_CTX *a0), (a0))
LAZY(LAZY_CRYPTO, const EVP_MD *, EVP_sha256, (void), ())
LAZY(LAZY_CRYPTO, int, EVP_DigestInit_ex, (EVP_MD_CTX *a0, const EVP_MD *a1, ENGINE *a2), (a0, a1, a2))
LAZY(LAZY_CRYPTO, int, EVP_DigestUpdate, (EVP_MD_CTX *a0, const void *a1, size_t a2), (a0, a1, a2))
LAZY(LAZY_CRYPTO, int, EVP_DigestFinal_ex, (EVP_MD_CTX *a0, unsigned char *a1, unsigned int *a2), (a0, a1, a2))
LAZY(LAZY_CRYPTO, int, EVP_Digest, (const void *a0, size_t a1, unsigned char *a2, unsigned int *a3, const EVP_MD *a4, ENGINE *a5), (a0, a1, a2, a3, a4, a5))
