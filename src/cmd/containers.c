/* husk ps, inspect, stop, start, restart, kill, rm, wait, attach, pause, unpause, rename,
 * container prune, system boot: docker's verbs on existing containers, over src/lib/engine/. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/engine/attach.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/monitor.h"
#include "../lib/engine/ops.h"
#include "../lib/engine/record.h"
#include "../lib/engine/volume.h"
#include "../lib/names.h"
#include "../lib/util.h"

/* ---- shared ---- */

/* Each command's flags: getopt_long with --help answered, docker's exit status for a usage
 * error (125). Returns the option, -1 at the end, or -2/-3 for help/usage (already printed). */
static int next_opt(struct husk_globals *g, int argc, char **argv, const char *shorts, const struct option *longs,
		    const char *usage)
{
	int opt = getopt_long(argc, argv, shorts, longs, NULL);

	if (opt == 'H') {
		puts(usage);
		return -2;
	}
	if (opt == '?') {
		husk_cmd_usage(g, "%s", usage);
		return -3;
	}
	return opt;
}
#define OPT_DONE(opt) ((opt) == -2 ? 0 : 125)

static int lookup(struct husk_globals *g, const struct husk_engine *e, const char *ref, char id[HUSK_ID_LEN + 1])
{
	struct husk_err err = {0};

	if (husk_engine_lookup(e, ref, id, &err) < 0) {
		husk_cmd_fail(g, &err);
		return -1;
	}
	return 0;
}

/* docker's for-each-argument commands: what succeeded is printed as given, failures reported,
 * the status 1 if any failed. */
typedef int (*each_fn)(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg,
		       struct husk_err *err);
