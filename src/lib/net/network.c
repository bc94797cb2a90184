/* Bridge networks: their files, their bridges and rules, and containers joining them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nat.h"
#include "netlink.h"
#include "network.h"
#include "../util.h"

/* the loopback device is the first a network namespace gets, in every namespace */
#define LOOPBACK_INDEX 1

static char *networks_dir(const char *storage)
{
	return husk_xasprintf("%s/networks", storage);
}

static char *network_file(const char *storage, const char *name, const char *suffix)
{
	return husk_xasprintf("%s/networks/%s%s", storage, name, suffix);
}

/* Serialises what changes networks (create, bring up, remove, prune); container attach and
 * detach only take the lease files' own locks. */
static int lock_networks(const char *storage, struct husk_err *err)
{
	_cleanup_free_ char *dir = networks_dir(storage);
	_cleanup_free_ char *path = husk_xasprintf("%s/lock", dir);
	int fd;

	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		husk_err_sys(err, "lock %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int husk_network_name_valid(const char *name, struct husk_err *err)
{
	static const char *const modes[] = {"bridge", "host", "none"};
	size_t len = strlen(name);

	if (len == 0 || len > 63 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return husk_err_set(err, EINVAL, "\"%s\" is not a network name: 1 to 63 of a-z A-Z 0-9 _ . -, "
				    "starting with a letter or digit", name);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(name, modes[i]) == 0)
			return husk_err_set(err, EINVAL, "\"%s\" is a --network mode, not a name a network can have", name);
	return 0;
}

static int read_network(const char *storage, const char *name, struct husk_network *n, struct husk_err *err)
{
	_cleanup_free_ char *path = network_file(storage, name, ".json"), *text = NULL;
	json_error_t jerr;
	json_t *root;
	const char *bridge, *subnet, *gateway, *created;
	int ret = -1;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->errnum == ENOENT) {
			husk_err_clear(err);
			return husk_err_set(err, ENOENT, "no network \"%s\" (husk network ls lists them)", name);
		}
		return -1;
	}
	root = json_loads(text, 0, &jerr);
	if (json_unpack(root, "{s:s, s:s, s:s, s:s}", "bridge", &bridge, "subnet", &subnet, "gateway", &gateway,
			"created", &created) < 0) {
		husk_err_set(err, EINVAL, "%s: not a network file (line %d)", path, jerr.line);
		goto out;
	}
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
	snprintf(n->created, sizeof(n->created), "%s", created);
	if (husk_subnet_parse(subnet, &n->subnet, err) < 0 || husk_ipv4_parse(gateway, &n->gateway, err) < 0) {
		husk_err_wrap(err, "%s", path);
		goto out;
	}
	n->ipv6 = json_is_true(json_object_get(root, "ipv6"));
	if (n->ipv6) {
		const char *s6 = json_string_value(json_object_get(root, "subnet6"));
		const char *g6 = json_string_value(json_object_get(root, "gateway6"));
		if (!s6 || !g6 || husk_subnet6_parse(s6, &n->subnet6, err) < 0 || husk_ipv6_parse(g6, &n->gateway6, err) < 0) {
			if (!err->msg[0])
				husk_err_set(err, EINVAL, "ipv6 without subnet6 and gateway6");
			husk_err_wrap(err, "%s", path);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

static json_t *network_json(const struct husk_network *n)
{
	char net[16], gw[16];
	_cleanup_free_ char *subnet = NULL;

	husk_ipv4_format(n->subnet.network, net);
	husk_ipv4_format(n->gateway, gw);
	subnet = husk_xasprintf("%s/%u", net, n->subnet.prefix);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "name", n->name, "driver", "bridge", "bridge",
			      n->bridge, "subnet", subnet, "gateway", gw, "created", n->created, "ipv6", n->ipv6);
	if (n->ipv6) {
		char net6[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];
		husk_ipv6_format(&n->subnet6.network, net6);
		husk_ipv6_format(&n->gateway6, gw6);
		json_object_set_new(o, "subnet6", json_sprintf("%s/%u", net6, n->subnet6.prefix));
		json_object_set_new(o, "gateway6", json_string(gw6));
	}
	return o;
}

static int write_network(const char *storage, const struct husk_network *n, struct husk_err *err)
{
	_cleanup_free_ char *path = network_file(storage, n->name, ".json");
	json_t *root = network_json(n);
	json_object_del(root, "name");
	_cleanup_free_ char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

/* Every network file in the store: fn(name) until it returns non-zero. */
static int each_network(const char *storage, int (*fn)(const char *name, void *arg), void *arg, struct husk_err *err)
{
	_cleanup_free_ char *dir = networks_dir(storage);
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : husk_err_sys(err, "open %s", dir);
	while (ret == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char name[64];
		if (len - 5 >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name);
		ret = fn(name, arg);
	}
	closedir(d);
	return ret < 0 ? -1 : 0;
}

struct network_set {
	struct husk_network *v;
	size_t n;
	const char *storage;
};

static int collect_network(const char *name, void *arg)
{
	struct network_set *set = arg;
	struct husk_network n;

	if (read_network(set->storage, name, &n, NULL) < 0)
		return 0;
	set->v = husk_xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
	set->v[set->n++] = n;
	return 0;
}

/* What this namespace routes: the first route overlapping s through a link other than
 * except (the network's own bridge), as "10.1.0.0/16 via eth0" in out. */
struct route_check {
	const struct husk_subnet *s;
	const char *except;
	char found[64];
};

static void check_route(uint32_t dst, unsigned prefix, const char *link, void *arg)
{
	struct route_check *rc = arg;
	struct husk_subnet r = {dst, prefix};
	char net[16];

	/* the default route overlaps everything: it is where NAT sends traffic, not a conflict */
	if (prefix == 0 || rc->found[0] || (rc->except && strcmp(link, rc->except) == 0))
		return;
	if (!husk_subnet_overlaps(rc->s, &r))
		return;
	husk_ipv4_format(dst, net);
	snprintf(rc->found, sizeof(rc->found), "%s/%u%s%s", net, prefix, *link ? " via " : "", link);
}

static int routed(struct husk_nl *nl, const struct husk_subnet *s, const char *except, char found[64],
		  struct husk_err *err)
{
	struct route_check rc = {s, except, ""};

	if (husk_nl_routes(nl, check_route, &rc, err) < 0)
		return -1;
	snprintf(found, 64, "%s", rc.found);
	return found[0] != 0;
}

static int check_subnet_free(struct husk_nl *nl, const struct network_set *set, const struct husk_subnet *s,
			     const char *text, struct husk_err *err)
{
	char route[64];

	for (size_t i = 0; i < set->n; i++) {
		if (husk_subnet_overlaps(&set->v[i].subnet, s)) {
			char net[16];
			husk_ipv4_format(set->v[i].subnet.network, net);
			return husk_err_set(err, EEXIST, "subnet %s overlaps network \"%s\" (%s/%u)", text, set->v[i].name, net,
					    set->v[i].subnet.prefix);
		}
	}
	int r = routed(nl, s, NULL, route, err);
	if (r < 0)
		return -1;
	if (r)
		return husk_err_set(err, EEXIST, "subnet %s is already routed on this host (%s): choose another with --subnet",
				    text, route);
	return 0;
}

/* The first /16 from 10.<first>.0.0 up that no husk network and no route here uses. */
static int pick_subnet(struct husk_nl *nl, const struct network_set *set, unsigned first, struct husk_subnet *out,
		       struct husk_err *err)
{
	for (unsigned b = first; b < 255; b++) {
		struct husk_subnet s = {(10u << 24) | (b << 16), 16};
		char text[24];
		snprintf(text, sizeof(text), "10.%u.0.0/16", b);
		struct husk_err e = {0};
		if (check_subnet_free(nl, set, &s, text, &e) == 0) {
			*out = s;
			return 0;
		}
		if (e.errnum != EEXIST) {
			husk_err_copy(err, &e);
			return -1;
		}
	}
	return husk_err_set(err, ENOSPC, "no free 10.x.0.0/16 subnet is left for a network: give one with --subnet");
}

static void now_text(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* the lowest huskN (N from 1) no network has */
static void pick_bridge(const struct network_set *set, char out[16])
{
	for (unsigned i = 1;; i++) {
		snprintf(out, 16, "husk%u", i);
		bool used = false;
		for (size_t k = 0; k < set->n && !used; k++)
			used = strcmp(set->v[k].bridge, out) == 0;
		if (!used)
			return;
	}
}

int husk_network_get(const char *storage, const char *name, struct husk_network *n, char **note, struct husk_err *err)
{
	struct network_set set = {.storage = storage};
	struct husk_nl nl = {0};
	int lock, ret = -1;

	*note = NULL;
	if (read_network(storage, name, n, err) == 0 || strcmp(name, HUSK_NETWORK_DEFAULT) != 0 || err->errnum != ENOENT)
		return err->msg[0] ? -1 : 0;
	husk_err_clear(err);
	/* the default network, on first use */
	if ((lock = lock_networks(storage, err)) < 0)
		return -1;
	if (read_network(storage, name, n, err) == 0) {
		ret = 0;
		goto out;
	}
	husk_err_clear(err);
	if (husk_nl_open(&nl, err) < 0 || each_network(storage, collect_network, &set, err) < 0)
		goto out;
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", HUSK_NETWORK_DEFAULT);
	snprintf(n->bridge, sizeof(n->bridge), "%s", HUSK_NETWORK_DEFAULT_BRIDGE);
	now_text(n->created);
	if (pick_subnet(&nl, &set, 88, &n->subnet, err) < 0)
		goto out;
	if (n->subnet.network != ((10u << 24) | (88u << 16))) {
		char net[16];
		husk_ipv4_format(n->subnet.network, net);
		*note = husk_xasprintf("the default network uses %s/16: " HUSK_NETWORK_DEFAULT_SUBNET
				       " is already routed on this host", net);
	}
	n->gateway = husk_subnet_first(&n->subnet);
	ret = write_network(storage, n, err);
out:
	husk_nl_close(&nl);
	free(set.v);
	close(lock);
	return ret;
}

static int write_sysctl(const char *path, struct husk_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	char now = 0;

	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	if (read(fd, &now, 1) == 1 && now == '1')
		return 0;
	if (pwrite(fd, "1", 1, 0) != 1)
		return husk_err_sys(err, "write 1 to %s", path);
	return 0;
}

/* The slow path of bringing a network up, under the networks lock. */
static int bring_up(struct husk_nl *nl, const struct husk_network *n, struct husk_err *err)
{
	struct husk_link link;
	struct husk_err e = {0};
	char route[64], net[16];

	if (husk_nl_link_get(nl, n->bridge, &link, &e) < 0) {
		if (e.errnum != ENODEV) {
			husk_err_copy(err, &e);
			return -1;
		}
		int r = routed(nl, &n->subnet, n->bridge, route, err);
		if (r < 0)
			return -1;
		if (r) {
			husk_ipv4_format(n->subnet.network, net);
			return husk_err_set(err, EEXIST, "network \"%s\": its subnet %s/%u is already routed on this host (%s); "
					    "remove it and create it again with another --subnet", n->name, net, n->subnet.prefix, route);
		}
		if (husk_nl_bridge_add(nl, n->bridge, err) < 0 || husk_nl_link_get(nl, n->bridge, &link, err) < 0)
			return -1;
	}
	if (husk_nl_addr_add(nl, link.index, n->gateway, n->subnet.prefix, err) < 0)
		return -1;
	_cleanup_free_ char *localnet = husk_xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", n->bridge);
	/* route_localnet lets 127.0.0.1:PORT be DNATed out of the bridge (the output chain does it) */
	if (write_sysctl("/proc/sys/net/ipv4/ip_forward", err) < 0 || write_sysctl(localnet, err) < 0)
		return -1;
	if (husk_nat_table_ensure(err) < 0 || husk_nat_network_remove(n->name, err) < 0 ||
	    husk_nat_network_add(n->name, n->bridge, &n->subnet, err) < 0)
		return -1;
	/* IPv6 forwarding in this namespace (where husk makes its bridges), as ip_forward above */
	if (n->ipv6 && (husk_nl_addr6_add(nl, link.index, &n->gateway6, n->subnet6.prefix, err) < 0 ||
			write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", err) < 0 || husk_nat_table6_ensure(err) < 0 ||
			husk_nat_network_add6(n->name, n->bridge, &n->subnet6, err) < 0))
		return -1;
	return husk_nl_link_up(nl, link.index, err);
}

/* the bridge's link, bringing the network up first when it is not */
static int ensure_up(struct husk_nl *nl, const char *storage, const struct husk_network *n, struct husk_link *link,
		     struct husk_err *err)
{
	struct husk_err e = {0};
	int lock, ret;

	if (husk_nl_link_get(nl, n->bridge, link, &e) == 0 && link->up)
		return 0;
	if (e.errnum && e.errnum != ENODEV) {
		husk_err_copy(err, &e);
		return -1;
	}
	if ((lock = lock_networks(storage, err)) < 0)
		return -1;
	/* another husk may have brought it up while this one waited for the lock */
	if (husk_nl_link_get(nl, n->bridge, link, NULL) == 0 && link->up) {
		close(lock);
		return 0;
	}
	ret = bring_up(nl, n, err);
	close(lock);
	if (ret < 0)
		return husk_err_wrap(err, "bring network \"%s\" up", n->name);
	return husk_nl_link_get(nl, n->bridge, link, err);
}

int husk_network_up(const char *storage, const struct husk_network *n, struct husk_err *err)
{
	struct husk_nl nl;
	struct husk_link link;
	int ret;

	if (husk_nl_open(&nl, err) < 0)
		return -1;
	ret = ensure_up(&nl, storage, n, &link, err);
	husk_nl_close(&nl);
	return ret;
}

/* --ipv6's subnet and gateway: parsed, and no other network's subnet overlapping */
static int check_subnet6(const struct husk_network_spec *spec, const struct network_set *set, struct husk_network *n,
			 struct husk_err *err)
{
	if (!spec->ipv6) {
		if (spec->subnet6 || spec->gateway6)
			return husk_err_set(err, EINVAL, "%s %s is IPv6: add --ipv6 to give the network IPv6 addresses",
					    spec->subnet6 ? "--subnet" : "--gateway", spec->subnet6 ? spec->subnet6 : spec->gateway6);
		return 0;
	}
	if (!spec->subnet6)
		return husk_err_set(err, EINVAL, "--ipv6 needs an IPv6 --subnet (e.g. --subnet fd00:10::/64): husk does not "
				    "pick one");
	if (husk_subnet6_parse(spec->subnet6, &n->subnet6, err) < 0)
		return -1;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].ipv6 && husk_subnet6_overlaps(&set->v[i].subnet6, &n->subnet6)) {
			char net[INET6_ADDRSTRLEN];
			husk_ipv6_format(&set->v[i].subnet6.network, net);
			return husk_err_set(err, EEXIST, "subnet %s overlaps network \"%s\" (%s/%u)", spec->subnet6,
					    set->v[i].name, net, set->v[i].subnet6.prefix);
		}
	if (!spec->gateway6) {
		n->gateway6 = husk_subnet6_first(&n->subnet6);
	} else {
		if (husk_ipv6_parse(spec->gateway6, &n->gateway6, err) < 0)
			return husk_err_wrap(err, "--gateway");
		if (!husk_subnet6_contains(&n->subnet6, &n->gateway6) ||
		    memcmp(&n->gateway6, &n->subnet6.network, sizeof(n->gateway6)) == 0)
			return husk_err_set(err, EINVAL, "gateway %s is not a host address of subnet %s", spec->gateway6,
					    spec->subnet6);
	}
	n->ipv6 = true;
	return 0;
}

int husk_network_create(const char *storage, const char *name, const struct husk_network_spec *spec,
			struct husk_network *n, struct husk_err *err)
{
	const char *subnet = spec->subnet, *gateway = spec->gateway;

	struct network_set set = {.storage = storage};
	struct husk_nl nl = {0};
	_cleanup_free_ char *path = network_file(storage, name, ".json");
	int lock = -1, ret = -1;

	if (husk_network_name_valid(name, err) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	if (subnet && husk_subnet_parse(subnet, &n->subnet, err) < 0)
		return -1;
	if (gateway && husk_ipv4_parse(gateway, &n->gateway, err) < 0)
		return husk_err_wrap(err, "gateway");
	if ((lock = lock_networks(storage, err)) < 0)
		return -1;
	if (access(path, F_OK) == 0) {
		husk_err_set(err, EEXIST, "network \"%s\" exists already", name);
		goto out;
	}
	if (husk_nl_open(&nl, err) < 0 || each_network(storage, collect_network, &set, err) < 0)
		goto out;
	if (check_subnet6(spec, &set, n, err) < 0)
		goto out;
	if (subnet ? check_subnet_free(&nl, &set, &n->subnet, subnet, err) < 0 : pick_subnet(&nl, &set, 89, &n->subnet, err) < 0)
		goto out;
	if (!gateway) {
		n->gateway = husk_subnet_first(&n->subnet);
	} else if (!husk_subnet_contains(&n->subnet, n->gateway) || n->gateway < husk_subnet_first(&n->subnet) ||
		   n->gateway > husk_subnet_last(&n->subnet)) {
		husk_err_set(err, EINVAL, "gateway %s is not a host address of subnet %s", gateway, subnet ? subnet : "(chosen)");
		goto out;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	if (strcmp(name, HUSK_NETWORK_DEFAULT) == 0)
		snprintf(n->bridge, sizeof(n->bridge), "%s", HUSK_NETWORK_DEFAULT_BRIDGE);
	else
		pick_bridge(&set, n->bridge);
	now_text(n->created);
	if (write_network(storage, n, err) < 0)
		goto out;
	if (bring_up(&nl, n, err) < 0) {
		/* nothing half-made stays: the rules, the bridge, the file */
		husk_nat_network_remove(n->name, NULL);
		husk_nl_link_del(&nl, n->bridge, NULL);
		unlink(path);
		goto out;
	}
	ret = 0;
out:
	husk_nl_close(&nl);
	free(set.v);
	close(lock);
	return ret;
}

void husk_network_veth_name(const char *id, char out[16])
{
	/* "hk" + 13 hex digits of the id: 15 characters, IFNAMSIZ's limit */
	snprintf(out, 16, "hk%.13s", id);
}

/* Lease owners for ports: the caller's liveness, plus the nftables element to remove. */
struct port_owners {
	const struct husk_lease_owners *caller;
};

static bool port_owner_alive(const char *id, void *arg)
{
	const struct port_owners *po = arg;
	return !po->caller || !po->caller->alive || po->caller->alive(id, po->caller->arg);
}

static void port_dropped(const char *key, const char *id, void *arg)
{
	struct husk_port p;
	(void)id;
	(void)arg;
	if (husk_port_from_key(key, &p) == 0)
		husk_nat_port_remove(&p, NULL);
}

static int release_ports(const char *storage, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *ports = husk_xasprintf("%s/networks/ports.json", storage);
	struct husk_lease_owners undo = {.dropped = port_dropped};

	if (access(ports, F_OK) < 0)
		return 0;
	return husk_ipam_release(ports, id, &undo, err);
}

int husk_network_ports_check(const char *storage, const struct husk_port *ports, size_t n_ports,
			     const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/networks/ports.json", storage);
	return husk_ports_check(path, ports, n_ports, owners, err);
}

/* the host end of a container's interface: eth0's is hk + 13 digits of the id (prune knows it);
 * ethN's (N >= 1) hk + 10 digits + "x" + N, which prune leaves to the kernel */
static void host_end(const char *id, const char *ifname, char out[16])
{
	if (!ifname || strcmp(ifname, "eth0") == 0)
		husk_network_veth_name(id, out);
	else
		snprintf(out, 16, "hk%.10sx%s", id, ifname + 3);
}

int husk_network_ip_check(const char *storage, const struct husk_network *n, uint32_t want,
			  const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, n->name, ".leases");

	if (husk_ipam_check_exact(leases, &n->subnet, n->gateway, want, owners, err) < 0)
		return husk_err_wrap(err, "network \"%s\"", n->name);
	return 0;
}

int husk_network_ip6_check(const char *storage, const struct husk_network *n, const struct in6_addr *want,
			   const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, n->name, ".leases");
	char text[INET6_ADDRSTRLEN];

	husk_ipv6_format(want, text);
	if (!n->ipv6)
		return husk_err_set(err, EAFNOSUPPORT, "network \"%s\" has no IPv6 (husk network create --ipv6): "
				    "cannot give the container %s", n->name, text);
	if (husk_ipam_check_exact6(leases, &n->subnet6, &n->gateway6, want, owners, err) < 0)
		return husk_err_wrap(err, "network \"%s\"", n->name);
	return 0;
}

int husk_network_attach(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			struct husk_port *ports, size_t n_ports, const struct husk_lease_owners *owners,
			uint32_t *addr, struct husk_err *err)
{
	struct husk_attach a = {0};
	return husk_network_attach_if(storage, n, id, netns_fd, &a, ports, n_ports, owners, addr, err);
}

int husk_network_attach_if(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			   const struct husk_attach *a, struct husk_port *ports, size_t n_ports,
			   const struct husk_lease_owners *owners, uint32_t *addr, struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, n->name, ".leases");
	_cleanup_free_ char *ports_path = husk_xasprintf("%s/networks/ports.json", storage);
	struct port_owners po = {owners};
	struct husk_lease_owners port_leases = {port_owner_alive, port_dropped, &po};
	struct husk_nl host = {0}, inside = {0};
	struct husk_link bridge, eth0;
	const char *ifname = a->ifname ? a->ifname : "eth0";
	bool primary = strcmp(ifname, "eth0") == 0;
	char veth[16];
	struct in6_addr addr6 = IN6ADDR_ANY_INIT;

	host_end(id, ifname, veth);

	*addr = 0;
	if (a->addr6)
		*a->addr6 = addr6;
	if (husk_nl_open(&host, err) < 0)
		return -1;
	if (ensure_up(&host, storage, n, &bridge, err) < 0)
		goto fail;
	/* recorded before made: a lease outlives a crash, and prune finds it by its container */
	if (a->want) {
		if (husk_ipam_allocate_exact(leases, &n->subnet, n->gateway, id, a->want, owners, err) < 0)
			goto fail;
		*addr = a->want;
	} else if (husk_ipam_allocate(leases, &n->subnet, n->gateway, id, owners, addr, err) < 0) {
		goto fail;
	}
	if (n->ipv6 && husk_ipam_allocate6(leases, &n->subnet6, &n->gateway6, id, a->want6, owners, &addr6, err) < 0)
		goto fail;
	if (n_ports && husk_ports_reserve(ports_path, ports, n_ports, id, &port_leases, err) < 0)
		goto fail;
	if (husk_nat_ports_add(ports, n_ports, *addr, n->ipv6 ? &addr6 : NULL, id, err) < 0)
		goto fail;
	if (husk_nl_veth_add(&host, veth, bridge.index, ifname, netns_fd, bridge.mtu, err) < 0)
		goto fail;
	if (husk_nl_open_in(&inside, netns_fd, err) < 0 || husk_nl_link_up(&inside, LOOPBACK_INDEX, err) < 0 ||
	    husk_nl_link_get(&inside, ifname, &eth0, err) < 0 ||
	    husk_nl_addr_add(&inside, eth0.index, *addr, n->subnet.prefix, err) < 0 ||
	    husk_nl_link_up(&inside, eth0.index, err) < 0 ||
	    (primary && husk_nl_route_default(&inside, n->gateway, eth0.index, err) < 0))
		goto fail;
	if (n->ipv6 && (husk_nl_addr6_add(&inside, eth0.index, &addr6, n->subnet6.prefix, err) < 0 ||
			(primary && husk_nl_route6_default(&inside, &n->gateway6, eth0.index, err) < 0)))
		goto fail;
	if (a->addr6)
		*a->addr6 = addr6;
	husk_nl_close(&inside);
	husk_nl_close(&host);
	return 0;
fail:
	husk_nl_close(&inside);
	husk_nl_close(&host);
	if (*addr) {
		struct husk_nl undo;
		if (husk_nl_open(&undo, NULL) == 0) {
			husk_nl_link_del(&undo, veth, NULL);
			husk_nl_close(&undo);
		}
		if (primary)
			husk_network_detach(storage, n, id, NULL);
		else
			husk_ipam_release(leases, id, NULL, NULL);
	}
	return husk_err_wrap(err, "network \"%s\"", n->name);
}

int husk_network_detach_if(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			   const char *ifname, struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, n->name, ".leases");
	struct husk_nl inside = {0};
	int ret = 0;

	if (netns_fd >= 0 && ifname && *ifname) {
		struct husk_err e = {0};
		/* its peer, the host end, goes with it */
		if (husk_nl_open_in(&inside, netns_fd, &e) < 0 || husk_nl_link_del(&inside, ifname, &e) < 0) {
			if (e.errnum != ENODEV) {
				husk_err_copy(err, &e);
				ret = -1;
			}
		}
		husk_nl_close(&inside);
	}
	if (husk_ipam_release(leases, id, NULL, ret ? NULL : err) < 0)
		ret = -1;
	return ret;
}

