#define _GNU_SOURCE
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "../util.h"

/* ---- the pure part: records and lines ---- */

static bool digits(const char *p, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return true;
}

/* days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, by eras of
 * 400 years so that leap years need no table) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dim[m - 1];
}

size_t husk_log_parse_time(const char *t, size_t len, uint64_t *ns)
{
	unsigned y, mo, d, h, mi, s, oh, om;
	uint64_t frac = 0;
	size_t i = 19, nd = 0;
	int64_t secs, offset = 0;

	/* strict: the writer's own format (not strptime's leniency, nor its locale) */
	if (len < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
	    !digits(t, 4, &y) || !digits(t + 5, 2, &mo) || !digits(t + 8, 2, &d) || !digits(t + 11, 2, &h) ||
	    !digits(t + 14, 2, &mi) || !digits(t + 17, 2, &s))
		return 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59)
		return 0;
	if (t[i] == '.') {
		for (i++; i < len && t[i] >= '0' && t[i] <= '9'; i++, nd++) {
			if (nd >= 9)
				return 0;
			frac = frac * 10 + (uint64_t)(t[i] - '0');
		}
		if (nd == 0)
			return 0;
		for (size_t k = nd; k < 9; k++)
			frac *= 10;
	}
	if (i < len && t[i] == 'Z') {
		i++;
	} else if (i + 6 <= len && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':' && digits(t + i + 1, 2, &oh) &&
		   digits(t + i + 4, 2, &om) && oh < 24 && om < 60) {
		offset = ((int64_t)oh * 3600 + om * 60) * (t[i] == '+' ? 1 : -1);
		i += 6;
	} else {
		return 0;
	}
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
	if (secs < 0 || (uint64_t)secs > UINT64_MAX / 1000000000ULL - 1)
		return 0;
	*ns = (uint64_t)secs * 1000000000ULL + frac;
	return i;
}

int husk_log_parse_record(const char *line, size_t len, struct husk_log_record *rec, struct husk_err *err)
{
	static const struct {
		const char *name;
		enum husk_log_stream stream;
	} streams[] = {{"stdout", HUSK_LOG_STDOUT}, {"stderr", HUSK_LOG_STDERR}};
	size_t i = husk_log_parse_time(line, len, &rec->ns);
	bool found = false;

	if (i == 0)
		return husk_err_set(err, EINVAL, "no RFC 3339 time at its start");
	if (i >= len || line[i] != ' ')
		return husk_err_set(err, EINVAL, "no space after the time");
	i++;
	for (size_t k = 0; k < ARRAY_SIZE(streams); k++) {
		size_t n = strlen(streams[k].name);
		if (len - i > n && memcmp(line + i, streams[k].name, n) == 0 && line[i + n] == ' ') {
			rec->stream = streams[k].stream;
			i += n + 1;
			found = true;
			break;
		}
	}
	if (!found)
		return husk_err_set(err, EINVAL, "the stream is not stdout or stderr");
	if (i >= len || (line[i] != 'P' && line[i] != 'F'))
		return husk_err_set(err, EINVAL, "the tag is not P or F");
	rec->partial = line[i] == 'P';
	i++;
	/* "... F" with nothing after: an empty line (a writer may drop the space before it) */
	if (i < len && line[i] != ' ')
		return husk_err_set(err, EINVAL, "no space after the tag");
	if (i < len)
		i++;
	rec->text = line + i;
	rec->len = len - i;
	return 0;
}

static void warn_record(struct husk_log_assembler *a, const struct husk_err *why)
{
	struct husk_err w = {0};

	if (!a->warn)
		return;
	husk_err_set(&w, 0, "%s: record %llu: %s: skipped", a->source ? a->source : "log",
		     (unsigned long long)a->record_no, why->msg);
	a->warn(a->warn_arg, &w);
}

/* "2026-11-29T15:04:05.123456789Z ": docker's -t, always 9 digits, UTC */
static size_t format_time(uint64_t ns, char buf[40])
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&secs, &tm);
	return (size_t)snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ ", tm.tm_year + 1900, tm.tm_mon + 1,
				tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long)(ns % 1000000000ULL));
}

