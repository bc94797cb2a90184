/* husk error object: every failing library call fills one and returns -1. */
#ifndef HUSK_ERROR_H
#define HUSK_ERROR_H

#include <stddef.h>

#define HUSK_ERR_MSG_MAX 1024

struct husk_err {
	int errnum;                  /* errno of the failing call, 0 if not a system error */
	char msg[HUSK_ERR_MSG_MAX];  /* what was attempted, on which path or value */
};

/* Set err (if not already set) and return -1. errnum 0 means "no strerror part". */
int husk_err_set(struct husk_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like husk_err_set with errnum = errno. */
#define husk_err_sys(err, ...) husk_err_set((err), errno, __VA_ARGS__)

/* Prefix an existing message with more context: "ctx: old message". */
int husk_err_wrap(struct husk_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "message: strerror" or just "message". */
const char *husk_err_format(const struct husk_err *err, char *buf, size_t len);

void husk_err_clear(struct husk_err *err);

/* Where the library reports what it let pass with a warning (the command line prints it and
 * writes it to --log). arg is the caller's. */
typedef void (*husk_warn_fn)(void *arg, const struct husk_err *warning);

/* Pass src on into dst (which may be NULL, or set already: then it keeps its own); -1. */
int husk_err_copy(struct husk_err *dst, const struct husk_err *src);

#endif
