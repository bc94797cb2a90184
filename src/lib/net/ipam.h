/* Address allocation for bridge networks (IPv4): subnets, the gateway, and a lease file per
 * network that no two live containers share an address in. The arithmetic is pure (unit
 * tested); the lease file is JSON rewritten through tmp + rename under an flock. */
#ifndef HUSK_IPAM_H
#define HUSK_IPAM_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <netinet/in.h>

#include "../error.h"

struct husk_subnet {
	uint32_t network;            /* host byte order, host bits zero */
	unsigned prefix;             /* 8..30: room for a gateway and at least one container */
};

/* "10.88.0.0/16"; host bits set ("10.88.0.1/16") are refused, as docker does. */
int husk_subnet_parse(const char *text, struct husk_subnet *s, struct husk_err *err);
int husk_ipv4_parse(const char *text, uint32_t *addr, struct husk_err *err);
void husk_ipv4_format(uint32_t addr, char out[16]);
bool husk_subnet_contains(const struct husk_subnet *s, uint32_t addr);
bool husk_subnet_overlaps(const struct husk_subnet *a, const struct husk_subnet *b);
/* The first usable address (network + 1): the default gateway. */
uint32_t husk_subnet_first(const struct husk_subnet *s);
/* The last usable address (broadcast - 1). */
uint32_t husk_subnet_last(const struct husk_subnet *s);

/* The lowest address of the subnet that is neither the network, the broadcast, the gateway
 * nor in used (n sorted or not); 0 when the subnet is full. */
uint32_t husk_ipam_pick(const struct husk_subnet *s, uint32_t gateway, const uint32_t *used, size_t n);

/* IPv6 subnets (husk network create --ipv6): network order bytes, host bits zero. There is
 * no broadcast: every address but the network's own (the subnet-router anycast address,
 * RFC 4291 2.6.1) is a host address. */
struct husk_subnet6 {
	struct in6_addr network;
	unsigned prefix;             /* 48..120 */
};
#define HUSK_SUBNET6_MIN_PREFIX 48
#define HUSK_SUBNET6_MAX_PREFIX 120
/* "fd00:10::/64"; host bits set, or a prefix outside 48..120, are refused saying why. */
int husk_subnet6_parse(const char *text, struct husk_subnet6 *s, struct husk_err *err);
int husk_ipv6_parse(const char *text, struct in6_addr *addr, struct husk_err *err);
void husk_ipv6_format(const struct in6_addr *addr, char out[INET6_ADDRSTRLEN]);
bool husk_subnet6_contains(const struct husk_subnet6 *s, const struct in6_addr *addr);
bool husk_subnet6_overlaps(const struct husk_subnet6 *a, const struct husk_subnet6 *b);
/* network + 1: the default gateway. */
struct in6_addr husk_subnet6_first(const struct husk_subnet6 *s);
/* The lowest host address of s that is neither gateway nor in used; false when none is left. */
bool husk_ipam_pick6(const struct husk_subnet6 *s, const struct in6_addr *gateway, const struct in6_addr *used,
		     size_t n, struct in6_addr *out);

/* A lease file: {"leases": {"<key>": "<container id>"}}, keys being addresses ("10.88.0.2")
 * or published ports ("tcp/0.0.0.0/8080"). alive says whether a container still exists;
 * leases of the dead are dropped whenever the file is rewritten, after dropped (if any) has
 * undone what the lease stood for (a port's nftables element). */
struct husk_lease_owners {
	bool (*alive)(const char *id, void *arg);
	void (*dropped)(const char *key, const char *id, void *arg);
	void *arg;
};
int husk_ipam_allocate(const char *path, const struct husk_subnet *s, uint32_t gateway, const char *id,
		       const struct husk_lease_owners *owners, uint32_t *addr, struct husk_err *err);
/* Lease exactly want to id: refused when it is not a host address of s (or is the gateway), or
 * when a live container holds it (naming which). */
int husk_ipam_allocate_exact(const char *path, const struct husk_subnet *s, uint32_t gateway, const char *id,
			     uint32_t want, const struct husk_lease_owners *owners, struct husk_err *err);
