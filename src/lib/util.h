/* Small helpers shared by the library: cleanup attributes, fd and file helpers. */
#ifndef HUSK_UTIL_H
#define HUSK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <errno.h>

#include "error.h"

static inline void husk_freep(void *p) { free(*(void **)p); }
static inline void husk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void husk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(husk_freep)))
#define _cleanup_close_ __attribute__((cleanup(husk_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(husk_fclosep)))

/* Hand ownership on: the cleanup attribute then sees NULL / -1. */
#define steal_pointer(pp) ({ __typeof__(*(pp)) _p = *(pp); *(pp) = NULL; _p; })
#define steal_fd(fdp) ({ int _fd = *(fdp); *(fdp) = -1; _fd; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *husk_xmalloc(size_t n);
void *husk_xcalloc(size_t n, size_t size);
void *husk_xrealloc(void *p, size_t n);
char *husk_xstrdup(const char *s);
char *husk_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of buf at dirfd/path (O_WRONLY|O_TRUNC, must exist). */
int husk_write_file_at(int dirfd, const char *path, const char *buf, size_t len, struct husk_err *err);
/* Write whole buffer to an open fd. */
int husk_write_all(int fd, const void *buf, size_t len);
/* Read all of fd (NUL terminated) into *out; -1 with errno. */
int husk_read_fd(int fd, char **out, size_t *len);
/* Read a whole file (NUL terminated) into *out. */
int husk_read_file_at(int dirfd, const char *path, char **out, size_t *len, struct husk_err *err);
/* Write a file atomically: temporary in the same directory + fsync-less rename. */
int husk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode, struct husk_err *err);
/* mkdir -p for host paths husk owns (state dir, cgroups). */
int husk_mkdir_p(const char *path, mode_t mode, struct husk_err *err);

/* rm -rf of name in dirfd, never following symlinks; a missing name is not an error. */
int husk_rmtree_at(int dirfd, const char *name, struct husk_err *err);

/* Monotonic clock in nanoseconds. */
uint64_t husk_now_ns(void);

/* Field 22 of /proc/PID/stat (start time in clock ticks) and its state letter;
 * 0 when the process does not exist. */
unsigned long long husk_proc_start_time(pid_t pid, char *state);

#endif
