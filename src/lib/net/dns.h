/* The name responder of a user-defined network (husk-dns, src/dns/dns.c): one per network and
 * engine runtime directory, started on demand by the containers that join the network, gone
 * when the network has no container left. Its files live under RUN/dns/ (RUN: the engine's
 * runtime directory, record.h):
 *
 *   RUN/dns/NETWORK.lock   flock held by the network's responder while it lives
 *   RUN/dns/NETWORK.log    the responder's stderr
 *   RUN/dns/NETWORK.pid    its pid (/proc/locks names whoever took the lock: its starter) */
#ifndef HUSK_DNS_H
#define HUSK_DNS_H

#include "../error.h"
#include "network.h"

/* Make sure network n has a responder listening on its gateway (in the current network
 * namespace): a no-op when one holds the lock, else one is started (its own session, detached
 * from the caller) and waited for until it listens. To be called after the caller's lease is
 * written: a responder exiting for want of leases at that moment then stays (dns.c's
 * should_exit). */
int husk_dns_ensure(const char *run, const char *storage, const struct husk_network *n, struct husk_err *err);

/* /etc/resolv.conf for a container of a user network: the host's (search, options) with the
 * responder at server as its one nameserver. */
char *husk_dns_resolv_conf(const char *host_text, uint32_t server);

#endif
