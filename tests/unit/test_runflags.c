#define _GNU_SOURCE
/* Unit tests for husk run's docker flags: sizes, CPUs, capabilities, ulimits, env and label
 * files in docker's format, the checks across flags, and what they do to the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lib/defaults.h"
#include "lib/image/runconfig.h"
#include "lib/image/runflags.h"
#include "lib/util.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		int64_t bytes;
	} good[] = {
		{"0", 0}, {"512", 512}, {"512b", 512}, {"512B", 512}, {"1k", 1024}, {"1K", 1024}, {"1kb", 1024},
		{"1KiB", 1024}, {"64m", 64 << 20}, {"64M", 64 << 20}, {"100 MiB", 100 << 20}, {"1.5g", 3ll << 29},
		{"2G", 2ll << 30}, {"1t", 1ll << 40}, {"1p", 1ll << 50}, {"0.5k", 512},
	};
	static const char *const bad[] = {"", "12q", "-1", "m", "1.5.5", " 1", "1bb", "1ib", "1.", ".5", "1mm",
					  "1 m b", "0x10", "99999999999p"};
	struct husk_err err = {0};
	int64_t v;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = -7;
		if (husk_size_parse(good[i].text, &v, &err) < 0)
			fail_msg("\"%s\": %s", good[i].text, err.msg);
		assert_int_equal(v, good[i].bytes);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		if (husk_size_parse(bad[i], &v, &err) == 0)
			fail_msg("\"%s\" taken as %lld", bad[i], (long long)v);
		assert_true(err.msg[0]);
	}
}

static void test_cpus(void **state)
{
	static const struct {
		const char *text;
		int64_t nano;
	} good[] = {
		{"1", 1000000000}, {"0.5", 500000000}, {".25", 250000000}, {"2.000000001", 2000000001},
		{"0", 0}, {"1.", 1000000000}, {"0.01", 10000000},
	};
	static const char *const bad[] = {"", ".", "-1", "1.0000000001", "one", "1,5", "1e9", "1.5 ", "9999999999"};
	struct husk_err err = {0};
	int64_t v;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (husk_cpus_parse(good[i].text, &v, &err) < 0)
			fail_msg("\"%s\": %s", good[i].text, err.msg);
		assert_int_equal(v, good[i].nano);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		if (husk_cpus_parse(bad[i], &v, &err) == 0)
			fail_msg("\"%s\" taken as %lld", bad[i], (long long)v);
	}
	husk_err_clear(&err);
	assert_int_equal(husk_cpus_parse("1.0000000001", &v, &err), -1);
	assert_non_null(strstr(err.msg, "precise"));
}

static void test_caps(void **state)
{
	struct husk_err err = {0};
	int cap;
	bool all;
	(void)state;

	/* docker takes the name with or without CAP_, in any case */
	static const char *const net_admin[] = {"NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "cap_net_admin", "Cap_Net_Admin"};
	for (size_t i = 0; i < ARRAY_SIZE(net_admin); i++) {
		assert_int_equal(husk_cap_parse(net_admin[i], &cap, &all, &err), 0);
		assert_int_equal(cap, 12);
		assert_false(all);
	}
	assert_int_equal(husk_cap_parse("ALL", &cap, &all, &err), 0);
	assert_true(all);
	assert_int_equal(husk_cap_parse("all", &cap, &all, &err), 0);
	assert_true(all);
	static const char *const bad[] = {"", "CAP_", "FOO", "CAP_ALL", "NET ADMIN",
					  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		if (husk_cap_parse(bad[i], &cap, &all, &err) == 0)
			fail_msg("\"%s\" taken as capability %d", bad[i], cap);
		assert_non_null(strstr(err.msg, "unknown capability"));
	}

	/* docker's rules, on bits: defaults {0, 1}, all {0..5} */
	const uint64_t defaults = 0x3, every = 0x3f;
	struct husk_run_opts o = {0};
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x3);
	o.cap_add = 0x10;
	o.cap_drop = 0x1;
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x12);
	o.cap_drop = 0x10; /* added and dropped: docker drops from the defaults, then adds */
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x13);
	o = (struct husk_run_opts){.cap_drop_all = true, .cap_add = 0x4};
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x4);
	o = (struct husk_run_opts){.cap_add_all = true, .cap_drop = 0x2};
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x3d);
	o = (struct husk_run_opts){.privileged = true, .cap_drop = 0x2};
	assert_int_equal(husk_run_caps(&o, defaults, every), every);
	o = (struct husk_run_opts){.cap_add = 0x100}; /* beyond what there is to give */
	assert_int_equal(husk_run_caps(&o, defaults, every), 0x3);
}