struct free_if {
	unsigned long used;          /* bit N: ethN exists */
};

static void note_eth(const char *name, unsigned index, void *arg)
{
	struct free_if *f = arg;
	unsigned n;
	char rest;
	(void)index;
	if (sscanf(name, "eth%u%c", &n, &rest) == 1 && n < 8 * sizeof(f->used))
		f->used |= 1ul << n;
}

int husk_network_free_ifname(int netns_fd, char out[16], struct husk_err *err)
{
	struct husk_nl inside = {0};
	struct free_if f = {0};

	if (husk_nl_open_in(&inside, netns_fd, err) < 0 || husk_nl_links(&inside, note_eth, &f, err) < 0) {
		husk_nl_close(&inside);
		return -1;
	}
	husk_nl_close(&inside);
	for (unsigned n = 1; n < 8 * sizeof(f.used); n++)
		if (!(f.used & (1ul << n))) {
			snprintf(out, 16, "eth%u", n);
			return 0;
		}
	return husk_err_set(err, ENOSPC, "the container has no free ethN name left (eth1 to eth63 are taken)");
}

int husk_network_detach(const char *storage, const struct husk_network *n, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, n->name, ".leases");
	int ret = 0;

	/* The veth is not deleted here: the kernel destroys both ends with the container's
	 * network namespace, off husk's path, where an RTM_DELLINK would wait ~10 ms for RCU.
	 * One whose namespace outlives its lease is found by husk network prune. */
	ret |= release_ports(storage, id, err);
	ret |= husk_ipam_release(leases, id, NULL, err);
	return ret ? -1 : 0;
}

