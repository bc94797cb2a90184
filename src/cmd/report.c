/* What every command says: failures, warnings, usage errors and debug lines, on stderr and
 * into --log (text or JSON lines, as runc writes them). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/state.h"
#include "../lib/util.h"

static void log_line(struct husk_globals *g, const char *level, const char *msg)
{
	_cleanup_free_ char *now = NULL;
	int fd;

	if (!g->log_path)
		return;
	fd = open(g->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	now = husk_timestamp_now();
	if (g->log_json) {
		json_t *obj = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", now);
		_cleanup_free_ char *text = json_dumps(obj, JSON_COMPACT);
		json_decref(obj);
		if (text)
			dprintf(fd, "%s\n", text);
	} else {
		dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
	}
	close(fd);
}

int husk_cmd_fail(struct husk_globals *g, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 256];

	husk_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "husk: %s: %s\n", g->command, msg);
	log_line(g, "error", msg);
	return 1;
}

int husk_cmd_warn(struct husk_globals *g, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 256];

	husk_err_format(err, msg, sizeof(msg));
	fprintf(stderr, "husk: %s: warning: %s\n", g->command, msg);
	log_line(g, "warning", msg);
	return 0;
}

int husk_cmd_usage(struct husk_globals *g, const char *fmt, ...)
{
	struct husk_err err = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	g->usage_failed = true;
	return husk_cmd_fail(g, &err);
}

void husk_cmd_debug(struct husk_globals *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!g->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g->log_path)
		log_line(g, "debug", msg);
	else
		fprintf(stderr, "husk: debug: %s\n", msg);
}

int husk_cmd_parse_fd_count(struct husk_globals *g, const char *flag, const char *text, int *out)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (*text == '\0' || *end || n < 0 || n > 65536)
		return husk_cmd_usage(g, "%s: \"%s\" is not a count of fds", flag, text);
	*out = (int)n;
	return 0;
}

void husk_cmd_warn_cb(void *g, const struct husk_err *warning)
{
	husk_cmd_warn(g, warning);
}
