/* rtnetlink through libmnl: the links, addresses and routes a bridge network is made of. One
 * socket belongs to the network namespace it was opened in; husk_nl_open_in opens one inside
 * another namespace (a container's) without moving the process there for longer than the call. */
#ifndef HUSK_NETLINK_H
#define HUSK_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "../error.h"

struct mnl_socket;

struct husk_nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
	char *buf;                   /* one receive buffer (MNL_SOCKET_BUFFER_SIZE) */
};

struct husk_link {
	unsigned index, mtu, master;
	bool up;
};

int husk_nl_open(struct husk_nl *nl, struct husk_err *err);
/* A socket in the network namespace netns_fd refers to. */
int husk_nl_open_in(struct husk_nl *nl, int netns_fd, struct husk_err *err);
void husk_nl_close(struct husk_nl *nl);

/* -1 with errnum ENODEV when there is no link of that name. */
int husk_nl_link_get(struct husk_nl *nl, const char *name, struct husk_link *link, struct husk_err *err);
int husk_nl_bridge_add(struct husk_nl *nl, const char *name, struct husk_err *err);
/* A veth pair: host_name here, attached to master (an index, 0 for none) and up; peer_name in
 * the namespace peer_netns_fd, down (veth cannot open an end before the pair exists). Both take mtu. */
int husk_nl_veth_add(struct husk_nl *nl, const char *host_name, unsigned master, const char *peer_name,
		     int peer_netns_fd, unsigned mtu, struct husk_err *err);
/* A missing link is not an error. */
int husk_nl_link_del(struct husk_nl *nl, const char *name, struct husk_err *err);
int husk_nl_link_up(struct husk_nl *nl, unsigned index, struct husk_err *err);
/* addr (host byte order) with prefix, on link index; an existing one is not an error. */
int husk_nl_addr_add(struct husk_nl *nl, unsigned index, uint32_t addr, unsigned prefix, struct husk_err *err);
int husk_nl_route_default(struct husk_nl *nl, uint32_t gateway, unsigned index, struct husk_err *err);
/* The same for IPv6 (the address without duplicate address detection: leases keep it unique). */
struct in6_addr;
int husk_nl_addr6_add(struct husk_nl *nl, unsigned index, const struct in6_addr *addr, unsigned prefix,
		      struct husk_err *err);
int husk_nl_route6_default(struct husk_nl *nl, const struct in6_addr *gateway, unsigned index, struct husk_err *err);

/* The IPv4 routes of the main table: fn is called with each destination and prefix length and
 * the name of the link it goes through ("" when none). */
typedef void (*husk_nl_route_fn)(uint32_t dst, unsigned prefix, const char *link, void *arg);
int husk_nl_routes(struct husk_nl *nl, husk_nl_route_fn fn, void *arg, struct husk_err *err);
/* The names of all links, for fn. */
typedef void (*husk_nl_link_fn)(const char *name, unsigned index, void *arg);
int husk_nl_links(struct husk_nl *nl, husk_nl_link_fn fn, void *arg, struct husk_err *err);

#endif
