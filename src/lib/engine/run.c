#define _GNU_SOURCE
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../image/image.h"
#include "../image/snapshot.h"
#include "../image/store.h"
#include "../run.h"
#include "../util.h"
#include "../net/dns.h"
#include "record.h"
#include "volume.h"

static const char hosts_head[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

bool husk_engine_container_alive(const char *id, void *root)
{
	struct husk_err err = {0};
	json_t *state = NULL;
	bool alive;

	if (husk_container_state(root, id, &state, &err) < 0)
		/* only "no such container" lets a lease go; an unreadable state keeps it */
		return err.errnum != ENOENT;
	alive = strcmp(json_string_value(json_object_get(state, "status")), "stopped") != 0;
	json_decref(state);
	return alive;
}

static struct husk_lease_owners lease_owners(const struct husk_engine *e)
{
	return (struct husk_lease_owners){.alive = husk_engine_container_alive, .arg = (void *)e->root};
}

static size_t list_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static bool is_ip(const char *text)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

/* --ip, --add-host, --dns: what can be refused before anything is made */
static int check_net_options(const struct husk_engine *e, struct husk_engine_run *r, const char *network,
			     struct husk_err *err)
{
	struct husk_lease_owners owners = lease_owners(e);

	for (size_t i = 0; i < list_len(r->add_hosts); i++) {
		const char *colon = strchr(r->add_hosts[i], ':');
		if (!colon || colon == r->add_hosts[i] || !is_ip(colon + 1))
			return husk_err_set(err, EINVAL, "--add-host %s: expected NAME:IP (an IPv4 or IPv6 address)",
					    r->add_hosts[i]);
		if (strcspn(r->add_hosts[i], " \t\n#") < (size_t)(colon - r->add_hosts[i]))
			return husk_err_set(err, EINVAL, "--add-host %s: the name has a blank or '#'", r->add_hosts[i]);
	}
	for (size_t i = 0; i < list_len(r->dns); i++)
		if (!is_ip(r->dns[i]))
			return husk_err_set(err, EINVAL, "--dns %s: not an IP address", r->dns[i]);
	for (size_t i = 0; i < list_len(r->dns_search); i++)
		if (!*r->dns_search[i] || strpbrk(r->dns_search[i], " \t\n"))
			return husk_err_set(err, EINVAL, "--dns-search \"%s\": not a domain", r->dns_search[i]);
	for (size_t i = 0; i < list_len(r->dns_options); i++)
		if (!*r->dns_options[i] || strpbrk(r->dns_options[i], " \t\n"))
			return husk_err_set(err, EINVAL, "--dns-option \"%s\": one option, no blanks", r->dns_options[i]);
	if (!r->ip && !r->ip6)
		return 0;
	if (r->mode != HUSK_NET_BRIDGE || strcmp(r->net.name, HUSK_NETWORK_DEFAULT) == 0)
		/* as docker: the default network's addresses are the engine's to hand out */
		return husk_err_set(err, EINVAL, "--ip %s: an address is given on a network made with husk network create, "
				    "not with --network %s", r->ip ? r->ip : r->ip6, network);
	/* --ip with an IPv6 address means --ip6 */
	const char *ip6 = r->ip6 ? r->ip6 : r->ip && strchr(r->ip, ':') ? r->ip : NULL;
	if (ip6) {
		if (r->ip6 && r->ip && strchr(r->ip, ':'))
			return husk_err_set(err, EINVAL, "--ip %s and --ip6 %s: give the IPv6 address once", r->ip, r->ip6);
		if (husk_ipv6_parse(ip6, &r->want6, err) < 0)
			return husk_err_wrap(err, r->ip6 ? "--ip6" : "--ip");
		r->has_want6 = true;
		if (husk_network_ip6_check(e->storage, &r->net, &r->want6, &owners, err) < 0)
			return husk_err_wrap(err, r->ip6 ? "--ip6" : "--ip");
	}
	if (!r->ip || ip6 == r->ip)
		return 0;
	if (husk_ipv4_parse(r->ip, &r->want, err) < 0)
		return husk_err_wrap(err, "--ip");
	return husk_network_ip_check(e->storage, &r->net, r->want, &owners, err);
}

int husk_engine_run_check(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	struct husk_lease_owners owners = lease_owners(e);
	const char *network = r->network ? r->network : "bridge";
	static struct utsname uts;

	r->rootfd = r->c.sync_fd = r->c.lock_fd = r->c.terminal_fd = -1;
	if (strcmp(network, "none") == 0) {
		r->mode = HUSK_NET_NONE;
	} else if (strcmp(network, "host") == 0) {
		r->mode = HUSK_NET_HOST;
	} else {
		r->mode = HUSK_NET_BRIDGE;
		if (strcmp(network, "bridge") == 0)
			network = HUSK_NETWORK_DEFAULT;
		if (husk_network_get(e->storage, network, &r->net, &r->note, err) < 0)
			return -1;
	}
	/* as docker: the default network has no names to give */
	if (r->n_aliases && (r->mode != HUSK_NET_BRIDGE || strcmp(r->net.name, HUSK_NETWORK_DEFAULT) == 0))
		return husk_err_set(err, 0, "--network-alias %s: aliases are names on a user network (husk network create), "
				    "not with --network %s", r->aliases[0], network);
	if ((r->n_ports || r->publish_all) && r->mode != HUSK_NET_BRIDGE)
		return husk_err_set(err, 0, "%s publishes ports on a bridge network, not with --network %s",
				    r->n_ports ? "-p" : "-P", network);
	if (husk_network_ports_check(e->storage, r->ports, r->n_ports, &owners, err) < 0)
		return -1;
	if (check_net_options(e, r, network, err) < 0)
		return -1;
	r->ro.host_network = r->mode == HUSK_NET_HOST;
	/* as docker: on the host's network the container has the host's name */
	if (r->mode == HUSK_NET_HOST && !r->ro.hostname && uname(&uts) == 0)
		r->ro.hostname = uts.nodename;
	return 0;
}

/* A network made by `husk network create`: its containers find each other by name. The default
 * one does as docker's default bridge: no names (docker keeps that for compatibility, with
 * --link; husk has no --link, and a container that reached its neighbours by name there
 * would break on docker). */
static bool user_network(const struct husk_engine_run *r)
{
	return r->mode == HUSK_NET_BRIDGE && strcmp(r->net.name, HUSK_NETWORK_DEFAULT) != 0;
}

/* /etc/hosts and /etc/resolv.conf for the container, in its directory: the host's own with
 * --network host, otherwise localhost (the address is added once it is leased) and the host's
 * resolvers minus loopback ones, which cannot be reached from another network namespace. On a
 * user network, the network's name responder (its gateway) is the one nameserver (it forwards
 * what is not a container's name to the host's); --dns, --dns-search, --dns-option replace
 * lines of their kind. */
/* --add-host's lines: "IP\tNAME" each */
static char *extra_hosts(char *const *add_hosts)
{
	char *out = husk_xstrdup("");

	for (size_t i = 0; add_hosts && add_hosts[i]; i++) {
		const char *colon = strchr(add_hosts[i], ':');
		char *next = husk_xasprintf("%s%s\t%.*s\n", out, colon + 1, (int)(colon - add_hosts[i]), add_hosts[i]);
		free(out);
		out = next;
	}
	return out;
}

static int write_net_files(const char *dir, const struct husk_engine_run *r, char **hosts, char **resolv,
			   struct husk_err *err)
{
	_cleanup_free_ char *host_resolv = NULL, *host_hosts = NULL, *text = NULL, *custom = NULL, *extra = NULL;
	_cleanup_free_ char *all = NULL;
	enum husk_net_mode mode = r->mode;

	*hosts = husk_xasprintf("%s/hosts", dir);
	*resolv = husk_xasprintf("%s/resolv.conf", dir);
	if (husk_read_file_at(AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL) < 0)
		host_resolv = husk_xstrdup("");
	text = user_network(r) ? husk_dns_resolv_conf(host_resolv, r->net.gateway)
			       : husk_resolv_conf(host_resolv, mode == HUSK_NET_HOST);
	custom = husk_resolv_conf_custom(text, r->dns, r->dns_search, r->dns_options);
	if (husk_write_file_atomic(*resolv, custom, strlen(custom), 0644, err) < 0)
		return -1;
	if (mode != HUSK_NET_HOST || husk_read_file_at(AT_FDCWD, "/etc/hosts", &host_hosts, NULL, NULL) < 0) {
		free(host_hosts);
		host_hosts = husk_xstrdup(hosts_head);
	}
	extra = extra_hosts(r->add_hosts);
	all = husk_xasprintf("%s%s", host_hosts, extra);
	return husk_write_file_atomic(*hosts, all, strlen(all), 0644, err);
}

static void new_container_id(char id[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		/* only before the entropy pool is ready: still unique enough for a name */
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(husk_now_ns() >> (i % 8));
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[64] = '\0';
}

static int remove_snapshot(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	struct husk_store s;
	int rc;

	if (husk_store_open(&s, e->storage, false, err) < 0)
		return -1;
	rc = husk_snapshot_remove(&s, id, err);
	husk_store_close(&s);
	return rc;
}

static json_t *string_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* docker's RestartPolicy from --restart's text (checked by husk_engine_run_check). */
static json_t *restart_policy(const char *text)
{
	const char *colon = text ? strchr(text, ':') : NULL;

	if (!text)
		return json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0);
	if (colon)
		return json_pack("{s:s%, s:i}", "Name", text, (size_t)(colon - text), "MaximumRetryCount",
				 atoi(colon + 1));
	return json_pack("{s:s, s:i}", "Name", text, "MaximumRetryCount", 0);
}

json_t *husk_engine_port_bindings(const struct husk_port *ports, size_t n)
{
	json_t *b = json_object();

	for (size_t i = 0; i < n; i++) {
		char key[16], ip[INET6_ADDRSTRLEN] = "", hostport[8];
		snprintf(key, sizeof(key), "%u/%s", ports[i].container_port, ports[i].proto == IPPROTO_UDP ? "udp" : "tcp");
		if (ports[i].v6)
			husk_ipv6_format(&ports[i].host_ip6, ip);
		else if (ports[i].host_ip)
			husk_ipv4_format(ports[i].host_ip, ip);
		snprintf(hostport, sizeof(hostport), "%.0u", ports[i].host_port);
		json_t *list = json_object_get(b, key);
		if (!list) {
			list = json_array();
			json_object_set_new(b, key, list);
		}
		json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hostport));
	}
	return b;
}

