/* husk exec: another process in a running engine container, as docker exec. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "../lib/engine/engine.h"
#include "../lib/engine/monitor.h"
#include "../lib/engine/ops.h"
#include "../lib/engine/record.h"
#include "../lib/engine/verbs.h"
#include "../lib/util.h"

static const char exec_usage[] =
	"usage: husk exec [OPTIONS] CONTAINER COMMAND [ARG...]\n"
	"\n"
	"Run a command in a running container, with its environment, user and working directory\n"
	"unless the options say otherwise. The exit status is the command's (126: it cannot be run,\n"
	"127: it is not there).\n"
	"\n"
	"  -d, --detach               start it and return (its output is dropped)\n"
	"  -i, --interactive          pass stdin on (else it reads nothing)\n"
	"  -t, --tty                  a terminal for the command (needs one on stdin)\n"
	"  -e, --env K=V|K            environment (K alone: the caller's value)\n"
	"      --env-file FILE        environment from FILE: K=V or K lines, # comments\n"
	"  -u, --user USER[:GROUP]    user (name or uid) and group, looked up in the container\n"
	"  -w, --workdir DIR          working directory (absolute)\n"
	"      --privileged           every capability\n"
	"      --help                 this text";

struct env_list {
	char **v;
	size_t n;
	char **owned;                /* what we made (K=caller's value, env-file lines) */
	size_t n_owned;
};

static void env_add(struct env_list *l, const char *entry)
{
	char *made = NULL;

	if (!strchr(entry, '=')) {
		/* docker's -e K: the caller's K, or nothing when the caller has none */
		const char *v = getenv(entry);
		if (!v)
			return;
		made = husk_xasprintf("%s=%s", entry, v);
	} else {
		made = husk_xstrdup(entry);
	}
	l->v = husk_xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = made;
}

static void env_free(struct env_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int env_check(struct husk_globals *g, const char *flag, const char *entry)
{
	if (!*entry || *entry == '=' || strchr(entry, '\n'))
		return husk_cmd_usage(g, "%s \"%s\": give NAME=VALUE or NAME", flag, entry);
	return 0;
}

static int env_file(struct husk_globals *g, struct env_list *l, const char *path)
{
	_cleanup_free_ char *text = NULL;
	struct husk_err err = {0};
	char *line, *save = NULL;
	int lineno = 0;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, &err) < 0) {
		husk_err_wrap(&err, "--env-file");
		return husk_cmd_fail(g, &err);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		if (*line == '=')
			return husk_cmd_usage(g, "--env-file %s: line %d \"%s\": no variable name", path, lineno, line);
		env_add(l, line);
	}
	return 0;
}

/* a running container, or an error that says what to do */
static int check_running(struct husk_globals *g, const struct husk_engine *e, const char *id, const char *ref)
{
	struct husk_err err = {0};
	json_t *rec = NULL;
	const char *status;
	int rc = 0;

	if (husk_engine_inspect(e, id, &rec, &err) < 0)
		return husk_cmd_fail(g, &err);
	status = json_string_value(json_object_get(json_object_get(rec, "State"), "Status"));
	if (!status || strcmp(status, "running") != 0) {
		if (status && strcmp(status, "paused") == 0)
			husk_err_set(&err, 0, "container %s is paused (husk unpause %s)", ref, ref);
		else
			husk_err_set(&err, 0, "container %s is not running (husk start %s)", ref, ref);
		rc = husk_cmd_fail(g, &err);
	}
	json_decref(rec);
	return rc;
}

/* fd 0..2 (those in mask) onto /dev/null; the old ones kept in saved[] to put back */
static int to_dev_null(struct husk_globals *g, unsigned mask, int saved[3])
{
	struct husk_err err = {0};
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0) {
		husk_err_sys(&err, "open /dev/null");
		return husk_cmd_fail(g, &err);
	}
	for (int fd = 0; fd < 3; fd++) {
		saved[fd] = -1;
		if (!(mask & (1u << fd)))
			continue;
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup2(null, fd) < 0) {
			husk_err_sys(&err, "dup2 /dev/null onto fd %d", fd);
			return husk_cmd_fail(g, &err);
		}
	}
	return 0;
}

