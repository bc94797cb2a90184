/* The command line: parses, calls the library, prints. */
#ifndef HUSK_CMD_H
#define HUSK_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "../lib/defaults.h"
#include "../lib/error.h"

#define HUSK_VERSION "0.1.0"

struct husk_globals {
	const char *root;
	bool root_given;            /* --root was on the command line (not the default) */
	const char *log_path;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
	const char *command;        /* for messages: "create", "start", ... */
	const char *storage;        /* the image store (husk --storage, HUSK_STORAGE) */
	char *run;                  /* the engine's runtime directory: <root>-engine */
	bool usage_failed;          /* husk_cmd_usage was called: the engine exits 125 */
};

typedef int (*husk_cmd_fn)(struct husk_globals *g, int argc, char **argv);

struct husk_cmd {
	const char *name;
	husk_cmd_fn fn;
	const char *summary;
};

/* husk oci ...: the runc-compatible interface (also what `husk-oci` runs). */
int husk_oci_main(int argc, char **argv);
/* husk ...: the docker-like front end: images, run. */
int husk_engine_main(int argc, char **argv);

/* Report a failure as `husk: <command>: <message>: <strerror>` on stderr (and into --log),
 * return the exit status 1. */
int husk_cmd_fail(struct husk_globals *g, const struct husk_err *err);
/* Usage errors: `husk: <command>: <message>`, exit status 2... runc uses 1 for both. */
int husk_cmd_usage(struct husk_globals *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `husk: <command>: warning: <message>` on stderr (and into --log); returns 0. */
int husk_cmd_warn(struct husk_globals *g, const struct husk_err *err);
/* The same as a library warning callback (husk_warn_fn), arg being the husk_globals. */
void husk_cmd_warn_cb(void *g, const struct husk_err *warning);
void husk_cmd_debug(struct husk_globals *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A count of fds (--preserve-fds N): 0..65536, or a usage error naming flag. */
int husk_cmd_parse_fd_count(struct husk_globals *g, const char *flag, const char *text, int *out);

/* --help (src/cmd/help.c): asked among argv[1..] (before a "--"); usage printed on stdout
 * (a newline added), returns 0; a group's "commands:" list on out, returns 0 (stdout) or 125. */
bool husk_cmd_help_asked(int argc, char **argv);
int husk_cmd_help(const char *usage);
/* For a command that takes no options: one given (before a "--") is a usage error, -1. */
int husk_cmd_no_options(struct husk_globals *g, int argc, char **argv, const char *usage);
int husk_cmd_group_usage(FILE *out, const char *group, const struct husk_cmd *subs, size_t n);
/* husk oci VERB --help's text, NULL for an unknown verb */
const char *husk_oci_verb_usage(const char *verb);

struct husk_create_opts;
/* create's and run's flags (runc's): --bundle, --pid-file, --console-socket, --preserve-fds,
 * --no-pivot, --no-new-keyring; run's --detach and --keep when those are given. */
int husk_parse_create_flags(struct husk_globals *g, int argc, char **argv, struct husk_create_opts *o, bool *detach,
			    bool *keep);

/* Wait for pid (husk's child), passing on the signals in set; its exit status, 128+N if killed. */
int husk_cmd_wait_forwarding(pid_t pid, const sigset_t *set);
extern const int husk_cmd_forwarded[13];
/* Block the forwarded signals and SIGCHLD into set (old gets the previous mask): done before
 * the clone, so none arrives unhandled in between; the child unblocks them. */
void husk_cmd_block_forwarded(sigset_t *set, sigset_t *old);
/* The exit status husk reports for a wait status: the code, or 128+N when killed by signal N. */
int husk_cmd_exit_code(int wstatus);
/* Wait for pid: relaying its terminal when terminal_fd >= 0 (closed after), else forwarding
 * signals; its exit status. */
int husk_cmd_wait(pid_t pid, int terminal_fd, const sigset_t *set, struct husk_err *err);

int husk_cmd_create(struct husk_globals *g, int argc, char **argv);
int husk_cmd_exec(struct husk_globals *g, int argc, char **argv);
int husk_cmd_start(struct husk_globals *g, int argc, char **argv);
int husk_cmd_state(struct husk_globals *g, int argc, char **argv);
int husk_cmd_kill(struct husk_globals *g, int argc, char **argv);
int husk_cmd_delete(struct husk_globals *g, int argc, char **argv);
int husk_cmd_run(struct husk_globals *g, int argc, char **argv);
int husk_cmd_list(struct husk_globals *g, int argc, char **argv);
int husk_cmd_spec(struct husk_globals *g, int argc, char **argv);
int husk_cmd_features(struct husk_globals *g, int argc, char **argv);
int husk_cmd_update(struct husk_globals *g, int argc, char **argv);
int husk_cmd_pause(struct husk_globals *g, int argc, char **argv);
int husk_cmd_resume(struct husk_globals *g, int argc, char **argv);
int husk_cmd_ps(struct husk_globals *g, int argc, char **argv);
int husk_cmd_events(struct husk_globals *g, int argc, char **argv);

struct husk_engine;
/* The engine's directories from the globals, warnings through husk_cmd_warn_cb. */
void husk_cmd_engine_init(struct husk_globals *g, struct husk_engine *e);

int husk_cmd_images(struct husk_globals *g, int argc, char **argv);
int husk_cmd_image(struct husk_globals *g, int argc, char **argv);
int husk_cmd_pull(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_run(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_rm(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_ps(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_inspect(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_stop(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_start(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_restart(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_kill(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_pause(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_unpause(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_wait(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_rename(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_attach(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_container(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_system(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_exec(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_top(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_stats(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_port(struct husk_globals *g, int argc, char **argv);
/* husk system df (argv[0] "df") */
int husk_cmd_engine_system_df(struct husk_globals *g, int argc, char **argv);
int husk_cmd_engine_monitor_exited(struct husk_globals *g, int argc, char **argv);
/* husk COMMAND ARGS (argv[0] the command) after the global options. */
int husk_engine_dispatch(struct husk_globals *g, int argc, char **argv);
int husk_cmd_network(struct husk_globals *g, int argc, char **argv);
int husk_cmd_volume(struct husk_globals *g, int argc, char **argv);
int husk_cmd_logs(struct husk_globals *g, int argc, char **argv);
int husk_cmd_cp(struct husk_globals *g, int argc, char **argv);
/* husk nsexec (unshare's options) and husk nsenter (nsenter's) */
int husk_cmd_nsexec(struct husk_globals *g, int argc, char **argv);
int husk_cmd_nsenter(struct husk_globals *g, int argc, char **argv);

#endif
