/* Bridge networks for `husk run`: a network is a file in <storage>/networks (its name, bridge,
 * subnet and gateway) and, in the network namespace husk runs in, a bridge with the gateway's
 * address plus husk's nftables rules for it. A container joins with a veth pair, an address
 * leased from <storage>/networks/<name>.leases and, optionally, published ports leased from
 * <storage>/networks/ports.json. */
#ifndef HUSK_NETWORK_H
#define HUSK_NETWORK_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "../error.h"
#include "ipam.h"

#define HUSK_NETWORK_DEFAULT "husk"
#define HUSK_NETWORK_DEFAULT_BRIDGE "husk0"
#define HUSK_NETWORK_DEFAULT_SUBNET "10.88.0.0/16"

struct husk_network {
	char name[64];
	char bridge[16];
	struct husk_subnet subnet;
	uint32_t gateway;
	char created[32];
	bool ipv6;                   /* dual stack (--ipv6): subnet6 and gateway6 too */
	struct husk_subnet6 subnet6;
	struct in6_addr gateway6;
};

/* [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}, and not one of bridge, host, none (--network's modes). */
int husk_network_name_valid(const char *name, struct husk_err *err);

/* Read network name. The default network is made (its file written, with a subnet that is not
 * already routed here) on first use; then *note says what was chosen if it is not the usual
 * one (*note is set to NULL otherwise; free it). */
int husk_network_get(const char *storage, const char *name, struct husk_network *n, char **note, struct husk_err *err);
/* husk network create: subnet NULL picks a free /16 from 10.89.0.0 up; gateway NULL is the
 * first address. A subnet overlapping another husk network or a route of this namespace is
 * refused before anything is made. The bridge and its rules are set up at once. */
struct husk_network_spec {
	const char *subnet, *gateway;        /* IPv4, or NULL */
	bool ipv6;                           /* --ipv6: subnet6 is required with it */
	const char *subnet6, *gateway6;      /* IPv6, or NULL */
};
int husk_network_create(const char *storage, const char *name, const struct husk_network_spec *spec,
			struct husk_network *n, struct husk_err *err);
/* The bridge, its address, forwarding and husk's rules for it, in the current network
 * namespace: a no-op (one netlink request) when the bridge is already up. */
int husk_network_up(const char *storage, const struct husk_network *n, struct husk_err *err);
/* Remove a network no live container uses: its rules, its bridge, its files; the table goes
 * with the last network. */
int husk_network_remove(const char *storage, const char *name, const struct husk_lease_owners *owners,
			struct husk_err *err);
/* [{name, bridge, subnet, gateway, created, containers: {id: address}}...] */
int husk_network_list(const char *storage, json_t **out, struct husk_err *err);
/* Drop leases (addresses, ports and their nftables elements) of containers that are gone and
 * veth host ends whose container is gone; removes networks other than the default that no
 * live container uses, as docker's prune does. *removed lists them. */
int husk_network_prune(const char *storage, const struct husk_lease_owners *owners, json_t **removed,
		       struct husk_err *err);

/* Join container id (its network namespace: netns_fd) to n: an address, a veth pair with
 * eth0 inside (lo up, default route via the gateway, the bridge's MTU) and the ports. All or
 * nothing: on failure what was made is undone. */
int husk_network_attach(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			struct husk_port *ports, size_t n_ports, const struct husk_lease_owners *owners,
			uint32_t *addr, struct husk_err *err);
/* How a container joins a network beyond eth0's defaults: --ip, and network connect's further
 * interfaces (eth1, eth2 ...: no default route, no ports). */
struct husk_attach {
	const char *ifname;          /* NULL: eth0 */
	uint32_t want;               /* --ip: exactly this address; 0: the lowest free one */
	const struct in6_addr *want6;    /* --ip6 (on an IPv6 network), or NULL: the lowest free one */
	struct in6_addr *addr6;      /* out, when not NULL: the IPv6 address leased (:: when none) */
};
/* husk_network_attach with a; ports only on eth0 (n_ports 0 otherwise). */
int husk_network_attach_if(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			   const struct husk_attach *a, struct husk_port *ports, size_t n_ports,
			   const struct husk_lease_owners *owners, uint32_t *addr, struct husk_err *err);
/* Whether --ip want can be leased on n (in its subnet, not the gateway, no live container
 * holds it), before anything is made. */
int husk_network_ip_check(const char *storage, const struct husk_network *n, uint32_t want,
			  const struct husk_lease_owners *owners, struct husk_err *err);
/* The same for an IPv6 address (--ip6, or --ip with an IPv6 address): refused on a network
 * without IPv6. */
int husk_network_ip6_check(const char *storage, const struct husk_network *n, const struct in6_addr *want,
			   const struct husk_lease_owners *owners, struct husk_err *err);
/* network disconnect: interface ifname removed from netns_fd (when >= 0; it takes its host end
 * along) and the address id leased on n released; its ports are eth0's and stay. */
int husk_network_detach_if(const char *storage, const struct husk_network *n, const char *id, int netns_fd,
			   const char *ifname, struct husk_err *err);
/* The lowest ethN (N >= 1) netns_fd has no link of. */
int husk_network_free_ifname(int netns_fd, char out[16], struct husk_err *err);
/* Whether ports are free (not held by a live container), before anything is made; attach
 * reserves them for real, under the lease file's lock. */
int husk_network_ports_check(const char *storage, const struct husk_port *ports, size_t n_ports,
			     const struct husk_lease_owners *owners, struct husk_err *err);
/* Undo attach after the container is gone: its ports and address lease (the kernel removes
 * the veth with the container's network namespace). Goes on past errors; the first is
 * reported. */
int husk_network_detach(const char *storage, const struct husk_network *n, const char *id, struct husk_err *err);
/* Loopback up in netns_fd: --network none. */
int husk_network_loopback(int netns_fd, struct husk_err *err);
/* The host end of container id's veth pair. */
void husk_network_veth_name(const char *id, char out[16]);

/* A resolv.conf as docker writes one with --dns, --dns-search, --dns-option: each given list
 * replaces the host's lines of its kind (nameserver, search, options); NULL-terminated lists. */
char *husk_resolv_conf_custom(const char *base, char *const *dns, char *const *search, char *const *options);

/* The host's resolv.conf without loopback nameservers (they mean nothing in another network
 * namespace); all of it when keep_loopback. */
char *husk_resolv_conf(const char *host_text, bool keep_loopback);

#endif
