/* husk logs: a container's output read back from its CRI-format log (engine-design.md):
 *
 *   2026-11-29T15:04:05.123456789Z stdout F text
 *
 * one record a line; `P` records are parts of a line that the following records of the same
 * stream continue, up to the `F` that ends it. Rotated files (ctr.log.N oldest ... ctr.log.1)
 * come before ctr.log.
 *
 * The parsing is pure (husk_log_parse_record, husk_log_feed: buffers in, callbacks out, no
 * syscall) so that it can be unit-tested and fuzzed; husk_logs_read does the files. */
#ifndef HUSK_ENGINE_LOGS_H
#define HUSK_ENGINE_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../error.h"

enum husk_log_stream { HUSK_LOG_STDOUT, HUSK_LOG_STDERR };

/* One record, its text pointing into the parsed buffer. */
struct husk_log_record {
	uint64_t ns;                 /* UTC, nanoseconds since the epoch */
	enum husk_log_stream stream;
	bool partial;                /* P: the line goes on in the next record of this stream */
	const char *text;
	size_t len;
};

/* One record (without its '\n'); -1 with err (EINVAL, saying what is wrong) if malformed. */
int husk_log_parse_record(const char *line, size_t len, struct husk_log_record *rec, struct husk_err *err);
/* The RFC 3339 time at the start of text (9 digits of fraction at most, Z or ±HH:MM): its
 * length, or 0 when there is none. */
size_t husk_log_parse_time(const char *text, size_t len, uint64_t *ns);

/* Longest record kept whole; a longer one is skipped with a warning (the relay writes
 * records of 16 KiB at most: a longer one is not husk's). */
#define HUSK_LOG_RECORD_MAX (1u << 20)

/* Output of the assembler: bytes of stream (text, the timestamp prefix, the '\n'). */
typedef int (*husk_log_out_fn)(void *arg, enum husk_log_stream stream, const char *buf, size_t len);

/* Records → lines. Set the fields marked "in", zero the rest; free with husk_log_assembler_free. */
struct husk_log_assembler {
	husk_log_out_fn out;         /* in */
	void *out_arg;               /* in */
	husk_warn_fn warn;           /* in: malformed records (skipped) */
	void *warn_arg;              /* in */
	const char *source;          /* in: named in warnings (the file) */
	bool timestamps;             /* in: prefix each line with its time and a space */
	uint64_t skip;               /* in: lines before this index are not output (--tail) */
	uint64_t since, until;       /* in: lines outside [since, until] (ns, 0: no bound) are not output */
	uint64_t lines;              /* out: lines begun so far (an unfinished one counts) */
	bool past_until;             /* out: a line later than until was seen */
	uint64_t record_no;          /* the record being read in source, from 1 */
	struct {
		bool open;           /* a P record began a line that is not ended yet */
		bool shown;          /* and it is being output */
	} line[2];
	char *carry;                 /* an unterminated record at the end of the last buffer */
	size_t carry_len, carry_cap;
	bool overlong;               /* skipping the rest of a record longer than the maximum */
};

/* Feed the next bytes of the log; complete records are processed, an incomplete one is kept
 * for the next call. -1 only when out fails (its err). */
int husk_log_feed(struct husk_log_assembler *a, const char *buf, size_t len, struct husk_err *err);
/* The end of a file: an unterminated last record is taken as it is. Lines left open stay
 * open (the next file may go on with them). */
int husk_log_end_file(struct husk_log_assembler *a, struct husk_err *err);
void husk_log_assembler_free(struct husk_log_assembler *a);

struct husk_logs_opts {
	const char *path;            /* ctr.log; its rotated files are path.1 .. path.N */
	int out_fd, err_fd;          /* where stdout's and stderr's lines go */
	bool follow, timestamps;
	int64_t tail;                /* the last N lines only; < 0: all */
	uint64_t since, until;       /* ns, 0: no bound */
	/* follow: the container may still write; once false, what is there is read and it ends */
	bool (*running)(void *arg);
	void *running_arg;
	husk_warn_fn warn;
	void *warn_arg;
};

/* Print the log (and with follow, what is appended, across rotations, until running() says
 * the container stopped and all is read). A missing log is an empty one. */
int husk_logs_read(const struct husk_logs_opts *o, struct husk_err *err);

#endif
