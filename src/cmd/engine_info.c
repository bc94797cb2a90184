/* husk top, stats, port, system df: docker's look-into verbs, in docker's columns. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/container.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/ops.h"
#include "../lib/engine/record.h"
#include "../lib/engine/verbs.h"
#include "../lib/image/image.h"
#include "../lib/image/store.h"
#include "../lib/util.h"

/* ---- shared ---- */

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static const char *status_of(json_t *rec)
{
	return str(json_object_get(rec, "State"), "Status");
}

static const char *name_of(json_t *rec)
{
	const char *name = str(rec, "Name");
	return *name == '/' ? name + 1 : name;
}

/* getopt with --help answered: the option, -1 at the end, 0 / 125 for help / a usage error */
static int next_opt(struct husk_globals *g, int argc, char **argv, const char *shorts, const struct option *longs,
		    const char *usage, int *done)
{
	int opt = getopt_long(argc, argv, shorts, longs, NULL);

	if (opt == 'H') {
		puts(usage);
		*done = 0;
		return -2;
	}
	if (opt == '?') {
		husk_cmd_usage(g, "%s", usage);
		*done = 125;
		return -2;
	}
	return opt;
}

/* the container named by ref (name, id, prefix) and its record (reconciled with the kernel) */
static int find(struct husk_globals *g, const struct husk_engine *e, const char *ref, char id[HUSK_ID_LEN + 1],
		json_t **rec)
{
	struct husk_err err = {0};

	if (husk_engine_lookup(e, ref, id, &err) < 0 || husk_engine_inspect(e, id, rec, &err) < 0) {
		husk_cmd_fail(g, &err);
		return -1;
	}
	return 0;
}

static int not_running(struct husk_globals *g, const char *ref)
{
	struct husk_err err = {0};

	husk_err_set(&err, 0, "container %s is not running (husk start %s)", ref, ref);
	return husk_cmd_fail(g, &err);
}

/* docker's sizes (go-units): decimal "1.23kB" to precision digits, or binary "1.5MiB" */
static void size_text(double v, bool binary, int precision, char *out, size_t len)
{
	static const char *const dec[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	static const char *const bin[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double base = binary ? 1024 : 1000;
	size_t i = 0;

	while (v >= base && i + 1 < ARRAY_SIZE(dec)) {
		v /= base;
		i++;
	}
	snprintf(out, len, "%.*g%s", precision, v, binary ? bin[i] : dec[i]);
}

/* text/tabwriter's layout as docker uses it: each column as wide as its widest cell plus
 * padding, at least minwidth; the last one as it is */
struct table {
	char ***rows;
	size_t n_rows, n_cols;
};

static void table_add(struct table *t, char **cells)
{
	t->rows = husk_xrealloc(t->rows, (t->n_rows + 1) * sizeof(char **));
	t->rows[t->n_rows] = husk_xcalloc(t->n_cols, sizeof(char *));
	for (size_t c = 0; c < t->n_cols; c++)
		t->rows[t->n_rows][c] = husk_xstrdup(cells[c] ? cells[c] : "");
	t->n_rows++;
}

static void table_print(struct table *t, size_t minwidth, size_t padding)
{
	size_t *width = husk_xcalloc(t->n_cols, sizeof(size_t));

	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++)
			if (strlen(t->rows[r][c]) + padding > width[c])
				width[c] = strlen(t->rows[r][c]) + padding;
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			if (c + 1 < t->n_cols)
				printf("%-*s", (int)(width[c] < minwidth ? minwidth : width[c]), t->rows[r][c]);
			else
				printf("%s\n", t->rows[r][c]);
			free(t->rows[r][c]);
		}
		free(t->rows[r]);
	}
	free(t->rows);
	free(width);
	t->rows = NULL;
	t->n_rows = 0;
}

/* ---- top ---- */

static const char top_usage[] =
	"usage: husk top CONTAINER [ps OPTIONS]\n"
	"\n"
	"The container's processes, as ps shows them (ps -ef unless ps options are given), only the\n"
	"rows of the container's processes (ps must print a PID column).";