static int for_each(struct husk_globals *g, int argc, char **argv, each_fn fn, void *arg, bool print)
{
	struct husk_engine e;
	int rc = 0;

	husk_cmd_engine_init(g, &e);
	for (int i = optind; i < argc; i++) {
		char id[HUSK_ID_LEN + 1];
		struct husk_err err = {0};
		if (lookup(g, &e, argv[i], id) < 0) {
			rc = 1;
			continue;
		}
		if (fn(g, &e, id, arg, &err) < 0) {
			husk_cmd_fail(g, &err);
			rc = 1;
		} else if (print) {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* docker's "5 seconds", "About a minute", "3 hours" */
static void human_duration(uint64_t ns, char *out, size_t size)
{
	uint64_t s = ns / 1000000000ULL;

	if (s < 1)
		snprintf(out, size, "Less than a second");
	else if (s == 1)
		snprintf(out, size, "1 second");
	else if (s < 60)
		snprintf(out, size, "%llu seconds", (unsigned long long)s);
	else if (s < 120)
		snprintf(out, size, "About a minute");
	else if (s < 3600)
		snprintf(out, size, "%llu minutes", (unsigned long long)(s / 60));
	else if (s < 7200)
		snprintf(out, size, "About an hour");
	else if (s < 48 * 3600)
		snprintf(out, size, "%llu hours", (unsigned long long)(s / 3600));
	else if (s < 14 * 86400)
		snprintf(out, size, "%llu days", (unsigned long long)(s / 86400));
	else if (s < 60 * 86400)
		snprintf(out, size, "%llu weeks", (unsigned long long)(s / (7 * 86400)));
	else if (s < 365 * 86400)
		snprintf(out, size, "%llu months", (unsigned long long)(s / (30 * 86400)));
	else
		snprintf(out, size, "%llu years", (unsigned long long)(s / (365 * 86400)));
}

static uint64_t since(const char *when, uint64_t now)
{
	uint64_t t = 0;

	if (husk_time_parse(when, now, &t) < 0 || t > now)
		return 0;
	return now - t;
}

/* docker's STATUS column */
static char *status_text(json_t *rec, uint64_t now)
{
	json_t *state = json_object_get(rec, "State");
	const char *status = str(state, "Status");
	char d[64];

	if (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0) {
		human_duration(since(str(state, "StartedAt"), now), d, sizeof(d));
		return husk_xasprintf("Up %s%s", d, strcmp(status, "paused") == 0 ? " (Paused)" : "");
	}
	if (strcmp(status, "exited") == 0 || strcmp(status, "restarting") == 0) {
		human_duration(since(str(state, "FinishedAt"), now), d, sizeof(d));
		return husk_xasprintf("%s (%lld) %s ago", strcmp(status, "exited") == 0 ? "Exited" : "Restarting",
				      (long long)json_integer_value(json_object_get(state, "ExitCode")), d);
	}
	if (strcmp(status, "created") == 0)
		return husk_xstrdup("Created");
	if (strcmp(status, "dead") == 0)
		return husk_xstrdup("Dead");
	return husk_xstrdup(status);
}

static char *command_text(json_t *rec, bool trunc)
{
	json_t *cmd = json_object_get(json_object_get(rec, "Config"), "Cmd");
	size_t i, len = 0;
	char *out;

	for (i = 0; i < json_array_size(cmd); i++)
		len += strlen(json_string_value(json_array_get(cmd, i))) + 1;
	out = husk_xcalloc(len + 8, 1);
	for (i = 0; i < json_array_size(cmd); i++) {
		if (i)
			strcat(out, " ");
		strcat(out, json_string_value(json_array_get(cmd, i)));
	}
	if (trunc && strlen(out) > 20)
		strcpy(out + 19, "\u2026");
	char *quoted = husk_xasprintf("\"%s\"", out);
	free(out);
	return quoted;
}

/* docker's PORTS: 0.0.0.0:8080->80/tcp */
static char *ports_text(json_t *rec)
{
	json_t *b = json_object_get(json_object_get(rec, "HostConfig"), "PortBindings"), *list;
	const char *key;
	char *out = husk_xstrdup("");

	if (strcmp(str(json_object_get(rec, "State"), "Status"), "running") != 0)
		return out;
	json_object_foreach(b, key, list) {
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *one = json_array_get(list, i);
			const char *ip = str(one, "HostIp");
			bool v6 = strchr(ip, ':') != NULL;
			char *next = husk_xasprintf("%s%s%s%s%s:%s->%s", out, *out ? ", " : "", v6 ? "[" : "",
						    *ip ? ip : "0.0.0.0", v6 ? "]" : "", str(one, "HostPort"), key);
			free(out);
			out = next;
		}
	}
	return out;
}

/* ---- ps ---- */

struct ps_filter {
	const char *key, *value;
};

static bool label_matches(json_t *rec, const char *want)
{
	json_t *labels = json_object_get(json_object_get(rec, "Config"), "Labels");
	const char *eq = strchr(want, '=');
	_cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : husk_xstrdup(want);
	json_t *v = json_object_get(labels, key);

	return v && (!eq || strcmp(json_string_value(v), eq + 1) == 0);
}

static bool filter_matches(json_t *rec, const struct ps_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *k = f[i].key, *v = f[i].value;
		bool ok;
		if (strcmp(k, "status") == 0)
			ok = strcmp(str(json_object_get(rec, "State"), "Status"), v) == 0;
		else if (strcmp(k, "name") == 0)
			ok = strstr(str(rec, "Name"), v) != NULL;
		else if (strcmp(k, "id") == 0)
			ok = strncmp(str(rec, "Id"), v, strlen(v)) == 0;
		else if (strcmp(k, "label") == 0)
			ok = label_matches(rec, v);
		else if (strcmp(k, "exited") == 0)
			ok = strcmp(str(json_object_get(rec, "State"), "Status"), "exited") == 0 &&
			     json_integer_value(json_object_get(json_object_get(rec, "State"), "ExitCode")) == atoi(v);
		else if (strcmp(k, "ancestor") == 0)
			ok = strcmp(str(json_object_get(rec, "Config"), "Image"), v) == 0 ||
			     strncmp(str(rec, "Image"), v, strlen(v)) == 0;
		else
			ok = false;
		if (!ok)
			return false;
	}
	return true;
}

static int by_created_desc(const void *a, const void *b)
{
	json_t *ra = *(json_t *const *)a, *rb = *(json_t *const *)b;
	return strcmp(str(rb, "Created"), str(ra, "Created"));
}

#define PS_COLUMNS 7

/* The width a terminal gives a UTF-8 string: its code points (the "…" of a cut command). */
static size_t display_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* docker's tables: each column as wide as its widest cell, three spaces between */
static void print_table(char **cells, size_t rows, size_t cols)
{
	size_t width[16] = {0};

	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < cols; c++)
			if (display_width(cells[r * cols + c]) > width[c])
				width[c] = display_width(cells[r * cols + c]);
	for (size_t r = 0; r < rows; r++) {
		for (size_t c = 0; c < cols; c++) {
			const char *cell = cells[r * cols + c];
			if (c + 1 == cols) {
				printf("%s\n", cell);
				break;
			}
			printf("%s%*s", cell, (int)(width[c] - display_width(cell) + 3), "");
		}
	}
}

