/* husk images, husk image SUBCOMMAND */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/image/image.h"
#include "../lib/image/load.h"
#include "../lib/image/store.h"
#include "../lib/util.h"

static int open_store(struct husk_globals *g, struct husk_store *s, bool exclusive)
{
	struct husk_err err = {0};

	if (husk_store_open(s, g->storage, exclusive, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

static void human_age(const char *rfc3339, char *buf, size_t len)
{
	struct tm tm = {0};
	long d;

	if (!rfc3339 || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "unknown");
		return;
	}
	d = (long)difftime(time(NULL), timegm(&tm));
	if (d < 60)
		snprintf(buf, len, "%ld seconds ago", d < 0 ? 0 : d);
	else if (d < 3600)
		snprintf(buf, len, "%ld minutes ago", d / 60);
	else if (d < 86400 * 2)
		snprintf(buf, len, "%ld hours ago", d / 3600);
	else if (d < 86400 * 365 * 2)
		snprintf(buf, len, "%ld days ago", d / 86400);
	else
		snprintf(buf, len, "%ld years ago", d / (86400 * 365));
}

static const char images_usage[] =
	"usage: husk images [-q|--quiet] [--json]\n"
	"       husk image ls [-q|--quiet] [--json]\n\n"
	"List the store's images: repository, tag, id, age, size.\n"
	"  -q, --quiet  the short ids only\n"
	"      --json   id, names, created and size of each, as a JSON array";

int husk_cmd_images(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'}, {"json", no_argument, NULL, 'j'}, {0}};
	struct husk_store s;
	struct husk_err err = {0};
	json_t *images, *rec, *name, *out;
	bool quiet = false, as_json = false;
	size_t i, j;
	int c;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(images_usage);

	optind = 0;
	while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = true;
		else if (c == 'j')
			as_json = true;
		else
			return husk_cmd_usage(g, "usage: husk images [-q] [--json]");
	}
	if (open_store(g, &s, false))
		return 1;
	if (husk_store_images_load(&s, &images, &err) < 0) {
		husk_store_close(&s);
		return husk_cmd_fail(g, &err);
	}
	out = json_array();
	if (!quiet && !as_json)
		printf("%-40s %-12s %-14s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	json_array_foreach(images, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "id"));
		uint64_t size = husk_image_size(&s, rec);
		char age[32], sz[32];
		human_age(json_string_value(json_object_get(rec, "created")), age, sizeof(age));
		human_size(size, sz, sizeof(sz));
		if (quiet) {
			printf("%.12s\n", id + 7);
			continue;
		}
		if (as_json) {
			json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:I}", "id", id, "names",
							     json_object_get(rec, "names"), "created",
							     json_object_get(rec, "created"), "size", (json_int_t)size));
			continue;
		}
		if (json_array_size(json_object_get(rec, "names")) == 0)
			printf("%-40s %-12s %-14.12s %-16s %s\n", "<none>", "<none>", id + 7, age, sz);
		json_array_foreach(json_object_get(rec, "names"), j, name) {
			const char *n = json_string_value(name), *colon = strrchr(n, ':');
			if (colon && strchr(colon, '/'))
				colon = NULL;
			printf("%-40.*s %-12s %-14.12s %-16s %s\n", colon ? (int)(colon - n) : (int)strlen(n), n,
			       colon ? colon + 1 : "<none>", id + 7, age, sz);
		}
	}
	if (as_json) {
		char *text = json_dumps(out, JSON_INDENT(2));
		puts(text);
		free(text);
	}
	json_decref(out);
	json_decref(images);
	husk_store_close(&s);
	return 0;
}

static const char bootstrap_usage[] =
	"usage: husk image bootstrap [--busybox PATH] busybox [NAME[:TAG]]\n\n"
	"Make an image (busybox, or NAME) from the host's static busybox: no network needed.\n"
	"      --busybox PATH  the static busybox binary (/bin/busybox)";