/* --ip (Networks.NAME.IPAMConfig, where docker keeps it), -P, --add-host, --dns*: in the record,
 * for husk start */
static void record_net_options(json_t *rec, const struct husk_engine_run *r, const char *image_config)
{
	json_t *hc = json_object_get(rec, "HostConfig"), *nets = json_object_get(json_object_get(rec, "NetworkSettings"), "Networks");
	json_t *exposed = NULL, *cfg = image_config ? json_loads(image_config, 0, NULL) : NULL;

	json_object_set_new(hc, "PublishAllPorts", json_boolean(r->publish_all));
	json_object_set_new(hc, "ExtraHosts", string_array(r->add_hosts, list_len(r->add_hosts)));
	json_object_set_new(hc, "Dns", string_array(r->dns, list_len(r->dns)));
	json_object_set_new(hc, "DnsSearch", string_array(r->dns_search, list_len(r->dns_search)));
	json_object_set_new(hc, "DnsOptions", string_array(r->dns_options, list_len(r->dns_options)));
	exposed = json_object_get(json_object_get(cfg, "config"), "ExposedPorts");
	if (json_is_object(exposed))
		json_object_set(json_object_get(rec, "Config"), "ExposedPorts", exposed);
	json_decref(cfg);
	if (r->mode == HUSK_NET_BRIDGE) {
		json_t *ipam = json_object();
		char want6[INET6_ADDRSTRLEN];
		if (r->ip && !strchr(r->ip, ':'))
			json_object_set_new(ipam, "IPv4Address", json_string(r->ip));
		if (r->has_want6) {
			husk_ipv6_format(&r->want6, want6);
			json_object_set_new(ipam, "IPv6Address", json_string(want6));
		}
		json_object_set_new(nets, r->net.name, json_pack("{s:o}", "IPAMConfig", json_object_size(ipam) ? ipam : json_null()));
		if (!json_object_size(ipam))
			json_decref(ipam);
	}
}

