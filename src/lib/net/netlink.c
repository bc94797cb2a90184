/* rtnetlink requests, one at a time, each acknowledged: links, addresses, routes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"
#include "../util.h"

int husk_nl_open(struct husk_nl *nl, struct husk_err *err)
{
	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return husk_err_sys(err, "open a netlink socket");
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		husk_err_sys(err, "bind a netlink socket");
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return -1;
	}
	/* a strict checking kernel answers a bad request with its reason, not a silent ack */
	int one = 1;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	nl->buf = husk_xmalloc(MNL_SOCKET_BUFFER_SIZE);
	return 0;
}

int husk_nl_open_in(struct husk_nl *nl, int netns_fd, struct husk_err *err)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int ret;

	if (self < 0)
		return husk_err_sys(err, "open /proc/self/ns/net");
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return husk_err_sys(err, "enter the container's network namespace");
	/* a socket stays in the namespace it was made in: make it there, then come straight back */
	ret = husk_nl_open(nl, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		husk_nl_close(nl);
		return husk_err_sys(err, "return to husk's own network namespace");
	}
	return ret;
}

void husk_nl_close(struct husk_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	nl->sock = NULL;
	nl->buf = NULL;
}

static struct nlmsghdr *new_request(struct husk_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	/* a dump ends with NLMSG_DONE; an ack after it would be read as the next request's answer */
	nlh->nlmsg_flags = NLM_F_REQUEST | flags | ((flags & NLM_F_DUMP) == NLM_F_DUMP ? 0 : NLM_F_ACK);
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Send nlh and read until its ack (or the end of a dump); cb sees every data message. The
 * kernel's errno comes back as the error's, with what was being done. */
static int transact(struct husk_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg, struct husk_err *err,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int transact(struct husk_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg, struct husk_err *err,
		    const char *fmt, ...)
{
	unsigned seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		goto fail;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0)
			goto fail;
		ret = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, arg);
	} while (ret > 0);
	if (ret == 0)
		return 0;
fail:;
	int saved = errno;
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return husk_err_set(err, saved, "%s", what);
}

struct link_query {
	struct husk_link *link;
};

static int link_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct husk_link *link = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};

	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, tb);
	link->index = (unsigned)ifi->ifi_index;
	link->up = (ifi->ifi_flags & IFF_UP) != 0;
	link->mtu = tb[IFLA_MTU] ? mnl_attr_get_u32(tb[IFLA_MTU]) : 0;
	link->master = tb[IFLA_MASTER] ? mnl_attr_get_u32(tb[IFLA_MASTER]) : 0;
	return MNL_CB_OK;
}

int husk_nl_link_get(struct husk_nl *nl, const char *name, struct husk_link *link, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	memset(link, 0, sizeof(*link));
	return transact(nl, nlh, link_cb, link, err, "look up link %s", name);
}

int husk_nl_bridge_add(struct husk_nl *nl, const char *name, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return transact(nl, nlh, NULL, NULL, err, "create bridge %s", name);
}

int husk_nl_veth_add(struct husk_nl *nl, const char *host_name, unsigned master, const char *peer_name,
		     int peer_netns_fd, unsigned mtu, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi)), *peer;
	struct nlattr *info, *data, *peer_attr;

	ifi->ifi_family = AF_UNSPEC;
	/* up from birth, which saves a request; not the peer: veth_open() refuses (ENOTCONN)
	 * while the pair is still being made, and that is when a peer's flags are applied */
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, master);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_attr = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*peer));
	memset(peer, 0, sizeof(*peer));
	peer->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer_attr);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return transact(nl, nlh, NULL, NULL, err, "create veth pair %s (peer %s in the container)", host_name, peer_name);
}

int husk_nl_link_del(struct husk_nl *nl, const char *name, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct husk_err e = {0};

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (transact(nl, nlh, NULL, NULL, &e, "delete link %s", name) < 0 && e.errnum != ENODEV) {
		husk_err_copy(err, &e);
		return -1;
	}
	return 0;
}

int husk_nl_link_up(struct husk_nl *nl, unsigned index, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return transact(nl, nlh, NULL, NULL, err, "bring link %u up", index);
}

