#define _GNU_SOURCE
#include "ipam.h"

#include <arpa/inet.h>
#include <errno.h>
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
static int open_leases(const char *path, husk_ipam_alive_fn alive, void *arg, int *lock, json_t **leases,
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
	if (alive)
		json_object_foreach_safe(*leases, tmp, key, value)
			if (!json_is_string(value) || !alive(json_string_value(value), arg))
				json_object_del(*leases, key);
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
		       husk_ipam_alive_fn alive, void *arg, uint32_t *addr, struct husk_err *err)
{
	json_t *leases, *value;
	const char *key;
	uint32_t *used;
	size_t n = 0;
	int lock, ret = -1;

	if (open_leases(path, alive, arg, &lock, &leases, err) < 0)
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

int husk_ipam_release(const char *path, const char *id, struct husk_err *err)
{
	json_t *leases, *value;
	const char *key;
	void *tmp;
	int lock, ret;

	if (open_leases(path, NULL, NULL, &lock, &leases, err) < 0)
		return -1;
	json_object_foreach_safe(leases, tmp, key, value)
		if (json_is_string(value) && strcmp(json_string_value(value), id) == 0)
			json_object_del(leases, key);
	ret = save_leases(path, leases, err);
	json_decref(leases);
	close(lock);
	return ret;
}

int husk_ipam_prune(const char *path, husk_ipam_alive_fn alive, void *arg, struct husk_err *err)
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
	if (open_leases(path, alive, arg, &lock, &leases, err) < 0)
		return -1;
	ret = save_leases(path, leases, err);
	if (ret == 0)
		ret = (int)(before - json_object_size(leases));
	json_decref(leases);
	close(lock);
	return ret;
}
