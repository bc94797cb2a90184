#define _GNU_SOURCE
/* Unit tests: husk_cgroup_plan, linux.resources as cgroup file writes. The v2 values are
 * those of runc's documented v1 -> v2 conversions, worked out here by hand:
 *   cpu.weight  = 1 + (shares - 2) * 9999 / 262142
 *   io.weight   = 1 + (blkio weight - 10) * 9999 / 990
 *   memory.swap.max = (memory+swap) - memory; -1 is "max"; 0 is "not set"
 *   cpu.max     = "QUOTA PERIOD", "max PERIOD" without a quota, PERIOD 100000 by default */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cgroup_limits.h"

/* "file=value file=value ..." (alternatives as "file=value|alt=value"), or "error: message" */
static char *plan(const char *json, bool v2)
{
	static char out[4096];
	struct husk_err err = {0};
	struct husk_resources res = {0};
	struct husk_cgroup_write *w = NULL;
	json_t *doc = NULL;
	size_t n = 0, off = 0;

	if (husk_resources_parse("r.json", json, strlen(json), &doc, &res, &err) < 0 ||
	    husk_cgroup_plan(&res, v2, &w, &n, &err) < 0) {
		snprintf(out, sizeof(out), "error: %s", err.msg);
		husk_resources_free(&res);
		json_decref(doc);
		return out;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s=%s", i ? " " : "", w[i].file, w[i].value);
		if (w[i].alt_file[0])
			off += (size_t)snprintf(out + off, sizeof(out) - off, "|%s=%s", w[i].alt_file, w[i].alt_value);
	}
	free(w);
	husk_resources_free(&res);
	json_decref(doc);
	return out;
}

static void test_cpu(void **state)
{
	(void)state;
	/* 1 + 510 * 9999 / 262142 = 20; the bounds map to 1 and 10000 */
	assert_string_equal(plan("{\"cpu\": {\"shares\": 512}}", true), "cpu.weight=20");
	assert_string_equal(plan("{\"cpu\": {\"shares\": 2}}", true), "cpu.weight=1");
	assert_string_equal(plan("{\"cpu\": {\"shares\": 262144}}", true), "cpu.weight=10000");
	assert_string_equal(plan("{\"cpu\": {\"shares\": 1024}}", false), "cpu.shares=1024");
	assert_string_equal(plan("{\"cpu\": {\"quota\": 20000, \"period\": 50000}}", true), "cpu.max=20000 50000");
	assert_string_equal(plan("{\"cpu\": {\"quota\": 20000}}", true), "cpu.max=20000 100000");
	assert_string_equal(plan("{\"cpu\": {\"quota\": -1}}", true), "cpu.max=max 100000");
	assert_string_equal(plan("{\"cpu\": {\"period\": 50000}}", true), "cpu.max=max 50000");
	assert_string_equal(plan("{\"cpu\": {\"quota\": 20000, \"period\": 50000}}", false),
			    "cpu.cfs_period_us=50000 cpu.cfs_quota_us=20000");
	assert_string_equal(plan("{\"cpu\": {\"cpus\": \"0-1\", \"mems\": \"0\"}}", true), "cpuset.cpus=0-1 cpuset.mems=0");
	/* realtime scheduling has no v2 file: refused with the field's name */
	assert_non_null(strstr(plan("{\"cpu\": {\"realtimeRuntime\": 1000}}", true), "error: linux.resources.cpu"));
	assert_string_equal(plan("{\"cpu\": {\"realtimeRuntime\": 1000}}", false), "cpu.rt_runtime_us=1000");
}