static void restore(int saved[3])
{
	for (int fd = 0; fd < 3; fd++)
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
			saved[fd] = -1;
		}
}

int husk_cmd_engine_exec(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{"detach", no_argument, NULL, 'd'}, {"interactive", no_argument, NULL, 'i'},
		{"tty", no_argument, NULL, 't'}, {"env", required_argument, NULL, 'e'},
		{"env-file", required_argument, NULL, 'F'}, {"user", required_argument, NULL, 'u'},
		{"workdir", required_argument, NULL, 'w'}, {"privileged", no_argument, NULL, 'P'},
		{"detach-keys", required_argument, NULL, 'K'}, {"help", no_argument, NULL, 'H'}, {0},
	};
	struct husk_engine_exec xo = {0};
	struct env_list env = {0};
	struct husk_engine e;
	struct husk_err err = {0};
	char id[HUSK_ID_LEN + 1];
	bool detach = false, interactive = false;
	int opt, status, saved[3] = {-1, -1, -1}, terminal_fd = -1;
	sigset_t set, old;
	pid_t pid;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+dite:u:w:", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': detach = true; break;
		case 'i': interactive = true; break;
		case 't': xo.tty = true; break;
		case 'e':
			if (env_check(g, "--env", optarg) != 0)
				goto usage_error;
			env_add(&env, optarg);
			break;
		case 'F':
			if (env_file(g, &env, optarg) != 0)
				goto usage_error;
			break;
		case 'u':
			if (!*optarg || *optarg == ':')
				goto usage;
			xo.user = optarg;
			break;
		case 'w':
			if (optarg[0] != '/') {
				husk_cmd_usage(g, "--workdir \"%s\": give an absolute path", optarg);
				goto usage_error;
			}
			xo.workdir = optarg;
			break;
		case 'P': xo.privileged = true; break;
		case 'K': break; /* docker's; husk exec has nothing to detach from */
		case 'H': puts(exec_usage); env_free(&env); return 0;
		default: goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	if (xo.tty && detach) {
		husk_cmd_usage(g, "-t with -d: a detached command has no one to hold its terminal (drop -t)");
		goto usage_error;
	}
	if (xo.tty && !isatty(STDIN_FILENO)) {
		husk_cmd_usage(g, "-t: the input device is not a TTY (drop -t, or run husk from a terminal)");
		goto usage_error;
	}
	xo.cmd = argv + optind + 1;
	xo.n_cmd = (size_t)(argc - optind - 1);
	xo.env = env.v;
	xo.n_env = env.n;

	husk_cmd_engine_init(g, &e);
	if (husk_engine_lookup(&e, argv[optind], id, &err) < 0 || check_running(g, &e, id, argv[optind]) != 0) {
		if (err.msg[0])
			husk_cmd_fail(g, &err);
		env_free(&env);
		return 1;
	}
	/* the process takes husk's stdio: without -i it reads nothing, with -d it has none */
	if (to_dev_null(g, detach ? 7u : interactive ? 0u : 1u, saved) != 0) {
		restore(saved);
		env_free(&env);
		return 125;
	}
	husk_cmd_block_forwarded(&set, &old);
	if (husk_engine_exec(&e, id, &xo, &pid, xo.tty ? &terminal_fd : NULL, &err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		restore(saved);
		env_free(&env);
		husk_cmd_fail(g, &err);
		/* docker's: 127 the command is not there, 126 it cannot be run, else 125 */
		return husk_start_failure_code(&err);
	}
	husk_cmd_debug(g, "exec in %.12s: pid %d", id, (int)pid);
	if (detach) {
		status = 0;
	} else {
		status = husk_cmd_wait(pid, terminal_fd, &set, &err);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	restore(saved);
	env_free(&env);
	return status;

usage:
	husk_cmd_usage(g, "%s", exec_usage);
usage_error:
	env_free(&env);
	return 125;
}