static int image_bootstrap(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"busybox", required_argument, NULL, 'b'}, {0}};
	const char *busybox = "/bin/busybox";
	char id[HUSK_DIGEST_LEN + 1];
	struct husk_store s;
	struct husk_err err = {0};
	int c, ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(bootstrap_usage);

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'b')
			busybox = optarg;
		else
			return husk_cmd_usage(g, "usage: husk image bootstrap [--busybox PATH] busybox [NAME[:TAG]]");
	}
	if (optind >= argc || strcmp(argv[optind], "busybox") != 0 || argc - optind > 2)
		return husk_cmd_usage(g, "usage: husk image bootstrap [--busybox PATH] busybox [NAME[:TAG]] "
				      "(busybox is the one image husk can make from the host)");
	if (open_store(g, &s, false))
		return 1;
	ret = husk_image_bootstrap_busybox(&s, busybox, argc - optind == 2 ? argv[optind + 1] : "busybox", id, &err);
	husk_store_close(&s);
	if (ret < 0)
		return husk_cmd_fail(g, &err);
	printf("%s\n", id);
	return 0;
}

static const char import_usage[] =
	"usage: husk image import FILE|- [NAME[:TAG]]\n\n"
	"A root filesystem tarball (gzip, zstd, xz or none; - for stdin) as a one-layer image.";

static int image_import(struct husk_globals *g, int argc, char **argv)
{
	char id[HUSK_DIGEST_LEN + 1];
	struct husk_store s;
	struct husk_err err = {0};
	_cleanup_close_ int fd = -1;
	int ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(import_usage);
	if (husk_cmd_no_options(g, argc, argv, import_usage) < 0)
		return 125;

	if (argc < 2 || argc > 3)
		return husk_cmd_usage(g, "usage: husk image import FILE|- [NAME[:TAG]]");
	fd = strcmp(argv[1], "-") == 0 ? dup(STDIN_FILENO) : open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		husk_err_sys(&err, "open %s", argv[1]);
		return husk_cmd_fail(g, &err);
	}
	if (open_store(g, &s, false))
		return 1;
	ret = husk_image_import(&s, fd, argc == 3 ? argv[2] : NULL, id, &err);
	husk_store_close(&s);
	if (ret < 0)
		return husk_cmd_fail(g, &err);
	printf("%s\n", id);
	return 0;
}

static const char load_usage[] =
	"usage: husk image load [-i|--input] FILE|DIR [NAME[:TAG]]\n\n"
	"Images from an OCI layout (directory or tar) or a docker-archive (docker save, podman save).\n"
	"  -i, --input FILE|DIR  what to load";

static int image_load(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'}, {0}};
	const char *input = NULL, *name = NULL;
	struct husk_store s;
	struct husk_err err = {0};
	json_t *loaded, *item, *n;
	size_t i, j;
	int c, ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(load_usage);

	optind = 0;
	while ((c = getopt_long(argc, argv, "+i:", opts, NULL)) != -1) {
		if (c == 'i')
			input = optarg;
		else
			return husk_cmd_usage(g, "usage: husk image load [-i] FILE|DIR [NAME[:TAG]]");
	}
	if (!input && optind < argc)
		input = argv[optind++];
	if (optind < argc)
		name = argv[optind++];
	if (!input || optind < argc)
		return husk_cmd_usage(g, "usage: husk image load [-i] FILE|DIR [NAME[:TAG]]");
	if (open_store(g, &s, false))
		return 1;
	loaded = json_array();
	ret = husk_image_load(&s, input, name, loaded, &err);
	husk_store_close(&s);
	json_array_foreach(loaded, i, item) {
		const char *id = json_string_value(json_object_get(item, "id"));
		if (json_array_size(json_object_get(item, "names")) == 0)
			printf("Loaded image: %s\n", id);
		json_array_foreach(json_object_get(item, "names"), j, n)
			printf("Loaded image: %s\n", json_string_value(n));
	}
	json_decref(loaded);
	return ret < 0 ? husk_cmd_fail(g, &err) : 0;
}

static const char inspect_usage[] =
	"usage: husk image inspect IMAGE...\n\n"
	"The images' records, manifests and configs, as a JSON array.";

static int image_inspect(struct husk_globals *g, int argc, char **argv)
{
	struct husk_store s;
	struct husk_err err = {0};
	json_t *all = json_array();
	int ret = 0;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(inspect_usage);
	if (husk_cmd_no_options(g, argc, argv, inspect_usage) < 0)
		return 125;

	if (argc < 2)
		return husk_cmd_usage(g, "usage: husk image inspect IMAGE...");
	if (open_store(g, &s, false))
		return 1;
	for (int i = 1; i < argc; i++) {
		json_t *rec, *out;
		if (husk_image_lookup(&s, argv[i], &rec, &err) < 0 || husk_image_inspect(&s, rec, &out, &err) < 0) {
			ret = husk_cmd_fail(g, &err);
			husk_err_clear(&err);
			continue;
		}
		json_decref(rec);
		json_array_append_new(all, out);
	}
	husk_store_close(&s);
	char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	puts(text);
	free(text);
	json_decref(all);
	return ret;
}