static const char ps_usage[] =
	"usage: husk ps [-a] [-q] [--no-trunc] [--filter KEY=VALUE]... [--format table|json]\n"
	"\n"
	"List containers (running ones; -a all). Filters: status=, name=, id=, label=KEY[=VALUE],\n"
	"exited=CODE, ancestor=IMAGE.";

int husk_cmd_engine_ps(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'}, {"no-trunc", no_argument, NULL, 'T'},
		{"filter", required_argument, NULL, 'f'}, {"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	struct husk_engine e;
	bool all = false, quiet = false, trunc = true, json = false;
	_cleanup_free_ struct ps_filter *filters = husk_xcalloc((size_t)argc + 1, sizeof(*filters));
	size_t n_filters = 0, n = 0, n_recs = 0;
	char **ids = NULL;
	struct husk_err err = {0};
	uint64_t now = husk_realtime_ns();
	int opt;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+aqf:", opts, ps_usage)) != -1) {
		switch (opt) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'T': trunc = false; break;
		case 'f': {
			char *eq = strchr(optarg, '=');
			if (!eq)
				return husk_cmd_usage(g, "--filter %s: KEY=VALUE", optarg), 125;
			*eq = '\0';
			filters[n_filters++] = (struct ps_filter){optarg, eq + 1};
			if (strcmp(optarg, "status") == 0)
				all = true;
			break;
		}
		case 'F':
			if (strcmp(optarg, "json") == 0 || strcmp(optarg, "{{json .}}") == 0)
				json = true;
			else if (strcmp(optarg, "table") != 0)
				return husk_cmd_usage(g, "--format %s: husk knows table and json", optarg), 125;
			break;
		default: return OPT_DONE(opt);
		}
	}
	husk_cmd_engine_init(g, &e);
	if (husk_record_list(&e, &ids, &n, &err) < 0)
		return husk_cmd_fail(g, &err), 125;
	json_t **recs = husk_xcalloc(n + 1, sizeof(json_t *));
	for (size_t i = 0; i < n; i++) {
		json_t *rec = NULL;
		if (husk_engine_inspect(&e, ids[i], &rec, &err) < 0) {
			/* removed meanwhile: not an error */
			husk_err_clear(&err);
			continue;
		}
		const char *status = str(json_object_get(rec, "State"), "Status");
		if ((!all && strcmp(status, "running") != 0 && strcmp(status, "paused") != 0 &&
		     strcmp(status, "restarting") != 0) ||
		    !filter_matches(rec, filters, n_filters)) {
			json_decref(rec);
			continue;
		}
		recs[n_recs++] = rec;
	}
	husk_record_list_free(ids, n);
	qsort(recs, n_recs, sizeof(*recs), by_created_desc);
	/* the table's cells, printed at the end in columns as wide as their widest cell */
	char **cells = husk_xcalloc((n_recs + 1) * PS_COLUMNS, sizeof(char *));
	size_t n_rows = 1;
	static const char *const header[PS_COLUMNS] = {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
						       "NAMES"};
	for (size_t c = 0; c < PS_COLUMNS; c++)
		cells[c] = husk_xstrdup(header[c]);
	for (size_t i = 0; i < n_recs; i++) {
		json_t *rec = recs[i];
		const char *id = str(rec, "Id"), *name = str(rec, "Name");
		if (*name == '/')
			name++;
		if (quiet) {
			printf("%.*s\n", trunc ? 12 : 64, id);
			json_decref(rec);
			continue;
		}
		_cleanup_free_ char *status = status_text(rec, now);
		_cleanup_free_ char *cmd = command_text(rec, trunc && !json);
		_cleanup_free_ char *ports = ports_text(rec);
		char created[64], ago[80];
		human_duration(since(str(rec, "Created"), now), created, sizeof(created));
		snprintf(ago, sizeof(ago), "%s ago", created);
		if (json) {
			json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O?}", "ID", id, "Image",
						str(json_object_get(rec, "Config"), "Image"), "Command", cmd, "CreatedAt",
						str(rec, "Created"), "RunningFor", ago, "Ports", ports, "State",
						str(json_object_get(rec, "State"), "Status"), "Status", status, "Names", name,
						"Labels", json_object_get(json_object_get(rec, "Config"), "Labels"));
			char *text = row ? json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
			if (text)
				puts(text);
			free(text);
			json_decref(row);
		} else {
			char **row = cells + n_rows++ * PS_COLUMNS;
			row[0] = husk_xasprintf("%.*s", trunc ? 12 : 64, id);
			row[1] = husk_xstrdup(str(json_object_get(rec, "Config"), "Image"));
			row[2] = husk_xstrdup(cmd);
			row[3] = husk_xstrdup(ago);
			row[4] = husk_xstrdup(status);
			row[5] = husk_xstrdup(ports);
			row[6] = husk_xstrdup(name);
		}
		json_decref(rec);
	}
	if (!quiet && !json)
		print_table(cells, n_rows, PS_COLUMNS);
	for (size_t i = 0; i < n_rows * PS_COLUMNS; i++)
		free(cells[i]);
	free(cells);
	free(recs);
	return 0;
}

