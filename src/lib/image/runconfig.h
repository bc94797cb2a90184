/* The OCI config `husk run` starts an image with: husk's hardened defaults, then the image's
 * config (Env, Entrypoint, Cmd, WorkingDir, User), then the command line's overrides. */
#ifndef HUSK_RUNCONFIG_H
#define HUSK_RUNCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../error.h"

struct husk_ulimit {
	const char *type;            /* "RLIMIT_NOFILE" */
	uint64_t soft, hard;         /* UINT64_MAX: unlimited */
};

struct husk_run_opts {
	const char *image;
	char *const *cmd;            /* what follows the image on the command line */
	size_t n_cmd;
	const char *entrypoint;      /* --entrypoint ("" for none), or NULL: the image's */
	char *const *env;            /* -e K=V, or -e K to take the caller's K */
	size_t n_env;
	const char *workdir, *user, *hostname;
	bool tty;
	bool host_network;           /* --network host: no network namespace of its own */
	const char *hosts_file, *resolv_file; /* bind-mounted on /etc/hosts, /etc/resolv.conf (or NULL) */

	/* docker run's resource and security flags (runflags.h); all zero is husk's defaults */
	int64_t memory;              /* --memory in bytes, 0: no limit */
	int64_t memory_swap;         /* --memory-swap: memory+swap in bytes, -1 unlimited, 0: twice memory */
	int64_t nano_cpus;           /* --cpus x 1e9, 0: no quota */
	int64_t cpu_shares;          /* --cpu-shares, 0: the kernel's default */
	int64_t pids_limit;          /* --pids-limit, 0: none given, -1 unlimited */
	uint64_t cap_add, cap_drop;  /* bit N: capability N */
	bool cap_add_all, cap_drop_all; /* --cap-add ALL, --cap-drop ALL */
	bool read_only;              /* --read-only */
	bool privileged;             /* --privileged */
	int no_new_privileges;       /* --security-opt no-new-privileges: 0 husk's default (on), 1 on, -1 off */
	bool seccomp_unconfined;     /* --security-opt seccomp=unconfined */
	bool systempaths_unconfined; /* --security-opt systempaths=unconfined */
	char *const *env_file;       /* --env-file's KEY=VALUE lines, applied before -e */
	size_t n_env_file;
	char *const *labels;         /* --label-file, then --label: KEY=VALUE (annotations; later wins) */
	size_t n_labels;
	const struct husk_ulimit *ulimits; /* --ulimit, replacing husk's default for their type */
	size_t n_ulimits;
	const char *init;            /* --init: the host's catatonit, bound read-only on /dev/init, or NULL */
	int stop_signal;             /* --stop-signal, 0: the image's (husk_image_stop_signal) or SIGTERM */
	int stop_timeout;            /* --stop-timeout in seconds, -1: not given */
};


/* image_config is the image's config blob (JSON); rootfd the container's root (the snapshot),
 * where the user's name is looked up in /etc/passwd and /etc/group. */
int husk_run_config(const struct husk_run_opts *o, const char *id, const char *image_config, int rootfd, json_t **out,
		    struct husk_err *err);

/* The image config's StopSignal (a name or number) in *sig, 0 if it has none. */
int husk_image_stop_signal(const char *image_config, int *sig, struct husk_err *err);

struct husk_user {
	unsigned uid, gid;
	unsigned *groups;            /* additional groups */
	size_t n_groups;
	char *home;
};
/* "name", "uid", "name:group", "uid:gid" against passwd and group file contents (either may be
 * NULL when the image has none). */
int husk_user_resolve(const char *spec, const char *passwd, const char *group, struct husk_user *u, struct husk_err *err);
void husk_user_free(struct husk_user *u);

#endif
