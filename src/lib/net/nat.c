/* nftables through libnftables: every command is one transaction the kernel applies whole. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "nat.h"
#include "../util.h"

/* The maps' keys carry the protocol, so one rule per chain serves tcp and udp; a lookup that
 * finds nothing ends the rule without a verdict. The output chain does for the host's own
 * connections (127.0.0.1 included, with route_localnet on the bridge) what prerouting does
 * for everyone else's. */
static const char table_text[] =
	"table ip " HUSK_NAT_TABLE " {\n"
	"  map ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"  map ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n"
	"  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
	"    dnat ip to ip daddr . meta l4proto . th dport map @ports_ip\n"
	"    fib daddr type local dnat ip to meta l4proto . th dport map @ports_any\n"
	"  }\n"
	"  chain output { type nat hook output priority -100; policy accept;\n"
	"    dnat ip to ip daddr . meta l4proto . th dport map @ports_ip\n"
	"    fib daddr type local dnat ip to meta l4proto . th dport map @ports_any\n"
	"  }\n"
	"  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
	"    ip saddr 127.0.0.0/8 oifname \"husk*\" masquerade\n"
	"  }\n"
	"  chain forward { type filter hook forward priority filter; policy accept; }\n"
	"}\n";

/* table ip6 husk: the same for IPv6 networks (husk network create --ipv6). No localhost
 * masquerade: the kernel never routes ::1 off the loopback device (there is no
 * route_localnet for IPv6), so [::1]:PORT reaches a container only through a proxy. */
static const char table6_text[] =
	"table ip6 " HUSK_NAT_TABLE " {\n"
	"  map ports_any { type inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	"  map ports_ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }\n"
	"  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
	"    dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports_ip\n"
	"    fib daddr type local dnat ip6 to meta l4proto . th dport map @ports_any\n"
	"  }\n"
	"  chain output { type nat hook output priority -100; policy accept;\n"
	"    dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports_ip\n"
	"    fib daddr type local dnat ip6 to meta l4proto . th dport map @ports_any\n"
	"  }\n"
	"  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
	"  chain forward { type filter hook forward priority filter; policy accept; }\n"
	"}\n";

/* Run cmd; with json, *out gets the output (JSON). The error is nft's own text, one line. */
static int run(const char *cmd, bool json, char **out, struct husk_err *err, const char *what)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret = 0;

	if (!ctx)
		return husk_err_set(err, ENOMEM, "%s: cannot start libnftables", what);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		_cleanup_free_ char *msg = husk_xstrdup(nft_ctx_get_error_buffer(ctx));
		/* nft repeats the command with carets below its first line: keep the first */
		char *nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		int errnum = strstr(msg, "No such file") ? ENOENT : strstr(msg, "File exists") ? EEXIST
			   : strstr(msg, "Operation not permitted") ? EPERM : 0;
		ret = husk_err_set(err, errnum, "%s: nftables: %s", what, *msg ? msg : "failed");
	} else if (out) {
		*out = husk_xstrdup(nft_ctx_get_output_buffer(ctx));
	}
	nft_ctx_free(ctx);
	return ret;
}

static int table_ensure(const char *family, const char *text, struct husk_err *err)
{
	struct husk_err probe = {0};
	_cleanup_free_ char *list = husk_xasprintf("list table %s " HUSK_NAT_TABLE, family);
	_cleanup_free_ char *what = husk_xasprintf("create table %s " HUSK_NAT_TABLE, family);

	if (run(list, false, NULL, &probe, "look for husk's table") == 0)
		return 0;
	return run(text, false, NULL, err, what);
}

int husk_nat_table_ensure(struct husk_err *err)
{
	return table_ensure("ip", table_text, err);
}

int husk_nat_table6_ensure(struct husk_err *err)
{
	return table_ensure("ip6", table6_text, err);
}

int husk_nat_table_remove(struct husk_err *err)
{
	static const char *const families[] = {"ip", "ip6"};
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		_cleanup_free_ char *cmd = husk_xasprintf("delete table %s " HUSK_NAT_TABLE, families[i]);
		struct husk_err e = {0};
		if (run(cmd, false, NULL, &e, cmd) < 0 && e.errnum != ENOENT) {
			if (ret == 0)
				husk_err_copy(err, &e);
			ret = -1;
		}
	}
	return ret;
}