/* ps's output, run on the host with args */
static int run_ps(struct husk_globals *g, char **args, size_t n, char **out)
{
	struct husk_err err = {0};
	int pfd[2], wstatus = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		husk_err_sys(&err, "pipe");
		return husk_cmd_fail(g, &err);
	}
	pid = fork();
	if (pid < 0) {
		husk_err_sys(&err, "fork");
		close(pfd[0]);
		close(pfd[1]);
		return husk_cmd_fail(g, &err);
	}
	if (pid == 0) {
		char **argv = husk_xcalloc(n + 2, sizeof(char *));
		argv[0] = "ps";
		for (size_t i = 0; i < n; i++)
			argv[i + 1] = args[i];
		dup2(pfd[1], STDOUT_FILENO);
		execvp("ps", argv);
		dprintf(STDERR_FILENO, "husk: top: exec ps: %s (install procps)\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	husk_read_fd(pfd[0], out, NULL);
	close(pfd[0]);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (!*out || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
		husk_err_set(&err, 0, "ps failed (status %d): check the ps options", husk_cmd_exit_code(wstatus));
		return husk_cmd_fail(g, &err);
	}
	return 0;
}

/* whitespace separated words of line; the last of max words takes the rest (ps's CMD) */
static size_t split_words(char *line, char **words, size_t max)
{
	size_t n = 0;

	while (*line && n < max) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line)
			break;
		words[n++] = line;
		if (n == max)
			break;
		while (*line && *line != ' ' && *line != '\t')
			line++;
		if (*line)
			*line++ = '\0';
	}
	return n;
}

int husk_cmd_engine_top(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	static char *default_args[] = {"-ef"};
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ char *out = NULL;
	json_t *rec = NULL;
	size_t n_pids = 0;
	int opt, done = 0;
	bool running;

	optind = 0;
	/* only --help is husk's: what follows the container is ps's */
	if ((opt = next_opt(g, argc > 2 ? 2 : argc, argv, "+", opts, top_usage, &done)) == -2)
		return done;
	if (argc < 2)
		return husk_cmd_usage(g, "%s", top_usage), 125;
	husk_cmd_engine_init(g, &e);
	if (find(g, &e, argv[1], id, &rec) < 0)
		return 1;
	running = strcmp(status_of(rec), "running") == 0 || strcmp(status_of(rec), "paused") == 0;
	json_decref(rec);
	if (!running)
		return not_running(g, argv[1]);
	if (husk_container_pids(e.root, id, &pids, &n_pids, &err) < 0)
		return husk_cmd_fail(g, &err);
	if (run_ps(g, argc > 2 ? argv + 2 : default_args, argc > 2 ? (size_t)(argc - 2) : 1, &out) != 0)
		return 1;

	/* the header names the columns; rows are kept whose PID is one of the container's */
	char *save = NULL, *header = strtok_r(out, "\n", &save), *words[64];
	if (!header)
		return 0;
	size_t n_cols = split_words(header, words, 64), pid_col = n_cols;
	struct table t = {.n_cols = n_cols};
	for (size_t c = 0; c < n_cols; c++)
		if (strcmp(words[c], "PID") == 0)
			pid_col = c;
	if (pid_col == n_cols) {
		husk_err_set(&err, EINVAL, "ps %s printed no PID column: give ps options that print one",
			     argc > 2 ? argv[2] : "-ef");
		return husk_cmd_fail(g, &err);
	}
	table_add(&t, words);
	for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *cells[64] = {0};
		if (split_words(line, cells, n_cols) <= pid_col)
			continue;
		long p = strtol(cells[pid_col], NULL, 10);
		for (size_t i = 0; i < n_pids; i++)
			if (pids[i] == (pid_t)p) {
				table_add(&t, cells);
				break;
			}
	}
	table_print(&t, 20, 3);
	return 0;
}

/* ---- stats ---- */

static const char stats_usage[] =
	"usage: husk stats [--no-stream] [-a] [--no-trunc] [--format table|json] [CONTAINER...]\n"
	"\n"
	"Running containers' CPU, memory, network, block I/O and process counts (all running\n"
	"containers when none is named; -a: the stopped ones too), refreshed every second until\n"
	"interrupted; --no-stream prints once.";

struct stats_row {
	char id[HUSK_ID_LEN + 1];
	char *ref;                   /* as given, or the id */
	char *name;
	struct husk_engine_stats prev, now;
};