/* ---- inspect ---- */

/* Go template's simplest forms, which scripts use: {{.State.Status}}, {{json .Config}}, text
 * around them. */
static void print_format(const char *fmt, json_t *rec)
{
	const char *p = fmt;

	while (*p) {
		const char *open = strstr(p, "{{"), *close;
		if (!open || !(close = strstr(open, "}}"))) {
			fputs(p, stdout);
			break;
		}
		fwrite(p, 1, (size_t)(open - p), stdout);
		_cleanup_free_ char *expr = strndup(open + 2, (size_t)(close - open - 2));
		char *e = expr;
		bool as_json = false;
		while (*e == ' ')
			e++;
		if (strncmp(e, "json ", 5) == 0) {
			as_json = true;
			e += 5;
			while (*e == ' ')
				e++;
		}
		char *end = e + strlen(e);
		while (end > e && end[-1] == ' ')
			*--end = '\0';
		json_t *v = rec;
		if (strcmp(e, ".") != 0) {
			char *save = NULL;
			for (char *k = strtok_r(e, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
				v = json_object_get(v, k);
		}
		if (!v) {
			fputs("<no value>", stdout);
		} else if (json_is_string(v) && !as_json) {
			fputs(json_string_value(v), stdout);
		} else {
			char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			fputs(text ? text : "", stdout);
			free(text);
		}
		p = close + 2;
	}
	putchar('\n');
}

static const char inspect_usage[] = "usage: husk inspect [-f FORMAT] CONTAINER...\n"
				    "\n"
				    "A container's record as docker inspect shows it; -f '{{.State.Status}}' picks a part.";

int husk_cmd_engine_inspect(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'}, {"type", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	const char *format = NULL;
	struct husk_engine e;
	json_t *out = json_array();
	int opt, rc = 0;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+f:", opts, inspect_usage)) != -1) {
		switch (opt) {
		case 'f': format = optarg; break;
		case 'T': break;
		default: json_decref(out); return OPT_DONE(opt);
		}
	}
	if (optind >= argc) {
		json_decref(out);
		return husk_cmd_usage(g, "%s", inspect_usage), 125;
	}
	husk_cmd_engine_init(g, &e);
	for (int i = optind; i < argc; i++) {
		char id[HUSK_ID_LEN + 1];
		struct husk_err err = {0};
		json_t *rec = NULL;
		if (lookup(g, &e, argv[i], id) < 0) {
			rc = 1;
			continue;
		}
		if (husk_engine_inspect(&e, id, &rec, &err) < 0) {
			husk_cmd_fail(g, &err);
			rc = 1;
			continue;
		}
		/* husk's own bookkeeping is not part of docker's shape */
		json_object_del(rec, "ManualStop");
		json_object_del(rec, "RestartBackoff");
		if (format)
			print_format(format, rec);
		json_array_append_new(out, rec);
	}
	if (!format) {
		char *text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	}
	json_decref(out);
	return rc;
}

/* ---- stop, restart, kill, rm, pause, unpause, wait ---- */

static int do_stop(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	(void)g;
	return husk_engine_stop(e, id, *(int *)arg, err);
}

static int parse_timeout(struct husk_globals *g, const char *text, int *out)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (*end || end == text || v < -1 || v > 24 * 3600)
		return husk_cmd_usage(g, "--time %s: seconds (0 or more; -1: no limit)", text);
	*out = (int)v;
	return 0;
}