int husk_network_loopback(int netns_fd, struct husk_err *err)
{
	struct husk_nl nl;
	int ret;

	if (husk_nl_open_in(&nl, netns_fd, err) < 0)
		return -1;
	ret = husk_nl_link_up(&nl, LOOPBACK_INDEX, err);
	husk_nl_close(&nl);
	return ret;
}

struct lease_list {
	json_t *containers;          /* {id: address} */
	size_t n;
};

static void add_lease(const char *key, const char *id, void *arg)
{
	struct lease_list *l = arg;
	/* a dual-stack container holds two leases: list it by its IPv4 address, count it once */
	if (strchr(key, ':'))
		return;
	json_object_set_new(l->containers, id, json_string(key));
	l->n++;
}

int husk_network_remove(const char *storage, const char *name, const struct husk_lease_owners *owners,
			struct husk_err *err)
{
	_cleanup_free_ char *leases = network_file(storage, name, ".leases");
	_cleanup_free_ char *json = network_file(storage, name, ".json");
	_cleanup_free_ char *lease_lock = network_file(storage, name, ".leases.lock");
	struct network_set set = {.storage = storage};
	struct lease_list live = {json_object(), 0};
	struct husk_network n;
	struct husk_nl nl = {0};
	int lock, ret = -1;

	if ((lock = lock_networks(storage, err)) < 0) {
		json_decref(live.containers);
		return -1;
	}
	if (read_network(storage, name, &n, err) < 0)
		goto out;
	if (husk_ipam_prune(leases, owners, err) < 0 || husk_ipam_list(leases, add_lease, &live, err) < 0)
		goto out;
	if (live.n) {
		const char *id = json_object_iter_key(json_object_iter(live.containers));
		husk_err_set(err, EBUSY, "network \"%s\" is in use by container %.12s%s", name, id,
			     live.n > 1 ? " and others" : "");
		goto out;
	}
	if (husk_nat_network_remove(name, err) < 0 || husk_nl_open(&nl, err) < 0 || husk_nl_link_del(&nl, n.bridge, err) < 0)
		goto out;
	if (unlink(json) < 0) {
		husk_err_sys(err, "remove %s", json);
		goto out;
	}
	unlink(leases);
	unlink(lease_lock);
	/* the table goes with the last network; published ports need a network, so none are left */
	if (each_network(storage, collect_network, &set, err) < 0)
		goto out;
	if (set.n == 0 && husk_nat_table_remove(err) < 0)
		goto out;
	ret = 0;
out:
	husk_nl_close(&nl);
	free(set.v);
	json_decref(live.containers);
	close(lock);
	return ret;
}

