/* husk run's docker flags that change the container's config (--memory, --cpus, --cap-add,
 * --privileged, --env-file, --label, --init, --ulimit, --stop-signal, ...): the option table's
 * rows, and one call per option into husk_run_flag, then husk_run_flags_finish once. */
#ifndef HUSK_RUN_FLAGS_H
#define HUSK_RUN_FLAGS_H

#include <stddef.h>

#include "cmd.h"
#include "../lib/image/runconfig.h"

enum {
	HUSK_RF_FIRST = 0x200,
	HUSK_RF_MEMORY_SWAP = HUSK_RF_FIRST, HUSK_RF_CPUS, HUSK_RF_CPU_SHARES, HUSK_RF_PIDS_LIMIT,
	HUSK_RF_CAP_ADD, HUSK_RF_CAP_DROP, HUSK_RF_READ_ONLY, HUSK_RF_PRIVILEGED, HUSK_RF_SECURITY_OPT,
	HUSK_RF_ENV_FILE, HUSK_RF_LABEL_FILE, HUSK_RF_INIT, HUSK_RF_STOP_SIGNAL, HUSK_RF_STOP_TIMEOUT,
	HUSK_RF_ULIMIT,
	HUSK_RF_LAST = HUSK_RF_ULIMIT,
};

/* the short options among them, for getopt's string */
#define HUSK_RUN_FLAG_SHORT "m:l:"
#define HUSK_RUN_FLAG_OPTIONS \
	{"memory", required_argument, NULL, 'm'}, {"memory-swap", required_argument, NULL, HUSK_RF_MEMORY_SWAP}, \
	{"cpus", required_argument, NULL, HUSK_RF_CPUS}, {"cpu-shares", required_argument, NULL, HUSK_RF_CPU_SHARES}, \
	{"pids-limit", required_argument, NULL, HUSK_RF_PIDS_LIMIT}, \
	{"cap-add", required_argument, NULL, HUSK_RF_CAP_ADD}, {"cap-drop", required_argument, NULL, HUSK_RF_CAP_DROP}, \
	{"read-only", no_argument, NULL, HUSK_RF_READ_ONLY}, {"privileged", no_argument, NULL, HUSK_RF_PRIVILEGED}, \
	{"security-opt", required_argument, NULL, HUSK_RF_SECURITY_OPT}, \
	{"env-file", required_argument, NULL, HUSK_RF_ENV_FILE}, {"label", required_argument, NULL, 'l'}, \
	{"label-file", required_argument, NULL, HUSK_RF_LABEL_FILE}, {"init", no_argument, NULL, HUSK_RF_INIT}, \
	{"stop-signal", required_argument, NULL, HUSK_RF_STOP_SIGNAL}, \
	{"stop-timeout", required_argument, NULL, HUSK_RF_STOP_TIMEOUT}, {"ulimit", required_argument, NULL, HUSK_RF_ULIMIT}

#define HUSK_RUN_FLAG_USAGE \
	"                [-m BYTES] [--memory-swap BYTES] [--cpus N] [--cpu-shares N] [--pids-limit N]\n" \
	"                [--cap-add CAP]... [--cap-drop CAP]... [--read-only] [--privileged] [--security-opt OPT]...\n" \
	"                [--env-file FILE]... [-l K=V]... [--label-file FILE]... [--init] [--ulimit TYPE=SOFT[:HARD]]...\n" \
	"                [--stop-signal SIG] [--stop-timeout SECONDS]\n"

/* What the flags collect until husk_run_flags_finish puts it into struct husk_run_opts. */
struct husk_run_flags {
	char **env_file;             /* every --env-file's lines, in order */
	size_t n_env_file;
	char **file_labels, **labels; /* --label-file's, --label's (these win) */
	size_t n_file_labels, n_labels;
	struct husk_ulimit *ulimits;
	size_t n_ulimits;
	bool init, stop_timeout_given;
	char **all_labels;           /* finish: file_labels then labels (borrowed strings) */
};

/* One of the options above (opt as getopt_long returned it): 0, or the exit status of the
 * error it printed (`husk: run: --memory 12q: not a size ...`). */
int husk_run_flag(struct husk_globals *g, struct husk_run_flags *f, struct husk_run_opts *ro, int opt, const char *arg);
/* After the last option: the checks that need all of them, and what they collected into ro
 * (which borrows from f: keep f until ro is no longer used). 0 or the exit status. */
int husk_run_flags_finish(struct husk_globals *g, struct husk_run_flags *f, struct husk_run_opts *ro);
void husk_run_flags_free(struct husk_run_flags *f);
#define _cleanup_run_flags_ __attribute__((cleanup(husk_run_flags_free)))

#endif