static void stats_print(struct stats_row *rows, size_t n, bool json, bool trunc)
{
	struct table t = {.n_cols = 8};
	char *head[] = {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"};

	if (!json)
		table_add(&t, head);
	for (size_t i = 0; i < n; i++) {
		struct husk_engine_stats *s = &rows[i].now;
		char cpu[32], mem[64], memp[32], net[64], blk[64], pids[32], a[24], b[24], id[HUSK_ID_LEN + 1];
		snprintf(id, sizeof(id), "%.*s", trunc ? 12 : HUSK_ID_LEN, rows[i].id);
		if (s->running) {
			snprintf(cpu, sizeof(cpu), "%.2f%%", husk_engine_cpu_percent(&rows[i].prev, s));
			size_text((double)s->mem_usage, true, 4, a, sizeof(a));
			size_text((double)s->mem_limit, true, 4, b, sizeof(b));
			snprintf(mem, sizeof(mem), "%s / %s", a, b);
			snprintf(memp, sizeof(memp), "%.2f%%",
				 s->mem_limit ? (double)s->mem_usage / (double)s->mem_limit * 100.0 : 0.0);
		} else {
			/* docker's for a container that is not running */
			snprintf(cpu, sizeof(cpu), "0.00%%");
			snprintf(mem, sizeof(mem), "0B / 0B");
			snprintf(memp, sizeof(memp), "0.00%%");
		}
		size_text((double)s->net_rx, false, 3, a, sizeof(a));
		size_text((double)s->net_tx, false, 3, b, sizeof(b));
		snprintf(net, sizeof(net), "%s / %s", a, b);
		size_text((double)s->blk_read, false, 3, a, sizeof(a));
		size_text((double)s->blk_write, false, 3, b, sizeof(b));
		snprintf(blk, sizeof(blk), "%s / %s", a, b);
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)s->pids);
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", blk, "CPUPerc", cpu,
					      "Container", rows[i].ref, "ID", id, "MemPerc", memp, "MemUsage", mem, "Name",
					      rows[i].name, "NetIO", net, "PIDs", pids);
			_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(o);
			printf("%s\n", text);
		} else {
			char *cells[] = {id, rows[i].name, cpu, mem, memp, net, blk, pids};
			table_add(&t, cells);
		}
	}
	if (!json)
		table_print(&t, 10, 3);
	fflush(stdout);
}

