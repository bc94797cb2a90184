#define _GNU_SOURCE
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util.h"

int husk_ipv4_parse(const char *text, uint32_t *addr, struct husk_err *err)
{
	struct in_addr a;

	if (inet_pton(AF_INET, text, &a) != 1)
		return husk_err_set(err, EINVAL, "\"%s\" is not an IPv4 address", text);
	*addr = ntohl(a.s_addr);
	return 0;
}

void husk_ipv4_format(uint32_t addr, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
}

static uint32_t mask_of(unsigned prefix)
{
	return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

int husk_subnet_parse(const char *text, struct husk_subnet *s, struct husk_err *err)
{
	char addr[32];
	const char *slash = strchr(text, '/');
	char *end;
	unsigned long prefix;

	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return husk_err_set(err, EINVAL, "subnet \"%s\": expected ADDRESS/PREFIX, e.g. 10.88.0.0/16", text);
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || prefix < 8 || prefix > 30)
		return husk_err_set(err, EINVAL, "subnet \"%s\": the prefix length must be 8 to 30", text);
	if (husk_ipv4_parse(addr, &s->network, err) < 0)
		return husk_err_wrap(err, "subnet \"%s\"", text);
	s->prefix = (unsigned)prefix;
	if (s->network & ~mask_of(s->prefix)) {
		char net[16];
		husk_ipv4_format(s->network & mask_of(s->prefix), net);
		return husk_err_set(err, EINVAL, "subnet \"%s\" has host bits set (did you mean %s/%lu?)", text, net, prefix);
	}
	return 0;
}

bool husk_subnet_contains(const struct husk_subnet *s, uint32_t addr)
{
	return (addr & mask_of(s->prefix)) == s->network;
}

bool husk_subnet_overlaps(const struct husk_subnet *a, const struct husk_subnet *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
	return (a->network & mask_of(p)) == (b->network & mask_of(p));
}

uint32_t husk_subnet_first(const struct husk_subnet *s)
{
	return s->network + 1;
}

uint32_t husk_subnet_last(const struct husk_subnet *s)
{
	return (s->network | ~mask_of(s->prefix)) - 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint32_t husk_ipam_pick(const struct husk_subnet *s, uint32_t gateway, const uint32_t *used, size_t n)
{
	uint32_t *sorted = husk_xcalloc(n + 1, sizeof(uint32_t)), candidate = husk_subnet_first(s);
	size_t i = 0;

	if (n)
		memcpy(sorted, used, n * sizeof(uint32_t));
	qsort(sorted, n, sizeof(uint32_t), cmp_u32);
	for (; candidate <= husk_subnet_last(s); candidate++) {
		while (i < n && sorted[i] < candidate)
			i++;
		if (candidate != gateway && !(i < n && sorted[i] == candidate))
			break;
	}
	free(sorted);
	return candidate <= husk_subnet_last(s) ? candidate : 0;
}

int husk_ipv6_parse(const char *text, struct in6_addr *addr, struct husk_err *err)
{
	if (inet_pton(AF_INET6, text, addr) != 1)
		return husk_err_set(err, EINVAL, "\"%s\" is not an IPv6 address", text);
	return 0;
}

void husk_ipv6_format(const struct in6_addr *addr, char out[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "::");
}

/* addr with the bits past prefix cleared */
static struct in6_addr masked6(const struct in6_addr *addr, unsigned prefix)
{
	struct in6_addr m = *addr;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		m.s6_addr[i] &= (uint8_t)(0xff00u >> keep);
	}
	return m;
}

