#define _GNU_SOURCE
/* Unit tests: husk logs' reading of CRI-format logs (src/lib/engine/logs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/engine/logs.h"
#include "lib/util.h"

/* ---- the assembler, on text ---- */

struct capture {
	char out[2][8192];
	size_t len[2];
	char order[256];             /* the stream of each output call: 'o' or 'e' */
	size_t n_order;
	int warnings;
	char last_warning[HUSK_ERR_MSG_MAX];
};

static int cap_out(void *arg, enum husk_log_stream s, const char *buf, size_t len)
{
	struct capture *c = arg;
	assert_true(c->len[s] + len < sizeof(c->out[s]));
	memcpy(c->out[s] + c->len[s], buf, len);
	c->len[s] += len;
	c->out[s][c->len[s]] = '\0';
	if (c->n_order < sizeof(c->order) - 1)
		c->order[c->n_order++] = s == HUSK_LOG_STDOUT ? 'o' : 'e';
	return 0;
}

static void cap_warn(void *arg, const struct husk_err *w)
{
	struct capture *c = arg;
	c->warnings++;
	snprintf(c->last_warning, sizeof(c->last_warning), "%s", w->msg);
}

static void assemble(struct capture *c, const char *text, size_t chunk, void (*set)(struct husk_log_assembler *))
{
	struct husk_log_assembler a = {.out = cap_out, .out_arg = c, .warn = cap_warn, .warn_arg = c, .source = "t.log"};
	struct husk_err err = {0};
	size_t len = strlen(text);

	if (set)
		set(&a);
	for (size_t i = 0; i < len; i += chunk)
		assert_int_equal(husk_log_feed(&a, text + i, len - i < chunk ? len - i : chunk, &err), 0);
	assert_int_equal(husk_log_end_file(&a, &err), 0);
	husk_log_assembler_free(&a);
}

static const char joined[] =
	"2026-11-29T15:04:05.000000001Z stdout P hel\n"
	"2026-11-29T15:04:05.000000002Z stderr F oops\n"
	"2026-11-29T15:04:05.000000003Z stdout P lo \n"
	"2026-11-29T15:04:05.000000004Z stdout F world\n"
	"2026-11-29T15:04:05.000000005Z stdout F \n"
	"2026-11-29T15:04:05.000000006Z stdout F\n"
	"2026-11-29T15:04:06Z stdout P no end";

static void test_join_parts(void **state)
{
	(void)state;
	/* whole, and cut at every possible place (records split across reads) */
	for (size_t chunk = 1; chunk <= sizeof(joined); chunk++) {
		struct capture c = {0};
		assemble(&c, joined, chunk, NULL);
		assert_string_equal(c.out[HUSK_LOG_STDOUT], "hello world\n\n\nno end");
		assert_string_equal(c.out[HUSK_LOG_STDERR], "oops\n");
		assert_int_equal(c.warnings, 0);
	}
}

static void set_timestamps(struct husk_log_assembler *a) { a->timestamps = true; }

static void test_timestamps(void **state)
{
	struct capture c = {0};
	(void)state;
	assemble(&c,
		 "2026-11-29T15:04:05.1Z stdout P a\n"
		 "2026-11-29T15:04:09Z stdout F b\n"
		 "2026-11-29T16:04:05.123456789+01:00 stderr F c\n",
		 4096, set_timestamps);
	/* one prefix per line, the time of its first part, in UTC with 9 digits */
	assert_string_equal(c.out[HUSK_LOG_STDOUT], "2026-11-29T15:04:05.100000000Z ab\n");
	assert_string_equal(c.out[HUSK_LOG_STDERR], "2026-11-29T15:04:05.123456789Z c\n");
}

static const char ten[] =
	"2026-01-01T00:00:01Z stdout F 1\n"
	"2026-01-01T00:00:02Z stderr F 2\n"
	"2026-01-01T00:00:03Z stdout P 3\n"
	"2026-01-01T00:00:04Z stdout F 3\n"
	"2026-01-01T00:00:05Z stdout F 4\n"
	"2026-01-01T00:00:06Z stderr F 5\n"
	"2026-01-01T00:00:07Z stdout F 6\n";

static void set_skip4(struct husk_log_assembler *a) { a->skip = 4; }

static void test_tail_skip(void **state)
{
	struct capture c = {0};
	(void)state;
	assemble(&c, ten, 4096, set_skip4);
	assert_string_equal(c.out[HUSK_LOG_STDOUT], "6\n");
	assert_string_equal(c.out[HUSK_LOG_STDERR], "5\n");
	/* counted in lines, not records */
	struct husk_log_assembler a = {.out = cap_out, .out_arg = &c, .skip = UINT64_MAX};
	struct husk_err err = {0};
	assert_int_equal(husk_log_feed(&a, ten, strlen(ten), &err), 0);
	assert_int_equal(a.lines, 6);
	husk_log_assembler_free(&a);
}