int husk_cmd_engine_stats(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"no-stream", no_argument, NULL, 'n'}, {"all", no_argument, NULL, 'a'},
		{"no-trunc", no_argument, NULL, 'T'}, {"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	bool stream = true, all = false, trunc = true, json = false;
	struct stats_row *rows = NULL;
	size_t n = 0;
	struct husk_engine e;
	struct husk_err err = {0};
	int opt, done = 0, rc = 0;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+a", opts, stats_usage, &done)) != -1) {
		switch (opt) {
		case 'n': stream = false; break;
		case 'a': all = true; break;
		case 'T': trunc = false; break;
		case 'f':
			if (strcmp(optarg, "json") == 0 || strcmp(optarg, "{{json .}}") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return husk_cmd_usage(g, "--format %s: husk knows table and json", optarg), 125;
			break;
		case -2: return done;
		default: return husk_cmd_usage(g, "%s", stats_usage), 125;
		}
	}
	husk_cmd_engine_init(g, &e);
	if (optind < argc) {
		rows = husk_xcalloc((size_t)(argc - optind), sizeof(*rows));
		for (int i = optind; i < argc; i++) {
			json_t *rec = NULL;
			if (find(g, &e, argv[i], rows[n].id, &rec) < 0) {
				rc = 1;
				continue;
			}
			rows[n].ref = husk_xstrdup(argv[i]);
			rows[n++].name = husk_xstrdup(name_of(rec));
			json_decref(rec);
		}
		if (rc) {
			for (size_t i = 0; i < n; i++)
				free(rows[i].ref), free(rows[i].name);
			free(rows);
			return rc;
		}
	} else {
		char **ids = NULL;
		size_t n_ids = 0;
		if (husk_record_list(&e, &ids, &n_ids, &err) < 0)
			return husk_cmd_fail(g, &err);
		rows = husk_xcalloc(n_ids + 1, sizeof(*rows));
		for (size_t i = 0; i < n_ids; i++) {
			json_t *rec = NULL;
			if (husk_engine_inspect(&e, ids[i], &rec, &err) < 0) {
				husk_err_clear(&err);
				continue;
			}
			if (all || strcmp(status_of(rec), "running") == 0 || strcmp(status_of(rec), "paused") == 0) {
				snprintf(rows[n].id, sizeof(rows[n].id), "%s", ids[i]);
				rows[n].ref = husk_xasprintf("%.12s", ids[i]);
				rows[n++].name = husk_xstrdup(name_of(rec));
			}
			json_decref(rec);
		}
		husk_record_list_free(ids, n_ids);
	}
	for (size_t i = 0; i < n; i++)
		if (husk_engine_stats_sample(&e, rows[i].id, &rows[i].now, &err) < 0) {
			husk_cmd_fail(g, &err);
			husk_err_clear(&err);
		}
	/* CPU % is a rate: a second sample a second later, as docker's first line has */
	for (;;) {
		nanosleep(&(struct timespec){1, 0}, NULL);
		for (size_t i = 0; i < n; i++) {
			rows[i].prev = rows[i].now;
			if (husk_engine_stats_sample(&e, rows[i].id, &rows[i].now, &err) < 0) {
				husk_cmd_fail(g, &err);
				husk_err_clear(&err);
			}
		}
		if (stream && !json)
			printf("\033[2J\033[H"); /* docker's: the screen cleared, the table redrawn */
		stats_print(rows, n, json, trunc);
		if (!stream)
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(rows[i].ref), free(rows[i].name);
	free(rows);
	return 0;
}

/* ---- port ---- */

static const char port_usage[] =
	"usage: husk port CONTAINER [PRIVATE_PORT[/PROTO]]\n"
	"\n"
	"The container's published ports (80/tcp -> 0.0.0.0:8080), or where one of them is published.";

static int by_port(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	long px = atol(x), py = atol(y);

	return px != py ? (px < py ? -1 : 1) : strcmp(x, y);
}

int husk_cmd_engine_port(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	_cleanup_free_ char *want = NULL;
	_cleanup_free_ const char **keys = NULL;
	json_t *rec = NULL, *ports, *list;
	const char *key;
	size_t n = 0;
	int opt, done = 0;
	bool found = false;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+", opts, port_usage, &done)) != -1)
		if (opt == -2)
			return done;
	if (argc - optind < 1 || argc - optind > 2)
		return husk_cmd_usage(g, "%s", port_usage), 125;
	if (argc - optind == 2) {
		const char *p = argv[optind + 1];
		char *end;
		long port = strtol(p, &end, 10);
		if (end == p || port < 1 || port > 65535 || (*end && strcmp(end, "/tcp") && strcmp(end, "/udp") &&
							    strcmp(end, "/sctp")))
			return husk_cmd_usage(g, "port %s: give PORT or PORT/PROTO (tcp, udp), PORT 1..65535", p), 125;
		want = husk_xasprintf("%ld%s", port, *end ? end : "/tcp");
	}
	husk_cmd_engine_init(g, &e);
	if (find(g, &e, argv[optind], id, &rec) < 0)
		return 1;
	/* published while it runs: the record's NetworkSettings.Ports, as docker's */
	ports = strcmp(status_of(rec), "running") == 0 || strcmp(status_of(rec), "paused") == 0
			? json_object_get(json_object_get(rec, "NetworkSettings"), "Ports")
			: NULL;
	keys = husk_xcalloc(json_object_size(ports) + 1, sizeof(char *));
	json_object_foreach(ports, key, list)
		keys[n++] = key;
	qsort(keys, n, sizeof(*keys), by_port);
	for (size_t k = 0; k < n; k++) {
		if (want && strcmp(keys[k], want) != 0)
			continue;
		list = json_object_get(ports, keys[k]);
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *one = json_array_get(list, i);
			const char *ip = str(one, "HostIp");
			found = true;
			/* an IPv6 host address in brackets, as docker prints it */
			bool v6 = strchr(ip, ':') != NULL;
			if (want)
				printf("%s%s%s:%s\n", v6 ? "[" : "", *ip ? ip : "0.0.0.0", v6 ? "]" : "", str(one, "HostPort"));
			else
				printf("%s -> %s%s%s:%s\n", keys[k], v6 ? "[" : "", *ip ? ip : "0.0.0.0", v6 ? "]" : "",
				       str(one, "HostPort"));
		}
	}
	json_decref(rec);
	if (want && !found) {
		husk_err_set(&err, 0, "no public port %s published for %s (husk run -p HOST:%s publishes one)", want,
			     argv[optind], want);
		return husk_cmd_fail(g, &err);
	}
	return 0;
}