int husk_subnet6_parse(const char *text, struct husk_subnet6 *s, struct husk_err *err)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	char *end;
	unsigned long prefix;

	if (!slash || (size_t)(slash - text) >= sizeof(addr))
		return husk_err_set(err, EINVAL, "subnet \"%s\": expected ADDRESS/PREFIX, e.g. fd00:10::/64", text);
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - text), text);
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || errno || prefix > 128)
		return husk_err_set(err, EINVAL, "subnet \"%s\": the prefix length must be a number up to 128", text);
	/* a bridge is one link: a /64 as a rule. Longer than /120 leaves fewer than 256 addresses
	 * (docker's own floor); shorter than /48 is a whole site's allocation (RFC 6177), not a
	 * link's, and certainly not one bridge's */
	if (prefix > HUSK_SUBNET6_MAX_PREFIX)
		return husk_err_set(err, EINVAL, "subnet \"%s\": a prefix longer than /%u leaves fewer than 256 addresses "
				    "for the network (use /64 as a rule)", text, HUSK_SUBNET6_MAX_PREFIX);
	if (prefix < HUSK_SUBNET6_MIN_PREFIX)
		return husk_err_set(err, EINVAL, "subnet \"%s\": a prefix shorter than /%u is a whole site's allocation "
				    "(RFC 6177), not one bridge's link (use /64 as a rule)", text, HUSK_SUBNET6_MIN_PREFIX);
	if (husk_ipv6_parse(addr, &s->network, err) < 0)
		return husk_err_wrap(err, "subnet \"%s\"", text);
	if (strchr(addr, '.'))
		return husk_err_set(err, EINVAL, "subnet \"%s\": an IPv4-mapped subnet is not an IPv6 network", text);
	s->prefix = (unsigned)prefix;
	struct in6_addr m = masked6(&s->network, s->prefix);
	if (memcmp(&m, &s->network, sizeof(m)) != 0) {
		char net[INET6_ADDRSTRLEN];
		husk_ipv6_format(&m, net);
		return husk_err_set(err, EINVAL, "subnet \"%s\" has host bits set (did you mean %s/%lu?)", text, net, prefix);
	}
	return 0;
}

bool husk_subnet6_contains(const struct husk_subnet6 *s, const struct in6_addr *addr)
{
	struct in6_addr m = masked6(addr, s->prefix);
	return memcmp(&m, &s->network, sizeof(m)) == 0;
}

bool husk_subnet6_overlaps(const struct husk_subnet6 *a, const struct husk_subnet6 *b)
{
	unsigned p = a->prefix < b->prefix ? a->prefix : b->prefix;
	struct in6_addr x = masked6(&a->network, p), y = masked6(&b->network, p);
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static void inc6(struct in6_addr *a)
{
	for (int i = 15; i >= 0 && ++a->s6_addr[i] == 0; i--)
		;
}

struct in6_addr husk_subnet6_first(const struct husk_subnet6 *s)
{
	struct in6_addr a = s->network;
	inc6(&a);
	return a;
}

bool husk_ipam_pick6(const struct husk_subnet6 *s, const struct in6_addr *gateway, const struct in6_addr *used,
		     size_t n, struct in6_addr *out)
{
	struct in6_addr c = husk_subnet6_first(s);

	/* at most n + 2 candidates (the leases and the gateway) are taken: the scan is bounded by the leases, not the subnet */
	for (size_t k = 0; k <= n + 2; k++, inc6(&c)) {
		bool taken = !husk_subnet6_contains(s, &c) || memcmp(&c, &s->network, sizeof(c)) == 0;
		if (!taken && gateway)
			taken = memcmp(&c, gateway, sizeof(c)) == 0;
		for (size_t i = 0; i < n && !taken; i++)
			taken = memcmp(&c, &used[i], sizeof(c)) == 0;
		if (!husk_subnet6_contains(s, &c))
			return false;
		if (!taken) {
			*out = c;
			return true;
		}
	}
	return false;
}

/* the lease file, locked, its leases with the dead dropped */
static int open_leases(const char *path, const struct husk_lease_owners *owners, int *lock, json_t **leases,
		       struct husk_err *err)
{
	_cleanup_free_ char *lock_path = husk_xasprintf("%s.lock", path), *text = NULL;
	json_error_t jerr;
	json_t *root, *l;
	const char *key;
	void *tmp;
	json_t *value;

	*lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock < 0 || flock(*lock, LOCK_EX) < 0) {
		husk_err_sys(err, "lock %s", lock_path);
		if (*lock >= 0)
			close(*lock);
		return -1;
	}
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->errnum != ENOENT) {
			close(*lock);
			return -1;
		}
		husk_err_clear(err);
		*leases = json_object();
		return 0;
	}
	root = json_loads(text, 0, &jerr);
	l = json_object_get(root, "leases");
	if (!json_is_object(l)) {
		json_decref(root);
		close(*lock);
		return husk_err_set(err, EINVAL, "%s: not a lease file (line %d: %s)", path, jerr.line,
				    root ? "no \"leases\" object" : jerr.text);
	}
	*leases = json_incref(l);
	json_decref(root);
	if (owners && owners->alive)
		json_object_foreach_safe(*leases, tmp, key, value) {
			if (json_is_string(value) && owners->alive(json_string_value(value), owners->arg))
				continue;
			if (owners->dropped && json_is_string(value))
				owners->dropped(key, json_string_value(value), owners->arg);
			json_object_del(*leases, key);
		}
	return 0;
}