static int process_record(struct husk_log_assembler *a, const char *line, size_t len, struct husk_err *err)
{
	struct husk_log_record rec;
	struct husk_err why = {0};

	a->record_no++;
	if (husk_log_parse_record(line, len, &rec, &why) < 0) {
		warn_record(a, &why);
		return 0;
	}
	/* lines are counted and filtered by their first record: the time a line began */
	if (!a->line[rec.stream].open) {
		uint64_t index = a->lines++;
		bool shown = index >= a->skip && (!a->since || rec.ns >= a->since) && (!a->until || rec.ns <= a->until);
		if (a->until && rec.ns > a->until)
			a->past_until = true;
		a->line[rec.stream].open = true;
		a->line[rec.stream].shown = shown;
		if (shown && a->timestamps) {
			char ts[40];
			size_t n = format_time(rec.ns, ts);
			if (a->out(a->out_arg, rec.stream, ts, n) < 0)
				return husk_err_set(err, errno, "write the log");
		}
	}
	if (a->line[rec.stream].shown && rec.len && a->out(a->out_arg, rec.stream, rec.text, rec.len) < 0)
		return husk_err_set(err, errno, "write the log");
	if (!rec.partial) {
		if (a->line[rec.stream].shown && a->out(a->out_arg, rec.stream, "\n", 1) < 0)
			return husk_err_set(err, errno, "write the log");
		a->line[rec.stream].open = false;
	}
	return 0;
}

static void carry_add(struct husk_log_assembler *a, const char *p, size_t n)
{
	if (a->carry_len + n > a->carry_cap) {
		a->carry_cap = a->carry_len + n > 2 * a->carry_cap ? a->carry_len + n : 2 * a->carry_cap;
		a->carry = husk_xrealloc(a->carry, a->carry_cap);
	}
	memcpy(a->carry + a->carry_len, p, n);
	a->carry_len += n;
}

static void overlong(struct husk_log_assembler *a)
{
	struct husk_err why = {0};

	a->record_no++;
	husk_err_set(&why, 0, "longer than %u bytes", HUSK_LOG_RECORD_MAX);
	warn_record(a, &why);
	a->carry_len = 0;
	a->overlong = true;
}

int husk_log_feed(struct husk_log_assembler *a, const char *buf, size_t len, struct husk_err *err)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		if (a->overlong) {
			/* the rest of a record already reported */
			if (nl)
				a->overlong = false;
		} else if (!nl) {
			if (a->carry_len + n > HUSK_LOG_RECORD_MAX)
				overlong(a);
			else
				carry_add(a, buf, n);
		} else if (a->carry_len) {
			if (a->carry_len + n > HUSK_LOG_RECORD_MAX) {
				overlong(a);
				a->overlong = false;
			} else {
				size_t total = a->carry_len + n;
				carry_add(a, buf, n);
				a->carry_len = 0;
				if (process_record(a, a->carry, total, err) < 0)
					return -1;
			}
		} else if (n > HUSK_LOG_RECORD_MAX) {
			overlong(a);
			a->overlong = false;
		} else if (process_record(a, buf, n, err) < 0) {
			return -1;
		}
		if (!nl)
			break;
		buf += n + 1;
		len -= n + 1;
	}
	return 0;
}

int husk_log_end_file(struct husk_log_assembler *a, struct husk_err *err)
{
	size_t n = a->carry_len;

	a->overlong = false;
	if (!n)
		return 0;
	a->carry_len = 0;
	return process_record(a, a->carry, n, err);
}

void husk_log_assembler_free(struct husk_log_assembler *a)
{
	free(a->carry);
	a->carry = NULL;
	a->carry_len = a->carry_cap = 0;
}

/* ---- the files ---- */

/* Output buffered per stream; the other stream's bytes are written first when the stream
 * changes, so that both on one terminal keep the log's order. */
struct writer {
	int fd[2];
	char buf[2][1 << 16];
	size_t len[2];
};

static int writer_flush(struct writer *w, int s)
{
	if (w->len[s] && husk_write_all(w->fd[s], w->buf[s], w->len[s]) < 0)
		return -1;
	w->len[s] = 0;
	return 0;
}