/* ---- system df ---- */

/* docker's RECLAIMABLE: "1.2MB (50%)", the share only when there is a total */
static void reclaimable_text(uint64_t reclaimable, uint64_t total, char *out, size_t len)
{
	char sz[32];

	size_text((double)reclaimable, false, 4, sz, sizeof(sz));
	if (total)
		snprintf(out, len, "%s (%llu%%)", sz, (unsigned long long)(reclaimable * 100 / total));
	else
		snprintf(out, len, "%s", sz);
}

int husk_cmd_engine_system_df(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] =
		"usage: husk system df\n"
		"\n"
		"What the store holds: images (active: used by a container), containers (their writable\n"
		"layers; active: running), local volumes.";
	struct husk_engine e;
	struct husk_err err = {0};
	struct husk_store s;
	json_t *images = NULL, *used = json_object();
	char **ids = NULL;
	size_t n_ids = 0, n_running = 0;
	uint64_t img_total = 0, img_unused = 0, ctr_total = 0, ctr_stopped = 0;
	size_t img_active = 0;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0)
			return puts(usage), json_decref(used), 0;
		json_decref(used);
		return husk_cmd_usage(g, "%s", usage), 125;
	}
	husk_cmd_engine_init(g, &e);
	if (husk_record_list(&e, &ids, &n_ids, &err) < 0) {
		json_decref(used);
		return husk_cmd_fail(g, &err);
	}
	for (size_t i = 0; i < n_ids; i++) {
		json_t *rec = NULL;
		uint64_t size = 0;
		if (husk_engine_inspect(&e, ids[i], &rec, &err) < 0) {
			husk_err_clear(&err);
			continue;
		}
		bool running = strcmp(status_of(rec), "running") == 0 || strcmp(status_of(rec), "paused") == 0;
		json_object_set_new(used, str(rec, "Image"), json_true());
		json_decref(rec);
		_cleanup_free_ char *upper = husk_xasprintf("%s/containers/%s/upper", e.storage, ids[i]);
		if (husk_dir_size(upper, &size, &err) < 0) {
			husk_cmd_warn(g, &err);
			husk_err_clear(&err);
		}
		ctr_total += size;
		if (running)
			n_running++;
		else
			ctr_stopped += size;
	}
	if (husk_store_open(&s, e.storage, false, &err) < 0 || husk_store_images_load(&s, &images, &err) < 0) {
		husk_record_list_free(ids, n_ids);
		json_decref(used);
		return husk_cmd_fail(g, &err);
	}
	for (size_t i = 0; i < json_array_size(images); i++) {
		json_t *img = json_array_get(images, i);
		uint64_t size = husk_image_size(&s, img);
		img_total += size;
		if (json_object_get(used, str(img, "id")))
			img_active++;
		else
			img_unused += size;
	}
	husk_store_close(&s);

	struct table t = {.n_cols = 5};
	char total[32], active[32], size[32], recl[48];
	char *head[] = {"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"};
	table_add(&t, head);
	snprintf(total, sizeof(total), "%zu", json_array_size(images));
	snprintf(active, sizeof(active), "%zu", img_active);
	size_text((double)img_total, false, 4, size, sizeof(size));
	reclaimable_text(img_unused, img_total, recl, sizeof(recl));
	table_add(&t, (char *[]){"Images", total, active, size, recl});
	snprintf(total, sizeof(total), "%zu", n_ids);
	snprintf(active, sizeof(active), "%zu", n_running);
	size_text((double)ctr_total, false, 4, size, sizeof(size));
	reclaimable_text(ctr_stopped, ctr_total, recl, sizeof(recl));
	table_add(&t, (char *[]){"Containers", total, active, size, recl});
	/* husk has no volumes yet */
	table_add(&t, (char *[]){"Local Volumes", "0", "0", "0B", "0B"});
	table_print(&t, 10, 3);
	json_decref(images);
	json_decref(used);
	husk_record_list_free(ids, n_ids);
	return 0;
}