int husk_network_list(const char *storage, json_t **out, struct husk_err *err)
{
	struct network_set set = {.storage = storage};

	*out = json_array();
	if (each_network(storage, collect_network, &set, err) < 0) {
		json_decref(*out);
		return -1;
	}
	for (size_t i = 0; i < set.n; i++) {
		_cleanup_free_ char *leases = network_file(storage, set.v[i].name, ".leases");
		struct lease_list l = {json_object(), 0};
		json_t *o = network_json(&set.v[i]);
		husk_ipam_list(leases, add_lease, &l, NULL);
		json_object_set_new(o, "containers", l.containers);
		json_array_append_new(*out, o);
	}
	free(set.v);
	return 0;
}

/* live: {id: address} of containers holding a lease; hk* links none of them accounts for
 * are added to it as {name: null} */
static void sweep_veth(const char *name, unsigned index, void *arg)
{
	json_t *live = arg;
	const char *id;
	json_t *v;
	(void)index;

	if (strlen(name) != 15 || strncmp(name, "hk", 2) != 0 || strspn(name + 2, "0123456789abcdef") != 13)
		return;
	json_object_foreach(live, id, v)
		if (strncmp(id, name + 2, 13) == 0)
			return;
	/* deleting while the dump is read would confuse it: remember, delete after */
	json_object_set_new(live, name, json_null());
}

