/* The engine: containers made from images (husk run), over the runtime library. The sequence
 * for one container lives here, so that the foreground command and a detached container's
 * monitor run the same code: check, prepare (snapshot, /etc files, config), create, join the
 * network, start; and after it exits, the network released, the runtime state deleted, the
 * snapshot removed with --rm. Whatever a step made is recorded in struct husk_engine_run, and
 * husk_engine_run_undo takes back exactly that. See docs/ARCHITECTURE.md. */
#ifndef HUSK_ENGINE_H
#define HUSK_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "../container.h"
#include "../image/runconfig.h"
#include "../net/network.h"
#include "volume.h"

enum husk_net_mode { HUSK_NET_BRIDGE, HUSK_NET_NONE, HUSK_NET_HOST };

struct husk_engine {
	const char *root;            /* runtime state (husk --root) */
	const char *storage;         /* the image store (husk --storage, HUSK_STORAGE) */
	const char *run;             /* the engine's runtime directory: <root>-engine (record.h) */
	husk_warn_fn warn;           /* what the runtime lets pass with a warning */
	void *warn_arg;
};

/* A further network (husk network connect): joined after eth0, as eth1, eth2 ... */
struct husk_engine_net {
	struct husk_network net;
	uint32_t want;               /* --ip given to connect, or 0 */
	char ifname[16];
	uint32_t addr;               /* leased when attached */
	struct in6_addr addr6;       /* on an IPv6 network, leased when attached (:: otherwise) */
	bool attached;
};

struct husk_engine_run {
	/* what to run */
	struct husk_run_opts ro;     /* image, command, env, ...; hostname defaulted by check */
	const char *network;         /* "bridge" (or NULL), "none", "host" or a network's name */
	struct husk_port *ports;     /* -p expanded (ranges: one each); host_port 0 chosen at attach */
	size_t n_ports;
	char *const *port_specs;     /* the -p texts, as given (the record keeps them) */
	size_t n_port_specs;
	bool publish_all;            /* -P: every port of the image's ExposedPorts, random host ports */
	const char *ip;              /* --ip: eth0's address on the network, or NULL */
	const char *ip6;             /* --ip6: eth0's IPv6 address (an IPv6 network), or NULL */
	char *const *add_hosts;      /* --add-host NAME:IP, NULL-terminated (or NULL) */
	char *const *dns, *const *dns_search, *const *dns_options;   /* NULL-terminated (or NULL) */
	const char *name;            /* --name, or NULL: one is made up */
	char *const *aliases;        /* --network-alias: more names on a user network (its responder) */
	size_t n_aliases;
	bool interactive;            /* -i: stdin stays open (docker's OpenStdin) */
	bool autoremove;             /* --rm */
	const char *restart;         /* --restart: no (NULL), on-failure[:N], always, unless-stopped */
	const char *log_driver;      /* "k8s-file" (NULL) or "none" */
	long long log_max_size;      /* --log-opt max-size, bytes; 0: no limit */
	int log_max_file;            /* --log-opt max-file; 0: 1 */
	const char *log_path;        /* --log-opt path= (podman's), or NULL: containers/ID/ctr.log */
	const struct husk_mount_spec *mounts; /* -v, --mount, --tmpfs (volume.h) */
	size_t n_mounts;
	char *const *volumes_from;   /* --volumes-from CONTAINER[:ro|rw] */
	size_t n_volumes_from;
	/* what check and create found and made */
	char id[65];
	enum husk_net_mode mode;
	struct husk_network net;
	char *note;                  /* the default network was made on an unusual subnet: why */
	uint32_t addr;               /* the leased address, on a bridge network */
	uint32_t want;               /* --ip parsed */
	struct in6_addr addr6, want6;    /* the leased IPv6 address (:: when none); --ip6 parsed */
	bool has_want6;
	struct husk_engine_net *extra;   /* network connect's further networks (eth1 ...) */
	size_t n_extra;
	int rootfd;                  /* prepared: the snapshot as a detached mount, or -1 */
	struct husk_container c;     /* the created container: pid, sync and terminal fds */
	bool snapshot_made, created, attached, name_claimed;
	char *made_name;             /* the name claimed (given or made up) */
	json_t *rec;                 /* the container's record (record.h), written by prepare */
	void *owned;                 /* what run_load allocated (the ports) */
	void *owned_lists[5];        /* ... and the string lists (run_free frees them) */
	char *start_error;           /* run_start failed: the error's text, for the record */
};

/* Lease owners (husk_lease_owners.alive) for networks: the container's runtime state under
 * root (the arg, a const char *) exists and is not stopped. */
bool husk_engine_container_alive(const char *id, void *root);

/* First, on a zeroed r: everything that can be refused before anything is made: the network exists (the default
 * one is written on first use), ports parse and are free, -p only on a bridge. */
int husk_engine_run_check(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err);
/* A new id, its name claimed, the snapshot (mounted: r->rootfd), its config.json and its record
 * (status "created"); on -1 nothing is left. */
int husk_engine_run_prepare(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err);
/* The container created on the snapshot, joined to its network, then started. 0, or 1 with
 * err set when only a poststart hook failed; on -1 everything made is undone but the snapshot
 * and the record. The caller waits for r->c.pid and calls husk_engine_run_finish. */
int husk_engine_run_start(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err);
/* After the container exited: its ports and address released, its runtime state deleted,
 * and with remove its snapshot. Goes on past errors; the first is reported. */
int husk_engine_run_finish(const struct husk_engine *e, struct husk_engine_run *r, bool remove, struct husk_err *err);
void husk_engine_run_free(struct husk_engine_run *r);

/* husk start / a restart: r filled from the container's record (network, ports, terminal) and
 * its snapshot mounted (r->rootfd), ready for husk_engine_run_start. */
int husk_engine_run_load(const struct husk_engine *e, const char *id, struct husk_engine_run *r, struct husk_err *err);

/* docker's PortBindings of n ports: {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} ("" for a
 * random one not chosen yet). */
json_t *husk_engine_port_bindings(const struct husk_port *ports, size_t n);
/* Leave network name (its address lease; the interface when netns_fd >= 0), eth0's ports too
 * when primary. */
int husk_engine_net_release(const struct husk_engine *e, const char *id, const char *name, bool primary, int netns_fd,
			    const char *ifname, struct husk_err *err);

/* Everything of a container that has stopped: its runtime state, snapshot, record, name and
 * runtime directory. The caller holds its lock and has checked that no monitor runs. */
int husk_engine_remove(const struct husk_engine *e, const char *id, struct husk_err *err);
/* After the container's init is gone (the monitor's end, or a monitor that died): the network
 * lease and the runtime state released. OOM kills counted before the cgroup goes (or NULL). */
int husk_engine_release(const struct husk_engine *e, const char *id, json_t *rec, bool *oom_killed, struct husk_err *err);

/* The container's root filesystem as a directory fd: its init's root (/proc/PID/root) while it
 * runs, else its snapshot mounted (detached: gone when the fd is closed). Paths in it are to be
 * resolved with RESOLVE_IN_ROOT (inroot.h): never through the container's symlinks. */
int husk_engine_open_root(const struct husk_engine *e, const char *id, struct husk_err *err);

#endif
