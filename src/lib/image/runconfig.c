#define _GNU_SOURCE
#include "runconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../defaults.h"
#include "../inroot.h"
#include "../names.h"
#include "../util.h"
#include "runflags.h"

static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX - 1)
		return false;
	*out = (unsigned)v;
	return true;
}

/* field n (0-based) of a colon-separated line, copied into out */
static bool field(const char *line, int n, char *out, size_t len)
{
	const char *p = line;

	for (int i = 0; i < n; i++) {
		p = strchr(p, ':');
		if (!p)
			return false;
		p++;
	}
	size_t l = strcspn(p, ":\n");
	if (l >= len)
		return false;
	memcpy(out, p, l);
	out[l] = '\0';
	return true;
}

/* the line whose field 0 (by name) or field 2 (by id) matches */
static const char *find_entry(const char *file, const char *name, bool by_id, unsigned id)
{
	for (const char *line = file; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char f[256];
		unsigned v;
		if (*line == '#' || *line == '\n')
			continue;
		if (by_id) {
			if (field(line, 2, f, sizeof(f)) && parse_id(f, &v) && v == id)
				return line;
		} else if (field(line, 0, f, sizeof(f)) && strcmp(f, name) == 0) {
			return line;
		}
	}
	return NULL;
}

int husk_user_resolve(const char *spec, const char *passwd, const char *group, struct husk_user *u, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(spec);
	char *user = copy, *grp = strchr(copy, ':'), f[PATH_MAX];
	const char *line;
	bool numeric;

	memset(u, 0, sizeof(*u));
	if (grp)
		*grp++ = '\0';
	if (!*user)
		return husk_err_set(err, EINVAL, "user \"%s\": no user before the colon", spec);
	numeric = parse_id(user, &u->uid);
	line = passwd ? find_entry(passwd, user, numeric, u->uid) : NULL;
	if (!line && !numeric)
		return husk_err_set(err, ENOENT, "user %s is not in the image's /etc/passwd", user);
	if (line) {
		if (!field(line, 2, f, sizeof(f)) || !parse_id(f, &u->uid) || !field(line, 3, f, sizeof(f)) ||
		    !parse_id(f, &u->gid))
			return husk_err_set(err, EINVAL, "user %s: a malformed line in the image's /etc/passwd", user);
		if (field(line, 5, f, sizeof(f)) && f[0] == '/')
			u->home = husk_xstrdup(f);
	}
	if (grp) {
		if (!parse_id(grp, &u->gid)) {
			const char *g = group ? find_entry(group, grp, false, 0) : NULL;
			if (!g || !field(g, 2, f, sizeof(f)) || !parse_id(f, &u->gid)) {
				free(u->home);
				u->home = NULL;
				return husk_err_set(err, ENOENT, "group %s is not in the image's /etc/group", grp);
			}
		}
	} else if (line && group) {
		/* a named user also gets the groups that list it as a member, as login does */
		char name[256];
		field(line, 0, name, sizeof(name));
		for (const char *g = group; g && *g; g = strchr(g, '\n') ? strchr(g, '\n') + 1 : NULL) {
			char members[4096], gid[32];
			unsigned v;
			if (!field(g, 3, members, sizeof(members)) || !field(g, 2, gid, sizeof(gid)) || !parse_id(gid, &v))
				continue;
			for (char *save = NULL, *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
				if (strcmp(m, name) == 0 && v != u->gid) {
					u->groups = husk_xrealloc(u->groups, (u->n_groups + 1) * sizeof(unsigned));
					u->groups[u->n_groups++] = v;
				}
			}
		}
	}
	if (!u->home)
		u->home = husk_xstrdup("/");
	return 0;
}

void husk_user_free(struct husk_user *u)
{
	free(u->groups);
	free(u->home);
	memset(u, 0, sizeof(*u));
}

static char *read_in_root(int rootfd, const char *path)
{
	_cleanup_close_ int fd = husk_open_in_root(rootfd, path, O_RDONLY, NULL);
	char *text = NULL;

	if (fd < 0 || husk_read_fd(fd, &text, NULL) < 0)
		return NULL;
	return text;
}

static json_t *find_env(json_t *env, const char *key, size_t keylen, size_t *index)
{
	json_t *v;
	size_t i;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (strncmp(s, key, keylen) == 0 && s[keylen] == '=') {
			*index = i;
			return v;
		}
	}
	return NULL;
}