int husk_nl_addr_add(struct husk_nl *nl, unsigned index, uint32_t addr, unsigned prefix, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	uint32_t be = htonl(addr), brd = htonl(addr | (prefix ? (uint32_t)((1ULL << (32 - prefix)) - 1) : 0xffffffffu));
	struct husk_err e = {0};
	char text[16];

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	mnl_attr_put_u32(nlh, IFA_LOCAL, be);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
	mnl_attr_put_u32(nlh, IFA_BROADCAST, brd);
	inet_ntop(AF_INET, &be, text, sizeof(text));
	if (transact(nl, nlh, NULL, NULL, &e, "add address %s/%u to link %u", text, prefix, index) < 0 &&
	    e.errnum != EEXIST) {
		husk_err_copy(err, &e);
		return -1;
	}
	return 0;
}

int husk_nl_route_default(struct husk_nl *nl, uint32_t gateway, unsigned index, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	uint32_t be = htonl(gateway);
	char text[16];

	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, be);
	mnl_attr_put_u32(nlh, RTA_OIF, index);
	inet_ntop(AF_INET, &be, text, sizeof(text));
	return transact(nl, nlh, NULL, NULL, err, "add the default route via %s", text);
}

int husk_nl_addr6_add(struct husk_nl *nl, unsigned index, const struct in6_addr *addr, unsigned prefix,
		      struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct husk_err e = {0};
	char text[INET6_ADDRSTRLEN];

	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	/* no duplicate address detection: the lease file is what keeps addresses unique, and a
	 * tentative address (about a second of DAD) could be neither bound nor routed from while
	 * the container starts */
	ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*addr), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*addr), addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	inet_ntop(AF_INET6, addr, text, sizeof(text));
	if (transact(nl, nlh, NULL, NULL, &e, "add address %s/%u to link %u", text, prefix, index) < 0 &&
	    e.errnum != EEXIST) {
		husk_err_copy(err, &e);
		return -1;
	}
	return 0;
}

int husk_nl_route6_default(struct husk_nl *nl, const struct in6_addr *gateway, unsigned index, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	char text[INET6_ADDRSTRLEN];

	rtm->rtm_family = AF_INET6;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_GATEWAY, sizeof(*gateway), gateway);
	mnl_attr_put_u32(nlh, RTA_OIF, index);
	inet_ntop(AF_INET6, gateway, text, sizeof(text));
	return transact(nl, nlh, NULL, NULL, err, "add the IPv6 default route via %s", text);
}

struct route_walk {
	husk_nl_route_fn fn;
	void *arg;
};

static int route_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, RTA_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_walk *w = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = {0};
	char name[IF_NAMESIZE] = "";
	uint32_t table;

	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb);
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (rtm->rtm_family != AF_INET || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	if (tb[RTA_OIF])
		if_indextoname(mnl_attr_get_u32(tb[RTA_OIF]), name);
	w->fn(tb[RTA_DST] ? ntohl(mnl_attr_get_u32(tb[RTA_DST])) : 0, rtm->rtm_dst_len, name, w->arg);
	return MNL_CB_OK;
}

int husk_nl_routes(struct husk_nl *nl, husk_nl_route_fn fn, void *arg, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_walk w = {fn, arg};

	rtm->rtm_family = AF_INET;
	return transact(nl, nlh, route_cb, &w, err, "list the IPv4 routes");
}

struct link_walk {
	husk_nl_link_fn fn;
	void *arg;
};

static int links_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_walk *w = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = {0};

	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, tb);
	if (tb[IFLA_IFNAME])
		w->fn(mnl_attr_get_str(tb[IFLA_IFNAME]), (unsigned)ifi->ifi_index, w->arg);
	return MNL_CB_OK;
}

int husk_nl_links(struct husk_nl *nl, husk_nl_link_fn fn, void *arg, struct husk_err *err)
{
	struct nlmsghdr *nlh = new_request(nl, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct link_walk w = {fn, arg};

	ifi->ifi_family = AF_UNSPEC;
	return transact(nl, nlh, links_cb, &w, err, "list the links");
}