static int writer_out(void *arg, enum husk_log_stream stream, const char *buf, size_t len)
{
	struct writer *w = arg;
	int s = stream == HUSK_LOG_STDERR, other = !s;

	if (w->len[other] && writer_flush(w, other) < 0)
		return -1;
	if (w->len[s] + len > sizeof(w->buf[s]) && writer_flush(w, s) < 0)
		return -1;
	if (len > sizeof(w->buf[s]))
		return husk_write_all(w->fd[s], buf, len);
	memcpy(w->buf[s] + w->len[s], buf, len);
	w->len[s] += len;
	return 0;
}

static int writer_flush_all(struct writer *w, struct husk_err *err)
{
	for (int s = 0; s < 2; s++)
		if (writer_flush(w, s) < 0)
			return husk_err_sys(err, "write the log to %s", s ? "stderr" : "stdout");
	return 0;
}

static int count_out(void *arg, enum husk_log_stream stream, const char *buf, size_t len)
{
	(void)arg, (void)stream, (void)buf, (void)len;
	return 0;
}

/* Feed fd from *off to its end. */
static int feed_fd(struct husk_log_assembler *a, int fd, off_t *off, const char *name, struct husk_err *err)
{
	char buf[1 << 16];

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return husk_err_sys(err, "read %s", name);
		if (n == 0)
			return 0;
		*off += n;
		if (husk_log_feed(a, buf, (size_t)n, err) < 0)
			return -1;
	}
}

/* more rotated files than any max-file a container is given */
#define MAX_ROTATED 256

struct log_files {
	int fds[MAX_ROTATED];        /* oldest first */
	char *names[MAX_ROTATED];
	size_t n;
};

static void log_files_free(struct log_files *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->fds[i] >= 0)
			close(f->fds[i]);
		free(f->names[i]);
	}
	f->n = 0;
}

/* ctr.log.N ... ctr.log.1 opened now: a rotation while they are read then changes nothing.
 * One that rotates while they are opened can show a file twice: the same inode is kept once. */
static int open_rotated(const char *path, struct log_files *f, const struct stat *cur, struct husk_err *err)
{
	struct stat seen[MAX_ROTATED];
	int fds[MAX_ROTATED];
	char *names[MAX_ROTATED];
	size_t n = 0;

	for (unsigned i = 1; i <= MAX_ROTATED && n < MAX_ROTATED; i++) {
		_cleanup_free_ char *name = husk_xasprintf("%s.%u", path, i);
		_cleanup_close_ int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct stat st;
		bool dup = false;

		if (fd < 0) {
			if (errno == ENOENT)
				break;
			for (size_t k = 0; k < n; k++) {
				close(fds[k]);
				free(names[k]);
			}
			return husk_err_sys(err, "open %s", name);
		}
		if (fstat(fd, &st) < 0)
			continue;
		dup = cur && st.st_dev == cur->st_dev && st.st_ino == cur->st_ino;
		for (size_t k = 0; k < n && !dup; k++)
			dup = st.st_dev == seen[k].st_dev && st.st_ino == seen[k].st_ino;
		if (dup)
			continue;
		seen[n] = st;
		fds[n] = steal_fd(&fd);
		names[n++] = steal_pointer(&name);
	}
	for (size_t k = n; k-- > 0;) {
		f->fds[f->n] = fds[k];
		f->names[f->n++] = names[k];
	}
	return 0;
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Read what ctr.log holds now, following a rotation (the file we read renamed away and a new
 * one made: the old one is read to its end first) and a truncation (max-file 1). */
static int drain(struct husk_log_assembler *a, const char *path, int *cur, off_t *off, struct husk_err *err)
{
	for (int rounds = 0; rounds < 64; rounds++) {
		struct stat st;

		if (*cur >= 0 && feed_fd(a, *cur, off, path, err) < 0)
			return -1;
		if (*cur < 0 || !same_file(*cur, path)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0) {
				if (errno == ENOENT)
					return 0;
				return husk_err_sys(err, "open %s", path);
			}
			if (*cur >= 0) {
				if (husk_log_end_file(a, err) < 0) {
					close(fd);
					return -1;
				}
				close(*cur);
			}
			*cur = fd;
			*off = 0;
			continue;
		}
		if (fstat(*cur, &st) == 0 && st.st_size < *off) {
			/* truncated in place: what was kept of a record is gone with it */
			a->carry_len = 0;
			*off = 0;
			continue;
		}
		return 0;
	}
	return 0;
}