static const char stop_usage[] = "usage: husk stop [-t SECONDS] CONTAINER...\n"
				 "\n"
				 "The stop signal (the image's or --stop-signal; SIGTERM), then SIGKILL after the time\n"
				 "(--stop-timeout, or 10 s). A stopped container is not restarted by its policy.";

int husk_cmd_engine_stop(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'H'}, {0}};
	int opt, timeout = -1;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+t:", opts, stop_usage)) != -1) {
		if (opt == 't') {
			if (parse_timeout(g, optarg, &timeout) != 0)
				return 125;
			continue;
		}
		return OPT_DONE(opt);
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", stop_usage), 125;
	return for_each(g, argc, argv, do_stop, &timeout, true);
}

static int start_one(struct husk_globals *g, const struct husk_engine *e, const char *id, bool attach, bool interactive,
		     struct husk_err *err)
{
	int conn = husk_engine_start(e, id, err);
	pid_t pid;

	if (conn == -2) {
		if (!attach)
			return 0;
		conn = husk_attach_connect(e, id, HUSK_ATTACH_WANT_STDIN | HUSK_ATTACH_WANT_STDOUT | HUSK_ATTACH_WANT_STDERR,
					   err);
		if (conn < 0)
			return -1;
	} else if (conn < 0) {
		return -1;
	} else if (husk_monitor_started(conn, &pid, err) < 0) {
		close(conn);
		return -1;
	}
	if (!attach) {
		close(conn);
		return 0;
	}
	json_t *rec = NULL;
	struct husk_attach_opts ao = {.out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO, .stdin = interactive};
	if (husk_record_load(e, id, &rec, err) == 0) {
		ao.tty = json_is_true(json_object_get(json_object_get(rec, "Config"), "Tty"));
		json_decref(rec);
	}
	if (ao.tty && interactive)
		husk_detach_keys_parse("ctrl-p,ctrl-q", ao.detach_keys, &ao.n_detach_keys, err);
	int status = husk_attach_relay(conn, &ao, err);
	close(conn);
	(void)g;
	if (status == HUSK_ATTACH_LOST) {
		/* the monitor ended between: the record has the code */
		husk_err_clear(err);
		status = husk_engine_wait(e, id, err);
		return status < 0 ? 125 : status;
	}
	return status == HUSK_ATTACH_DETACHED ? 0 : status;
}

static const char start_usage[] = "usage: husk start [-a] [-i] CONTAINER...\n"
				  "\n"
				  "Start stopped containers (a running one is left as it is); -a attaches to its output\n"
				  "(and -i its input) and exits with its status.";

