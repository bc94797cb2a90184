/* husk run's docker flags that change the container's config: see run_flags.h. */
#define _GNU_SOURCE
#include "run_flags.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/caps.h"
#include "../lib/image/runflags.h"
#include "../lib/names.h"
#include "../lib/util.h"

/* Debian's catatonit (static, so it runs in any image); HUSK_INIT names another */
#define HUSK_INIT_DEFAULT "/usr/bin/catatonit"

static const char *caller_env(const char *key)
{
	return getenv(key);
}

static int read_kv_file(const char *flag, const char *path, const char *(*lookup)(const char *), char ***out,
			size_t *n, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (husk_read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return husk_err_wrap(err, "%s %s", flag, path);
	if (husk_kv_file_parse(text, len, path, lookup, out, n, err) < 0)
		return husk_err_wrap(err, "%s", flag);
	return 0;
}

/* docker's check of a --label (opts.ValidateLabel): a name, without whitespace */
static int check_label(const char *kv, struct husk_err *err)
{
	size_t keylen = strcspn(kv, "=");

	if (keylen == 0)
		return husk_err_set(err, 0, "--label \"%s\": no name before the =", kv);
	if (strcspn(kv, " \t\n\v\f\r") < keylen)
		return husk_err_set(err, 0, "--label \"%s\": the name holds whitespace", kv);
	return 0;
}

/* --security-opt KEY=VALUE or KEY:VALUE (docker takes both), or a bare no-new-privileges */
static int security_opt(struct husk_run_opts *ro, const char *arg, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(arg);
	char *value = strchr(copy, '=');
	bool b;

	if (strcmp(arg, "no-new-privileges") == 0) {
		ro->no_new_privileges = 1;
		return 0;
	}
	if (!value)
		value = strchr(copy, ':');
	if (!value)
		return husk_err_set(err, 0, "--security-opt %s: not KEY=VALUE (as no-new-privileges:true or "
				    "seccomp=unconfined)", arg);
	*value++ = '\0';
	if (strcmp(copy, "no-new-privileges") == 0) {
		if (!husk_bool_parse(value, &b))
			return husk_err_set(err, 0, "--security-opt %s: \"%s\" is not true or false", arg, value);
		ro->no_new_privileges = b ? 1 : -1;
	} else if (strcmp(copy, "seccomp") == 0 || strcmp(copy, "systempaths") == 0) {
		if (strcmp(value, "unconfined") != 0)
			return husk_err_set(err, 0, "--security-opt %s: husk takes only %s=unconfined (a profile of "
					    "one's own is not supported)", arg, copy);
		if (*copy == 's' && copy[1] == 'e')
			ro->seccomp_unconfined = true;
		else
			ro->systempaths_unconfined = true;
	} else {
		return husk_err_set(err, 0, "--security-opt %s: husk knows no-new-privileges, seccomp=unconfined and "
				    "systempaths=unconfined, not %s", arg, copy);
	}
	return 0;
}

static int parse_flag(struct husk_globals *g, struct husk_run_flags *f, struct husk_run_opts *ro, int opt,
		      const char *arg, struct husk_err *err)
{
	int64_t v;
	int cap;
	bool all;

	switch (opt) {
	case 'm':
		return husk_size_parse(arg, &ro->memory, err) < 0 ? husk_err_wrap(err, "--memory %s", arg) : 0;
	case HUSK_RF_MEMORY_SWAP:
		/* -1: swap without limit */
		if (strcmp(arg, "-1") == 0)
			ro->memory_swap = -1;
		else if (husk_size_parse(arg, &ro->memory_swap, err) < 0)
			return husk_err_wrap(err, "--memory-swap %s", arg);
		return 0;
	case HUSK_RF_CPUS:
		return husk_cpus_parse(arg, &ro->nano_cpus, err) < 0 ? husk_err_wrap(err, "--cpus %s", arg) : 0;
	case HUSK_RF_CPU_SHARES:
		if (husk_int_parse(arg, INT64_MIN, INT64_MAX, &v, err) < 0)
			return husk_err_wrap(err, "--cpu-shares %s", arg);
		/* as docker: out of the kernel's range is brought into it, with a word */
		if (v && (v < HUSK_CPU_SHARES_MIN || v > HUSK_CPU_SHARES_MAX)) {
			struct husk_err w = {0};
			int64_t to = v < HUSK_CPU_SHARES_MIN ? HUSK_CPU_SHARES_MIN : HUSK_CPU_SHARES_MAX;
			husk_err_set(&w, 0, "--cpu-shares %s: changed to %s allowed, %lld", arg,
				     to == HUSK_CPU_SHARES_MIN ? "the least" : "the most", (long long)to);
			husk_cmd_warn(g, &w);
			v = to;
		}
		ro->cpu_shares = v;
		return 0;
	case HUSK_RF_PIDS_LIMIT:
		if (husk_int_parse(arg, INT64_MIN, INT64_MAX, &v, err) < 0)
			return husk_err_wrap(err, "--pids-limit %s", arg);
		/* as docker: 0 and -1 (any negative) for no limit */
		ro->pids_limit = v > 0 ? v : -1;
		return 0;
	case HUSK_RF_CAP_ADD:
	case HUSK_RF_CAP_DROP:
		if (husk_cap_parse(arg, &cap, &all, err) < 0)
			return husk_err_wrap(err, "%s %s", opt == HUSK_RF_CAP_ADD ? "--cap-add" : "--cap-drop", arg);
		if (opt == HUSK_RF_CAP_ADD) {
			ro->cap_add_all |= all;
			ro->cap_add |= all || cap >= 64 ? 0 : 1ull << cap;
		} else {
			ro->cap_drop_all |= all;
			ro->cap_drop |= all || cap >= 64 ? 0 : 1ull << cap;
		}
		return 0;
	case HUSK_RF_READ_ONLY: ro->read_only = true; return 0;
	case HUSK_RF_PRIVILEGED: ro->privileged = true; return 0;
	case HUSK_RF_SECURITY_OPT: return security_opt(ro, arg, err);
	case HUSK_RF_ENV_FILE: return read_kv_file("--env-file", arg, caller_env, &f->env_file, &f->n_env_file, err);
	case HUSK_RF_LABEL_FILE:
		return read_kv_file("--label-file", arg, NULL, &f->file_labels, &f->n_file_labels, err);
	case 'l':
		if (check_label(arg, err) < 0)
			return -1;
		f->labels = husk_xrealloc(f->labels, (f->n_labels + 1) * sizeof(char *));
		f->labels[f->n_labels++] = husk_xstrdup(arg);
		return 0;
	case HUSK_RF_INIT: f->init = true; return 0;
	case HUSK_RF_STOP_SIGNAL:
		ro->stop_signal = husk_signal_parse(arg);
		if (ro->stop_signal <= 0)
			return husk_err_set(err, 0, "--stop-signal %s: not a signal (a name as SIGTERM or TERM, or a "
					    "number)", arg);
		return 0;
	case HUSK_RF_STOP_TIMEOUT:
		if (husk_int_parse(arg, 0, INT_MAX, &v, err) < 0)
			return husk_err_wrap(err, "--stop-timeout %s: seconds", arg);
		ro->stop_timeout = (int)v;
		f->stop_timeout_given = true;
		return 0;
	case HUSK_RF_ULIMIT:
		f->ulimits = husk_xrealloc(f->ulimits, (f->n_ulimits + 1) * sizeof(*f->ulimits));
		if (husk_ulimit_parse(arg, &f->ulimits[f->n_ulimits], err) < 0)
			return husk_err_wrap(err, "--ulimit %s", arg);
		f->n_ulimits++;
		return 0;
	default:
		return husk_err_set(err, 0, "internal error: option %d is no run flag", opt);
	}
}

int husk_run_flag(struct husk_globals *g, struct husk_run_flags *f, struct husk_run_opts *ro, int opt, const char *arg)
{
	struct husk_err err = {0};

	if (parse_flag(g, f, ro, opt, arg, &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

/* docker's count (Go's runtime.NumCPU): the CPUs husk may run on */
static long usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

int husk_run_flags_finish(struct husk_globals *g, struct husk_run_flags *f, struct husk_run_opts *ro)
{
	struct husk_err err = {0};
	const char *init = getenv("HUSK_INIT");

	if (!f->stop_timeout_given)
		ro->stop_timeout = -1;
	ro->env_file = f->env_file;
	ro->n_env_file = f->n_env_file;
	/* docker: a --label overrides the same name from a --label-file */
	f->all_labels = husk_xcalloc(f->n_file_labels + f->n_labels + 1, sizeof(char *));
	memcpy(f->all_labels, f->file_labels, f->n_file_labels * sizeof(char *));
	memcpy(f->all_labels + f->n_file_labels, f->labels, f->n_labels * sizeof(char *));
	ro->labels = f->all_labels;
	ro->n_labels = f->n_file_labels + f->n_labels;
	ro->ulimits = f->ulimits;
	ro->n_ulimits = f->n_ulimits;
	if (f->init) {
		if (!init || !*init)
			init = HUSK_INIT_DEFAULT;
		if (access(init, X_OK) < 0) {
			husk_err_sys(&err, "--init runs catatonit as the container's PID 1, and %s is not there to run "
				     "(apt-get install catatonit, or HUSK_INIT=PATH for another)", init);
			return husk_cmd_fail(g, &err);
		}
		ro->init = init;
	}
	if (husk_run_flags_check(ro, usable_cpus(), &err) < 0)
		return husk_cmd_fail(g, &err);
	return 0;
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void husk_run_flags_free(struct husk_run_flags *f)
{
	free_strings(f->env_file, f->n_env_file);
	free_strings(f->file_labels, f->n_file_labels);
	free_strings(f->labels, f->n_labels);
	free(f->ulimits);
	free(f->all_labels);
	memset(f, 0, sizeof(*f));
}
