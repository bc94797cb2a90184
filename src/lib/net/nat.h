/* husk's nftables table (ip husk), through libnftables: masquerade for each network's subnet,
 * isolation between networks, and the published ports as elements of two maps, so a port is
 * added or removed without touching any rule. Nothing outside table ip husk is read or written. */
#ifndef HUSK_NAT_H
#define HUSK_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../error.h"
#include "ipam.h"

#define HUSK_NAT_TABLE "husk"

/* Create table ip husk with its maps and base chains unless it exists (callers serialise). */
int husk_nat_table_ensure(struct husk_err *err);
/* The same for table ip6 husk, made with the first IPv6 network. */
int husk_nat_table6_ensure(struct husk_err *err);
/* Remove the whole table (ip and ip6); a missing table is not an error. */
int husk_nat_table_remove(struct husk_err *err);
/* The rules of one network: masquerade of its subnet leaving through any other link, hairpin
 * masquerade for published ports reached from its own bridge, and a drop of traffic routed
 * from its bridge to another husk bridge. Removed by the comment "husk network NAME". */
int husk_nat_network_add(const char *name, const char *bridge, const struct husk_subnet *subnet, struct husk_err *err);
/* The IPv6 rules of a dual-stack network (NAT66 masquerade, hairpin, isolation), same comment. */
int husk_nat_network_add6(const char *name, const char *bridge, const struct husk_subnet6 *subnet,
			  struct husk_err *err);
/* Both families' rules of network name. */
int husk_nat_network_remove(const char *name, struct husk_err *err);
/* Published ports: traffic to host_ip (0: any local address) port host_port goes to
 * addr:container_port; all n in one transaction. remove (one port) ignores a port that is
 * not there (in either family's table). */
/* addr6 (NULL on an IPv4-only network): where a port of every address (host_ip 0) and an IPv6
 * host address's port go in table ip6 husk; an IPv6 host address without addr6 is refused. */
int husk_nat_ports_add(const struct husk_port *ports, size_t n, uint32_t addr, const struct in6_addr *addr6,
		       const char *id, struct husk_err *err);
int husk_nat_port_remove(const struct husk_port *p, struct husk_err *err);

#endif