static void set_env(json_t *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t i;

	if (find_env(env, kv, (size_t)(eq - kv), &i))
		json_array_set_new(env, i, json_string(kv));
	else
		json_array_append_new(env, json_string(kv));
}

static int strings_from(json_t *array, json_t *into, const char *what, struct husk_err *err)
{
	json_t *v;
	size_t i;

	if (!array || json_is_null(array))
		return 0;
	if (!json_is_array(array))
		return husk_err_set(err, EINVAL, "image config: %s must be an array of strings", what);
	json_array_foreach(array, i, v) {
		if (!json_is_string(v))
			return husk_err_set(err, EINVAL, "image config: %s must be an array of strings", what);
		json_array_append(into, v);
	}
	return 0;
}

/* The container's labels, as docker makes them: the image's Labels, then --label-file and
 * --label (KEY=VALUE, a bare KEY for an empty value), later ones winning; all in the config's
 * annotations, where husk's own org.opencontainers.image.ref.name has the last word. */
static int set_labels(const struct husk_run_opts *o, json_t *cfg, json_t *spec, struct husk_err *err)
{
	json_t *labels = json_object_get(cfg, "Labels"), *annotations = json_object(), *v;
	const char *key;

	json_object_set_new(spec, "annotations", annotations);
	if (labels && !json_is_null(labels) && !json_is_object(labels))
		return husk_err_set(err, EINVAL, "image config: Labels must be an object of strings");
	json_object_foreach(labels, key, v) {
		if (!json_is_string(v))
			return husk_err_set(err, EINVAL, "image config: label \"%s\" is not a string", key);
		json_object_set(annotations, key, v);
	}
	for (size_t i = 0; i < o->n_labels; i++) {
		const char *kv = o->labels[i], *eq = strchr(kv, '=');
		_cleanup_free_ char *k = eq ? husk_xasprintf("%.*s", (int)(eq - kv), kv) : husk_xstrdup(kv);
		if (!*k)
			return husk_err_set(err, 0, "label \"%s\": no name before the =", kv);
		json_object_set_new(annotations, k, json_string(eq ? eq + 1 : ""));
	}
	json_object_set_new(annotations, "org.opencontainers.image.ref.name", json_string(o->image));
	return 0;
}

int husk_image_stop_signal(const char *image_config, int *sig, struct husk_err *err)
{
	json_error_t jerr;
	json_t *image = json_loads(image_config, 0, &jerr), *v;
	int rc = 0;

	*sig = 0;
	if (!image)
		return husk_err_set(err, EINVAL, "image config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	v = json_object_get(json_object_get(image, "config"), "StopSignal");
	if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v))) {
		if (!json_is_string(v) || (*sig = husk_signal_parse(json_string_value(v))) <= 0) {
			*sig = 0;
			rc = husk_err_set(err, EINVAL, "image config: StopSignal %s is not a signal",
					  json_is_string(v) ? json_string_value(v) : "(not a string)");
		}
	}
	json_decref(image);
	return rc;
}

int husk_run_config(const struct husk_run_opts *o, const char *id, const char *image_config, int rootfd, json_t **out,
		    struct husk_err *err)
{
	json_error_t jerr;
	json_t *image = json_loads(image_config, 0, &jerr), *cfg, *spec = NULL, *process, *args, *env;
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	struct husk_user user = {0};
	const char *workdir, *user_spec;
	size_t i;
	int ret = -1;

