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

void husk_port_key(const struct husk_port *p, char out[40])
{
	char ip[16];

	husk_ipv4_format(p->host_ip, ip);
	snprintf(out, 40, "%s/%s/%u", p->proto == IPPROTO_UDP ? "udp" : "tcp", ip, p->host_port);
}

int husk_port_from_key(const char *key, struct husk_port *p)
{
	char proto[4], ip[16];
	unsigned port;

	memset(p, 0, sizeof(*p));
	if (sscanf(key, "%3[a-z]/%15[0-9.]/%u", proto, ip, &port) != 3 || port < 1 || port > 65535 ||
	    husk_ipv4_parse(ip, &p->host_ip, NULL) < 0)
		return -1;
	if (strcmp(proto, "tcp") == 0)
		p->proto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		p->proto = IPPROTO_UDP;
	else
		return -1;
	p->host_port = (uint16_t)port;
	return 0;
}

bool husk_port_conflicts(const struct husk_port *a, const struct husk_port *b)
{
	return a->proto == b->proto && a->host_port == b->host_port &&
	       (!a->host_ip || !b->host_ip || a->host_ip == b->host_ip);
}

static const char *port_name(const struct husk_port *p, char out[40])
{
	char ip[16];

	husk_ipv4_format(p->host_ip, ip);
	snprintf(out, 40, "%s%s%u/%s", p->host_ip ? ip : "", p->host_ip ? ":" : "", p->host_port,
		 p->proto == IPPROTO_UDP ? "udp" : "tcp");
	return out;
}

/* The first of ports that one given twice or held in leases by a container alive (when
 * owners can tell) conflicts with: an error naming it. */
static int find_port_conflict(const struct husk_port *ports, size_t n, json_t *leases,
			      const struct husk_lease_owners *owners, struct husk_err *err)
{
	const char *key;
	json_t *value;
	char name[40];

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (husk_port_conflicts(&ports[i], &ports[j]))
				return husk_err_set(err, EADDRINUSE, "host port %s is published twice",
						    port_name(&ports[i], name));
	for (size_t i = 0; i < n; i++) {
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

int husk_ports_reserve(const char *path, const struct husk_port *ports, size_t n, const char *id,
		       const struct husk_lease_owners *owners, struct husk_err *err)
{
	json_t *leases;
	char name[40];
	int lock, ret = -1;

	if (open_leases(path, owners, &lock, &leases, err) < 0)
		return -1;
	/* the dead are gone from leases already: every holder left is alive */
	if (find_port_conflict(ports, n, leases, NULL, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		husk_port_key(&ports[i], name);
		json_object_set_new(leases, name, json_string(id));
	}
	ret = save_leases(path, leases, err);
out:
	json_decref(leases);
	close(lock);
	return ret;
}