static void test_memory(void **state)
{
	(void)state;
	assert_string_equal(plan("{\"memory\": {\"limit\": 33554432, \"swap\": 67108864, \"reservation\": 1048576}}", true),
			    "memory.max=33554432 memory.low=1048576 memory.swap.max=33554432");
	assert_string_equal(plan("{\"memory\": {\"limit\": 33554432, \"swap\": 67108864, \"reservation\": 1048576}}", false),
			    "memory.limit_in_bytes=33554432 memory.soft_limit_in_bytes=1048576 "
			    "memory.memsw.limit_in_bytes=67108864");
	/* memory+swap equal to memory: no swap at all */
	assert_string_equal(plan("{\"memory\": {\"limit\": 1048576, \"swap\": 1048576}}", true),
			    "memory.max=1048576 memory.swap.max=0");
	assert_string_equal(plan("{\"memory\": {\"limit\": 1048576, \"swap\": -1}}", true),
			    "memory.max=1048576 memory.swap.max=max");
	/* unlimited memory with swap left alone: both unlimited */
	assert_string_equal(plan("{\"memory\": {\"limit\": -1}}", true), "memory.max=max memory.swap.max=max");
	assert_string_equal(plan("{\"memory\": {\"limit\": -1}}", false), "memory.limit_in_bytes=-1");
	/* 0 is "not set": nothing is written (a 0 limit would be refused, or kill at once) */
	assert_string_equal(plan("{\"memory\": {\"limit\": 1048576, \"swap\": 0}}", true), "memory.max=1048576");
	assert_string_equal(plan("{\"memory\": {\"limit\": 1048576, \"swap\": 0}}", false), "memory.limit_in_bytes=1048576");
	assert_string_equal(plan("{\"memory\": {\"limit\": 0, \"reservation\": 0}}", true), "");
	assert_string_equal(plan("{\"memory\": {\"limit\": 0, \"reservation\": 0}}", false), "");
	/* swap alone cannot be converted: v2 has no memory+swap */
	assert_non_null(strstr(plan("{\"memory\": {\"swap\": 1048576}}", true), "error: linux.resources.memory.swap"));
	/* below the memory limit: refused when parsed, with the position */
	assert_non_null(strstr(plan("{\"memory\": {\"limit\": 2097152, \"swap\": 1048576}}", true), "r.json:1:"));
	assert_non_null(strstr(plan("{\"memory\": {\"swappiness\": 10}}", true), "error: "));
}

static void test_pids_and_io(void **state)
{
	(void)state;
	assert_string_equal(plan("{\"pids\": {\"limit\": 20}}", true), "pids.max=20");
	assert_string_equal(plan("{\"pids\": {\"limit\": -1}}", false), "pids.max=max");
	assert_string_equal(plan("{\"pids\": {\"limit\": 0}}", true), "pids.max=max");
	/* bfq takes the v1 weight as it is; io.weight the converted one: 1 + 290 * 9999 / 990 */
	assert_string_equal(plan("{\"blockIO\": {\"weight\": 300}}", true), "io.bfq.weight=300|io.weight=default 2930");
	assert_string_equal(plan("{\"blockIO\": {\"weight\": 10}}", true), "io.bfq.weight=10|io.weight=default 1");
	assert_string_equal(plan("{\"blockIO\": {\"weight\": 1000}}", true), "io.bfq.weight=1000|io.weight=default 10000");
	assert_string_equal(plan("{\"blockIO\": {\"weight\": 300}}", false), "blkio.weight=300|blkio.bfq.weight=300");
	assert_string_equal(plan("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}],"
				 " \"throttleWriteIOPSDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 100}]}}", true),
			    "io.max=8:0 rbps=1048576 io.max=8:0 wiops=100");
	assert_string_equal(plan("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": 1048576}]}}",
				 false), "blkio.throttle.read_bps_device=8:0 1048576");
	assert_non_null(strstr(plan("{\"blockIO\": {\"leafWeight\": 200}}", true), "error: linux.resources.blockIO.leafWeight"));
}

static void test_unified(void **state)
{
	(void)state;
	assert_string_equal(plan("{\"unified\": {\"memory.high\": \"1000000\"}}", true), "memory.high=1000000");
	assert_non_null(strstr(plan("{\"unified\": {\"memory.high\": \"1000000\"}}", false), "error: linux.resources.unified"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_pids_and_io),
		cmocka_unit_test(test_unified),
	};
	return cmocka_run_group_tests_name("cgroup_plan", tests, NULL, NULL);
}