int husk_cmd_engine_start(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"attach", no_argument, NULL, 'a'}, {"interactive", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'H'}, {0},
	};
	bool attach = false, interactive = false;
	struct husk_engine e;
	int opt, rc = 0;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+ai", opts, start_usage)) != -1) {
		switch (opt) {
		case 'a': attach = true; break;
		case 'i': interactive = true; break;
		default: return OPT_DONE(opt);
		}
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", start_usage), 125;
	if (attach && argc - optind > 1)
		return husk_cmd_usage(g, "start -a takes one container"), 125;
	husk_cmd_engine_init(g, &e);
	for (int i = optind; i < argc; i++) {
		char id[HUSK_ID_LEN + 1];
		struct husk_err err = {0};
		if (lookup(g, &e, argv[i], id) < 0) {
			rc = 1;
			continue;
		}
		int status = start_one(g, &e, id, attach, interactive, &err);
		if (status < 0) {
			husk_cmd_fail(g, &err);
			rc = attach ? husk_start_failure_code(&err) : 1;
		} else if (attach) {
			rc = status;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return rc;
}

static int do_restart(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	if (husk_engine_stop(e, id, *(int *)arg, err) < 0)
		return -1;
	return start_one(g, e, id, false, false, err) < 0 ? -1 : 0;
}

int husk_cmd_engine_restart(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk restart [-t SECONDS] CONTAINER...\n\nStop (as husk stop), then start.";
	static const struct option opts[] = {{"time", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'H'}, {0}};
	int opt, timeout = -1;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+t:", opts, usage)) != -1) {
		if (opt == 't') {
			if (parse_timeout(g, optarg, &timeout) != 0)
				return 125;
			continue;
		}
		return OPT_DONE(opt);
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", usage), 125;
	return for_each(g, argc, argv, do_restart, &timeout, true);
}

static int do_kill(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	(void)g;
	return husk_engine_kill(e, id, *(int *)arg, err);
}

int husk_cmd_engine_kill(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk kill [-s SIGNAL] CONTAINER...\n\nSend a signal (SIGKILL) to the container's main process.";
	static const struct option opts[] = {{"signal", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'H'}, {0}};
	int opt, sig = SIGKILL;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+s:", opts, usage)) != -1) {
		if (opt == 's') {
			sig = husk_signal_parse(optarg);
			if (sig <= 0)
				return husk_cmd_usage(g, "--signal %s: not a signal (KILL, SIGTERM, 15 ...)", optarg), 125;
			continue;
		}
		return OPT_DONE(opt);
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", usage), 125;
	return for_each(g, argc, argv, do_kill, &sig, true);
}

struct rm_opts {
	bool force, volumes;
};

static int do_rm(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	const struct rm_opts *o = arg;
	struct husk_err ignored = {0};
	json_t *rec = NULL;
	int rc;

	(void)g;
	/* -v: the record says which volumes it had; they go once the container (and so its use) has */
	if (o->volumes && husk_record_load(e, id, &rec, &ignored) < 0)
		rec = NULL;
	rc = husk_engine_rm(e, id, o->force, err);
	if (rc == 0 && rec)
		rc = husk_volume_remove_anonymous(e, rec, err);
	json_decref(rec);
	return rc;
}

int husk_cmd_engine_rm(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk rm [-f] [-v] CONTAINER...\n\nRemove containers: their filesystem, logs and record. -f stops a running one first;\n"
				    "-v removes their anonymous volumes too (named volumes stay).";
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'}, {"volumes", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'H'}, {0},
	};
	struct rm_opts o = {0};
	int opt;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+fv", opts, usage)) != -1) {
		if (opt == 'f') {
			o.force = true;
			continue;
		}
		if (opt == 'v') {
			o.volumes = true;
			continue;
		}
		return OPT_DONE(opt);
	}
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", usage), 125;
	return for_each(g, argc, argv, do_rm, &o, true);
}

static int do_pause(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	(void)g;
	return husk_engine_pause(e, id, *(bool *)arg, err);
}

static int pause_cmd(struct husk_globals *g, int argc, char **argv, bool pause)
{
	const char *usage = pause ? "usage: husk pause CONTAINER...\n\nFreeze every process of the containers."
				  : "usage: husk unpause CONTAINER...\n\nThaw paused containers.";
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	int opt;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+", opts, usage)) != -1)
		return OPT_DONE(opt);
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", usage), 125;
	return for_each(g, argc, argv, do_pause, &pause, true);
}

int husk_cmd_engine_pause(struct husk_globals *g, int argc, char **argv)
{
	return pause_cmd(g, argc, argv, true);
}

int husk_cmd_engine_unpause(struct husk_globals *g, int argc, char **argv)
{
	return pause_cmd(g, argc, argv, false);
}

static int do_wait(struct husk_globals *g, const struct husk_engine *e, const char *id, void *arg, struct husk_err *err)
{
	int code = husk_engine_wait(e, id, err);

	(void)g;
	(void)arg;
	if (code < 0)
		return -1;
	printf("%d\n", code);
	return 0;
}

int husk_cmd_engine_wait(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk wait CONTAINER...\n\nWait until the containers stop; print their exit codes.";
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	int opt;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+", opts, usage)) != -1)
		return OPT_DONE(opt);
	if (optind >= argc)
		return husk_cmd_usage(g, "%s", usage), 125;
	return for_each(g, argc, argv, do_wait, NULL, false);
}