/* -P: a random host port for each of exposed's "80/tcp" keys, appended to r's ports */
static int publish_exposed(struct husk_engine_run *r, json_t *exposed, struct husk_err *err)
{
	struct husk_port *v = husk_xcalloc(r->n_ports + json_object_size(exposed) + 1, sizeof(*v));
	size_t n = r->n_ports;
	const char *key;
	json_t *value;

	if (n)
		memcpy(v, r->ports, n * sizeof(*v));
	json_object_foreach(exposed, key, value) {
		if (husk_ports_parse(key, &v, &n, err) < 0) {
			free(v);
			return husk_err_wrap(err, "the image's ExposedPorts");
		}
	}
	free(r->owned);
	r->owned = r->ports = v;
	r->n_ports = n;
	return 0;
}

/* The record of a new container, shaped as `docker inspect` prints one. */
static json_t *record_new(const struct husk_engine *e, const struct husk_engine_run *r, json_t *image, json_t *spec,
			  const char *dir, const char *image_config)
{
	json_t *process = json_object_get(spec, "process"), *args = json_object_get(process, "args");
	_cleanup_free_ char *created = husk_time_format(husk_realtime_ns());
	_cleanup_free_ char *name = husk_xasprintf("/%s", r->made_name);
	_cleanup_free_ char *log = r->log_path ? husk_xstrdup(r->log_path) : husk_xasprintf("%s/ctr.log", dir);
	const char *network = r->network ? r->network : "bridge";
	json_t *log_config = json_pack("{s:s, s:{}}", "Type", r->log_driver ? r->log_driver : "k8s-file", "Config");
	json_t *rec;

	if (r->log_max_size)
		json_object_set_new(json_object_get(log_config, "Config"), "max-size",
				    json_sprintf("%lld", r->log_max_size));
	if (r->log_max_file)
		json_object_set_new(json_object_get(log_config, "Config"), "max-file",
				    json_sprintf("%d", r->log_max_file));
	rec = json_pack("{s:s, s:s, s:O?, s:o, s:{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}, s:s, s:s, s:s, s:i}",
			"Id", r->id, "Created", created, "Path", json_array_get(args, 0),
			"Args", json_array(), "State", "Status", "created", "Running", 0, "Paused", 0, "Restarting", 0,
			"OOMKilled", 0, "Dead", 0, "Pid", 0, "ExitCode", 0, "Error", "", "StartedAt",
			"0001-01-01T00:00:00Z", "FinishedAt", "0001-01-01T00:00:00Z", "Image",
			json_string_value(json_object_get(image, "id")), "Name", name, "LogPath",
			r->log_driver && strcmp(r->log_driver, "none") == 0 ? "" : log, "RestartCount", 0);
	for (size_t i = 1; i < json_array_size(args); i++)
		json_array_append(json_object_get(rec, "Args"), json_array_get(args, i));
	json_object_set_new(rec, "Config", json_pack("{s:s, s:s, s:O, s:O, s:s, s:b, s:b, s:s, s:{}}",
		"Hostname", r->ro.hostname ? r->ro.hostname : "", "Image", r->ro.image,
		"Cmd", args, "Env", json_object_get(process, "env"), "WorkingDir",
		json_string_value(json_object_get(process, "cwd")), "Tty", r->ro.tty, "OpenStdin", r->interactive,
		"User", r->ro.user ? r->ro.user : "", "Labels"));
	json_object_set_new(rec, "HostConfig", json_pack("{s:s, s:o, s:b, s:o, s:o, s:o}",
		"NetworkMode", network, "RestartPolicy", restart_policy(r->restart), "AutoRemove", r->autoremove,
		"LogConfig", log_config, "PortBindings", husk_engine_port_bindings(r->ports, r->n_ports),
		"PortSpecs", string_array(r->port_specs, r->port_specs ? r->n_port_specs : 0)));
	json_object_set_new(rec, "NetworkSettings", json_pack("{s:{}, s:{}}", "Networks", "Ports"));
	record_net_options(rec, r, image_config);
	/* the aliases, where docker keeps them and the network's responder reads them */
	if (r->n_aliases) {
		json_t *nets = json_object_get(json_object_get(rec, "NetworkSettings"), "Networks");
		json_t *net = json_object_get(nets, r->net.name);
		if (!net) {
			net = json_object();
			json_object_set_new(nets, r->net.name, net);
		}
		json_object_set_new(net, "Aliases", string_array(r->aliases, r->n_aliases));
	}
	json_object_set_new(rec, "Mounts", json_array());
	/* what husk stop needs: the signal (--stop-signal, else the image's) and the time */
	json_t *config = json_object_get(rec, "Config"), *hc = json_object_get(rec, "HostConfig");
	int sig = r->ro.stop_signal;
	if (!sig && husk_image_stop_signal(image_config, &sig, NULL) < 0)
		sig = 0;
	if (sig > 0 && sigabbrev_np(sig))
		json_object_set_new(config, "StopSignal", json_sprintf("SIG%s", sigabbrev_np(sig)));
	if (r->ro.stop_timeout >= 0 && r->ro.stop_timeout != 0)
		json_object_set_new(config, "StopTimeout", json_integer(r->ro.stop_timeout));
	json_t *labels = json_object_get(config, "Labels");
	for (size_t i = 0; i < r->ro.n_labels; i++) {
		const char *eq = strchr(r->ro.labels[i], '=');
		_cleanup_free_ char *key = eq ? strndup(r->ro.labels[i], (size_t)(eq - r->ro.labels[i]))
					      : husk_xstrdup(r->ro.labels[i]);
		json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
	}
	json_object_set_new(hc, "Memory", json_integer(r->ro.memory));
	json_object_set_new(hc, "NanoCpus", json_integer(r->ro.nano_cpus));
	json_object_set_new(hc, "PidsLimit", json_integer(r->ro.pids_limit));
	json_object_set_new(hc, "ReadonlyRootfs", json_boolean(r->ro.read_only));
	json_object_set_new(hc, "Privileged", json_boolean(r->ro.privileged));
	json_object_set_new(hc, "Init", json_boolean(r->ro.init != NULL));
	(void)e;
	return rec;
}