static int follow(struct husk_log_assembler *a, struct writer *w, const struct husk_logs_opts *o, int *cur, off_t *off,
		  struct husk_err *err)
{
	_cleanup_free_ char *dir = husk_xstrdup(o->path);
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	/* events only shorten the wait: without inotify, the poll's timeout still comes round */
	if (ino >= 0)
		inotify_add_watch(ino, dirname(dir), IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE);
	for (;;) {
		/* asked before the last read: once the container has stopped, its monitor has
		 * written everything, so the read that follows is the last one needed */
		bool alive = o->running ? o->running(o->running_arg) : false;
		struct pollfd p = {.fd = ino, .events = POLLIN};
		char ev[4096];

		if (drain(a, o->path, cur, off, err) < 0 || writer_flush_all(w, err) < 0)
			return -1;
		if (!alive || a->past_until || (o->until && husk_realtime_ns() > o->until))
			return 0;
		if (poll(&p, 1, 200) < 0 && errno != EINTR)
			return husk_err_sys(err, "wait for the log");
		while (ino >= 0 && read(ino, ev, sizeof(ev)) > 0)
			;
	}
}

int husk_logs_read(const struct husk_logs_opts *o, struct husk_err *err)
{
	struct log_files files = {0};
	_cleanup_free_ struct writer *w = husk_xcalloc(1, sizeof(*w));
	struct husk_log_assembler a = {
		.out = writer_out, .out_arg = w, .warn = o->warn, .warn_arg = o->warn_arg,
		.timestamps = o->timestamps, .since = o->since, .until = o->until,
	};
	_cleanup_close_ int cur = open(o->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat cur_st;
	off_t off = 0;
	int ret = -1;

	w->fd[0] = o->out_fd;
	w->fd[1] = o->err_fd;
	if (cur < 0 && errno != ENOENT)
		return husk_err_sys(err, "open %s", o->path);
	if (cur >= 0 && fstat(cur, &cur_st) < 0)
		return husk_err_sys(err, "stat %s", o->path);
	if (open_rotated(o->path, &files, cur >= 0 ? &cur_st : NULL, err) < 0)
		return -1;

	if (o->tail >= 0) {
		/* a first pass counts the lines; the second shows the last tail of them */
		struct husk_log_assembler count = {.out = count_out, .skip = UINT64_MAX};
		for (size_t i = 0; i <= files.n; i++) {
			int fd = i < files.n ? files.fds[i] : cur;
			off_t o0 = 0;
			if (fd >= 0 && (feed_fd(&count, fd, &o0, i < files.n ? files.names[i] : o->path, err) < 0 ||
					husk_log_end_file(&count, err) < 0)) {
				husk_log_assembler_free(&count);
				goto out;
			}
		}
		husk_log_assembler_free(&count);
		a.skip = count.lines > (uint64_t)o->tail ? count.lines - (uint64_t)o->tail : 0;
	}
	for (size_t i = 0; i < files.n; i++) {
		off_t o0 = 0;
		a.source = files.names[i];
		a.record_no = 0;
		if (feed_fd(&a, files.fds[i], &o0, files.names[i], err) < 0 || husk_log_end_file(&a, err) < 0)
			goto out;
		close(files.fds[i]);
		files.fds[i] = -1;
	}
	a.source = o->path;
	a.record_no = 0;
	if (o->follow) {
		if (follow(&a, w, o, &cur, &off, err) < 0)
			goto out;
	} else if (cur >= 0 && feed_fd(&a, cur, &off, o->path, err) < 0) {
		goto out;
	}
	if (husk_log_end_file(&a, err) < 0 || writer_flush_all(w, err) < 0)
		goto out;
	ret = 0;
out:
	husk_log_assembler_free(&a);
	log_files_free(&files);
	return ret;
}
