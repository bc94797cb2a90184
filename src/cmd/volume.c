/* husk volume create|ls|inspect|rm|prune: volumes for husk run -v / --mount (engine/volume.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/volume.h"
#include "../lib/util.h"

/* getopt_long with --help answered (0 on stdout) and a usage error 125 */
#define HELP_OR_USAGE(opt, usage)                                                                                  \
	do {                                                                                                       \
		if ((opt) == 'H')                                                                                  \
			return puts(usage), 0;                                                                     \
		return husk_cmd_usage(g, "%s", usage), 125;                                                        \
	} while (0)

/* KEY=VALUE into obj, or a usage error naming the flag */
static int add_kv(struct husk_globals *g, json_t *obj, const char *flag, const char *kv)
{
	const char *eq = strchr(kv, '=');
	_cleanup_free_ char *key = eq ? strndup(kv, (size_t)(eq - kv)) : husk_xstrdup(kv);

	if (!*key)
		return husk_cmd_usage(g, "%s \"%s\": no name before the =", flag, kv), -1;
	json_object_set_new(obj, key, json_string(eq ? eq + 1 : ""));
	return 0;
}

static const char create_usage[] =
	"usage: husk volume create [--label K=V]... [--opt K=V]... [NAME]\n\n"
	"A volume (driver local): STORAGE/volumes/NAME/_data. Without NAME, a made-up one (64 hex\n"
	"digits). An existing volume is left as it is and its name printed.\n"
	"  -l, --label K=V  a label (again for more)\n"
	"  -o, --opt K=V    a driver option, kept in the record (the local driver makes a plain directory)\n"
	"  -d, --driver D   local only";

static int volume_create(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"label", required_argument, NULL, 'l'}, {"opt", required_argument, NULL, 'o'},
		{"driver", required_argument, NULL, 'd'}, {"name", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	json_t *labels = json_object(), *options = json_object(), *rec = NULL;
	const char *name = NULL;
	struct husk_err err = {0};
	int opt, rc = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+l:o:d:", opts, NULL)) != -1) {
		if (opt == 'l' || opt == 'o') {
			if (add_kv(g, opt == 'l' ? labels : options, opt == 'l' ? "--label" : "--opt", optarg) < 0) {
				rc = 125;
				goto out;
			}
		} else if (opt == 'd') {
			if (strcmp(optarg, "local") != 0) {
				husk_cmd_usage(g, "--driver %s: husk has the local driver only", optarg);
				rc = 125;
				goto out;
			}
		} else if (opt == 'n') {
			name = optarg;
		} else {
			json_decref(labels);
			json_decref(options);
			HELP_OR_USAGE(opt, create_usage);
		}
	}
	if (optind < argc - 1 || (name && optind < argc)) {
		husk_cmd_usage(g, "%s", create_usage);
		rc = 125;
		goto out;
	}
	if (optind < argc)
		name = argv[optind];
	if (name && husk_volume_name_check(name, &err) < 0) {
		husk_cmd_usage(g, "%s", err.msg);
		rc = 125;
		goto out;
	}
	if (husk_volume_create(g->storage, name, labels, options, false, &rec, NULL, &err) < 0) {
		rc = husk_cmd_fail(g, &err);
		goto out;
	}
	printf("%s\n", json_string_value(json_object_get(rec, "Name")));
out:
	json_decref(rec);
	json_decref(labels);
	json_decref(options);
	return rc;
}

/* docker's volume ls filters: name=SUBSTRING, label=KEY[=VALUE], dangling=true|false, driver=local */
static bool filter_match(const struct husk_engine *e, json_t *rec, char *const *filters, size_t n)
{
	const char *name = json_string_value(json_object_get(rec, "Name"));

	for (size_t i = 0; i < n; i++) {
		const char *f = filters[i], *v = strchr(f, '=') + 1;
		if (strncmp(f, "name=", 5) == 0) {
			if (!strstr(name, v))
				return false;
		} else if (strncmp(f, "label=", 6) == 0) {
			const char *eq = strchr(v, '=');
			_cleanup_free_ char *key = eq ? strndup(v, (size_t)(eq - v)) : husk_xstrdup(v);
			json_t *have = json_object_get(json_object_get(rec, "Labels"), key);
			if (!have || (eq && strcmp(json_string_value(have), eq + 1) != 0))
				return false;
		} else if (strncmp(f, "dangling=", 9) == 0) {
			_cleanup_free_ char *users = husk_volume_users(e, name);
			bool dangling = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
			if (dangling != (users == NULL))
				return false;
		} else if (strncmp(f, "driver=", 7) == 0) {
			if (strcmp(v, "local") != 0)
				return false;
		}
	}
	return true;
}

static const char ls_usage[] =
	"usage: husk volume ls [-q] [-f FILTER]...\n\n"
	"List volumes.\n"
	"  -q, --quiet          the names only\n"
	"  -f, --filter FILTER  name=TEXT, label=KEY[=VALUE], dangling=true|false, driver=local";