int husk_network_prune(const char *storage, const struct husk_lease_owners *owners, json_t **removed,
		       struct husk_err *err)
{
	_cleanup_free_ char *ports = husk_xasprintf("%s/networks/ports.json", storage);
	struct network_set set = {.storage = storage};
	struct port_owners po = {owners};
	struct husk_lease_owners port_leases = {port_owner_alive, port_dropped, &po};
	struct husk_nl nl = {0};
	json_t *live = json_object();
	const char *key;
	json_t *value;
	void *tmp;
	int lock, ret = -1;

	*removed = json_array();
	if ((lock = lock_networks(storage, err)) < 0)
		goto out_nolock;
	if (each_network(storage, collect_network, &set, err) < 0 || husk_nl_open(&nl, err) < 0)
		goto out;
	if (access(ports, F_OK) == 0 && husk_ipam_prune(ports, &port_leases, err) < 0)
		goto out;
	for (size_t i = 0; i < set.n; i++) {
		_cleanup_free_ char *leases = network_file(storage, set.v[i].name, ".leases");
		struct lease_list l = {json_object(), 0};
		if (husk_ipam_prune(leases, owners, err) < 0 || husk_ipam_list(leases, add_lease, &l, err) < 0) {
			json_decref(l.containers);
			goto out;
		}
		json_object_update(live, l.containers);
		if (l.n == 0 && strcmp(set.v[i].name, HUSK_NETWORK_DEFAULT) != 0)
			json_array_append_new(*removed, json_string(set.v[i].name));
		json_decref(l.containers);
	}
	if (husk_nl_links(&nl, sweep_veth, live, err) < 0)
		goto out;
	json_object_foreach_safe(live, tmp, key, value)
		if (json_is_null(value) && husk_nl_link_del(&nl, key, err) < 0)
			goto out;
	ret = 0;
out:
	husk_nl_close(&nl);
	free(set.v);
	close(lock);
out_nolock:
	json_decref(live);
	if (ret == 0) {
		/* each removal takes the lock itself */
		size_t i;
		json_array_foreach(*removed, i, value)
			if (husk_network_remove(storage, json_string_value(value), owners, err) < 0)
				return -1;
	}
	return ret;
}

