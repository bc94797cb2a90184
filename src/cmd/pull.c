/* husk pull REF */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/image/registry.h"
#include "../lib/image/store.h"
#include "../lib/util.h"

struct progress {
	bool tty;
	uint64_t last_draw;
};

static void draw(void *arg, enum husk_pull_event ev, const char *digest, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	const char *short_id = digest + 7;

	if (!p->tty) {
		/* plain lines for logs: one when a blob starts and one when it is in */
		if (ev == HUSK_PULL_START)
			fprintf(stderr, "%.12s: fetching %llu bytes%s\n", short_id, (unsigned long long)total,
				done ? " (resuming)" : "");
		else if (ev == HUSK_PULL_DONE)
			fprintf(stderr, "%.12s: done\n", short_id);
		else if (ev == HUSK_PULL_EXISTS)
			fprintf(stderr, "%.12s: already here\n", short_id);
		return;
	}
	if (ev == HUSK_PULL_PROGRESS) {
		uint64_t now = husk_now_ns();
		if (now - p->last_draw < 100000000ull)
			return;
		p->last_draw = now;
	}
	char bar[31];
	int filled = total ? (int)(30 * (done > total ? total : done) / total) : 0;
	for (int i = 0; i < 30; i++)
		bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
	bar[30] = '\0';
	if (ev == HUSK_PULL_EXISTS)
		fprintf(stderr, "\r\033[K%.12s: already here\n", short_id);
	else if (ev == HUSK_PULL_DONE)
		fprintf(stderr, "\r\033[K%.12s: done %.1f MB\n", short_id, (double)total / 1e6);
	else
		fprintf(stderr, "\r\033[K%.12s: [%s] %.1f/%.1f MB", short_id, bar, (double)done / 1e6, (double)total / 1e6);
}

static const char pull_usage[] =
	"usage: husk pull [--tls-verify=false] [-q|--quiet] IMAGE\n\n"
	"Fetch an image from a registry into the store (manifest lists: this machine's platform;\n"
	"bearer tokens; interrupted downloads resume).\n"
	"      --tls-verify=false  plain HTTP, or HTTPS without checking the certificate\n"
	"  -q, --quiet             no progress";

int husk_cmd_pull(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"tls-verify", optional_argument, NULL, 'T'}, {"quiet", no_argument, NULL, 'q'}, {0},
	};
	struct progress p = {.tty = isatty(STDERR_FILENO)};
	struct husk_pull_opts o = {.tls_verify = true, .progress = draw, .arg = &p};
	char id[HUSK_DIGEST_LEN + 1];
	_cleanup_free_ char *name = NULL;
	struct husk_store s;
	struct husk_err err = {0};
	int c, ret;

	if (husk_cmd_help_asked(argc, argv))
		return husk_cmd_help(pull_usage);
	optind = 0;
	while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			if (!optarg || strcmp(optarg, "true") == 0)
				o.tls_verify = true;
			else if (strcmp(optarg, "false") == 0)
				o.tls_verify = false;
			else
				return husk_cmd_usage(g, "--tls-verify takes true or false, not \"%s\"", optarg);
			break;
		case 'q': o.progress = NULL; break;
		default: return husk_cmd_usage(g, "usage: husk pull [--tls-verify=false] [-q] IMAGE");
		}
	}
	if (optind != argc - 1)
		return husk_cmd_usage(g, "usage: husk pull [--tls-verify=false] [-q] IMAGE");
	if (husk_store_open(&s, g->storage, false, &err) < 0)
		return husk_cmd_fail(g, &err);
	ret = husk_pull(&s, argv[optind], &o, id, &name, &err);
	husk_store_close(&s);
	if (ret < 0) {
		if (p.tty && o.progress)
			fputc('\n', stderr);
		return husk_cmd_fail(g, &err);
	}
	printf("%s\n%s\n", name, id);
	return 0;
}
