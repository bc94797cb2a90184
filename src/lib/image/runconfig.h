/* The OCI config `husk run` starts an image with: husk's hardened defaults, then the image's
 * config (Env, Entrypoint, Cmd, WorkingDir, User), then the command line's overrides. */
#ifndef HUSK_RUNCONFIG_H
#define HUSK_RUNCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../error.h"

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
};

/* image_config is the image's config blob (JSON); rootfd the container's root (the snapshot),
 * where the user's name is looked up in /etc/passwd and /etc/group. */
int husk_run_config(const struct husk_run_opts *o, const char *id, const char *image_config, int rootfd, json_t **out,
		    struct husk_err *err);

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
