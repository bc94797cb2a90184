#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/state.h"
#include "../lib/util.h"

#define COLUMNS 6

int husk_cmd_list(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {0},
	};
	static const char *const header[COLUMNS] = {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
	struct husk_err err = {0};
	char **ids = NULL;
	size_t n = 0, width[COLUMNS];
	bool json_format = false, quiet = false;
	json_t *rows = json_array();
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+f:q", opts, NULL)) != -1) {
		if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
			json_format = strcmp(optarg, "json") == 0;
		else if (c == 'q')
			quiet = true;
		else
			return husk_cmd_usage(g, "usage: husk oci list [--format table|json] [--quiet]");
	}
	if (husk_state_list(g->root, &ids, &n, &err) < 0)
		return husk_cmd_fail(g, &err);
	for (size_t i = 0; i < n; i++) {
		_cleanup_close_ int dirfd = -1;
		struct husk_state st;
		husk_err_clear(&err);
		/* a container being deleted meanwhile just drops out of the list */
		if (husk_state_load(g->root, ids[i], &dirfd, &st, &err) < 0)
			continue;
		json_array_append_new(rows, husk_state_to_json(&st, husk_state_status(&st)));
		husk_state_free(&st);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);

	if (json_format) {
		json_dumpf(rows, stdout, JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (quiet) {
		json_t *row;
		size_t i;
		json_array_foreach(rows, i, row)
			printf("%s\n", json_string_value(json_object_get(row, "id")));
	} else {
		static const char *const keys[COLUMNS] = {"id", "pid", "status", "bundle", "created", "owner"};
		char cell[64];
		json_t *row;
		size_t i;
		/* runc's table: columns at least 12 wide, 3 spaces apart */
		for (int col = 0; col < COLUMNS; col++)
			width[col] = 12 > strlen(header[col]) + 3 ? 12 : strlen(header[col]) + 3;
		json_array_foreach(rows, i, row)
			for (int col = 0; col < COLUMNS; col++) {
				json_t *v = json_object_get(row, keys[col]);
				size_t len = json_is_integer(v) ? (size_t)snprintf(cell, sizeof(cell), "%lld", (long long)json_integer_value(v))
								: strlen(json_string_value(v) ? json_string_value(v) : "");
				if (len + 3 > width[col])
					width[col] = len + 3;
			}
		for (int col = 0; col < COLUMNS; col++)
			printf("%-*s", col == COLUMNS - 1 ? 0 : (int)width[col], header[col]);
		putchar('\n');
		json_array_foreach(rows, i, row) {
			for (int col = 0; col < COLUMNS; col++) {
				json_t *v = json_object_get(row, keys[col]);
				const char *s = json_string_value(v);
				if (json_is_integer(v)) {
					snprintf(cell, sizeof(cell), "%lld", (long long)json_integer_value(v));
					s = cell;
				}
				printf("%-*s", col == COLUMNS - 1 ? 0 : (int)width[col], s ? s : "");
			}
			putchar('\n');
		}
	}
	json_decref(rows);
	return 0;
}
