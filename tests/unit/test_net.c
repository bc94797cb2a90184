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
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "lib/net/ipam.h"
#include "lib/net/network.h"
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
	struct husk_lease_owners owners = {.alive = alive_unless_dead};
	(void)state;
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = husk_xasprintf("%s/leases.json", dir);
	assert_int_equal(husk_subnet_parse("10.0.0.0/29", &s, NULL), 0);
	uint32_t gw = husk_subnet_first(&s);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "one", &owners, &a, &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "dead-two", &owners, &b, &err), 0);
	assert_int_equal(a, ip("10.0.0.2"));
	assert_int_equal(b, ip("10.0.0.3"));
	/* the dead container's lease is taken back on the next allocation */
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "three", &owners, &c, &err), 0);
	assert_int_equal(c, ip("10.0.0.3"));
	assert_int_equal(husk_ipam_release(path, "one", NULL, &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "four", NULL, &a, &err), 0);
	assert_int_equal(a, ip("10.0.0.2"));
	/* full: 2..6 usable, gateway .1 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(husk_ipam_allocate(path, &s, gw, "dead-x", NULL, &a, &err), 0);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "late", NULL, &a, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	husk_err_clear(&err);
	assert_int_equal(husk_ipam_prune(path, &owners, &err), 3);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "late", NULL, &a, &err), 0);
	/* a damaged file is an error, not an empty network */
	FILE *f = fopen(path, "w");
	fputs("{\"nope\": 1}", f);
	fclose(f);
	assert_int_equal(husk_ipam_allocate(path, &s, gw, "x", NULL, &a, &err), -1);
	husk_rmtree_at(AT_FDCWD, dir, NULL);
}

static void test_ports(void **state)
{
	struct husk_port p, q;
	struct husk_err err = {0};
	char key[64];
	(void)state;

	assert_int_equal(husk_port_parse("8080:80", &p, &err), 0);
	assert_int_equal(p.host_port, 8080);
	assert_int_equal(p.container_port, 80);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.host_ip, 0);
	assert_int_equal(husk_port_parse("127.0.0.1:5353:53/udp", &q, &err), 0);
	assert_int_equal(q.host_ip, ip("127.0.0.1"));
	assert_int_equal(q.proto, IPPROTO_UDP);
	husk_port_key(&q, key);
	assert_string_equal(key, "udp/127.0.0.1/5353");
	struct husk_port back;
	assert_int_equal(husk_port_from_key(key, &back), 0);
	assert_int_equal(back.host_ip, q.host_ip);
	assert_int_equal(back.host_port, 5353);
	assert_int_equal(back.proto, IPPROTO_UDP);
	assert_int_equal(husk_port_from_key("sctp/0.0.0.0/1", &back), -1);
	assert_int_equal(husk_port_from_key("10.0.0.2", &back), -1);

	static const char *const bad[] = {"80", "0:80", "65536:80", "8080:0", "8080:70000", "x:80", "8080:80/sctp",
					  "300.1.1.1:80:80", ":80", "8080:", "1.2.3.4:8080:80:1", "-1:80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		husk_err_clear(&err);
		assert_int_equal(husk_port_parse(bad[i], &p, &err), -1);
		assert_non_null(strstr(err.msg, bad[i]));
	}
	husk_err_clear(&err);
	husk_port_parse("99999:80", &p, &err);
	assert_int_equal(err.errnum, ERANGE);

	/* any address conflicts with every address; two addresses do not */
	struct husk_port any, lo, other, udp;
	husk_port_parse("8080:80", &any, NULL);
	husk_port_parse("127.0.0.1:8080:81", &lo, NULL);
	husk_port_parse("10.1.1.1:8080:81", &other, NULL);
	husk_port_parse("8080:80/udp", &udp, NULL);
	assert_true(husk_port_conflicts(&any, &lo));
	assert_true(husk_port_conflicts(&lo, &any));
	assert_false(husk_port_conflicts(&lo, &other));
	assert_false(husk_port_conflicts(&any, &udp));
}

static int dropped_count;
static void count_dropped(const char *key, const char *id, void *arg)
{
	(void)key;
	(void)arg;
	assert_int_equal(strncmp(id, "dead", 4), 0);
	dropped_count++;
}

static void test_port_leases(void **state)
{
	char dir[] = "/tmp/husk-unit-ports.XXXXXX";
	struct husk_err err = {0};
	struct husk_lease_owners owners = {.alive = alive_unless_dead, .dropped = count_dropped};
	struct husk_port p[2];
	(void)state;
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = husk_xasprintf("%s/ports.json", dir);

	husk_port_parse("8080:80", &p[0], NULL);
	husk_port_parse("127.0.0.1:8080:80", &p[1], NULL);
	assert_int_equal(husk_ports_reserve(path, p, 2, "one", &owners, &err), -1);
	assert_non_null(strstr(err.msg, "published twice"));
	husk_err_clear(&err);
	assert_int_equal(husk_ports_reserve(path, p, 1, "dead-one", &owners, &err), 0);
	/* the dead holder's port is taken back, with its undo called */
	dropped_count = 0;
	assert_int_equal(husk_ports_reserve(path, p + 1, 1, "two", &owners, &err), 0);
	assert_int_equal(dropped_count, 1);
	assert_int_equal(husk_ports_reserve(path, p, 1, "three", &owners, &err), -1);
	assert_int_equal(err.errnum, EADDRINUSE);
	assert_non_null(strstr(err.msg, "8080/tcp is already published by container two"));
	husk_err_clear(&err);
	assert_int_equal(husk_ipam_release(path, "two", NULL, &err), 0);
	assert_int_equal(husk_ports_reserve(path, p, 1, "three", &owners, &err), 0);
	husk_rmtree_at(AT_FDCWD, dir, NULL);
}