/* The image, a snapshot of it and the config: everything up to the container itself. The
 * store's lock is held only for this, so a long-running container never blocks `image rm`
 * (the snapshot's image file keeps its layers). Returns the snapshot's root as a detached
 * mount fd. */
static int prepare(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	struct husk_store s;
	json_t *rec = NULL, *spec = NULL, *mounts = NULL;
	_cleanup_free_ char *config = NULL, *text = NULL, *path = NULL, *dir = NULL, *hosts = NULL, *resolv = NULL;
	int rootfd = -1;
	size_t len;

	if (husk_store_open(&s, e->storage, false, err) < 0)
		return -1;
	if (husk_image_lookup(&s, r->ro.image, &rec, err) < 0 ||
	    husk_blob_read(&s, json_string_value(json_object_get(rec, "id")), HUSK_MANIFEST_MAX, &config, &len, err) < 0 ||
	    husk_snapshot_create(&s, r->id, json_string_value(json_object_get(rec, "manifest")), err) < 0)
		goto out;
	r->snapshot_made = true;
	if (r->publish_all) {
		json_t *cfg = json_loads(config, 0, NULL);
		json_t *exposed = json_object_get(json_object_get(cfg, "config"), "ExposedPorts");
		int rc = json_is_object(exposed) ? publish_exposed(r, exposed, err) : 0;
		json_decref(cfg);
		if (rc < 0)
			goto out;
	}
	dir = husk_xasprintf("%s/containers/%s", s.path, r->id);
	if (write_net_files(dir, r, &hosts, &resolv, err) < 0)
		goto out;
	r->ro.hosts_file = hosts;
	r->ro.resolv_file = resolv;
	rootfd = husk_snapshot_mount(&s, r->id, err);
	if (rootfd < 0 || husk_run_config(&r->ro, r->id, config, rootfd, &spec, err) < 0)
		goto fail;
	/* volumes into config.json, which husk start reuses: a restart mounts the same ones */
	if (husk_volumes_prepare(e, r, rootfd, config, spec, &mounts, err) < 0)
		goto fail;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	path = husk_xasprintf("%s/config.json", dir);
	if (husk_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		goto fail;
	r->rec = record_new(e, r, rec, spec, dir, config);
	json_object_set(r->rec, "Mounts", mounts);
	if (husk_record_save(e, r->id, r->rec, err) < 0)
		goto fail;
	goto out;
fail:
	if (rootfd >= 0)
		close(rootfd);
	rootfd = -1;
out:
	r->ro.hosts_file = r->ro.resolv_file = NULL;
	json_decref(mounts);
	json_decref(spec);
	json_decref(rec);
	husk_store_close(&s);
	return rootfd;
}

struct join {
	const struct husk_engine *e;
	struct husk_engine_run *r;
};

/* Between create and start: the container's network namespace exists and nothing runs in it. */
static int join_network(const struct husk_container *c, void *arg, struct husk_err *err)
{
	const struct husk_engine *e = ((struct join *)arg)->e;
	struct husk_engine_run *r = ((struct join *)arg)->r;
	struct husk_lease_owners owners = lease_owners(e);
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_close_ int netns = -1;
	char nspath[64], addr_text[16], hostname[13];

	r->created = true;
	if (r->mode == HUSK_NET_HOST)
		return 0;
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)c->pid);
	netns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return husk_err_sys(err, "open %s", nspath);
	if (r->mode == HUSK_NET_NONE)
		return husk_network_loopback(netns, err);
	struct husk_attach a = {.want = r->want, .want6 = r->has_want6 ? &r->want6 : NULL, .addr6 = &r->addr6};
	if (husk_network_attach_if(e->storage, &r->net, r->id, netns, &a, r->ports, r->n_ports, &owners, &r->addr, err) < 0)
		return -1;
	r->attached = true;
	/* network connect's further networks, in the order they were connected */
	for (size_t i = 0; i < r->n_extra; i++) {
		struct husk_engine_net *x = &r->extra[i];
		struct husk_attach xa = {.ifname = x->ifname, .want = x->want, .addr6 = &x->addr6};
		snprintf(x->ifname, sizeof(x->ifname), "eth%zu", i + 1);
		if (husk_network_attach_if(e->storage, &x->net, r->id, netns, &xa, NULL, 0, &owners, &x->addr, err) < 0)
			return -1;
		x->attached = true;
	}
	/* after the lease: the responder sees it (dns.h) */
	if (user_network(r) && husk_dns_ensure(e->run, e->storage, &r->net, err) < 0)
		return -1;
	/* the name the container was given, or docker's default: the id's first 12 digits */
	snprintf(hostname, sizeof(hostname), "%.12s", r->id);
	husk_ipv4_format(r->addr, addr_text);
	/* written in place: the bind mount holds this inode */
	path = husk_xasprintf("%s/containers/%s/hosts", e->storage, r->id);
	_cleanup_free_ char *extra = extra_hosts(r->add_hosts);
	/* on an IPv6 network the name has both addresses, as docker writes them */
	char addr6_text[INET6_ADDRSTRLEN + 80] = "";
	if (r->net.ipv6) {
		char a6[INET6_ADDRSTRLEN];
		husk_ipv6_format(&r->addr6, a6);
		snprintf(addr6_text, sizeof(addr6_text), "%s\t%s\n", a6, r->ro.hostname ? r->ro.hostname : hostname);
	}
	text = husk_xasprintf("%s%s\t%s\n%s%s", hosts_head, addr_text, r->ro.hostname ? r->ro.hostname : hostname, addr6_text,
			      extra);
	return husk_write_file_at(AT_FDCWD, path, text, strlen(text), err);
}