static int save_leases(const char *path, json_t *leases, struct husk_err *err)
{
	json_t *root = json_pack("{s:O}", "leases", leases);
	_cleanup_free_ char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int husk_ipam_allocate(const char *path, const struct husk_subnet *s, uint32_t gateway, const char *id,
		       const struct husk_lease_owners *owners, uint32_t *addr, struct husk_err *err)
{
	json_t *leases, *value;
	const char *key;
	uint32_t *used;
	size_t n = 0;
	int lock, ret = -1;

	if (open_leases(path, owners, &lock, &leases, err) < 0)
		return -1;
	used = husk_xcalloc(json_object_size(leases) + 1, sizeof(uint32_t));
	json_object_foreach(leases, key, value) {
		uint32_t a = 0;
		if (husk_ipv4_parse(key, &a, NULL) == 0)
			used[n++] = a;
	}
	*addr = husk_ipam_pick(s, gateway, used, n);
	free(used);
	if (!*addr) {
		char net[16];
		husk_ipv4_format(s->network, net);
		husk_err_set(err, ENOSPC, "network %s/%u has no free address left (husk network prune frees those of "
			     "containers that are gone)", net, s->prefix);
		goto out;
	}
	char text[16];
	husk_ipv4_format(*addr, text);
	json_object_set_new(leases, text, json_string(id));
	ret = save_leases(path, leases, err);
out:
	json_decref(leases);
	close(lock);
	return ret;
}

/* want is a host address of s, not the gateway: the checks --ip needs */
static int exact_valid(const struct husk_subnet *s, uint32_t gateway, uint32_t want, struct husk_err *err)
{
	char text[16], net[16];

	husk_ipv4_format(want, text);
	husk_ipv4_format(s->network, net);
	if (!husk_subnet_contains(s, want))
		return husk_err_set(err, EINVAL, "address %s is not in the network's subnet %s/%u", text, net, s->prefix);
	if (want < husk_subnet_first(s) || want > husk_subnet_last(s))
		return husk_err_set(err, EINVAL, "address %s is the network or broadcast address of %s/%u", text, net,
				    s->prefix);
	if (want == gateway)
		return husk_err_set(err, EADDRINUSE, "address %s is the network's gateway", text);
	return 0;
}

static int exact_free(json_t *leases, uint32_t want, const char *id, const struct husk_lease_owners *owners,
		      struct husk_err *err)
{
	char text[16];
	json_t *holder;

	husk_ipv4_format(want, text);
	holder = json_object_get(leases, text);
	if (!json_is_string(holder) || (id && strcmp(json_string_value(holder), id) == 0))
		return 0;
	if (owners && owners->alive && !owners->alive(json_string_value(holder), owners->arg))
		return 0;
	return husk_err_set(err, EADDRINUSE, "address %s is already in use by container %.12s", text,
			    json_string_value(holder));
}

int husk_ipam_check_exact(const char *path, const struct husk_subnet *s, uint32_t gateway, uint32_t want,
			  const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_t *root;
	int ret;

	if (exact_valid(s, gateway, want, err) < 0)
		return -1;
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	root = json_loads(text, 0, NULL);
	ret = exact_free(json_object_get(root, "leases"), want, NULL, owners, err);
	json_decref(root);
	return ret;
}

int husk_ipam_allocate_exact(const char *path, const struct husk_subnet *s, uint32_t gateway, const char *id,
			     uint32_t want, const struct husk_lease_owners *owners, struct husk_err *err)
{
	json_t *leases;
	char text[16];
	int lock, ret = -1;

	if (exact_valid(s, gateway, want, err) < 0)
		return -1;
	if (open_leases(path, owners, &lock, &leases, err) < 0)
		return -1;
	/* the dead are gone from leases already */
	if (exact_free(leases, want, id, NULL, err) < 0)
		goto out;
	husk_ipv4_format(want, text);
	json_object_set_new(leases, text, json_string(id));
	ret = save_leases(path, leases, err);
out:
	json_decref(leases);
	close(lock);
	return ret;
}

static int exact6_valid(const struct husk_subnet6 *s, const struct in6_addr *gateway, const struct in6_addr *want,
			struct husk_err *err)
{
	char text[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];

	husk_ipv6_format(want, text);
	husk_ipv6_format(&s->network, net);
	if (!husk_subnet6_contains(s, want))
		return husk_err_set(err, EINVAL, "address %s is not in the network's subnet %s/%u", text, net, s->prefix);
	if (memcmp(want, &s->network, sizeof(*want)) == 0)
		return husk_err_set(err, EINVAL, "address %s is the subnet-router anycast address of %s/%u", text, net,
				    s->prefix);
	if (gateway && memcmp(want, gateway, sizeof(*want)) == 0)
		return husk_err_set(err, EADDRINUSE, "address %s is the network's gateway", text);
	return 0;
}

/* the holder of key in leases, when it is alive and not id: an error naming it */
static int key_free(json_t *leases, const char *key, const char *id, const struct husk_lease_owners *owners,
		    struct husk_err *err)
{
	json_t *holder = json_object_get(leases, key);

	if (!json_is_string(holder) || (id && strcmp(json_string_value(holder), id) == 0))
		return 0;
	if (owners && owners->alive && !owners->alive(json_string_value(holder), owners->arg))
		return 0;
	return husk_err_set(err, EADDRINUSE, "address %s is already in use by container %.12s", key,
			    json_string_value(holder));
}

int husk_ipam_check_exact6(const char *path, const struct husk_subnet6 *s, const struct in6_addr *gateway,
			   const struct in6_addr *want, const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	char key[INET6_ADDRSTRLEN];
	json_t *root;
	int ret;

	if (exact6_valid(s, gateway, want, err) < 0)
		return -1;
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	husk_ipv6_format(want, key);
	root = json_loads(text, 0, NULL);
	ret = key_free(json_object_get(root, "leases"), key, NULL, owners, err);
	json_decref(root);
	return ret;
}

int husk_ipam_allocate6(const char *path, const struct husk_subnet6 *s, const struct in6_addr *gateway,
			const char *id, const struct in6_addr *want, const struct husk_lease_owners *owners,
			struct in6_addr *addr, struct husk_err *err)
{
	json_t *leases, *value;
	const char *key;
	char text[INET6_ADDRSTRLEN];
	int lock, ret = -1;

	if (want && exact6_valid(s, gateway, want, err) < 0)
		return -1;
	/* Not owners: the caller's IPv4 lease, just taken under this lock, already dropped the
	 * dead, and asking whether id itself is alive would wait on the lock id's caller holds. */
	(void)owners;
	if (open_leases(path, NULL, &lock, &leases, err) < 0)
		return -1;
	if (want) {
		husk_ipv6_format(want, text);
		if (key_free(leases, text, id, NULL, err) < 0)
			goto out;
		*addr = *want;
	} else {
		struct in6_addr *used = husk_xcalloc(json_object_size(leases) + 1, sizeof(*used));
		size_t n = 0;
		json_object_foreach(leases, key, value)
			if (strchr(key, ':') && husk_ipv6_parse(key, &used[n], NULL) == 0)
				n++;
		bool found = husk_ipam_pick6(s, gateway, used, n, addr);
		free(used);
		if (!found) {
			husk_ipv6_format(&s->network, text);
			husk_err_set(err, ENOSPC, "network %s/%u has no free IPv6 address left", text, s->prefix);
			goto out;
		}
		husk_ipv6_format(addr, text);
	}
	json_object_set_new(leases, text, json_string(id));
	ret = save_leases(path, leases, err);
out:
	json_decref(leases);
	close(lock);
	return ret;
}

int husk_ipam_release(const char *path, const char *id, const struct husk_lease_owners *owners, struct husk_err *err)
{
	json_t *leases, *value;
	const char *key;
	void *tmp;
	int lock, ret;

	if (open_leases(path, NULL, &lock, &leases, err) < 0)
		return -1;
	json_object_foreach_safe(leases, tmp, key, value) {
		if (!json_is_string(value) || strcmp(json_string_value(value), id) != 0)
			continue;
		if (owners && owners->dropped)
			owners->dropped(key, id, owners->arg);
		json_object_del(leases, key);
	}
	ret = save_leases(path, leases, err);
	json_decref(leases);
	close(lock);
	return ret;
}

int husk_ipam_prune(const char *path, const struct husk_lease_owners *owners, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_t *leases;
	size_t before = 0;
	int lock, ret;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) == 0) {
		json_t *root = json_loads(text, 0, NULL);
		before = json_object_size(json_object_get(root, "leases"));
		json_decref(root);
	}
	if (open_leases(path, owners, &lock, &leases, err) < 0)
		return -1;
	ret = save_leases(path, leases, err);
	if (ret == 0)
		ret = (int)(before - json_object_size(leases));
	json_decref(leases);
	close(lock);
	return ret;
}

