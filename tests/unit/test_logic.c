#define _GNU_SOURCE
/* Unit tests: the pure logic beside the parser (tables, JSON positions, id maps, ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "lib/jsonpos.h"
#include "lib/ns.h"
#include "lib/state.h"
#include "lib/tables.h"

static void test_signals(void **state)
{
	(void)state;
	assert_int_equal(husk_signal_parse("TERM"), SIGTERM);
	assert_int_equal(husk_signal_parse("SIGKILL"), SIGKILL);
	assert_int_equal(husk_signal_parse("sigusr1"), SIGUSR1);
	assert_int_equal(husk_signal_parse("9"), 9);
	assert_int_equal(husk_signal_parse("RTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(husk_signal_parse("SIGRTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(husk_signal_parse("RTMAX+1"), -1);
	assert_int_equal(husk_signal_parse("0"), -1);
	assert_int_equal(husk_signal_parse("65"), -1);
	assert_int_equal(husk_signal_parse("NOPE"), -1);
	assert_int_equal(husk_signal_parse("9x"), -1);
}

static void test_tables_sorted(void **state)
{
	const char *prev = NULL, *name;
	(void)state;

	/* lookups are bsearch: an unsorted table would miss names silently */
	for (unsigned i = 0; (name = husk_mount_opt_name_at(i)); i++) {
		if (prev)
			assert_true(strcmp(prev, name) < 0);
		assert_non_null(husk_mount_opt_lookup(name));
		prev = name;
	}
	prev = NULL;
	for (unsigned i = 0; (name = husk_namespace_name_at(i)); i++) {
		if (prev)
			assert_true(strcmp(prev, name) < 0);
		assert_true(husk_namespace_from_name(name) != 0);
		prev = name;
	}
	assert_int_equal(husk_rlimit_from_name("RLIMIT_AS"), RLIMIT_AS);
	assert_int_equal(husk_rlimit_from_name("RLIMIT_STACK"), RLIMIT_STACK);
	assert_int_equal(husk_rlimit_from_name("RLIMIT_NOPE"), -1);
	assert_int_equal(husk_namespace_from_name("network"), CLONE_NEWNET);
	assert_string_equal(husk_namespace_proc_name(CLONE_NEWNS), "mnt");
}

static void test_jsonpos(void **state)
{
	const char *text = "{\"a\": {\"b\\\"q\": [1, {\"c\": \"x\"}]},\n \"d\": [[], [true, null]]}";
	struct husk_json_step p1[] = {{"a", 0}, {"b\"q", 0}, {NULL, 1}, {"c", 0}};
	struct husk_json_step p2[] = {{"d", 0}, {NULL, 1}, {NULL, 1}};
	struct husk_json_step missing[] = {{"a", 0}, {"zz", 0}};
	int line, col;
	(void)state;

	assert_int_equal(husk_json_locate(text, strlen(text), p1, 4, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 26);
	assert_int_equal(husk_json_locate(text, strlen(text), p2, 3, &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 19);
	/* a missing key reports where its parent is */
	assert_int_equal(husk_json_locate(text, strlen(text), missing, 2, &line, &col), -1);
	assert_int_equal(line, 1);
	assert_int_equal(col, 7);
}

static void test_idmap_format(void **state)
{
	struct husk_idmap maps[] = {{0, 100000, 65536}, {65536, 4294967294u, 1}};
	char *text = husk_ns_format_idmap(maps, 2);
	(void)state;

	assert_string_equal(text, "0 100000 65536\n65536 4294967294 1\n");
	free(text);
}

static void test_container_ids(void **state)
{
	struct husk_err err = {0};
	(void)state;

	assert_int_equal(husk_state_check_id("web-1_a.b+c", &err), 0);
	assert_int_equal(husk_state_check_id("..", &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_state_check_id("a/b", &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_state_check_id("", &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_tables_sorted),
		cmocka_unit_test(test_jsonpos),
		cmocka_unit_test(test_idmap_format),
		cmocka_unit_test(test_container_ids),
	};
	return cmocka_run_group_tests_name("logic", tests, NULL, NULL);
}