static const char *lookup(const char *key)
{
	return strcmp(key, "FROM_CALLER") == 0 ? "caller's value" : NULL;
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

static void test_env_file(void **state)
{
	const char text[] = "\xef\xbb\xbf# a comment\n"
			    "\n"
			    "   \t\n"
			    "A=1\n"
			    "  B=  two words  \n"
			    "C=\"quoted\"\n"
			    "D=x=y\r\n"
			    "E=\n"
			    "FROM_CALLER\n"
			    "NOT_SET_ANYWHERE\n"
			    "  # indented comment\n"
			    "F=last";
	static const char *const want[] = {"A=1", "B=  two words  ", "C=\"quoted\"", "D=x=y", "E=",
					   "FROM_CALLER=caller's value", "F=last"};
	struct husk_err err = {0};
	char **out = NULL;
	size_t n = 0;
	(void)state;

	assert_int_equal(husk_kv_file_parse(text, sizeof(text) - 1, "env", lookup, &out, &n, &err), 0);
	assert_int_equal(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(out[i], want[i]);
	free_strings(out, n);

	/* labels: a bare name stays, for an empty value */
	out = NULL;
	n = 0;
	assert_int_equal(husk_kv_file_parse("k1=v1\nbare\n", 11, "labels", NULL, &out, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[1], "bare");
	free_strings(out, n);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{"A=1\n=nothing\n", "line 2: no variable name"},
		{"MY VAR=1\n", "line 1: the name \"MY VAR\" holds whitespace"},
		{"A\tB=1\n", "holds whitespace"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		out = NULL;
		n = 0;
		husk_err_clear(&err);
		assert_int_equal(husk_kv_file_parse(bad[i].text, strlen(bad[i].text), "f.env", lookup, &out, &n, &err), -1);
		if (!strstr(err.msg, bad[i].why) || !strstr(err.msg, "f.env"))
			fail_msg("\"%s\": %s", bad[i].text, err.msg);
		free_strings(out, n);
	}
	out = NULL;
	n = 0;
	assert_int_equal(husk_kv_file_parse("A=1\0B=2", 7, "bin", lookup, &out, &n, &err), -1);
	free_strings(out, n);
}

static void test_ulimits(void **state)
{
	struct husk_err err = {0};
	struct husk_ulimit u;
	(void)state;

	assert_int_equal(husk_ulimit_parse("nofile=1024", &u, &err), 0);
	assert_string_equal(u.type, "RLIMIT_NOFILE");
	assert_int_equal(u.soft, 1024);
	assert_int_equal(u.hard, 1024);
	assert_int_equal(husk_ulimit_parse("nproc=10:20", &u, &err), 0);
	assert_string_equal(u.type, "RLIMIT_NPROC");
	assert_int_equal(u.soft, 10);
	assert_int_equal(u.hard, 20);
	assert_int_equal(husk_ulimit_parse("memlock=-1:-1", &u, &err), 0);
	assert_true(u.soft == UINT64_MAX && u.hard == UINT64_MAX);
	assert_int_equal(husk_ulimit_parse("core=0:-1", &u, &err), 0);
	assert_true(u.soft == 0 && u.hard == UINT64_MAX);
	static const char *const bad[] = {"nofile", "nofile=", "nofile=x", "nofile=2048:1024", "bogus=1", "nofile=-2",
					  "nofile=1:", "stack=-1:5", "=5"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		if (husk_ulimit_parse(bad[i], &u, &err) == 0)
			fail_msg("\"%s\" taken", bad[i]);
	}
}

static void test_checks(void **state)
{
	struct husk_err err = {0};
	(void)state;

#define CHECK(want, ...)                                                                        \
	do {                                                                                    \
		struct husk_run_opts o = {__VA_ARGS__};                                         \
		husk_err_clear(&err);                                                           \
		assert_int_equal(husk_run_flags_check(&o, 2, &err), (want));                    \
	} while (0)
	CHECK(0, .memory = 0);
	CHECK(0, .memory = 6 << 20);
	CHECK(-1, .memory = (6 << 20) - 1);
	assert_non_null(strstr(err.msg, "6 MiB"));
	CHECK(-1, .memory_swap = 1 << 30);
	assert_non_null(strstr(err.msg, "needs --memory"));
	CHECK(0, .memory_swap = -1);
	CHECK(-1, .memory = 64 << 20, .memory_swap = 32 << 20);
	CHECK(0, .memory = 64 << 20, .memory_swap = 64 << 20);
	CHECK(0, .nano_cpus = 2000000000);
	CHECK(-1, .nano_cpus = 2000000001);
	assert_non_null(strstr(err.msg, "0.01 to 2.00"));
	CHECK(-1, .nano_cpus = 9999999);
	CHECK(0, .nano_cpus = 10000000);
#undef CHECK
}

static json_t *find_mount(json_t *spec, const char *dest)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(spec, "mounts"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "destination")), dest) == 0)
			return m;
	return NULL;
}