int husk_ipam_list(const char *path, void (*fn)(const char *key, const char *id, void *arg), void *arg,
		   struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *root, *value;
	const char *key;

	struct husk_err e = {0};
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, &e) < 0)
		return e.errnum == ENOENT ? 0 : husk_err_copy(err, &e);
	root = json_loads(text, 0, &jerr);
	if (!json_is_object(json_object_get(root, "leases"))) {
		json_decref(root);
		return husk_err_set(err, EINVAL, "%s: not a lease file (line %d)", path, jerr.line);
	}
	json_object_foreach(json_object_get(root, "leases"), key, value)
		if (json_is_string(value))
			fn(key, json_string_value(value), arg);
	json_decref(root);
	return 0;
}

static int parse_port_number(const char *text, size_t len, uint16_t *port, const char *spec, const char *which,
			     struct husk_err *err)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < len && text[i] >= '0' && text[i] <= '9' && v <= 65535; i++)
		v = v * 10 + (unsigned long)(text[i] - '0');
	if (len == 0 || i != len)
		return husk_err_set(err, EINVAL, "port \"%s\": the %s port \"%.*s\" is not a number", spec, which, (int)len, text);
	if (v < 1 || v > 65535)
		return husk_err_set(err, ERANGE, "port \"%s\": the %s port %.*s is out of range (1-65535)", spec, which,
				    (int)len, text);
	*port = (uint16_t)v;
	return 0;
}