/* The same checks without the lock, before anything is made (the lease is what counts). */
int husk_ipam_check_exact(const char *path, const struct husk_subnet *s, uint32_t gateway, uint32_t want,
			  const struct husk_lease_owners *owners, struct husk_err *err);
/* The IPv6 lease of id in the same lease file (keys "fd00:10::2"), taken right after its IPv4
 * one (which dropped the leases of the dead: owners is not asked again). want NULL picks the lowest
 * free address, otherwise exactly *want (refused outside s, on the gateway, or held by a live
 * container). */
int husk_ipam_allocate6(const char *path, const struct husk_subnet6 *s, const struct in6_addr *gateway,
			const char *id, const struct in6_addr *want, const struct husk_lease_owners *owners,
			struct in6_addr *addr, struct husk_err *err);
/* --ip6's checks without the lock, before anything is made. */
int husk_ipam_check_exact6(const char *path, const struct husk_subnet6 *s, const struct in6_addr *gateway,
			   const struct in6_addr *want, const struct husk_lease_owners *owners, struct husk_err *err);
/* Drop the leases of id (calling owners->dropped for each, if given). */
int husk_ipam_release(const char *path, const char *id, const struct husk_lease_owners *owners, struct husk_err *err);
/* Drop the leases of containers that are gone; how many went. */
int husk_ipam_prune(const char *path, const struct husk_lease_owners *owners, struct husk_err *err);
/* The leases of live containers: fn(key, id) for each. */
int husk_ipam_list(const char *path, void (*fn)(const char *key, const char *id, void *arg), void *arg,
		   struct husk_err *err);

/* A published port: -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]. */
struct husk_port {
	uint32_t host_ip;            /* 0: every local address (of both families unless v6) */
	bool v6;                     /* an IPv6 host address: host_ip6 ("[fd00::1]:8080:80") */
	struct in6_addr host_ip6;
	uint16_t host_port, container_port;  /* host_port 0: a random one, chosen when reserved */
	uint8_t proto;               /* IPPROTO_TCP or IPPROTO_UDP */
};
int husk_port_parse(const char *text, struct husk_port *p, struct husk_err *err);
/* docker's -p in full, appended to *v (realloc'd; *n counted): [[HOSTIP:][HOSTPORT[-END]]:]PORT[-END][/PROTO],
 * an IPv6 HOSTIP in brackets ("[::1]:8080:80").
 * A range gives one port per number; a host range must be as long as the container's (docker's
 * "one of these host ports" is refused). No host port ("80", "127.0.0.1::80"): host_port 0, a
 * random one when reserved. */
int husk_ports_parse(const char *text, struct husk_port **v, size_t *n, struct husk_err *err);
/* The ephemeral range random host ports come from (/proc/sys/net/ipv4/ip_local_port_range). */
void husk_ports_ephemeral(uint16_t *first, uint16_t *last);
/* "tcp/0.0.0.0/8080" ("tcp/fd00::1/8080" for an IPv6 host address): the port's lease key; husk_port_from_key reads it back. */
void husk_port_key(const struct husk_port *p, char out[64]);
int husk_port_from_key(const char *key, struct husk_port *p);
/* Whether a and b want the same host port (same protocol and port, and an address in common). */
bool husk_port_conflicts(const struct husk_port *a, const struct husk_port *b);
/* Whether n ports are free, read without the lock (a check before anything is made; the
 * reservation is what counts): a port given twice, or held by a container owners says is
 * alive, is an error naming it. */
int husk_ports_check(const char *path, const struct husk_port *ports, size_t n, const struct husk_lease_owners *owners,
		     struct husk_err *err);
/* Lease the host side of n ports to id, all or none: a port another live container holds, or
 * one given twice, is an error naming it. A port with host_port 0 gets one from the ephemeral
 * range that no lease holds and nothing here has bound (written into ports[i]). */
int husk_ports_reserve(const char *path, struct husk_port *ports, size_t n, const char *id,
		       const struct husk_lease_owners *owners, struct husk_err *err);

#endif
