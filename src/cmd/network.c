/* husk network create|ls|inspect|rm|prune: bridge networks for husk run. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/netconnect.h"
#include "../lib/engine/record.h"
#include "../lib/net/network.h"
#include "../lib/util.h"

static const char create_usage[] =
	"usage: husk network create [--subnet CIDR]... [--gateway IP]... [--ipv6] NAME\n\n"
	"A bridge network for husk run --network NAME (a free 10.x.0.0/16 unless --subnet).\n"
	"      --subnet CIDR  its IPv4 subnet, or with --ipv6 its IPv6 one (/48 to /120, e.g.\n"
	"                     fd00:10::/64); give --subnet twice for both\n"
	"      --gateway IP   the bridge's address (the subnet's first by default), once per family\n"
	"      --ipv6         dual stack: containers get an IPv6 address too, with NAT66 masquerade\n"
	"                     and published ports on the host's IPv6 addresses";

static int network_create(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
		{"ipv6", no_argument, NULL, '6'}, {0},
	};
	struct husk_network_spec spec = {0};
	struct husk_network n;
	struct husk_err err = {0};
	int opt;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(create_usage);

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'g': {
			/* docker's way: the family of the value says which one it is */
			bool v6 = strchr(optarg, ':') != NULL;
			const char **slot = opt == 's' ? (v6 ? &spec.subnet6 : &spec.subnet) : (v6 ? &spec.gateway6 : &spec.gateway);
			if (*slot)
				return husk_cmd_usage(g, "--%s %s: an IPv%c %s is given already (%s)\n%s",
						      opt == 's' ? "subnet" : "gateway", optarg, v6 ? '6' : '4',
						      opt == 's' ? "subnet" : "gateway", *slot, create_usage);
			*slot = optarg;
			break;
		}
		case '6': spec.ipv6 = true; break;
		default: return husk_cmd_usage(g, "%s", create_usage);
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "%s", create_usage);
	if (husk_network_create(g->storage, argv[optind], &spec, &n, &err) < 0)
		return husk_cmd_fail(g, &err);
	printf("%s\n", n.name);
	return 0;
}

static json_t *find(json_t *all, const char *name)
{
	json_t *n;
	size_t i;

	json_array_foreach(all, i, n)
		if (strcmp(json_string_value(json_object_get(n, "name")), name) == 0)
			return n;
	return NULL;
}

static const char ls_usage[] =
	"usage: husk network ls [-q|--quiet]\n\n"
	"List networks.\n"
	"  -q, --quiet  the names only";

static int network_ls(struct husk_globals *g, int argc, char **argv)
{
	bool quiet = argc == 2 && (strcmp(argv[1], "-q") == 0 || strcmp(argv[1], "--quiet") == 0);
	struct husk_err err = {0};
	json_t *all, *n;
	size_t i;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(ls_usage);

	if (argc > 2 || (argc == 2 && !quiet))
		return husk_cmd_usage(g, "%s", ls_usage);
	if (husk_network_list(g->storage, &all, &err) < 0)
		return husk_cmd_fail(g, &err);
	if (!quiet)
		printf("%-20s %-8s %-18s %-15s %s\n", "NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS");
	json_array_foreach(all, i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));
		if (quiet)
			printf("%s\n", name);
		else
			printf("%-20s %-8s %-18s %-15s %zu\n", name, json_string_value(json_object_get(n, "bridge")),
			       json_string_value(json_object_get(n, "subnet")), json_string_value(json_object_get(n, "gateway")),
			       json_object_size(json_object_get(n, "containers")));
	}
	json_decref(all);
	return 0;
}

static const char inspect_usage[] =
	"usage: husk network inspect NAME...\n\n"
	"The networks' records, as a JSON array.";

static int network_inspect(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = {0};
	json_t *all, *out;
	int ret = 0;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(inspect_usage);
	if (husk_cmd_no_options(g, argc, argv, inspect_usage) < 0)
		return 125;

	if (argc < 2)
		return husk_cmd_usage(g, "%s", inspect_usage);
	if (husk_network_list(g->storage, &all, &err) < 0)
		return husk_cmd_fail(g, &err);
	out = json_array();
	for (int i = 1; i < argc; i++) {
		json_t *n = find(all, argv[i]);
		if (n) {
			json_array_append(out, n);
			continue;
		}
		husk_err_set(&err, ENOENT, "no network \"%s\" (husk network ls lists them)", argv[i]);
		ret = husk_cmd_fail(g, &err);
		husk_err_clear(&err);
	}
	if (json_array_size(out)) {
		char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
	}
	json_decref(out);
	json_decref(all);
	return ret;
}