int husk_port_parse(const char *text, struct husk_port *p, struct husk_err *err)
{
	const char *slash = strchr(text, '/'), *end = slash ? slash : text + strlen(text);
	const char *last = NULL, *first = NULL;

	memset(p, 0, sizeof(*p));
	p->proto = IPPROTO_TCP;
	if (slash) {
		if (strcmp(slash + 1, "udp") == 0)
			p->proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp") != 0)
			return husk_err_set(err, EINVAL, "port \"%s\": the protocol must be tcp or udp", text);
	}
	for (const char *c = text; c < end; c++)
		if (*c == ':') {
			first = first ? first : c;
			last = c;
		}
	if (!last)
		return husk_err_set(err, EINVAL, "port \"%s\": expected [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]", text);
	if (parse_port_number(last + 1, (size_t)(end - last - 1), &p->container_port, text, "container", err) < 0)
		return -1;
	const char *host_port = first == last ? text : first + 1;
	if (parse_port_number(host_port, (size_t)(last - host_port), &p->host_port, text, "host", err) < 0)
		return -1;
	if (first != last) {
		char ip[32];
		size_t len = (size_t)(first - text);
		if (len >= sizeof(ip))
			return husk_err_set(err, EINVAL, "port \"%s\": the host address is too long", text);
		memcpy(ip, text, len);
		ip[len] = '\0';
		if (husk_ipv4_parse(ip, &p->host_ip, err) < 0)
			return husk_err_wrap(err, "port \"%s\"", text);
	}
	return 0;
}

/* "80" or "80-90": first and count */
static int parse_port_range(const char *text, size_t len, uint16_t *first, unsigned *count, const char *spec,
			    const char *which, struct husk_err *err)
{
	const char *dash = memchr(text, '-', len);
	uint16_t last;

	if (!dash) {
		*count = 1;
		return parse_port_number(text, len, first, spec, which, err);
	}
	if (parse_port_number(text, (size_t)(dash - text), first, spec, which, err) < 0 ||
	    parse_port_number(dash + 1, len - (size_t)(dash - text) - 1, &last, spec, which, err) < 0)
		return -1;
	if (last < *first)
		return husk_err_set(err, EINVAL, "port \"%s\": the %s range %.*s ends before it starts", spec, which,
				    (int)len, text);
	*count = (unsigned)(last - *first) + 1;
	return 0;
}

