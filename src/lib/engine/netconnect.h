/* husk network connect|disconnect over a container's record: a running container joins (or
 * leaves) a further network at once, as eth1, eth2 ...; a stopped one is recorded for its next
 * start. NetworkSettings.Networks is what husk start joins again. */
#ifndef HUSK_ENGINE_NETCONNECT_H
#define HUSK_ENGINE_NETCONNECT_H

#include <stdbool.h>

#include "engine.h"

/* Connect container id to network name (ip: --ip, or NULL; aliases: --alias, NULL-terminated,
 * kept in the record's Networks.NAME.Aliases for name resolution on that network). */
int husk_engine_network_connect(const struct husk_engine *e, const char *id, const char *name, const char *ip,
				char *const *aliases, struct husk_err *err);
/* Disconnect it; force goes on when the interface or the network is gone already. */
int husk_engine_network_disconnect(const struct husk_engine *e, const char *id, const char *name, bool force,
				   struct husk_err *err);

#endif