char *husk_resolv_conf(const char *host_text, bool keep_loopback)
{
	size_t cap = strlen(host_text) + 1, len = 0;
	char *out = husk_xmalloc(cap);
	const char *line = host_text;

	while (*line) {
		const char *end = strchrnul(line, '\n');
		char server[64] = "";
		bool drop = false;
		if (!keep_loopback && sscanf(line, " nameserver %63s", server) == 1)
			drop = strncmp(server, "127.", 4) == 0 || strcmp(server, "::1") == 0 ||
			       strncmp(server, "0:0:0:0:0:0:0:1", 15) == 0;
		size_t n = (size_t)(end - line) + (*end == '\n');
		if (!drop) {
			memcpy(out + len, line, n);
			len += n;
		}
		line += n;
	}
	out[len] = '\0';
	return out;
}

/* the lines of base that are not of kind ("nameserver", ...) when list replaces them */
static void keep_lines(char **out, const char *base, bool drop_ns, bool drop_search, bool drop_opts)
{
	const char *line = base;

	while (*line) {
		const char *end = strchrnul(line, '\n');
		size_t n = (size_t)(end - line) + (*end == '\n');
		char word[16] = "";
		sscanf(line, " %15s", word);
		bool drop = (drop_ns && strcmp(word, "nameserver") == 0) ||
			    (drop_search && (strcmp(word, "search") == 0 || strcmp(word, "domain") == 0)) ||
			    (drop_opts && strcmp(word, "options") == 0);
		if (!drop) {
			char *next = husk_xasprintf("%s%.*s%s", *out, (int)n, line, *end == '\n' ? "" : "\n");
			free(*out);
			*out = next;
		}
		line += n;
	}
}

static void add_line(char **out, const char *kind, char *const *list)
{
	if (!list || !*list)
		return;
	char *next = husk_xasprintf("%s%s", *out, kind);
	free(*out);
	*out = next;
	for (; *list; list++) {
		next = husk_xasprintf("%s %s", *out, *list);
		free(*out);
		*out = next;
	}
	next = husk_xasprintf("%s\n", *out);
	free(*out);
	*out = next;
}

char *husk_resolv_conf_custom(const char *base, char *const *dns, char *const *search, char *const *options)
{
	char *out = husk_xstrdup("");
	bool has_ns = dns && *dns, has_search = search && *search, has_opts = options && *options;

	keep_lines(&out, base, has_ns, has_search, has_opts);
	if (has_search)
		add_line(&out, "search", search);
	for (; has_ns && *dns; dns++) {
		char *next = husk_xasprintf("%snameserver %s\n", out, *dns);
		free(out);
		out = next;
	}
	if (has_opts)
		add_line(&out, "options", options);
	return out;
}
