/* husk run IMAGE [CMD...], husk rm CONTAINER: containers from images, in the foreground. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/image/image.h"
#include "../lib/image/runconfig.h"
#include "../lib/image/snapshot.h"
#include "../lib/image/store.h"
#include "../lib/net/network.h"
#include "../lib/util.h"

static const char run_usage[] =
	"usage: husk run [--rm] [-i] [-t] [-e K=V]... [-w DIR] [-u USER[:GROUP]] [-h HOSTNAME] [--entrypoint CMD]\n"
	"                [--network bridge|none|host|NAME] [-p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]]... IMAGE [CMD [ARG...]]";

enum net_mode { NET_BRIDGE, NET_NONE, NET_HOST };

bool husk_cmd_container_alive(const char *id, void *arg)
{
	struct husk_globals *g = arg;
	struct husk_err err = {0};
	json_t *state = NULL;
	bool alive;

	if (husk_container_state(g->root, id, &state, &err) < 0)
		/* only "no such container" lets a lease go; an unreadable state keeps it */
		return err.errnum != ENOENT;
	alive = strcmp(json_string_value(json_object_get(state, "status")), "stopped") != 0;
	json_decref(state);
	return alive;
}

static const char hosts_head[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/* /etc/hosts and /etc/resolv.conf for the container, in its directory: the host's own with
 * --network host, otherwise localhost (the address is added once it is leased) and the host's
 * resolvers minus loopback ones, which cannot be reached from another network namespace. */
static int write_net_files(const char *dir, enum net_mode mode, char **hosts, char **resolv, struct husk_err *err)
{
	_cleanup_free_ char *host_resolv = NULL, *host_hosts = NULL, *text = NULL;

	*hosts = husk_xasprintf("%s/hosts", dir);
	*resolv = husk_xasprintf("%s/resolv.conf", dir);
	if (husk_read_file_at(AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL) < 0)
		host_resolv = husk_xstrdup("");
	text = husk_resolv_conf(host_resolv, mode == NET_HOST);
	if (husk_write_file_atomic(*resolv, text, strlen(text), 0644, err) < 0)
		return -1;
	if (mode != NET_HOST || husk_read_file_at(AT_FDCWD, "/etc/hosts", &host_hosts, NULL, NULL) < 0) {
		free(host_hosts);
		host_hosts = husk_xstrdup(hosts_head);
	}
	return husk_write_file_atomic(*hosts, host_hosts, strlen(host_hosts), 0644, err);
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

/* The image, a snapshot of it and the config: everything up to the container itself. The
 * store's lock is held only for this, so a long-running container never blocks `image rm`
 * (the snapshot's image file keeps its layers). */
static int prepare(struct husk_globals *g, struct husk_run_opts *ro, enum net_mode mode, const char *id, int *rootfd,
		   struct husk_err *err)
{
	struct husk_store s;
	json_t *rec = NULL, *spec = NULL;
	_cleanup_free_ char *config = NULL, *text = NULL, *path = NULL, *dir = NULL, *hosts = NULL, *resolv = NULL;
	size_t len;
	int ret = -1;

	*rootfd = -1;
	if (husk_store_open(&s, g->storage, false, err) < 0)
		return -1;
	if (husk_image_lookup(&s, ro->image, &rec, err) < 0)
		goto out;
	if (husk_blob_read(&s, json_string_value(json_object_get(rec, "id")), HUSK_MANIFEST_MAX, &config, &len, err) < 0)
		goto out;
	if (husk_snapshot_create(&s, id, json_string_value(json_object_get(rec, "manifest")), err) < 0)
		goto out;
	dir = husk_xasprintf("%s/containers/%s", s.path, id);
	if (write_net_files(dir, mode, &hosts, &resolv, err) < 0)
		goto fail;
	ro->hosts_file = hosts;
	ro->resolv_file = resolv;
	*rootfd = husk_snapshot_mount(&s, id, err);
	if (*rootfd < 0 || husk_run_config(ro, id, config, *rootfd, &spec, err) < 0)
		goto fail;
	text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	path = husk_xasprintf("%s/containers/%s/config.json", s.path, id);
	if (husk_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	if (*rootfd >= 0)
		close(*rootfd);
	*rootfd = -1;
	husk_snapshot_remove(&s, id, NULL);
out:
	ro->hosts_file = ro->resolv_file = NULL;
	json_decref(spec);
	json_decref(rec);
	husk_store_close(&s);
	return ret;
}

/* Between create and start: the container's network namespace exists and nothing runs in it. */
static int join_network(struct husk_globals *g, enum net_mode mode, const struct husk_network *net, const char *id,
			pid_t pid, const char *hostname, const struct husk_port *ports, size_t n_ports, struct husk_err *err)
{
	char nspath[64], addr_text[16];
	uint32_t addr;
	struct husk_lease_owners owners = {.alive = husk_cmd_container_alive, .arg = g};
	_cleanup_close_ int netns = -1;

	if (mode == NET_HOST)
		return 0;
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)pid);
	netns = open(nspath, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return husk_err_sys(err, "open %s", nspath);
	if (mode == NET_NONE)
		return husk_network_loopback(netns, err);
	if (husk_network_attach(g->storage, net, id, netns, ports, n_ports, &owners, &addr, err) < 0)
		return -1;
	husk_ipv4_format(addr, addr_text);
	husk_cmd_debug(g, "container %.12s: %s on network %s", id, addr_text, net->name);
	/* written in place: the bind mount holds this inode */
	_cleanup_free_ char *path = husk_xasprintf("%s/containers/%s/hosts", g->storage, id);
	_cleanup_free_ char *text = husk_xasprintf("%s%s\t%s\n", hosts_head, addr_text, hostname);
	if (husk_write_file_at(AT_FDCWD, path, text, strlen(text), err) < 0) {
		husk_network_detach(g->storage, net, id, NULL);
		return -1;
	}
	return 0;
}

static void remove_snapshot(struct husk_globals *g, const char *id)
{
	struct husk_store s;
	struct husk_err err = {0};

	if (husk_store_open(&s, g->storage, false, &err) < 0 || husk_snapshot_remove(&s, id, &err) < 0)
		husk_cmd_fail(g, &err);
	husk_store_close(&s);
}

int husk_cmd_engine_run(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rm", no_argument, NULL, 'R'}, {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
		{"env", required_argument, NULL, 'e'}, {"workdir", required_argument, NULL, 'w'},
		{"user", required_argument, NULL, 'u'}, {"hostname", required_argument, NULL, 'h'},
		{"entrypoint", required_argument, NULL, 'E'}, {"network", required_argument, NULL, 'N'},
		{"net", required_argument, NULL, 'N'}, {"publish", required_argument, NULL, 'p'}, {0},
	};
	struct husk_run_opts ro = {0};
	_cleanup_free_ char **env = husk_xcalloc((size_t)argc, sizeof(char *));
	_cleanup_free_ struct husk_port *ports = husk_xcalloc((size_t)argc, sizeof(struct husk_port));
	size_t n_ports = 0;
	const char *network = "bridge";
	enum net_mode mode = NET_BRIDGE;
	struct husk_network net = {0};
	struct husk_lease_owners owners = {.alive = husk_cmd_container_alive, .arg = g};
	bool remove = false, interactive = false;
	struct husk_err err = {0};
	struct husk_container c;
	char id[65];
	int opt, rootfd, status;
	sigset_t set, old;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+ite:w:u:h:p:", opts, NULL)) != -1) {
		switch (opt) {
		case 'R': remove = true; break;
		case 'i': interactive = true; break;
		case 't': ro.tty = true; break;
		case 'e': env[ro.n_env++] = optarg; break;
		case 'w': ro.workdir = optarg; break;
		case 'u': ro.user = optarg; break;
		case 'h': ro.hostname = optarg; break;
		case 'E': ro.entrypoint = optarg; break;
		case 'N': network = optarg; break;
		case 'p':
			if (husk_port_parse(optarg, &ports[n_ports++], &err) < 0)
				return husk_cmd_fail(g, &err);
			break;
		default: return husk_cmd_usage(g, "%s", run_usage);
		}
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", run_usage);
	ro.env = env;
	ro.image = argv[optind];
	ro.cmd = argv + optind + 1;
	ro.n_cmd = (size_t)(argc - optind - 1);
	if (ro.tty && !isatty(STDIN_FILENO))
		return husk_cmd_usage(g, "-t needs a terminal on stdin (this is not one)");

	/* everything the network needs is checked before anything is made */
	if (strcmp(network, "none") == 0) {
		mode = NET_NONE;
	} else if (strcmp(network, "host") == 0) {
		mode = NET_HOST;
	} else {
		_cleanup_free_ char *note = NULL;
		if (strcmp(network, "bridge") == 0)
			network = HUSK_NETWORK_DEFAULT;
		if (husk_network_get(g->storage, network, &net, &note, &err) < 0)
			return husk_cmd_fail(g, &err);
		if (note) {
			husk_err_set(&err, 0, "%s", note);
			husk_cmd_warn(g, &err);
			husk_err_clear(&err);
		}
	}
	if (n_ports && mode != NET_BRIDGE)
		return husk_cmd_usage(g, "-p publishes ports on a bridge network, not with --network %s", network);
	if (husk_network_ports_check(g->storage, ports, n_ports, &owners, &err) < 0)
		return husk_cmd_fail(g, &err);
	ro.host_network = mode == NET_HOST;
	struct utsname uts;
	if (mode == NET_HOST && !ro.hostname && uname(&uts) == 0)
		ro.hostname = uts.nodename;

	new_container_id(id);
	char hostname[13];
	snprintf(hostname, sizeof(hostname), "%.12s", id);
	if (prepare(g, &ro, mode, id, &rootfd, &err) < 0)
		return husk_cmd_fail(g, &err);
	husk_cmd_debug(g, "container %s", id);

	/* without -i the container reads nothing, as with docker */
	if (!interactive && !ro.tty) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
	}
	_cleanup_free_ char *bundle = husk_xasprintf("%s/containers/%s", g->storage, id);
	struct husk_create_opts o = {
		.root = g->root, .id = id, .bundle = bundle, .run = true, .relay_terminal = true,
		.has_root_mount = true, .root_mount_fd = rootfd, .warn = husk_cmd_warn_cb, .warn_arg = g,
	};
	husk_cmd_block_forwarded(&set, &old);
	int created = husk_container_create(&o, &c, &err);
	close(rootfd);
	int joined = created < 0 ? -1 : join_network(g, mode, &net, id, c.pid, ro.hostname ? ro.hostname : hostname, ports,
						      n_ports, &err);
	int started = joined < 0 ? -1 : husk_container_start_created(&c, &err);
	if (created == 0)
		close(c.lock_fd);
	if (started < 0) {
		/* docker's status for "the container never ran" */
		if (created == 0) {
			close(c.sync_fd);
			if (c.terminal_fd >= 0)
				close(c.terminal_fd);
		}
		husk_cmd_fail(g, &err);
		husk_err_clear(&err);
		if (joined == 0 && mode == NET_BRIDGE)
			husk_network_detach(g->storage, &net, id, NULL);
		husk_container_delete(g->root, id, true, &err);
		remove_snapshot(g, id);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 125;
	}
	if (started == 1) {
		husk_cmd_warn(g, &err);
		husk_err_clear(&err);
	}
	status = husk_cmd_wait(c.pid, c.terminal_fd, &set, &err);
	close(c.sync_fd);
	if (mode == NET_BRIDGE && husk_network_detach(g->storage, &net, id, &err) < 0) {
		husk_cmd_fail(g, &err);
		husk_err_clear(&err);
	}
	if (husk_container_delete(g->root, id, true, &err) < 0)
		husk_cmd_fail(g, &err);
	if (remove)
		remove_snapshot(g, id);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

int husk_cmd_engine_rm(struct husk_globals *g, int argc, char **argv)
{
	struct husk_store s;
	struct husk_err err = {0};
	int ret = 0;

	if (argc < 2)
		return husk_cmd_usage(g, "usage: husk rm CONTAINER...");
	if (husk_store_open(&s, g->storage, false, &err) < 0)
		return husk_cmd_fail(g, &err);
	for (int i = 1; i < argc; i++) {
		json_t *state = NULL;
		char path[128];
		if (strlen(argv[i]) != 64 || strspn(argv[i], "0123456789abcdef") != 64) {
			husk_err_set(&err, EINVAL, "\"%s\" is not a container id", argv[i]);
		} else if (snprintf(path, sizeof(path), "containers/%s", argv[i]),
			   faccessat(s.dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			husk_err_set(&err, ENOENT, "no container %s", argv[i]);
		} else if (husk_container_state(g->root, argv[i], &state, &err) == 0) {
			const char *st = json_string_value(json_object_get(state, "status"));
			if (strcmp(st, "stopped") != 0)
				husk_err_set(&err, EBUSY, "container %s is %s: stop it first", argv[i], st);
			else if (husk_container_delete(g->root, argv[i], true, &err) == 0)
				husk_snapshot_remove(&s, argv[i], &err);
			json_decref(state);
		} else {
			husk_err_clear(&err);
			husk_snapshot_remove(&s, argv[i], &err);
		}
		if (err.msg[0]) {
			ret = husk_cmd_fail(g, &err);
			husk_err_clear(&err);
		} else {
			printf("%s\n", argv[i]);
		}
	}
	husk_store_close(&s);
	return ret;
}