static int ports_parse4(const char *text, struct husk_port **v, size_t *n, struct husk_err *err);

int husk_ports_parse(const char *text, struct husk_port **v, size_t *n, struct husk_err *err)
{
	const char *close;
	char ip[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t before = *n;

	if (text[0] != '[')
		return ports_parse4(text, v, n, err);
	/* "[fd00::1]:8080:80", "[::1]::80": the brackets keep the address's colons apart */
	close = strchr(text, ']');
	if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(ip) || close == text + 1)
		return husk_err_set(err, EINVAL, "port \"%s\": expected [IPV6]:[HOSTPORT]:CONTAINERPORT[/tcp|/udp]", text);
	snprintf(ip, sizeof(ip), "%.*s", (int)(close - text - 1), text + 1);
	if (husk_ipv6_parse(ip, &a, err) < 0)
		return husk_err_wrap(err, "port \"%s\"", text);
	/* the rest as "0.0.0.0:HOSTPORT:PORT", its address replaced after */
	_cleanup_free_ char *rest = husk_xasprintf("0.0.0.0%s", close + 1);
	if (ports_parse4(rest, v, n, err) < 0)
		return husk_err_wrap(err, "port \"%s\"", text);
	for (size_t i = before; i < *n; i++) {
		(*v)[i].v6 = true;
		(*v)[i].host_ip6 = a;
	}
	return 0;
}

static int ports_parse4(const char *text, struct husk_port **v, size_t *n, struct husk_err *err)
{
	const char *slash = strchr(text, '/'), *end = slash ? slash : text + strlen(text);
	const char *last = NULL, *first = NULL;
	struct husk_port base = {.proto = IPPROTO_TCP};
	uint16_t cport, hport = 0;
	unsigned ccount, hcount = 0;

	if (slash) {
		if (strcmp(slash + 1, "udp") == 0)
			base.proto = IPPROTO_UDP;
		else if (strcmp(slash + 1, "tcp") != 0)
			return husk_err_set(err, EINVAL, "port \"%s\": the protocol must be tcp or udp", text);
	}
	for (const char *c = text; c < end; c++)
		if (*c == ':') {
			first = first ? first : c;
			last = c;
		}
	const char *ctext = last ? last + 1 : text;
	if (parse_port_range(ctext, (size_t)(end - ctext), &cport, &ccount, text, "container", err) < 0)
		return -1;
	if (last) {
		const char *htext = first == last ? text : first + 1;
		/* "IP::80": a random host port on IP; "IP:8080:80"; "8080:80" */
		if (last > htext && parse_port_range(htext, (size_t)(last - htext), &hport, &hcount, text, "host", err) < 0)
			return -1;
		if (last == htext && first == last)
			return husk_err_set(err, EINVAL, "port \"%s\": expected [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]",
					    text);
		if (first != last) {
			char ip[32];
			size_t len = (size_t)(first - text);
			if (len >= sizeof(ip) || len == 0)
				return husk_err_set(err, EINVAL, "port \"%s\": the host address is %s", text,
						    len ? "too long" : "empty");
			memcpy(ip, text, len);
			ip[len] = '\0';
			if (husk_ipv4_parse(ip, &base.host_ip, err) < 0)
				return husk_err_wrap(err, "port \"%s\"", text);
		}
	}
	if (hcount && hcount != ccount)
		return husk_err_set(err, EINVAL, "port \"%s\": the host range has %u ports and the container range %u: "
				    "give ranges of the same length (husk does not pick one of several host ports)",
				    text, hcount, ccount);
	*v = husk_xrealloc(*v, (*n + ccount + 1) * sizeof(**v));
	for (unsigned i = 0; i < ccount; i++) {
		struct husk_port p = base;
		p.container_port = (uint16_t)(cport + i);
		p.host_port = hcount ? (uint16_t)(hport + i) : 0;
		(*v)[(*n)++] = p;
	}
	return 0;
}