	if (!image)
		return husk_err_set(err, EINVAL, "image config: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	cfg = json_object_get(image, "config");
	spec = husk_spec_default(false);
	process = json_object_get(spec, "process");
	args = json_array();
	env = json_array();
	json_object_set_new(process, "args", args);

	/* as docker: --entrypoint replaces the image's and drops its Cmd */
	if (o->entrypoint) {
		if (*o->entrypoint)
			json_array_append_new(args, json_string(o->entrypoint));
	} else if (strings_from(json_object_get(cfg, "Entrypoint"), args, "Entrypoint", err) < 0) {
		goto out;
	}
	if (o->n_cmd) {
		for (i = 0; i < o->n_cmd; i++)
			json_array_append_new(args, json_string(o->cmd[i]));
	} else if (!o->entrypoint && strings_from(json_object_get(cfg, "Cmd"), args, "Cmd", err) < 0) {
		goto out;
	}
	if (json_array_size(args) == 0) {
		husk_err_set(err, EINVAL, "image %s has no Entrypoint or Cmd: give a command after the image name", o->image);
		goto out;
	}

	if (strings_from(json_object_get(cfg, "Env"), env, "Env", err) < 0)
		goto out;
	json_t *entry;
	json_array_foreach(env, i, entry) {
		if (!strchr(json_string_value(entry), '=')) {
			husk_err_set(err, EINVAL, "image config: Env entry \"%s\" is not KEY=VALUE", json_string_value(entry));
			goto out;
		}
	}
	/* as docker: --env-file first, so that -e overrides it */
	for (i = 0; i < o->n_env_file; i++)
		set_env(env, o->env_file[i]);
	for (i = 0; i < o->n_env; i++) {
		const char *kv = o->env[i];
		if (!*kv || *kv == '=') {
			husk_err_set(err, EINVAL, "-e \"%s\": no variable name", kv);
			goto out;
		}
		if (strchr(kv, '=')) {
			set_env(env, kv);
		} else if (getenv(kv)) {
			_cleanup_free_ char *from_caller = husk_xasprintf("%s=%s", kv, getenv(kv));
			set_env(env, from_caller);
		}
	}
	size_t at;
	if (!find_env(env, "PATH", 4, &at))
		set_env(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	if (o->tty && !find_env(env, "TERM", 4, &at))
		set_env(env, "TERM=xterm");

	user_spec = o->user ? o->user : json_string_value(json_object_get(cfg, "User"));
	passwd = read_in_root(rootfd, "/etc/passwd");
	group = read_in_root(rootfd, "/etc/group");
	if (husk_user_resolve(user_spec && *user_spec ? user_spec : "0", passwd, group, &user, err) < 0)
		goto out;
	json_t *jgroups = json_array();
	for (i = 0; i < user.n_groups; i++)
		json_array_append_new(jgroups, json_integer(user.groups[i]));
	json_object_set_new(process, "user", json_pack("{s:i, s:i, s:o}", "uid", (int)user.uid, "gid", (int)user.gid,
							"additionalGids", jgroups));
	if (!find_env(env, "HOME", 4, &at)) {
		_cleanup_free_ char *home = husk_xasprintf("HOME=%s", user.home);
		set_env(env, home);
	}
	if (o->hostname) {
		_cleanup_free_ char *hostname = husk_xasprintf("HOSTNAME=%s", o->hostname);
		set_env(env, hostname);
	}
	json_object_set_new(process, "env", env);
	env = NULL;

	workdir = o->workdir ? o->workdir : json_string_value(json_object_get(cfg, "WorkingDir"));
	if (!workdir || !*workdir)
		workdir = "/";
	if (workdir[0] != '/') {
		husk_err_set(err, EINVAL, "working directory \"%s\" is not absolute", workdir);
		goto out;
	}
	json_object_set_new(process, "cwd", json_string(workdir));
	json_object_set_new(process, "terminal", json_boolean(o->tty));
	json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", "rootfs", "readonly", 0));
	if (o->hostname) {
		json_object_set_new(spec, "hostname", json_string(o->hostname));
	} else {
		char short_id[13];
		snprintf(short_id, sizeof(short_id), "%.12s", id);
		json_object_set_new(spec, "hostname", json_string(short_id));
	}
	if (o->host_network) {
		json_t *nss = json_object_get(json_object_get(spec, "linux"), "namespaces"), *ns;
		size_t i;
		json_array_foreach(nss, i, ns)
			if (strcmp(json_string_value(json_object_get(ns, "type")), "network") == 0) {
				json_array_remove(nss, i);
				break;
			}
	}
	json_t *mounts = json_object_get(spec, "mounts");
	const char *const files[][2] = {{o->hosts_file, "/etc/hosts"}, {o->resolv_file, "/etc/resolv.conf"}};
	for (i = 0; i < 2; i++)
		if (files[i][0])
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", files[i][1],
								"type", "bind", "source", files[i][0], "options", "rbind",
								"rw", "nosuid", "nodev"));
	if (set_labels(o, cfg, spec, err) < 0 || husk_run_flags_apply(o, spec, err) < 0)
		goto out;
	*out = spec;
	spec = NULL;
	ret = 0;
out:
	husk_user_free(&user);
	json_decref(env);
	json_decref(spec);
	json_decref(image);
	return ret;
}