static const char rm_usage[] =
	"usage: husk network rm NAME...\n\n"
	"Remove networks no running container uses.";

static int network_rm(struct husk_globals *g, int argc, char **argv)
{
	struct husk_lease_owners owners = {.alive = husk_engine_container_alive, .arg = (void *)g->root};
	struct husk_err err = {0};
	int ret = 0;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(rm_usage);
	if (husk_cmd_no_options(g, argc, argv, rm_usage) < 0)
		return 125;

	if (argc < 2)
		return husk_cmd_usage(g, "%s", rm_usage);
	for (int i = 1; i < argc; i++) {
		if (husk_network_remove(g->storage, argv[i], &owners, &err) < 0) {
			ret = husk_cmd_fail(g, &err);
			husk_err_clear(&err);
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return ret;
}

static const char prune_usage[] =
	"usage: husk network prune\n\n"
	"Remove every network no container uses.";

static int network_prune(struct husk_globals *g, int argc, char **argv)
{
	struct husk_lease_owners owners = {.alive = husk_engine_container_alive, .arg = (void *)g->root};
	struct husk_err err = {0};
	json_t *removed, *name;
	size_t i;
	int ret = 0;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(prune_usage);

	(void)argv;
	if (argc != 1)
		return husk_cmd_usage(g, "%s", prune_usage);
	if (husk_network_prune(g->storage, &owners, &removed, &err) < 0)
		ret = husk_cmd_fail(g, &err);
	json_array_foreach(removed, i, name)
		printf("%s\n", json_string_value(name));
	json_decref(removed);
	return ret;
}

static const char connect_usage[] =
	"usage: husk network connect [--ip ADDR] [--alias NAME]... NETWORK CONTAINER\n\n"
	"Join a container to a further network: at once as eth1, eth2 ... when it runs, at its next\n"
	"start otherwise; husk start joins it again.\n"
	"      --ip ADDR     its address on NETWORK (the lowest free one by default)\n"
	"      --alias NAME  another name for it on NETWORK (kept in the record's Aliases)";

static int network_connect(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"ip", required_argument, NULL, 'i'}, {"alias", required_argument, NULL, 'a'},
					     {0}};
	const char *ip = NULL;
	_cleanup_free_ char **aliases = husk_xcalloc((size_t)argc + 1, sizeof(char *));
	size_t n_aliases = 0;
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	int opt;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(connect_usage);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': ip = optarg; break;
		case 'a':
			if (husk_name_check(optarg, &err) < 0)
				return husk_cmd_usage(g, "--alias: %s", err.msg);
			aliases[n_aliases++] = optarg;
			break;
		default: return husk_cmd_usage(g, "%s", connect_usage);
		}
	}
	if (optind != argc - 2)
		return husk_cmd_usage(g, "%s", connect_usage);
	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, argv[optind + 1], id, &err) < 0 ||
	    husk_engine_network_connect(&e, id, argv[optind], ip, aliases, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

static const char disconnect_usage[] =
	"usage: husk network disconnect [-f|--force] NETWORK CONTAINER\n\n"
	"Take a container off a network husk network connect joined it to (its interface and address\n"
	"go at once when it runs).\n"
	"  -f, --force  also when the interface or the network is gone already";

static int network_disconnect(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	bool force = false;
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	int opt;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(disconnect_usage);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': force = true; break;
		default: return husk_cmd_usage(g, "%s", disconnect_usage);
		}
	}
	if (optind != argc - 2)
		return husk_cmd_usage(g, "%s", disconnect_usage);
	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, argv[optind + 1], id, &err) < 0 ||
	    husk_engine_network_disconnect(&e, id, argv[optind], force, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

int husk_cmd_network(struct husk_globals *g, int argc, char **argv)
{
	static const struct husk_cmd verbs[] = {
		{"connect", network_connect, "join a container to a further network"},
		{"create", network_create, "make a bridge network"},
		{"disconnect", network_disconnect, "take a container off a network it was connected to"},
		{"inspect", network_inspect, "networks' records (JSON)"},
		{"ls", network_ls, "list networks (also: list)"},
		{"prune", network_prune, "remove the networks no container uses"},
		{"rm", network_rm, "remove networks"},
	};

	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return husk_cmd_group_usage(stdout, "network", verbs, ARRAY_SIZE(verbs));
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return network_ls(g, argc - 1, argv + 1);
	for (size_t i = 0; argc >= 2 && i < ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].fn(g, argc - 1, argv + 1);
	if (argc >= 2)
		fprintf(stderr, "husk: network: unknown command \"%s\"\n", argv[1]);
	return husk_cmd_group_usage(stderr, "network", verbs, ARRAY_SIZE(verbs));
}