static const char rm_usage[] =
	"usage: husk image rm [-f|--force] IMAGE...\n\n"
	"Untag images; an image left without a name is removed with the layers no other uses.\n"
	"  -f, --force  an image given by id goes even when it has several names";

static int image_rm(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	struct husk_store s;
	struct husk_err err = {0};
	bool force = false;
	int c, ret = 0;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(rm_usage);

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return husk_cmd_usage(g, "usage: husk image rm [-f] IMAGE...");
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "usage: husk image rm [-f] IMAGE...");
	if (open_store(g, &s, false))
		return 1;
	for (int i = optind; i < argc; i++) {
		json_t *removed = json_array(), *r;
		size_t j;
		if (husk_image_remove(&s, argv[i], force, removed, &err) < 0) {
			ret = husk_cmd_fail(g, &err);
			husk_err_clear(&err);
		}
		json_array_foreach(removed, j, r) {
			if (json_object_get(r, "untagged"))
				printf("Untagged: %s\n", json_string_value(json_object_get(r, "untagged")));
			else
				printf("Deleted: %s\n", json_string_value(json_object_get(r, "deleted")));
		}
		json_decref(removed);
	}
	husk_store_close(&s);
	return ret;
}

static const char tag_usage[] =
	"usage: husk image tag IMAGE NAME[:TAG]\n\n"
	"Give an image another name.";

static int image_tag(struct husk_globals *g, int argc, char **argv)
{
	struct husk_store s;
	struct husk_err err = {0};
	int ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(tag_usage);
	if (husk_cmd_no_options(g, argc, argv, tag_usage) < 0)
		return 125;

	if (argc != 3)
		return husk_cmd_usage(g, "usage: husk image tag IMAGE NAME[:TAG]");
	if (open_store(g, &s, false))
		return 1;
	ret = husk_image_tag(&s, argv[1], argv[2], &err);
	husk_store_close(&s);
	return ret < 0 ? husk_cmd_fail(g, &err) : 0;
}

static const char prune_usage[] =
	"usage: husk image prune\n\n"
	"Remove unnamed images, content no image uses, and what interrupted commands left in tmp/.";

static int image_prune(struct husk_globals *g, int argc, char **argv)
{
	struct husk_store s;
	struct husk_err err = {0};
	uint64_t freed = 0;
	char sz[32];
	int ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(prune_usage);

	(void)argv;
	if (argc != 1)
		return husk_cmd_usage(g, "usage: husk image prune");
	if (open_store(g, &s, true))
		return 1;
	ret = husk_image_gc(&s, true, &freed, &err);
	husk_store_close(&s);
	if (ret < 0)
		return husk_cmd_fail(g, &err);
	human_size(freed, sz, sizeof(sz));
	printf("Total reclaimed space: %s\n", sz);
	return 0;
}

int husk_cmd_image(struct husk_globals *g, int argc, char **argv)
{
	static const struct husk_cmd subs[] = {
		{"bootstrap", image_bootstrap, "make an image from the host's static busybox"},
		{"import", image_import, "a root filesystem tarball as a one-layer image"},
		{"inspect", image_inspect, "an image's record, manifest and config (JSON)"},
		{"load", image_load, "images from an OCI layout (dir or tar) or a docker-archive"},
		{"ls", husk_cmd_images, "list images"},
		{"prune", image_prune, "remove unnamed images and content no image uses"},
		{"rm", image_rm, "untag or remove images"},
		{"tag", image_tag, "give an image another name"},
	};
	static char command[32];

	if (argc >= 2) {
		for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
			if (strcmp(argv[1], subs[i].name) == 0) {
				snprintf(command, sizeof(command), "image %s", subs[i].name);
				g->command = command;
				return subs[i].fn(g, argc - 1, argv + 1);
			}
		}
	}
	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return husk_cmd_group_usage(stdout, "image", subs, ARRAY_SIZE(subs));
	if (argc >= 2)
		fprintf(stderr, "husk: image: unknown command \"%s\"\n", argv[1]);
	return husk_cmd_group_usage(stderr, "image", subs, ARRAY_SIZE(subs));
}
