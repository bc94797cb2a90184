/* The engine's look-into verbs on a running container: husk exec (another process in it, as
 * the container's own user, env and cwd by default), husk stats (a sample of its cgroup and
 * network counters), husk system df (what the store holds). The commands print; these only
 * gather. */
#ifndef HUSK_ENGINE_VERBS_H
#define HUSK_ENGINE_VERBS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

struct husk_engine_exec {
	char *const *cmd;            /* the program and its arguments */
	size_t n_cmd;
	char *const *env;            /* K=V, over the container's own env */
	size_t n_env;
	const char *user;            /* USER[:GROUP] (names looked up in the container), or NULL */
	const char *workdir;         /* absolute, or NULL: the container's */
	bool tty;                    /* a pty: its master comes back in *terminal_fd */
	bool privileged;             /* every capability (docker exec --privileged) */
};

/* Start cmd in container id (running: the caller has checked), husk's child. The process
 * starts from the container's config.json process: env (+ o->env), cwd, user; -u's names are
 * resolved in the container's /etc/passwd and /etc/group. A program that cannot be run fails
 * here with the exec's errno (husk_start_failure_code maps it to 126/127). */
int husk_engine_exec(const struct husk_engine *e, const char *id, const struct husk_engine_exec *o, pid_t *pid,
		     int *terminal_fd, struct husk_err *err);

/* One sample of a container's counters (docker stats): everything is cumulative but the
 * memory and pids, so the rates come from two samples. */
struct husk_engine_stats {
	bool running;
	uint64_t cpu_ns;             /* the cgroup's CPU time */
	uint64_t system_ns;          /* the host's CPU time (/proc/stat, all CPUs), for docker's CPU % */
	unsigned online_cpus;
	uint64_t mem_usage;          /* without the inactive page cache, as docker counts it */
	uint64_t mem_limit;          /* the cgroup's limit, at most the host's memory */
	uint64_t net_rx, net_tx;     /* every interface of its network namespace but lo */
	uint64_t blk_read, blk_write;
	uint64_t pids;
};
int husk_engine_stats_sample(const struct husk_engine *e, const char *id, struct husk_engine_stats *s,
			     struct husk_err *err);
/* docker's CPU %: the container's share of the host's CPU time between two samples, times the
 * CPUs online (so one busy CPU of four is 100%). */
double husk_engine_cpu_percent(const struct husk_engine_stats *prev, const struct husk_engine_stats *now);

/* The bytes of the files under dir (each inode once), not following symlinks or crossing mounts:
 * a container's writable layer (its snapshot's upper). A missing dir is 0. */
int husk_dir_size(const char *dir, uint64_t *size, struct husk_err *err);

#endif
