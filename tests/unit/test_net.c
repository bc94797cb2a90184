#define _GNU_SOURCE
/* Unit tests for network logic: subnets, overlap, address choice, the lease file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/net/ipam.h"
#include "lib/util.h"

static uint32_t ip(const char *text)
{
	uint32_t a = 0;
	assert_int_equal(husk_ipv4_parse(text, &a, NULL), 0);
	return a;
}

static void test_subnets(void **state)
{
	struct husk_subnet s, t;
	struct husk_err err = {0};
	char out[16];
	(void)state;
	assert_int_equal(husk_subnet_parse("10.88.0.0/16", &s, &err), 0);
	assert_int_equal(s.prefix, 16);
	husk_ipv4_format(husk_subnet_first(&s), out);
	assert_string_equal(out, "10.88.0.1");
	husk_ipv4_format(husk_subnet_last(&s), out);
	assert_string_equal(out, "10.88.255.254");
	assert_true(husk_subnet_contains(&s, ip("10.88.3.4")));
	assert_false(husk_subnet_contains(&s, ip("10.89.0.1")));
	const char *bad[] = {"10.88.0.0", "10.88.0.1/16", "10.88.0.0/31", "10.88.0.0/7", "10.88.0.0/x", "300.1.1.0/24",
			     "10.88.0.0/", "/16", "10.88.0.0/16/2"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		assert_int_equal(husk_subnet_parse(bad[i], &t, &err), -1);
		assert_int_equal(err.errnum, EINVAL);
	}
	husk_err_clear(&err);
	husk_subnet_parse("10.88.0.1/16", &t, &err);
	assert_non_null(strstr(err.msg, "did you mean 10.88.0.0/16"));
	assert_int_equal(husk_subnet_parse("10.88.4.0/24", &t, &err), 0);
	assert_true(husk_subnet_overlaps(&s, &t));
	assert_true(husk_subnet_overlaps(&t, &s));
	assert_int_equal(husk_subnet_parse("10.89.0.0/24", &t, &err), 0);
	assert_false(husk_subnet_overlaps(&s, &t));
}

static void test_pick(void **state)
{
	struct husk_subnet s;
	(void)state;
	assert_int_equal(husk_subnet_parse("192.168.7.0/29", &s, NULL), 0);
	uint32_t gw = ip("192.168.7.1");
	assert_int_equal(husk_ipam_pick(&s, gw, NULL, 0), ip("192.168.7.2"));
	uint32_t used[] = {ip("192.168.7.4"), ip("192.168.7.2"), ip("192.168.7.3")};
	assert_int_equal(husk_ipam_pick(&s, gw, used, 3), ip("192.168.7.5"));
	uint32_t full[] = {ip("192.168.7.2"), ip("192.168.7.3"), ip("192.168.7.4"), ip("192.168.7.5"), ip("192.168.7.6")};
	assert_int_equal(husk_ipam_pick(&s, gw, full, 5), 0);
	/* a gateway that is not the first address */
	assert_int_equal(husk_ipam_pick(&s, ip("192.168.7.6"), NULL, 0), ip("192.168.7.1"));
}

static bool alive_unless_dead(const char *id, void *arg)
{
	(void)arg;
	return strncmp(id, "dead", 4) != 0;
}

static void test_leases(void **state)
{
	char dir[] = "/tmp/husk-unit-ipam.XXXXXX";
	struct husk_subnet s;
	struct husk_err err = {0};
	uint32_t a, b, c;
	(void)state;
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = husk_xasprintf("%s/leases.json", dir);
	assert_int_equal(husk_subnet_parse("10.0.0.0/29", &s, NULL), 0);
	uint32_t gw = husk_subnet_first(&s);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "one", alive_unless_dead, NULL, &a, &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "dead-two", alive_unless_dead, NULL, &b, &err), 0);
	assert_int_equal(a, ip("10.0.0.2"));
	assert_int_equal(b, ip("10.0.0.3"));
	/* the dead container's lease is taken back on the next allocation */
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "three", alive_unless_dead, NULL, &c, &err), 0);
	assert_int_equal(c, ip("10.0.0.3"));
	assert_int_equal(husk_ipam_release(path, "one", &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "four", NULL, NULL, &a, &err), 0);
	assert_int_equal(a, ip("10.0.0.2"));
	/* full: 2..6 usable, gateway .1 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(husk_ipam_allocate(path, &s, gw, "dead-x", NULL, NULL, &a, &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "late", NULL, NULL, &a, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	husk_err_clear(&err);
	assert_int_equal(husk_ipam_prune(path, alive_unless_dead, NULL, &err), 3);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "late", NULL, NULL, &a, &err), 0);
	/* a damaged file is an error, not an empty network */
	FILE *f = fopen(path, "w");
	fputs("{\"nope\": 1}", f);
	fclose(f);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "x", NULL, NULL, &a, &err), -1);
	husk_rmtree_at(AT_FDCWD, dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subnets),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_leases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