void husk_ports_ephemeral(uint16_t *first, uint16_t *last)
{
	_cleanup_free_ char *text = NULL;
	unsigned a, b;

	*first = 32768;
	*last = 60999;
	if (husk_read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_local_port_range", &text, NULL, NULL) == 0 &&
	    sscanf(text, "%u %u", &a, &b) == 2 && a >= 1 && a <= b && b <= 65535) {
		*first = (uint16_t)a;
		*last = (uint16_t)b;
	}
}

void husk_port_key(const struct husk_port *p, char out[64])
{
	char ip[INET6_ADDRSTRLEN];

	if (p->v6)
		husk_ipv6_format(&p->host_ip6, ip);
	else
		husk_ipv4_format(p->host_ip, ip);
	snprintf(out, 64, "%s/%s/%u", p->proto == IPPROTO_UDP ? "udp" : "tcp", ip, p->host_port);
}

int husk_port_from_key(const char *key, struct husk_port *p)
{
	const char *first = strchr(key, '/'), *last = strrchr(key, '/');
	char ip[INET6_ADDRSTRLEN];
	char *end;
	unsigned long port;

	memset(p, 0, sizeof(*p));
	if (!first || first == last || (size_t)(last - first - 1) >= sizeof(ip))
		return -1;
	snprintf(ip, sizeof(ip), "%.*s", (int)(last - first - 1), first + 1);
	errno = 0;
	port = strtoul(last + 1, &end, 10);
	if (!last[1] || *end || errno || port < 1 || port > 65535)
		return -1;
	if (strchr(ip, ':')) {
		if (husk_ipv6_parse(ip, &p->host_ip6, NULL) < 0)
			return -1;
		p->v6 = true;
	} else if (husk_ipv4_parse(ip, &p->host_ip, NULL) < 0) {
		return -1;
	}
	if (strncmp(key, "tcp/", 4) == 0)
		p->proto = IPPROTO_TCP;
	else if (strncmp(key, "udp/", 4) == 0)
		p->proto = IPPROTO_UDP;
	else
		return -1;
	p->host_port = (uint16_t)port;
	return 0;
}

/* A port with no host address is on every address of both families. */
static bool port_wildcard(const struct husk_port *p)
{
	return !p->v6 && !p->host_ip;
}

bool husk_port_conflicts(const struct husk_port *a, const struct husk_port *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port)
		return false;
	if (port_wildcard(a) || port_wildcard(b))
		return true;
	if (a->v6 != b->v6)
		return false;
	return a->v6 ? memcmp(&a->host_ip6, &b->host_ip6, sizeof(a->host_ip6)) == 0 : a->host_ip == b->host_ip;
}

static const char *port_name(const struct husk_port *p, char out[64])
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (p->v6) {
		char a[INET6_ADDRSTRLEN];
		husk_ipv6_format(&p->host_ip6, a);
		snprintf(ip, sizeof(ip), "[%.40s]", a);
	} else if (p->host_ip) {
		husk_ipv4_format(p->host_ip, ip);
	}
	snprintf(out, 64, "%s%s%u/%s", ip, *ip ? ":" : "", p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp");
	return out;
}

/* The first of ports that one given twice or held in leases by a container alive (when
 * owners can tell) conflicts with: an error naming it. */
static int find_port_conflict(const struct husk_port *ports, size_t n, json_t *leases,
			      const struct husk_lease_owners *owners, struct husk_err *err)
{
	const char *key;
	json_t *value;
	char name[64];

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (ports[i].host_port && husk_port_conflicts(&ports[i], &ports[j]))
				return husk_err_set(err, EADDRINUSE, "host port %s is published twice",
						    port_name(&ports[i], name));
	for (size_t i = 0; i < n; i++) {
		if (!ports[i].host_port)
			continue;   /* random: chosen free when reserved */
		json_object_foreach(leases, key, value) {
			struct husk_port held;
			if (!json_is_string(value) || husk_port_from_key(key, &held) < 0 || !husk_port_conflicts(&ports[i], &held))
				continue;
			if (owners && owners->alive && !owners->alive(json_string_value(value), owners->arg))
				continue;
			return husk_err_set(err, EADDRINUSE, "host port %s is already published by container %.12s",
					    port_name(&ports[i], name), json_string_value(value));
		}
	}
	return 0;
}