static void test_ipv6(void **state)
{
	struct husk_subnet6 s, t;
	struct husk_err err = {0};
	struct in6_addr gw, used[2], out, a;
	struct husk_port *v = NULL;
	size_t n = 0;
	char key[64], text[INET6_ADDRSTRLEN];
	(void)state;

	assert_int_equal(husk_subnet6_parse("fd00:10::/64", &s, &err), 0);
	assert_int_equal(s.prefix, 64);
	husk_err_clear(&err);
	assert_int_equal(husk_subnet6_parse("fd00:10::/121", &t, &err), -1);
	assert_non_null(strstr(err.msg, "longer than /120"));
	husk_err_clear(&err);
	assert_int_equal(husk_subnet6_parse("fd00::/47", &t, &err), -1);
	assert_non_null(strstr(err.msg, "shorter than /48"));
	husk_err_clear(&err);
	assert_int_equal(husk_subnet6_parse("fd00:10::1/64", &t, &err), -1);
	assert_non_null(strstr(err.msg, "did you mean fd00:10::/64"));
	assert_int_equal(husk_subnet6_parse("fd00:10::/56", &t, &err), 0);
	assert_true(husk_subnet6_overlaps(&s, &t));
	assert_int_equal(husk_subnet6_parse("fd00:11::/64", &t, &err), 0);
	assert_false(husk_subnet6_overlaps(&s, &t));
	gw = husk_subnet6_first(&s);
	husk_ipv6_format(&gw, text);
	assert_string_equal(text, "fd00:10::1");
	husk_ipv6_parse("fd00:10::2", &used[0], NULL);
	husk_ipv6_parse("fd00:10::4", &used[1], NULL);
	assert_true(husk_ipam_pick6(&s, &gw, used, 2, &out));
	husk_ipv6_format(&out, text);
	assert_string_equal(text, "fd00:10::3");
	husk_ipv6_parse("fd00:99::2", &a, NULL);
	assert_false(husk_subnet6_contains(&s, &a));

	/* -p [addr]:host:container, and its lease key read back */
	assert_int_equal(husk_ports_parse("[2001:db8::1]:8080:80", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(v[0].v6);
	assert_int_equal(v[0].host_port, 8080);
	assert_int_equal(v[0].container_port, 80);
	husk_port_key(&v[0], key);
	assert_string_equal(key, "tcp/2001:db8::1/8080");
	struct husk_port back;
	assert_int_equal(husk_port_from_key(key, &back), 0);
	assert_true(back.v6 && husk_port_conflicts(&back, &v[0]));
	/* a port on every address conflicts with both families; v4 and v6 ones not with each other */
	assert_int_equal(husk_ports_parse("8080:80", &v, &n, &err), 0);
	assert_int_equal(husk_ports_parse("127.0.0.1:8080:80", &v, &n, &err), 0);
	assert_true(husk_port_conflicts(&v[0], &v[1]));
	assert_false(husk_port_conflicts(&v[0], &v[2]));
	assert_int_equal(husk_ports_parse("[::1]::80", &v, &n, &err), 0);
	assert_true(v[3].v6 && v[3].host_port == 0);
	assert_int_equal(husk_ports_parse("[nope]:80:80", &v, &n, &err), -1);
	assert_int_equal(husk_ports_parse("[::1]80:80", &v, &n, &err), -1);
	free(v);
}

static void test_resolv_conf(void **state)
{
	(void)state;
	const char *host = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\n nameserver ::1\n"
			   "search example.test\nnameserver 127.1.2.3\noptions edns0";
	_cleanup_free_ char *out = husk_resolv_conf(host, false);
	assert_string_equal(out, "# generated\nnameserver 10.0.0.2\nsearch example.test\noptions edns0");
	_cleanup_free_ char *all = husk_resolv_conf(host, true);
	assert_string_equal(all, host);
	_cleanup_free_ char *empty = husk_resolv_conf("", false);
	assert_string_equal(empty, "");
}

static void test_network_names(void **state)
{
	struct husk_err err = {0};
	(void)state;
	assert_int_equal(husk_network_name_valid("lab-1.net_2", &err), 0);
	static const char *const bad[] = {"", "-x", ".x", "a b", "a/b", "host", "none", "bridge",
					  "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		husk_err_clear(&err);
		assert_int_equal(husk_network_name_valid(bad[i], &err), -1);
	}
	char veth[16];
	husk_network_veth_name("0123456789abcdef0123", veth);
	assert_string_equal(veth, "hk0123456789abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subnets),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_leases),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_port_leases),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_resolv_conf),
		cmocka_unit_test(test_network_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