static bool safe_name(const char *s)
{
	return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == strlen(s);
}

int husk_nat_network_add(const char *name, const char *bridge, const struct husk_subnet *subnet, struct husk_err *err)
{
	char net[16];

	/* names reach the command text: only those husk_network_name_valid lets through */
	if (!safe_name(name) || !safe_name(bridge))
		return husk_err_set(err, EINVAL, "network name \"%s\" or bridge \"%s\" is not safe in a rule", name, bridge);
	husk_ipv4_format(subnet->network, net);
	_cleanup_free_ char *cmd = husk_xasprintf(
		"add rule ip " HUSK_NAT_TABLE " postrouting ip saddr %s/%u oifname != \"%s\" masquerade comment \"husk network %s\"\n"
		"add rule ip " HUSK_NAT_TABLE " postrouting ip saddr %s/%u oifname \"%s\" ct status dnat masquerade comment \"husk network %s\"\n"
		"add rule ip " HUSK_NAT_TABLE " forward iifname \"%s\" oifname \"husk*\" oifname != \"%s\" drop comment \"husk network %s\"\n",
		net, subnet->prefix, bridge, name, net, subnet->prefix, bridge, name, bridge, bridge, name);
	return run(cmd, false, NULL, err, "add the rules of network");
}

int husk_nat_network_add6(const char *name, const char *bridge, const struct husk_subnet6 *subnet,
			  struct husk_err *err)
{
	char net[INET6_ADDRSTRLEN];

	if (!safe_name(name) || !safe_name(bridge))
		return husk_err_set(err, EINVAL, "network name \"%s\" or bridge \"%s\" is not safe in a rule", name, bridge);
	husk_ipv6_format(&subnet->network, net);
	_cleanup_free_ char *cmd = husk_xasprintf(
		"add rule ip6 " HUSK_NAT_TABLE " postrouting ip6 saddr %s/%u oifname != \"%s\" masquerade comment \"husk network %s\"\n"
		"add rule ip6 " HUSK_NAT_TABLE " postrouting ip6 saddr %s/%u oifname \"%s\" ct status dnat masquerade comment \"husk network %s\"\n"
		"add rule ip6 " HUSK_NAT_TABLE " forward iifname \"%s\" oifname \"husk*\" oifname != \"%s\" drop comment \"husk network %s\"\n",
		net, subnet->prefix, bridge, name, net, subnet->prefix, bridge, name, bridge, bridge, name);
	return run(cmd, false, NULL, err, "add the IPv6 rules of network");
}

static int network_remove(const char *family, const char *name, struct husk_err *err);

int husk_nat_network_remove(const char *name, struct husk_err *err)
{
	int ret = network_remove("ip", name, err);
	return network_remove("ip6", name, ret < 0 ? NULL : err) < 0 ? -1 : ret;
}

static int network_remove(const char *family, const char *name, struct husk_err *err)
{
	_cleanup_free_ char *out = NULL, *comment = husk_xasprintf("husk network %s", name);
	static const char *const chains[] = {"postrouting", "forward"};
	struct husk_err e = {0};
	json_t *root, *items, *item;
	size_t i;
	int ret = 0;

	_cleanup_free_ char *list = husk_xasprintf("list table %s " HUSK_NAT_TABLE, family);
	if (run(list, true, &out, &e, list) < 0) {
		if (e.errnum == ENOENT)
			return 0;
		husk_err_copy(err, &e);
		return -1;
	}
	root = json_loads(out, 0, NULL);
	items = json_object_get(root, "nftables");
	json_array_foreach(items, i, item) {
		json_t *rule = json_object_get(item, "rule");
		const char *c = json_string_value(json_object_get(rule, "comment"));
		const char *chain = json_string_value(json_object_get(rule, "chain"));
		if (!c || strcmp(c, comment) != 0 || !chain)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(chains); k++) {
			if (strcmp(chain, chains[k]) != 0)
				continue;
			_cleanup_free_ char *cmd = husk_xasprintf("delete rule %s " HUSK_NAT_TABLE " %s handle %lld", family, chains[k],
								  (long long)json_integer_value(json_object_get(rule, "handle")));
			if (run(cmd, false, NULL, err, "delete a rule of network") < 0)
				ret = -1;
		}
	}
	json_decref(root);
	return ret;
}