static void test_apply(void **state)
{
	struct husk_err err = {0};
	const struct husk_ulimit ulimits[] = {{"RLIMIT_NOFILE", 100, 200}, {"RLIMIT_CORE", 0, UINT64_MAX}};
	struct husk_run_opts o = {
		.memory = 64 << 20, .nano_cpus = 1500000000, .cpu_shares = 512, .pids_limit = 42, .read_only = true,
		.no_new_privileges = -1, .init = "/usr/bin/catatonit", .ulimits = ulimits, .n_ulimits = 2,
	};
	json_t *spec = husk_spec_default(false), *res, *rl;
	(void)state;

	json_object_set_new(json_object_get(spec, "process"), "args", json_pack("[s, s]", "echo", "hi"));
	assert_int_equal(husk_run_flags_apply(&o, spec, &err), 0);
	res = json_object_get(json_object_get(spec, "linux"), "resources");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "memory"), "limit")), 64 << 20);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "quota")), 150000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "period")), 100000);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "cpu"), "shares")), 512);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "pids"), "limit")), 42);
	assert_true(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly")));
	assert_true(json_is_false(json_object_get(json_object_get(spec, "process"), "noNewPrivileges")));
	/* the default NOFILE is replaced, not doubled */
	rl = json_object_get(json_object_get(spec, "process"), "rlimits");
	assert_int_equal(json_array_size(rl), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rl, 0), "type")), "RLIMIT_NOFILE");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rl, 0), "soft")), 100);
	assert_true(json_is_real(json_object_get(json_array_get(rl, 1), "hard")));
	/* --init: catatonit first, the command after its "--", the binary bound read-only */
	_cleanup_free_ char *args = json_dumps(json_object_get(json_object_get(spec, "process"), "args"), JSON_COMPACT);
	assert_string_equal(args, "[\"/dev/init\",\"--\",\"echo\",\"hi\"]");
	json_t *m = find_mount(spec, "/dev/init");
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "source")), "/usr/bin/catatonit");
	_cleanup_free_ char *mopts = json_dumps(json_object_get(m, "options"), JSON_COMPACT);
	assert_non_null(strstr(mopts, "\"ro\""));
	/* seccomp untouched when the capabilities are */
	assert_non_null(json_object_get(json_object_get(spec, "linux"), "seccomp"));
	json_decref(spec);

	/* --privileged: no seccomp, no masked or read-only paths, /sys writable, the host's devices */
	spec = husk_spec_default(false);
	o = (struct husk_run_opts){.privileged = true};
	assert_int_equal(husk_run_flags_apply(&o, spec, &err), 0);
	json_t *lin = json_object_get(spec, "linux");
	assert_null(json_object_get(lin, "seccomp"));
	assert_null(json_object_get(lin, "maskedPaths"));
	assert_null(json_object_get(lin, "readonlyPaths"));
	assert_true(json_array_size(json_object_get(lin, "devices")) > 0);
	_cleanup_free_ char *sysopts = json_dumps(json_object_get(find_mount(spec, "/sys"), "options"), JSON_COMPACT);
	assert_null(strstr(sysopts, "\"ro\""));
	_cleanup_free_ char *devices = json_dumps(json_object_get(lin, "devices"), JSON_COMPACT);
	assert_non_null(strstr(devices, "\"/dev/null\""));
	assert_null(strstr(devices, "/dev/pts/"));
	assert_null(strstr(devices, "\"/dev/console\""));
	json_decref(spec);

	/* a capability added: the profile is made again for it (mount needs CAP_SYS_ADMIN) */
	spec = husk_spec_default(false);
	_cleanup_free_ char *before = json_dumps(json_object_get(json_object_get(spec, "linux"), "seccomp"), JSON_COMPACT);
	o = (struct husk_run_opts){.cap_add = 1ull << 21};
	assert_int_equal(husk_run_flags_apply(&o, spec, &err), 0);
	_cleanup_free_ char *after = json_dumps(json_object_get(json_object_get(spec, "linux"), "seccomp"), JSON_COMPACT);
	assert_string_not_equal(before, after);
	_cleanup_free_ char *bounding = json_dumps(
		json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "bounding"), JSON_COMPACT);
	assert_non_null(strstr(bounding, "\"CAP_SYS_ADMIN\""));
	json_decref(spec);
}

static void test_stop_signal(void **state)
{
	struct husk_err err = {0};
	int sig = -1;
	(void)state;

	assert_int_equal(husk_image_stop_signal("{\"config\": {\"StopSignal\": \"SIGUSR1\"}}", &sig, &err), 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(husk_image_stop_signal("{\"config\": {\"StopSignal\": \"9\"}}", &sig, &err), 0);
	assert_int_equal(sig, 9);
	assert_int_equal(husk_image_stop_signal("{\"config\": {\"Cmd\": [\"sh\"]}}", &sig, &err), 0);
	assert_int_equal(sig, 0);
	assert_int_equal(husk_image_stop_signal("{}", &sig, &err), 0);
	assert_int_equal(sig, 0);
	assert_int_equal(husk_image_stop_signal("{\"config\": {\"StopSignal\": \"SIGBOGUS\"}}", &sig, &err), -1);
	assert_non_null(strstr(err.msg, "SIGBOGUS"));
	husk_err_clear(&err);
	assert_int_equal(husk_image_stop_signal("{\"config\": {\"StopSignal\": 15}}", &sig, &err), -1);
	husk_err_clear(&err);
	assert_int_equal(husk_image_stop_signal("not json", &sig, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),    cmocka_unit_test(test_cpus),   cmocka_unit_test(test_caps),
		cmocka_unit_test(test_env_file), cmocka_unit_test(test_ulimits), cmocka_unit_test(test_checks),
		cmocka_unit_test(test_apply),    cmocka_unit_test(test_stop_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
