/* husk network connect|disconnect: see netconnect.h. Everything happens under the container's
 * record lock, so that a start or a monitor's record update does not interleave with it. */
#define _GNU_SOURCE
#include "netconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util.h"
#include "record.h"

/* the network eth0 is on ("husk" for bridge); NULL for none and host, which join nothing else */
static const char *main_network(json_t *rec)
{
	const char *mode = json_string_value(json_object_get(json_object_get(rec, "HostConfig"), "NetworkMode"));

	if (!mode || strcmp(mode, "bridge") == 0)
		return HUSK_NETWORK_DEFAULT;
	if (strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0 || strncmp(mode, "container:", 10) == 0)
		return NULL;
	return mode;
}

/* the running container's network namespace, or -1 when it does not run (not an error) */
static int open_netns(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	json_t *state = NULL;
	char path[64];
	json_int_t pid;
	bool running;
	int fd;

	if (husk_container_state(e->root, id, &state, NULL) < 0)
		return -1;
	running = strcmp(json_string_value(json_object_get(state, "status")), "stopped") != 0;
	pid = json_integer_value(json_object_get(state, "pid"));
	json_decref(state);
	if (!running || pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		husk_err_sys(err, "open %s (container %.12s's network namespace)", path, id);
	return fd < 0 ? -2 : fd;
}

static json_t *networks_of(json_t *rec)
{
	json_t *ns = json_object_get(rec, "NetworkSettings"), *nets;

	if (!json_is_object(ns)) {
		ns = json_object();
		json_object_set_new(rec, "NetworkSettings", ns);
	}
	nets = json_object_get(ns, "Networks");
	if (!json_is_object(nets)) {
		nets = json_object();
		json_object_set_new(ns, "Networks", nets);
	}
	return nets;
}

int husk_engine_network_connect(const struct husk_engine *e, const char *id, const char *name, const char *ip,
				char *const *aliases, struct husk_err *err)
{
	struct husk_lease_owners owners = {.alive = husk_engine_container_alive, .arg = (void *)e->root};
	_cleanup_close_ int lock = husk_record_lock(e, id, err), netns = -1;
	struct husk_network net;
	json_t *rec = NULL, *nets, *entry;
	const char *main_net;
	char *note = NULL, ifname[16] = "";
	uint32_t want = 0, addr = 0;
	struct in6_addr want6, addr6 = IN6ADDR_ANY_INIT;
	bool v6 = ip && strchr(ip, ':');
	int rc = -1;

	if (lock < 0 || husk_record_load(e, id, &rec, err) < 0)
		return -1;
	if (husk_network_get(e->storage, name, &net, &note, err) < 0)
		goto out;
	free(note);
	if (!(main_net = main_network(rec))) {
		husk_err_set(err, EINVAL, "container %.12s has --network %s: only a container on a bridge network joins "
			     "others", id, json_string_value(json_object_get(json_object_get(rec, "HostConfig"), "NetworkMode")));
		goto out;
	}
	nets = networks_of(rec);
	if (strcmp(name, main_net) == 0 || json_object_get(nets, name)) {
		husk_err_set(err, EEXIST, "container %.12s is already connected to network \"%s\"", id, name);
		goto out;
	}
	if (v6) {
		/* --ip with an IPv6 address: the container's address on an IPv6 network */
		if (husk_ipv6_parse(ip, &want6, err) < 0 || husk_network_ip6_check(e->storage, &net, &want6, &owners, err) < 0) {
			husk_err_wrap(err, "--ip");
			goto out;
		}
	} else if (ip) {
		if (husk_ipv4_parse(ip, &want, err) < 0) {
			husk_err_wrap(err, "--ip");
			goto out;
		}
		if (husk_network_ip_check(e->storage, &net, want, &owners, err) < 0)
			goto out;
	}
	entry = json_pack("{s:o}", "IPAMConfig", ip ? json_pack("{s:s}", v6 ? "IPv6Address" : "IPv4Address", ip) : json_null());
	json_object_set_new(nets, name, entry);
	if (aliases && *aliases) {
		json_t *a = json_array();
		for (; *aliases; aliases++)
			json_array_append_new(a, json_string(*aliases));
		json_object_set_new(entry, "Aliases", a);
	}
	netns = open_netns(e, id, err);
	if (netns == -2)
		goto out;
	if (netns >= 0) {
		struct husk_attach a = {.ifname = ifname, .want = want, .want6 = v6 ? &want6 : NULL, .addr6 = &addr6};
		char text[16], gw[16];
		if (husk_network_free_ifname(netns, ifname, err) < 0 ||
		    husk_network_attach_if(e->storage, &net, id, netns, &a, NULL, 0, &owners, &addr, err) < 0)
			goto out;
		husk_ipv4_format(addr, text);
		husk_ipv4_format(net.gateway, gw);
		json_object_set_new(entry, "IPAddress", json_string(text));
		json_object_set_new(entry, "Gateway", json_string(gw));
		json_object_set_new(entry, "IPPrefixLen", json_integer((int)net.subnet.prefix));
		json_object_set_new(entry, "Interface", json_string(ifname));
		if (net.ipv6) {
			char a6[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];
			husk_ipv6_format(&addr6, a6);
			husk_ipv6_format(&net.gateway6, gw6);
			json_object_set_new(entry, "GlobalIPv6Address", json_string(a6));
			json_object_set_new(entry, "GlobalIPv6PrefixLen", json_integer((int)net.subnet6.prefix));
			json_object_set_new(entry, "IPv6Gateway", json_string(gw6));
		}
	}
	if (husk_record_save(e, id, rec, err) < 0) {
		/* not recorded: not joined either */
		if (addr)
			husk_network_detach_if(e->storage, &net, id, netns, ifname, NULL);
		goto out;
	}
	rc = 0;
out:
	json_decref(rec);
	return rc;
}

int husk_engine_network_disconnect(const struct husk_engine *e, const char *id, const char *name, bool force,
				   struct husk_err *err)
{
	_cleanup_close_ int lock = husk_record_lock(e, id, err), netns = -1;
	json_t *rec = NULL, *nets, *entry;
	const char *main_net, *ifname;
	int rc = -1;

	if (lock < 0 || husk_record_load(e, id, &rec, err) < 0)
		return -1;
	main_net = main_network(rec);
	nets = networks_of(rec);
	if (main_net && strcmp(name, main_net) == 0) {
		husk_err_set(err, EINVAL, "network \"%s\" is container %.12s's --network (eth0): husk network disconnect "
			     "removes the networks husk network connect added", name, id);
		goto out;
	}
	entry = json_object_get(nets, name);
	if (!entry) {
		husk_err_set(err, ENOENT, "container %.12s is not connected to network \"%s\"", id, name);
		goto out;
	}
	netns = open_netns(e, id, err);
	if (netns == -2 && !force)
		goto out;
	ifname = json_string_value(json_object_get(entry, "Interface"));
	/* stopped: its lease went with its stop; release is harmless then */
	if (husk_engine_net_release(e, id, name, false, netns, netns >= 0 ? ifname : NULL, err) < 0) {
		if (!force)
			goto out;
		husk_err_clear(err);
	}
	json_object_del(nets, name);
	rc = husk_record_save(e, id, rec, err);
out:
	json_decref(rec);
	return rc;
}