/* "ip ports_any { tcp . 8080": the element of p in family's table (ip, ip6), opened */
static char *element_key(const struct husk_port *p, bool v6)
{
	const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
	char ip[INET6_ADDRSTRLEN];

	if (!p->host_ip && !p->v6)
		return husk_xasprintf("%s " HUSK_NAT_TABLE " ports_any { %s . %u", v6 ? "ip6" : "ip", proto, p->host_port);
	if (p->v6)
		husk_ipv6_format(&p->host_ip6, ip);
	else
		husk_ipv4_format(p->host_ip, ip);
	return husk_xasprintf("%s " HUSK_NAT_TABLE " ports_ip { %s . %s . %u", v6 ? "ip6" : "ip", ip, proto, p->host_port);
}

static void append(char **cmd, size_t *len, size_t *cap, const char *line)
{
	size_t l = strlen(line);
	if (*len + l + 1 > *cap) {
		*cap = 2 * (*len + l + 1);
		*cmd = husk_xrealloc(*cmd, *cap);
	}
	memcpy(*cmd + *len, line, l + 1);
	*len += l;
}

int husk_nat_ports_add(const struct husk_port *ports, size_t n, uint32_t addr, const struct in6_addr *addr6,
		       const char *id, struct husk_err *err)
{
	size_t len = 0, cap = 256;
	_cleanup_free_ char *cmd = husk_xmalloc(cap);
	char to[16], to6[INET6_ADDRSTRLEN];

	/* one transaction: one libnftables context and one kernel commit for all the ports */
	husk_ipv4_format(addr, to);
	if (addr6)
		husk_ipv6_format(addr6, to6);
	cmd[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *c = safe_name(id) ? id : "";
		if (ports[i].v6 && !addr6)
			return husk_err_set(err, EAFNOSUPPORT, "publish port %u on an IPv6 host address: the network has no IPv6 "
					    "(husk network create --ipv6)", ports[i].host_port);
		if (!ports[i].v6) {
			_cleanup_free_ char *key = element_key(&ports[i], false);
			_cleanup_free_ char *line = husk_xasprintf("add element %s comment \"%.64s\" : %s . %u }\n", key, c, to,
								   ports[i].container_port);
			append(&cmd, &len, &cap, line);
		}
		/* a port on every address is on the host's IPv6 ones too, when the container has one */
		if (addr6 && (ports[i].v6 || !ports[i].host_ip)) {
			_cleanup_free_ char *key = element_key(&ports[i], true);
			_cleanup_free_ char *line = husk_xasprintf("add element %s comment \"%.64s\" : %s . %u }\n", key, c, to6,
								   ports[i].container_port);
			append(&cmd, &len, &cap, line);
		}
	}
	return len ? run(cmd, false, NULL, err, "publish ports") : 0;
}

static int element_remove(const struct husk_port *p, bool v6, struct husk_err *err)
{
	_cleanup_free_ char *key = element_key(p, v6);
	_cleanup_free_ char *cmd = husk_xasprintf("delete element %s }", key);
	struct husk_err e = {0};

	if (run(cmd, false, NULL, &e, "unpublish port") < 0 && e.errnum != ENOENT) {
		husk_err_copy(err, &e);
		return -1;
	}
	return 0;
}

int husk_nat_port_remove(const struct husk_port *p, struct husk_err *err)
{
	int ret = 0;

	/* a port on every address may have an IPv6 element too: a missing one is no error */
	if (!p->v6)
		ret = element_remove(p, false, err);
	if ((p->v6 || !p->host_ip) && element_remove(p, true, ret < 0 ? NULL : err) < 0)
		ret = -1;
	return ret;
}