/* Exactly what was made, in reverse: the network's leases, the runtime state, the snapshot. */
static int undo(const struct husk_engine *e, struct husk_engine_run *r, bool remove_snapshot_too, struct husk_err *err)
{
	int rc = 0;

	/* each step's own result: err may hold an earlier message (the first one is kept) */
	for (size_t i = 0; i < r->n_extra; i++)
		if (r->extra[i].attached) {
			if (husk_network_detach_if(e->storage, &r->extra[i].net, r->id, -1, NULL, err) < 0)
				rc = -1;
			r->extra[i].attached = false;
		}
	if (r->attached && husk_network_detach(e->storage, &r->net, r->id, err) < 0)
		rc = -1;
	else
		r->attached = false;
	if (r->created && husk_container_delete(e->root, r->id, true, err) < 0)
		rc = -1;
	else
		r->created = false;
	if (remove_snapshot_too && r->snapshot_made) {
		if (remove_snapshot(e, r->id, err) < 0)
			rc = -1;
		r->snapshot_made = false;
	}
	if (remove_snapshot_too && r->name_claimed) {
		husk_name_release(e, r->made_name, r->id);
		r->name_claimed = false;
	}
	return rc;
}

int husk_engine_run_prepare(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	new_container_id(r->id);
	/* the name first: of two `run --name x` at once, exactly one gets here */
	if (r->name) {
		if (husk_name_claim(e, r->name, r->id, err) < 0)
			return -1;
		r->made_name = husk_xstrdup(r->name);
	} else {
		/* a made-up name that is taken is made up again */
		for (int tries = 0;; tries++) {
			r->made_name = husk_name_generate();
			if (husk_name_claim(e, r->made_name, r->id, tries < 8 ? NULL : err) == 0)
				break;
			free(r->made_name);
			r->made_name = NULL;
			if (tries >= 8)
				return -1;
		}
	}
	r->name_claimed = true;
	r->rootfd = prepare(e, r, err);
	if (r->rootfd < 0) {
		undo(e, r, true, NULL);
		return -1;
	}
	return 0;
}