static void set_since_until(struct husk_log_assembler *a)
{
	a->since = 1767225603ULL * 1000000000ULL;  /* 2026-01-01T00:00:03Z */
	a->until = 1767225605ULL * 1000000000ULL;  /* ...:05Z */
}

static void test_since_until(void **state)
{
	struct capture c = {0};
	(void)state;
	assemble(&c, ten, 4096, set_since_until);
	/* the P/F line of 00:03 and 00:04 is one line of 00:03: in */
	assert_string_equal(c.out[HUSK_LOG_STDOUT], "33\n4\n");
	assert_string_equal(c.out[HUSK_LOG_STDERR], "");
}

static void test_streams_in_order(void **state)
{
	struct capture c = {0};
	(void)state;
	assemble(&c, ten, 4096, NULL);
	assert_string_equal(c.out[HUSK_LOG_STDOUT], "1\n33\n4\n6\n");
	assert_string_equal(c.out[HUSK_LOG_STDERR], "2\n5\n");
	/* 1 \n, 2 \n, 3 3 \n 4 \n, 5 \n, 6 \n: each piece in the log's order */
	assert_string_equal(c.order, "ooeeoooooeeoo");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"garbage",
		"2026-11-29T15:04:05Z stdin F x",
		"2026-11-29T15:04:05Z stdout X x",
		"2026-11-29T15:04:05Z stdout Fx",
		"2026-11-29T15:04:05Zstdout F x",
		"2026-11-29 15:04:05Z stdout F x",
		"2026-13-29T15:04:05Z stdout F x",
		"2026-02-30T15:04:05Z stdout F x",
		"2026-11-29T15:04:05.Z stdout F x",
		"2026-11-29T15:04:05.1234567890Z stdout F x",
		"2026-11-29T15:04:05+0100 stdout F x",
		"1969-12-31T23:59:59Z stdout F x",
		"2026-11-29T15:04:05Z stdout",
		"2026-11-29T15:04:05Z stdout ",
		"",
		"\0\0\0",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct capture c = {0};
		char text[256];
		snprintf(text, sizeof(text), "2026-11-29T15:04:05Z stdout F a\n%s\n2026-11-29T15:04:05Z stdout F b\n", bad[i]);
		assemble(&c, text, 4096, NULL);
		assert_string_equal(c.out[HUSK_LOG_STDOUT], "a\nb\n");
		assert_int_equal(c.warnings, 1);
		assert_non_null(strstr(c.last_warning, "t.log: record 2: "));
	}
}

static void test_overlong(void **state)
{
	size_t big = HUSK_LOG_RECORD_MAX + 100;
	_cleanup_free_ char *text = husk_xmalloc(big + 200);
	struct capture c = {0};
	int n;
	(void)state;
	n = sprintf(text, "2026-11-29T15:04:05Z stdout F ");
	memset(text + n, 'x', big);
	sprintf(text + n + big, "\n2026-11-29T15:04:05Z stdout F after\n");
	assemble(&c, text, 65536, NULL);
	assert_string_equal(c.out[HUSK_LOG_STDOUT], "after\n");
	assert_int_equal(c.warnings, 1);
	assert_non_null(strstr(c.last_warning, "longer than"));
}

static void test_parse_record(void **state)
{
	struct husk_log_record r;
	struct husk_err err = {0};
	const char *line = "1970-01-01T00:00:01.5Z stderr P  two spaces";
	(void)state;
	assert_int_equal(husk_log_parse_record(line, strlen(line), &r, &err), 0);
	assert_int_equal(r.ns, 1500000000ULL);
	assert_int_equal(r.stream, HUSK_LOG_STDERR);
	assert_true(r.partial);
	assert_int_equal(r.len, strlen(" two spaces"));
	assert_memory_equal(r.text, " two spaces", r.len);
	uint64_t ns;
	assert_int_equal(husk_log_parse_time("2000-02-29T00:00:00-00:30", 25, &ns), 25);
	assert_int_equal(ns, 951784200ULL * 1000000000ULL);
	assert_int_equal(husk_log_parse_time("2001-02-29T00:00:00Z", 20, &ns), 0);
}

/* ---- the files ---- */