static int volume_ls(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'}, {"filter", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	static const char *const known[] = {"dangling=", "driver=", "label=", "name="};
	_cleanup_free_ char **filters = husk_xcalloc((size_t)argc, sizeof(char *));
	size_t n_filters = 0, n;
	struct husk_engine e;
	struct husk_err err = {0};
	bool quiet = false;
	char **names;
	int opt;

	husk_cmd_engine_init(g, &e);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+qf:", opts, NULL)) != -1) {
		if (opt == 'q') {
			quiet = true;
		} else if (opt == 'f') {
			size_t i;
			for (i = 0; i < ARRAY_SIZE(known); i++)
				if (strncmp(optarg, known[i], strlen(known[i])) == 0)
					break;
			if (i == ARRAY_SIZE(known))
				return husk_cmd_usage(g, "--filter %s: husk knows name=, label=, dangling=, driver=", optarg), 125;
			filters[n_filters++] = optarg;
		} else {
			HELP_OR_USAGE(opt, ls_usage);
		}
	}
	if (optind != argc)
		return husk_cmd_usage(g, "%s", ls_usage), 125;
	if (husk_volume_list(g->storage, &names, &n, &err) < 0)
		return husk_cmd_fail(g, &err);
	if (!quiet)
		printf("%-10s %s\n", "DRIVER", "VOLUME NAME");
	for (size_t i = 0; i < n; i++) {
		json_t *rec = NULL;
		if (husk_volume_load(g->storage, names[i], &rec, NULL) < 0)
			continue;
		if (filter_match(&e, rec, filters, n_filters))
			quiet ? printf("%s\n", names[i]) : printf("%-10s %s\n", "local", names[i]);
		json_decref(rec);
	}
	husk_volume_list_free(names, n);
	return 0;
}

static const char inspect_usage[] =
	"usage: husk volume inspect NAME...\n\n"
	"Volumes' records, as docker volume inspect prints them (a JSON array).";

static int volume_inspect(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	json_t *out = json_array();
	int opt, rc = 0;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		json_decref(out);
		HELP_OR_USAGE(opt, inspect_usage);
	}
	if (optind >= argc) {
		json_decref(out);
		return husk_cmd_usage(g, "%s", inspect_usage), 125;
	}
	for (int i = optind; i < argc; i++) {
		struct husk_err err = {0};
		json_t *rec = NULL;
		if (husk_volume_load(g->storage, argv[i], &rec, &err) < 0) {
			rc = husk_cmd_fail(g, &err);
			continue;
		}
		json_object_del(rec, "Anonymous");  /* husk's own; docker shows the label */
		json_array_append_new(out, rec);
	}
	char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	puts(text);
	free(text);
	json_decref(out);
	return rc;
}

static const char rm_usage[] =
	"usage: husk volume rm [-f] NAME...\n\n"
	"Remove volumes and what they hold. A volume a container mounts (running or not) is not\n"
	"removed: the error names the containers.\n"
	"  -f, --force  no error for a volume that does not exist";

static int volume_rm(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'H'}, {0}};
	struct husk_engine e;
	bool force = false;
	int opt, rc = 0;

	husk_cmd_engine_init(g, &e);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (opt == 'f')
			force = true;
		else
			HELP_OR_USAGE(opt, rm_usage);
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", rm_usage), 125;
	for (int i = optind; i < argc; i++) {
		struct husk_err err = {0};
		if (husk_volume_remove(&e, argv[i], &err) < 0) {
			if (!(force && err.errnum == ENOENT))
				rc = husk_cmd_fail(g, &err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

static const char prune_usage[] =
	"usage: husk volume prune [-f] [-a]\n\n"
	"Remove the anonymous volumes no container uses (docker 23+); with --all, named ones too.\n"
	"  -a, --all    named volumes as well\n"
	"  -f, --force  do not ask (husk never asks)";

static int volume_prune(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'}, {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'H'}, {0},
	};
	struct husk_engine e;
	struct husk_err err = {0};
	bool all = false;
	char **removed;
	size_t n;
	int opt, rc;

	husk_cmd_engine_init(g, &e);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "+af", opts, NULL)) != -1) {
		if (opt == 'a')
			all = true;
		else if (opt != 'f')
			HELP_OR_USAGE(opt, prune_usage);
	}
	if (optind != argc)
		return husk_cmd_usage(g, "%s", prune_usage), 125;
	rc = husk_volume_prune(&e, all, &removed, &n, &err);
	if (n)
		puts("Deleted Volumes:");
	for (size_t i = 0; i < n; i++)
		puts(removed[i]);
	husk_volume_list_free(removed, n);
	return rc < 0 ? husk_cmd_fail(g, &err) : 0;
}

int husk_cmd_volume(struct husk_globals *g, int argc, char **argv)
{
	static const struct husk_cmd verbs[] = {
		{"create", volume_create, "make a volume"},
		{"inspect", volume_inspect, "volumes' records (JSON)"},
		{"ls", volume_ls, "list volumes (also: list)"},
		{"prune", volume_prune, "remove the anonymous volumes no container uses (-a: all unused)"},
		{"rm", volume_rm, "remove volumes (also: remove)"},
	};
	static const struct { const char *alias, *verb; } aliases[] = {{"list", "ls"}, {"remove", "rm"}};

	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return husk_cmd_group_usage(stdout, "volume", verbs, ARRAY_SIZE(verbs));
	const char *verb = argc >= 2 ? argv[1] : "";
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (strcmp(verb, aliases[i].alias) == 0)
			verb = aliases[i].verb;
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verb, verbs[i].name) == 0)
			return verbs[i].fn(g, argc - 1, argv + 1);
	if (argc >= 2)
		fprintf(stderr, "husk: volume: unknown command \"%s\"\n", argv[1]);
	return husk_cmd_group_usage(stderr, "volume", verbs, ARRAY_SIZE(verbs));
}