int husk_engine_run_start(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	_cleanup_free_ char *bundle = husk_xasprintf("%s/containers/%s", e->storage, r->id);
	struct join join = {e, r};
	struct husk_create_opts o = {
		.root = e->root, .id = r->id, .bundle = bundle, .run = true, .relay_terminal = true,
		.has_root_mount = true, .root_mount_fd = r->rootfd, .warn = e->warn, .warn_arg = e->warn_arg,
		.die_with_parent = true,
	};
	int rc = husk_container_run(&o, &r->c, join_network, &join, err);

	/* the init holds the root now (or nothing does) */
	close(r->rootfd);
	r->rootfd = -1;
	if (rc < 0) {
		/* husk_container_run deleted the container; the snapshot and record stay (the caller
		 * records why it did not start, or removes them) */
		r->created = false;
		undo(e, r, false, NULL);
	}
	return rc;
}

int husk_engine_run_finish(const struct husk_engine *e, struct husk_engine_run *r, bool remove, struct husk_err *err)
{
	if (r->c.sync_fd >= 0)
		close(r->c.sync_fd);
	r->c.sync_fd = -1;
	return undo(e, r, remove, err);
}

void husk_engine_run_free(struct husk_engine_run *r)
{
	if (r->rootfd >= 0)
		close(r->rootfd);
	r->rootfd = -1;
	free(r->note);
	r->note = NULL;
	free(r->made_name);
	r->made_name = NULL;
	json_decref(r->rec);
	r->rec = NULL;
	free(r->owned);
	r->owned = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(r->owned_lists); i++) {
		free(r->owned_lists[i]);
		r->owned_lists[i] = NULL;
	}
	free(r->extra);
	r->extra = NULL;
	r->n_extra = 0;
	free(r->start_error);
	r->start_error = NULL;
}