int husk_ports_check(const char *path, const struct husk_port *ports, size_t n, const struct husk_lease_owners *owners,
		     struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct husk_err e = {0};
	json_t *root;
	int ret;

	if (n == 0)
		return 0;
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, &e) < 0) {
		if (e.errnum != ENOENT)
			return husk_err_copy(err, &e);
		text = husk_xstrdup("{\"leases\": {}}");
	}
	root = json_loads(text, 0, NULL);
	ret = find_port_conflict(ports, n, json_object_get(root, "leases"), owners, err);
	json_decref(root);
	return ret;
}

/* Whether nothing in this network namespace has p's host port bound (a server of the host's
 * own, which a lease file knows nothing of). */
static bool port_bindable(const struct husk_port *p)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p->host_port), .sin_addr.s_addr = htonl(p->host_ip)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons(p->host_port), .sin6_addr = p->host_ip6};
	int fd = socket(p->v6 ? AF_INET6 : AF_INET, (p->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return true;   /* cannot tell: the lease file alone decides */
	ok = (p->v6 ? bind(fd, (struct sockaddr *)&sa6, sizeof(sa6)) : bind(fd, (struct sockaddr *)&sa, sizeof(sa))) == 0 ||
	     errno != EADDRINUSE;
	close(fd);
	return ok;
}

/* A random free host port for p (host_port 0), from a random point of the ephemeral range on:
 * not leased (leases holds this batch's choices too) and not bound here. */
static int pick_random_port(struct husk_port *p, json_t *leases, struct husk_err *err)
{
	uint16_t first, last;
	unsigned start = 0, span;
	const char *key;
	json_t *value;

	husk_ports_ephemeral(&first, &last);
	span = (unsigned)(last - first) + 1;
	if (getrandom(&start, sizeof(start), GRND_NONBLOCK) != sizeof(start))
		start = (unsigned)husk_now_ns();
	for (unsigned k = 0; k < span; k++) {
		struct husk_port c = *p;
		bool taken = false;
		c.host_port = (uint16_t)(first + (start + k) % span);
		json_object_foreach(leases, key, value) {
			struct husk_port held;
			if (husk_port_from_key(key, &held) == 0 && husk_port_conflicts(&c, &held)) {
				taken = true;
				break;
			}
		}
		if (!taken && port_bindable(&c)) {
			p->host_port = c.host_port;
			return 0;
		}
	}
	return husk_err_set(err, EADDRNOTAVAIL, "no free host port is left for container port %u/%s in the ephemeral "
			    "range %u-%u", p->container_port, p->proto == IPPROTO_UDP ? "udp" : "tcp", first, last);
}

int husk_ports_reserve(const char *path, struct husk_port *ports, size_t n, const char *id,
		       const struct husk_lease_owners *owners, struct husk_err *err)
{
	json_t *leases;
	char name[64];
	int lock, ret = -1;
	bool *chosen = husk_xcalloc(n + 1, sizeof(bool));

	if (open_leases(path, owners, &lock, &leases, err) < 0) {
		free(chosen);
		return -1;
	}
	/* the dead are gone from leases already: every holder left is alive */
	if (find_port_conflict(ports, n, leases, NULL, err) < 0)
		goto out;
	/* the fixed ones first, so that a random choice steers clear of them */
	for (size_t i = 0; i < n; i++)
		if (ports[i].host_port) {
			husk_port_key(&ports[i], name);
			json_object_set_new(leases, name, json_string(id));
		}
	for (size_t i = 0; i < n; i++) {
		if (ports[i].host_port)
			continue;
		if (pick_random_port(&ports[i], leases, err) < 0)
			goto out;
		chosen[i] = true;
		husk_port_key(&ports[i], name);
		json_object_set_new(leases, name, json_string(id));
	}
	for (size_t i = 0; i < n; i++) {
		husk_port_key(&ports[i], name);
		json_object_set_new(leases, name, json_string(id));
	}
	ret = save_leases(path, leases, err);
out:
	/* on failure the ports are as given: random again next time */
	for (size_t i = 0; ret < 0 && i < n; i++)
		if (chosen[i])
			ports[i].host_port = 0;
	free(chosen);
	json_decref(leases);
	close(lock);
	return ret;
}
