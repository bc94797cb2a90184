/* Address allocation for bridge networks (IPv4): subnets, the gateway, and a lease file per
 * network that no two live containers share an address in. The arithmetic is pure (unit
 * tested); the lease file is JSON rewritten through tmp + rename under an flock. */
#ifndef HUSK_IPAM_H
#define HUSK_IPAM_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

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

/* A lease file: {"leases": {"<address>": "<container id>"}}. alive says whether a container
 * still exists; leases of the dead are dropped whenever the file is rewritten. */
typedef bool (*husk_ipam_alive_fn)(const char *id, void *arg);
int husk_ipam_allocate(const char *path, const struct husk_subnet *s, uint32_t gateway, const char *id,
		       husk_ipam_alive_fn alive, void *arg, uint32_t *addr, struct husk_err *err);
int husk_ipam_release(const char *path, const char *id, struct husk_err *err);
/* Drop the leases of containers that are gone; how many went. */
int husk_ipam_prune(const char *path, husk_ipam_alive_fn alive, void *arg, struct husk_err *err);

#endif