/* a record's array of strings, NULL-terminated, pointing into it */
static char **load_list(json_t *a)
{
	char **v = husk_xcalloc(json_array_size(a) + 1, sizeof(char *));
	size_t i, n = 0;
	json_t *s;

	json_array_foreach(a, i, s)
		if (json_is_string(s))
			v[n++] = (char *)json_string_value(s);
	return v;
}

static uint32_t recorded_ip(json_t *net)
{
	const char *ip = json_string_value(json_object_get(json_object_get(net, "IPAMConfig"), "IPv4Address"));
	uint32_t addr = 0;

	if (ip && *ip && husk_ipv4_parse(ip, &addr, NULL) < 0)
		addr = 0;
	return addr;
}

/* The record's Networks: eth0's --ip, and the others (network connect) to join after it. */
static int load_networks(const struct husk_engine *e, struct husk_engine_run *r, struct husk_err *err)
{
	json_t *nets = json_object_get(json_object_get(r->rec, "NetworkSettings"), "Networks");
	const char *name;
	json_t *net;
	char *note = NULL;

	r->extra = husk_xcalloc(json_object_size(nets) + 1, sizeof(*r->extra));
	json_object_foreach(nets, name, net) {
		if (strcmp(name, r->net.name) == 0) {
			const char *ip6 = json_string_value(json_object_get(json_object_get(net, "IPAMConfig"), "IPv6Address"));
			r->want = recorded_ip(net);
			r->has_want6 = ip6 && husk_ipv6_parse(ip6, &r->want6, NULL) == 0;
			continue;
		}
		struct husk_engine_net *x = &r->extra[r->n_extra];
		if (husk_network_get(e->storage, name, &x->net, &note, err) < 0)
			return husk_err_wrap(err, "container %.12s's network \"%s\"", r->id, name);
		free(note);
		x->want = recorded_ip(net);
		r->n_extra++;
	}
	return 0;
}

int husk_engine_run_load(const struct husk_engine *e, const char *id, struct husk_engine_run *r, struct husk_err *err)
{
	json_t *host, *specs, *config;
	struct husk_store s;

	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	if (husk_record_load(e, id, &r->rec, err) < 0)
		return -1;
	host = json_object_get(r->rec, "HostConfig");
	config = json_object_get(r->rec, "Config");
	r->network = json_string_value(json_object_get(host, "NetworkMode"));
	r->ro.tty = json_is_true(json_object_get(config, "Tty"));
	r->interactive = json_is_true(json_object_get(config, "OpenStdin"));
	if (*json_string_value(json_object_get(config, "Hostname")))
		r->ro.hostname = json_string_value(json_object_get(config, "Hostname"));
	specs = json_object_get(host, "PortSpecs");
	struct husk_port *ports = NULL;
	size_t n_ports = 0;
	for (size_t i = 0; i < json_array_size(specs); i++)
		if (husk_ports_parse(json_string_value(json_array_get(specs, i)), &ports, &n_ports, err) < 0) {
			free(ports);
			return -1;
		}
	r->ports = ports;
	r->owned = ports;
	r->n_ports = n_ports;
	r->publish_all = json_is_true(json_object_get(host, "PublishAllPorts"));
	if (r->publish_all && json_is_object(json_object_get(config, "ExposedPorts")) &&
	    publish_exposed(r, json_object_get(config, "ExposedPorts"), err) < 0)
		return -1;
	r->add_hosts = r->owned_lists[0] = load_list(json_object_get(host, "ExtraHosts"));
	r->dns = r->owned_lists[1] = load_list(json_object_get(host, "Dns"));
	r->dns_search = r->owned_lists[2] = load_list(json_object_get(host, "DnsSearch"));
	r->dns_options = r->owned_lists[3] = load_list(json_object_get(host, "DnsOptions"));
	if (husk_engine_run_check(e, r, err) < 0)
		return -1;
	if (r->mode == HUSK_NET_BRIDGE && load_networks(e, r, err) < 0)
		return -1;
	if (husk_store_open(&s, e->storage, false, err) < 0)
		return -1;
	r->rootfd = husk_snapshot_mount(&s, id, err);
	husk_store_close(&s);
	r->snapshot_made = false;   /* not this run's to take back */
	return r->rootfd < 0 ? -1 : 0;
}