int husk_cmd_engine_rename(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk rename CONTAINER NEW_NAME";
	static const struct option opts[] = {{"help", no_argument, NULL, 'H'}, {0}};
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	int opt;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+", opts, usage)) != -1)
		return OPT_DONE(opt);
	if (argc - optind != 2)
		return husk_cmd_usage(g, "%s", usage), 125;
	husk_cmd_engine_init(g, &e);
	if (lookup(g, &e, argv[optind], id) < 0)
		return 1;
	if (husk_engine_rename(&e, id, argv[optind + 1], &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

/* ---- attach ---- */

int husk_cmd_engine_attach(struct husk_globals *g, int argc, char **argv)
{
	static const char usage[] = "usage: husk attach [--no-stdin] [--detach-keys KEYS] CONTAINER\n"
				    "\n"
				    "Attach to a running container's input and output; ctrl-p ctrl-q detaches (with -t).";
	static const struct option opts[] = {
		{"no-stdin", no_argument, NULL, 'n'}, {"detach-keys", required_argument, NULL, 'K'},
		{"sig-proxy", required_argument, NULL, 'S'}, {"help", no_argument, NULL, 'H'}, {0},
	};
	const char *keys = "ctrl-p,ctrl-q";
	bool no_stdin = false;
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	json_t *rec = NULL;
	int opt, conn, status;

	optind = 0;
	while ((opt = next_opt(g, argc, argv, "+", opts, usage)) != -1) {
		switch (opt) {
		case 'n': no_stdin = true; break;
		case 'K': keys = optarg; break;
		case 'S': break;
		default: return OPT_DONE(opt);
		}
	}
	if (argc - optind != 1)
		return husk_cmd_usage(g, "%s", usage), 125;
	husk_cmd_engine_init(g, &e);
	if (lookup(g, &e, argv[optind], id) < 0)
		return 1;
	if (husk_engine_inspect(&e, id, &rec, &err) < 0)
		return husk_cmd_fail(g, &err);
	json_t *config = json_object_get(rec, "Config");
	struct husk_attach_opts ao = {
		.out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO,
		.stdin = !no_stdin && json_is_true(json_object_get(config, "OpenStdin")),
		.tty = json_is_true(json_object_get(config, "Tty")),
	};
	bool running = strcmp(str(json_object_get(rec, "State"), "Status"), "running") == 0;
	json_decref(rec);
	if (!running) {
		husk_err_set(&err, EINVAL, "container %s is not running (husk start -a starts and attaches)", argv[optind]);
		return husk_cmd_fail(g, &err);
	}
	if (ao.tty && husk_detach_keys_parse(keys, ao.detach_keys, &ao.n_detach_keys, &err) < 0)
		return husk_cmd_usage(g, "%s", err.msg), 125;
	conn = husk_attach_connect(&e, id, HUSK_ATTACH_WANT_STDIN | HUSK_ATTACH_WANT_STDOUT | HUSK_ATTACH_WANT_STDERR, &err);
	if (conn < 0)
		return husk_cmd_fail(g, &err);
	status = husk_attach_relay(conn, &ao, &err);
	close(conn);
	if (status == HUSK_ATTACH_DETACHED)
		return 0;
	if (status == HUSK_ATTACH_LOST) {
		/* the monitor ended between: the record has the code */
		int code = husk_engine_wait(&e, id, &err);
		return code < 0 ? 125 : code;
	}
	return status;
}

/* ---- container prune, system boot, the monitor's last stage ---- */

int husk_cmd_engine_container(struct husk_globals *g, int argc, char **argv)
{
	/* docker's container VERB: each the same as husk VERB; ls is ps */
	static const struct husk_cmd subs[] = {
		{"attach", NULL, "as husk attach"}, {"cp", NULL, "as husk cp"}, {"exec", NULL, "as husk exec"},
		{"inspect", NULL, "as husk inspect"}, {"kill", NULL, "as husk kill"}, {"logs", NULL, "as husk logs"},
		{"ls", NULL, "as husk ps (also: list)"}, {"pause", NULL, "as husk pause"}, {"port", NULL, "as husk port"},
		{"prune", NULL, "remove every stopped container"}, {"rename", NULL, "as husk rename"},
		{"restart", NULL, "as husk restart"}, {"rm", NULL, "as husk rm"}, {"run", NULL, "as husk run"},
		{"start", NULL, "as husk start"}, {"stats", NULL, "as husk stats"}, {"stop", NULL, "as husk stop"},
		{"top", NULL, "as husk top"}, {"unpause", NULL, "as husk unpause"}, {"wait", NULL, "as husk wait"},
	};
	static const char prune_usage[] =
		"usage: husk container prune [-f|--force]\n\n"
		"Remove every stopped container (exited or created) with its filesystem and logs.\n"
		"  -f, --force  accepted, as docker's (husk does not ask)";
	struct husk_engine e;
	struct husk_err err = {0};
	char **ids = NULL;
	size_t n = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0)
		return husk_cmd_group_usage(argc < 2 ? stderr : stdout, "container", subs, ARRAY_SIZE(subs));
	if (strcmp(argv[1], "prune") == 0 && husk_cmd_help_asked(argc - 1, argv + 1))
		return husk_cmd_help(prune_usage);
	for (int i = 2; strcmp(argv[1], "prune") == 0 && i < argc; i++)
		if (strcmp(argv[i], "-f") != 0 && strcmp(argv[i], "--force") != 0)
			return husk_cmd_usage(g, "container prune: unknown argument %s\n%s", argv[i], prune_usage), 125;
	if (strcmp(argv[1], "prune") != 0) {
		/* docker container VERB is docker VERB */
		if (strcmp(argv[1], "ls") == 0 || strcmp(argv[1], "list") == 0)
			argv[1] = "ps";
		return husk_engine_dispatch(g, argc - 1, argv + 1);
	}
	husk_cmd_engine_init(g, &e);
	if (husk_record_list(&e, &ids, &n, &err) < 0)
		return husk_cmd_fail(g, &err);
	int rc = 0;
	printf("Deleted Containers:\n");
	for (size_t i = 0; i < n; i++) {
		json_t *rec = NULL;
		if (husk_engine_inspect(&e, ids[i], &rec, &err) < 0) {
			husk_err_clear(&err);
			continue;
		}
		const char *status = str(json_object_get(rec, "State"), "Status");
		bool gone = strcmp(status, "exited") == 0 || strcmp(status, "created") == 0 || strcmp(status, "dead") == 0;
		json_decref(rec);
		if (!gone || husk_monitor_alive(&e, ids[i]))
			continue;
		if (husk_engine_rm(&e, ids[i], false, &err) < 0) {
			husk_cmd_fail(g, &err);
			husk_err_clear(&err);
			rc = 1;
		} else {
			printf("%s\n", ids[i]);
		}
	}
	husk_record_list_free(ids, n);
	return rc;
}

int husk_cmd_engine_system(struct husk_globals *g, int argc, char **argv)
{
	static const struct husk_cmd subs[] = {
		{"boot", NULL, "at boot: record the last boot's containers exited, restart by policy"},
		{"df", NULL, "what the store holds: images, containers' writable layers"},
	};
	static const char boot_usage[] =
		"usage: husk system boot\n"
		"\n"
		"At boot (contrib/husk.service runs it): containers left running by the last boot are recorded\n"
		"exited; those with --restart always, or unless-stopped and not stopped by hand, are started.";
	struct husk_engine e;
	struct husk_err err = {0};
	int failed;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0)
		return husk_cmd_group_usage(stdout, "system", subs, ARRAY_SIZE(subs));
	if (argc >= 2 && strcmp(argv[1], "df") == 0)
		return husk_cmd_engine_system_df(g, argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "boot") != 0) {
		if (argc >= 2)
			fprintf(stderr, "husk: system: unknown command \"%s\"\n", argv[1]);
		return husk_cmd_group_usage(stderr, "system", subs, ARRAY_SIZE(subs));
	}
	if (husk_cmd_help_asked(argc - 1, argv + 1))
		return husk_cmd_help(boot_usage);
	if (argc > 2)
		return husk_cmd_usage(g, "%s", boot_usage), 125;
	husk_cmd_engine_init(g, &e);
	failed = husk_engine_boot(&e, &err);
	if (failed < 0)
		return husk_cmd_fail(g, &err);
	return failed ? 1 : 0;
}

/* Hidden: what husk-monitor exec's when the container's init has exited. */
int husk_cmd_engine_monitor_exited(struct husk_globals *g, int argc, char **argv)
{
	int clients[64], n_clients = 0, status = 0, lock_fd = -1, listen_fd = -1;
	struct husk_engine e;

	if (argc < 2)
		return 125;
	for (int i = 2; i + 1 < argc; i += 2) {
		int v = atoi(argv[i + 1]);
		if (strcmp(argv[i], "--status") == 0)
			status = v;
		else if (strcmp(argv[i], "--client-fd") == 0 && n_clients < 64)
			clients[n_clients++] = v;
		else if (strcmp(argv[i], "--lock-fd") == 0)
			lock_fd = v;
		else if (strcmp(argv[i], "--listen-fd") == 0)
			listen_fd = v;
	}
	husk_cmd_engine_init(g, &e);
	return husk_monitor_exited(&e, argv[1], status, clients, (size_t)n_clients, listen_fd, lock_fd);
}