struct files {
	char dir[64];
	char path[128];
	int out, err;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_back(int fd)
{
	char *text;
	size_t len;
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(husk_read_fd(fd, &text, &len), 0);
	return text;
}

static void files_setup(struct files *f)
{
	strcpy(f->dir, "/tmp/husk-test-logs.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ctr.log", f->dir);
	f->out = memfd_create("out", MFD_CLOEXEC);
	f->err = memfd_create("err", MFD_CLOEXEC);
	assert_true(f->out >= 0 && f->err >= 0);
}

static void files_teardown(struct files *f)
{
	struct husk_err err = {0};
	close(f->out);
	close(f->err);
	assert_int_equal(husk_rmtree_at(AT_FDCWD, f->dir, &err), 0);
}

static void test_rotated_order(void **state)
{
	struct files f;
	char name[160];
	struct husk_err err = {0};
	(void)state;

	files_setup(&f);
	snprintf(name, sizeof(name), "%s.3", f.path);
	write_file(name, "2026-01-01T00:00:01Z stdout F one\n2026-01-01T00:00:01Z stdout P tw\n");
	snprintf(name, sizeof(name), "%s.2", f.path);
	write_file(name, "2026-01-01T00:00:02Z stdout F o\n2026-01-01T00:00:02Z stderr F e1\n");
	snprintf(name, sizeof(name), "%s.1", f.path);
	write_file(name, "2026-01-01T00:00:03Z stdout F three\n");
	write_file(f.path, "2026-01-01T00:00:04Z stdout F four\n2026-01-01T00:00:05Z stderr F e2\n");

	struct husk_logs_opts o = {.path = f.path, .out_fd = f.out, .err_fd = f.err, .tail = -1};
	assert_int_equal(husk_logs_read(&o, &err), 0);
	_cleanup_free_ char *out = read_back(f.out), *errs = read_back(f.err);
	/* oldest first; a line begun in one file goes on in the next */
	assert_string_equal(out, "one\ntwo\nthree\nfour\n");
	assert_string_equal(errs, "e1\ne2\n");

	/* the last 3 lines, counted across the files */
	assert_int_equal(ftruncate(f.out, 0), 0);
	assert_int_equal(ftruncate(f.err, 0), 0);
	lseek(f.out, 0, SEEK_SET);
	lseek(f.err, 0, SEEK_SET);
	o.tail = 3;
	assert_int_equal(husk_logs_read(&o, &err), 0);
	_cleanup_free_ char *out2 = read_back(f.out), *errs2 = read_back(f.err);
	assert_string_equal(out2, "three\nfour\n");
	assert_string_equal(errs2, "e2\n");
	files_teardown(&f);
}

struct rotator {
	struct files *f;
	int calls;
};

/* The "container" writes, rotates and writes again while logs follows; then stops. */
static bool rotate_then_stop(void *arg)
{
	struct rotator *r = arg;
	char old[160];
	FILE *fp;

	if (r->calls++ > 0)
		return false;
	fp = fopen(r->f->path, "a");
	assert_non_null(fp);
	fputs("2026-01-01T00:00:02Z stdout F appended\n2026-01-01T00:00:03Z stdout P split \n", fp);
	fclose(fp);
	snprintf(old, sizeof(old), "%s.1", r->f->path);
	assert_int_equal(rename(r->f->path, old), 0);
	write_file(r->f->path, "2026-01-01T00:00:04Z stdout F across\n2026-01-01T00:00:05Z stderr F done\n");
	return true;
}

static void test_follow_rotation(void **state)
{
	struct files f;
	struct husk_err err = {0};
	(void)state;

	files_setup(&f);
	write_file(f.path, "2026-01-01T00:00:01Z stdout F first\n");
	struct rotator r = {.f = &f};
	struct husk_logs_opts o = {.path = f.path, .out_fd = f.out, .err_fd = f.err, .tail = -1, .follow = true,
				   .running = rotate_then_stop, .running_arg = &r};
	assert_int_equal(husk_logs_read(&o, &err), 0);
	assert_int_equal(r.calls, 2);
	_cleanup_free_ char *out = read_back(f.out), *errs = read_back(f.err);
	assert_string_equal(out, "first\nappended\nsplit across\n");
	assert_string_equal(errs, "done\n");
	files_teardown(&f);
}

static void test_missing_log(void **state)
{
	struct files f;
	struct husk_err err = {0};
	(void)state;

	files_setup(&f);
	struct husk_logs_opts o = {.path = f.path, .out_fd = f.out, .err_fd = f.err, .tail = 5, .follow = true};
	assert_int_equal(husk_logs_read(&o, &err), 0);
	_cleanup_free_ char *out = read_back(f.out);
	assert_string_equal(out, "");
	files_teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_parts),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_tail_skip),
		cmocka_unit_test(test_since_until),
		cmocka_unit_test(test_streams_in_order),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_parse_record),
		cmocka_unit_test(test_rotated_order),
		cmocka_unit_test(test_follow_rotation),
		cmocka_unit_test(test_missing_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