int husk_engine_release(const struct husk_engine *e, const char *id, json_t *rec, bool *oom_killed, struct husk_err *err)
{
	const char *network = json_string_value(json_object_get(json_object_get(rec, "HostConfig"), "NetworkMode"));
	struct husk_network net = {0};
	long long ooms = 0;
	enum husk_status status;
	char *note = NULL;
	int rc = 0;

	if (oom_killed && husk_container_stats(e->root, id, NULL, &ooms, &status, NULL) == 0)
		*oom_killed = ooms > 0;
	if (network && strcmp(network, "none") != 0 && strcmp(network, "host") != 0) {
		const char *main_net = strcmp(network, "bridge") == 0 ? HUSK_NETWORK_DEFAULT : network;
		json_t *nets = json_object_get(json_object_get(rec, "NetworkSettings"), "Networks"), *v;
		const char *name;
		if (husk_network_get(e->storage, main_net, &net, &note, err) < 0 ||
		    husk_network_detach(e->storage, &net, id, err) < 0)
			rc = -1;
		free(note);
		/* and every network it was connected to since */
		json_object_foreach(nets, name, v) {
			if (strcmp(name, main_net) != 0 &&
			    husk_engine_net_release(e, id, name, false, -1, NULL, rc ? NULL : err) < 0)
				rc = -1;
		}
	}
	if (husk_container_delete(e->root, id, true, err) < 0 && err->errnum != ENOENT)
		rc = -1;
	else if (rc == 0)
		husk_err_clear(err);
	return rc;
}

int husk_engine_net_release(const struct husk_engine *e, const char *id, const char *name, bool primary, int netns_fd,
			    const char *ifname, struct husk_err *err)
{
	struct husk_network net;
	char *note = NULL;
	int rc;

	if (husk_network_get(e->storage, name, &net, &note, err) < 0)
		return -1;
	free(note);
	rc = primary ? husk_network_detach(e->storage, &net, id, err)
		     : husk_network_detach_if(e->storage, &net, id, netns_fd, ifname, err);
	return rc;
}

/* A log kept outside the container's directory (--log-opt path=) and its rotated files. */
static void remove_log(const char *path)
{
	if (!path || !*path)
		return;
	unlink(path);
	for (int i = 1; i <= 100; i++) {
		_cleanup_free_ char *old = husk_xasprintf("%s.%d", path, i);
		if (unlink(old) < 0 && errno == ENOENT)
			break;
	}
}

int husk_engine_remove(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *run = husk_engine_run_path(e, id, NULL);
	struct husk_err ignored = {0};
	json_t *rec = NULL;
	int rc = 0;

	if (husk_record_load(e, id, &rec, err) < 0)
		return -1;
	if (husk_engine_release(e, id, rec, NULL, &ignored) < 0)
		rc = husk_err_copy(err, &ignored);
	if (remove_snapshot(e, id, err) < 0)
		rc = -1;
	remove_log(json_string_value(json_object_get(rec, "LogPath")));
	husk_name_release(e, json_string_value(json_object_get(rec, "Name")), id);
	/* --rm takes the container's anonymous volumes with it (docker's rule); named ones stay */
	if (json_is_true(json_object_get(json_object_get(rec, "HostConfig"), "AutoRemove")) &&
	    husk_volume_remove_anonymous(e, rec, &ignored) < 0 && rc == 0)
		rc = husk_err_copy(err, &ignored);
	if (husk_rmtree_at(AT_FDCWD, run, &ignored) < 0 && ignored.errnum != ENOENT && rc == 0)
		rc = husk_err_copy(err, &ignored);
	json_decref(rec);
	return rc;
}

int husk_engine_open_root(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	json_t *state = NULL;
	struct husk_store s;
	int fd;

	if (husk_container_state(e->root, id, &state, NULL) == 0) {
		const char *st = json_string_value(json_object_get(state, "status"));
		json_int_t pid = json_integer_value(json_object_get(state, "pid"));
		json_decref(state);
		if (pid > 0 && strcmp(st, "stopped") != 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%lld/root", (long long)pid);
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return husk_err_sys(err, "open %s (the root of container %.12s)", path, id);
			return fd;
		}
	}
	if (husk_store_open(&s, e->storage, false, err) < 0)
		return -1;
	fd = husk_snapshot_mount(&s, id, err);
	husk_store_close(&s);
	return fd;
}
