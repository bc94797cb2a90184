#define _GNU_SOURCE
#include "volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../inroot.h"
#include "../util.h"
#include "cp.h"
#include "engine.h"
#include "record.h"

/* ---- parsing: pure, unit-tested (tests/unit/test_volumes.c) ---- */

void husk_mount_spec_free(struct husk_mount_spec *m)
{
	free(m->source);
	free(m->target);
	free(m->tmpfs_options);
	memset(m, 0, sizeof(*m));
}

int husk_mount_target_check(const char *target, const char *what, struct husk_err *err)
{
	if (!target || !*target)
		return husk_err_set(err, EINVAL, "%s: no target path in the container", what);
	if (target[0] != '/')
		return husk_err_set(err, EINVAL, "%s: the target \"%s\" is not an absolute path", what, target);
	/* ".." would name a place other than the one written; docker refuses it too */
	for (const char *p = target; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return husk_err_set(err, EINVAL, "%s: the target \"%s\" has a \"..\" component", what, target);
	if (target[strspn(target, "/")] == '\0')
		return husk_err_set(err, EINVAL, "%s: a volume cannot be mounted on / (the container's root)", what);
	return 0;
}

int husk_volume_name_check(const char *name, struct husk_err *err)
{
	size_t n = strlen(name);

	if (strchr(name, '/'))
		return husk_err_set(err, EINVAL,
				    "volume name \"%s\": a name cannot contain \"/\" (a host path must be absolute)", name);
	if (n < 2 || n > 255 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]) ||
	    name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")])
		return husk_err_set(err, EINVAL,
				    "volume name \"%s\": names are [a-zA-Z0-9][a-zA-Z0-9_.-]+ (a host path must be absolute)",
				    name);
	return 0;
}

static const char *const propagations[] = {"private", "rprivate", "rshared", "rslave", "shared", "slave"};

static const char *find_propagation(const char *s, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
		if (strlen(propagations[i]) == len && strncmp(propagations[i], s, len) == 0)
			return propagations[i];
	return NULL;
}

/* the OPTIONS of -v: ro|rw, z|Z, a propagation, nocopy; each at most once */
static int parse_v_options(const char *text, const char *opts, struct husk_mount_spec *m, struct husk_err *err)
{
	bool seen_rw = false;

	for (const char *p = opts; *p;) {
		size_t len = strcspn(p, ",");
		const char *prop = find_propagation(p, len);
		if ((len == 2 && (strncmp(p, "ro", 2) == 0 || strncmp(p, "rw", 2) == 0))) {
			if (seen_rw)
				return husk_err_set(err, EINVAL, "-v %s: ro and rw given twice", text);
			seen_rw = true;
			m->readonly = p[1] == 'o';
		} else if (len == 1 && (*p == 'z' || *p == 'Z')) {
			if (m->relabel)
				return husk_err_set(err, EINVAL, "-v %s: z or Z given twice", text);
			m->relabel = *p;
		} else if (prop) {
			if (m->propagation)
				return husk_err_set(err, EINVAL, "-v %s: two propagations", text);
			m->propagation = prop;
		} else if (len == 6 && strncmp(p, "nocopy", 6) == 0) {
			m->nocopy = true;
		} else {
			return husk_err_set(err, EINVAL,
					    "-v %s: unknown option \"%.*s\" (ro, rw, z, Z, nocopy, [r]shared, [r]slave, [r]private)",
					    text, (int)len, p);
		}
		p += len;
		if (*p == ',' && *++p == '\0')
			return husk_err_set(err, EINVAL, "-v %s: an empty option after the last comma", text);
	}
	return 0;
}

int husk_mount_parse_volume(const char *text, struct husk_mount_spec *m, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(text);
	char *parts[4] = {0};
	size_t n = 0;
	const char *source = NULL, *target, *opts = NULL;

	memset(m, 0, sizeof(*m));
	for (char *p = copy; n < 4; n++) {
		parts[n] = p;
		if (!(p = strchr(p, ':'))) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n > 3)
		return husk_err_set(err, EINVAL, "-v %s: too many colons (SOURCE:TARGET[:OPTIONS])", text);
	if (n == 1) {
		target = parts[0];
	} else if (n == 2 && parts[1][0] != '/' && parts[0][0] == '/' && parse_v_options(text, parts[1], m, NULL) == 0) {
		/* "/data:ro": an anonymous volume with options, as docker reads it ("/x:data" is not:
		 * data is no option, so it is a relative target, refused below) */
		memset(m, 0, sizeof(*m));
		target = parts[0];
		opts = parts[1];
	} else {
		source = parts[0];
		target = parts[1];
		opts = n == 3 ? parts[2] : NULL;
	}
	if (source && !*source)
		return husk_err_set(err, EINVAL, "-v %s: an empty source before the colon", text);
	_cleanup_free_ char *what = husk_xasprintf("-v %s", text);
	if (husk_mount_target_check(target, what, err) < 0)
		return -1;
	if (opts && parse_v_options(text, opts, m, err) < 0)
		return -1;
	if (source && source[0] == '/') {
		m->type = HUSK_MOUNT_BIND;
		m->create_source = true;
		if (m->nocopy)
			return husk_err_set(err, EINVAL, "-v %s: nocopy is for volumes, not host paths", text);
	} else {
		m->type = HUSK_MOUNT_VOLUME;
		if (source && husk_volume_name_check(source, err) < 0)
			return husk_err_wrap(err, "-v %s", text);
		if (m->propagation)
			return husk_err_set(err, EINVAL, "-v %s: a propagation is for host paths, not volumes", text);
	}
	m->source = source ? husk_xstrdup(source) : NULL;
	m->target = husk_xstrdup(target);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true"}, *const no[] = {"0", "false"};

	if (!v) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(v, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(v, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

/* a size as docker writes it (10m, 64k, 1g, bytes) → bytes, -1 if it is none */
static long long parse_size(const char *text)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || v < 0)
		return -1;
	static const struct { char c; long long mult; } units[] = {{'b', 1}, {'g', 1LL << 30}, {'k', 1 << 10}, {'m', 1 << 20}};
	if (*end) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(units); i++)
			if ((*end | 0x20) == units[i].c)
				break;
		if (i == ARRAY_SIZE(units) || end[1])
			return -1;
		v *= units[i].mult;
	}
	return v;
}

enum mount_key { K_TYPE, K_SOURCE, K_TARGET, K_READONLY, K_PROPAGATION, K_NOCOPY, K_TMPFS_SIZE, K_TMPFS_MODE,
		 K_CONSISTENCY, K_BIND_NONRECURSIVE };

/* docker's --mount keys, sorted */
static const struct { const char *name; enum mount_key key; } mount_keys[] = {
	{"bind-nonrecursive", K_BIND_NONRECURSIVE}, {"bind-propagation", K_PROPAGATION}, {"consistency", K_CONSISTENCY},
	{"destination", K_TARGET}, {"dst", K_TARGET}, {"readonly", K_READONLY}, {"ro", K_READONLY},
	{"source", K_SOURCE}, {"src", K_SOURCE}, {"target", K_TARGET}, {"tmpfs-mode", K_TMPFS_MODE},
	{"tmpfs-size", K_TMPFS_SIZE}, {"type", K_TYPE}, {"volume-nocopy", K_NOCOPY},
};

int husk_mount_parse_mount(const char *text, struct husk_mount_spec *m, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(text);
	const char *type = "volume", *source = NULL, *target = NULL;
	long long size = -1;
	long mode = -1;
	bool nonrecursive = false;
	char *save = NULL;

	memset(m, 0, sizeof(*m));
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		size_t i;
		bool b;
		if (v)
			*v++ = '\0';
		for (i = 0; i < ARRAY_SIZE(mount_keys); i++)
			if (strcmp(mount_keys[i].name, kv) == 0)
				break;
		if (i == ARRAY_SIZE(mount_keys))
			return husk_err_set(err, EINVAL,
					    "--mount %s: unknown key \"%s\" (type, source, target, readonly, bind-propagation, "
					    "volume-nocopy, tmpfs-size, tmpfs-mode)", text, kv);
		enum mount_key key = mount_keys[i].key;
		if (!v && key != K_READONLY && key != K_NOCOPY && key != K_BIND_NONRECURSIVE)
			return husk_err_set(err, EINVAL, "--mount %s: \"%s\" needs a value (%s=...)", text, kv, kv);
		switch (key) {
		case K_TYPE: type = v; break;
		case K_SOURCE: source = v; break;
		case K_TARGET: target = v; break;
		case K_CONSISTENCY: break;  /* docker for Mac's; nothing on Linux */
		case K_READONLY: case K_NOCOPY: case K_BIND_NONRECURSIVE:
			if (parse_bool(v, &b) < 0)
				return husk_err_set(err, EINVAL, "--mount %s: %s=%s: true or false", text, kv, v);
			if (key == K_READONLY)
				m->readonly = b;
			else if (key == K_NOCOPY)
				m->nocopy = b;
			else
				nonrecursive = b;
			break;
		case K_PROPAGATION:
			if (!(m->propagation = find_propagation(v, strlen(v))))
				return husk_err_set(err, EINVAL, "--mount %s: bind-propagation=%s: one of [r]shared, [r]slave, [r]private",
						    text, v);
			break;
		case K_TMPFS_SIZE:
			if ((size = parse_size(v)) <= 0)
				return husk_err_set(err, EINVAL, "--mount %s: tmpfs-size=%s: a size such as 64m", text, v);
			break;
		case K_TMPFS_MODE: {
			char *end;
			mode = strtol(v, &end, 8);
			if (*end || end == v || mode < 0 || mode > 07777)
				return husk_err_set(err, EINVAL, "--mount %s: tmpfs-mode=%s: an octal mode such as 1777", text, v);
			break;
		}
		}
	}
	static const struct { const char *name; enum husk_mount_type type; } types[] = {
		{"bind", HUSK_MOUNT_BIND}, {"tmpfs", HUSK_MOUNT_TMPFS}, {"volume", HUSK_MOUNT_VOLUME},
	};
	size_t t;
	for (t = 0; t < ARRAY_SIZE(types); t++)
		if (strcmp(types[t].name, type) == 0)
			break;
	if (t == ARRAY_SIZE(types))
		return husk_err_set(err, EINVAL, "--mount %s: type=%s: one of bind, volume, tmpfs", text, type);
	m->type = types[t].type;
	_cleanup_free_ char *what = husk_xasprintf("--mount %s", text);
	if (husk_mount_target_check(target, what, err) < 0)
		return -1;
	if (source && !*source)
		source = NULL;
	if (m->type == HUSK_MOUNT_BIND) {
		if (!source || source[0] != '/')
			return husk_err_set(err, EINVAL, "--mount %s: a bind mount needs an absolute source=", text);
		if (nonrecursive)
			return husk_err_set(err, EINVAL, "--mount %s: bind-nonrecursive is not supported by husk", text);
	} else if (m->propagation) {
		return husk_err_set(err, EINVAL, "--mount %s: bind-propagation is for type=bind", text);
	}
	if (m->type == HUSK_MOUNT_VOLUME && source && husk_volume_name_check(source, err) < 0)
		return husk_err_wrap(err, "--mount %s", text);
	if (m->type != HUSK_MOUNT_VOLUME && m->nocopy)
		return husk_err_set(err, EINVAL, "--mount %s: volume-nocopy is for type=volume", text);
	if (m->type == HUSK_MOUNT_TMPFS) {
		if (source)
			return husk_err_set(err, EINVAL, "--mount %s: a tmpfs has no source", text);
		m->tmpfs_options = size > 0 && mode >= 0 ? husk_xasprintf("size=%lld,mode=%lo", size, mode)
				 : size > 0	       ? husk_xasprintf("size=%lld", size)
				 : mode >= 0	       ? husk_xasprintf("mode=%lo", mode)
						       : NULL;
	} else if (size > 0 || mode >= 0) {
		return husk_err_set(err, EINVAL, "--mount %s: tmpfs-size and tmpfs-mode are for type=tmpfs", text);
	}
	m->source = source ? husk_xstrdup(source) : NULL;
	m->target = husk_xstrdup(target);
	return 0;
}

/* --tmpfs options husk passes to the kernel: tmpfs's own and the generic flags, nothing that
 * could name a host path */
static const char *const tmpfs_flags[] = {"dev", "exec", "noatime", "nodev", "noexec", "nosuid", "ro", "rw", "suid"};
static const char *const tmpfs_keys[] = {"gid=", "mode=", "nr_blocks=", "nr_inodes=", "size=", "uid="};

int husk_mount_parse_tmpfs(const char *text, struct husk_mount_spec *m, struct husk_err *err)
{
	const char *colon = strchr(text, ':');
	_cleanup_free_ char *target = colon ? strndup(text, (size_t)(colon - text)) : husk_xstrdup(text);

	memset(m, 0, sizeof(*m));
	m->type = HUSK_MOUNT_TMPFS;
	_cleanup_free_ char *what = husk_xasprintf("--tmpfs %s", text);
	if (husk_mount_target_check(target, what, err) < 0)
		return -1;
	if (colon) {
		for (const char *p = colon + 1; *p;) {
			size_t len = strcspn(p, ","), i;
			bool ok = false;
			for (i = 0; i < ARRAY_SIZE(tmpfs_flags) && !ok; i++)
				ok = strlen(tmpfs_flags[i]) == len && strncmp(p, tmpfs_flags[i], len) == 0;
			for (i = 0; i < ARRAY_SIZE(tmpfs_keys) && !ok; i++)
				ok = strncmp(p, tmpfs_keys[i], strlen(tmpfs_keys[i])) == 0 && len > strlen(tmpfs_keys[i]);
			if (!ok)
				return husk_err_set(err, EINVAL,
						    "--tmpfs %s: unknown option \"%.*s\" (size=, mode=, uid=, gid=, nr_inodes=, "
						    "ro, noexec, nosuid, nodev, ...)", text, (int)len, p);
			if (len == 2 && strncmp(p, "ro", 2) == 0)
				m->readonly = true;
			p += len;
			if (*p == ',')
				p++;
		}
		if (colon[1])
			m->tmpfs_options = husk_xstrdup(colon + 1);
	}
	m->target = steal_pointer(&target);
	return 0;
}

/* ---- the store ---- */

static char *volume_path(const char *storage, const char *name, const char *file)
{
	return file ? husk_xasprintf("%s/volumes/%s/%s", storage, name, file) : husk_xasprintf("%s/volumes/%s", storage, name);
}

int husk_volume_load(const char *storage, const char *name, json_t **rec, struct husk_err *err)
{
	_cleanup_free_ char *path = NULL;
	json_error_t jerr;

	if (husk_volume_name_check(name, err) < 0)
		return -1;
	path = volume_path(storage, name, "volume.json");
	*rec = json_load_file(path, 0, &jerr);
	if (!*rec) {
		_cleanup_free_ char *dir = volume_path(storage, name, NULL);
		if (access(dir, F_OK) < 0)
			return husk_err_set(err, ENOENT, "no such volume: %s", name);
		return husk_err_set(err, EINVAL, "volume %s: %s: %s", name, path, jerr.text);
	}
	return 0;
}

static void random_name(char name[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (unsigned char)(husk_now_ns() >> (i % 8)) ^ (unsigned char)(i * 37);
	for (size_t i = 0; i < sizeof(raw); i++) {
		name[2 * i] = hex[raw[i] >> 4];
		name[2 * i + 1] = hex[raw[i] & 15];
	}
	name[64] = '\0';
}

static int existing(const char *storage, const char *name, json_t **rec, struct husk_err *err)
{
	json_t *r;

	if (husk_volume_load(storage, name, &r, err) < 0)
		return -1;
	if (rec)
		*rec = r;
	else
		json_decref(r);
	return 0;
}

int husk_volume_create(const char *storage, const char *name, json_t *labels, json_t *opts, bool anonymous,
		       json_t **rec, bool *made, struct husk_err *err)
{
	_cleanup_free_ char *top = husk_xasprintf("%s/volumes", storage), *dir = NULL, *data = NULL;
	_cleanup_free_ char *tmp = NULL, *tmp_data = NULL, *tmp_file = NULL;
	_cleanup_free_ char *created = husk_time_format(husk_realtime_ns()), *text = NULL;
	char generated[65], tmpname[65];
	json_t *r;

	if (made)
		*made = false;
	if (!name) {
		random_name(generated);
		name = generated;
	} else if (husk_volume_name_check(name, err) < 0) {
		return -1;
	}
	if (husk_mkdir_p(top, 0700, err) < 0)
		return -1;
	dir = volume_path(storage, name, NULL);
	/* an existing volume is used as it is */
	if (access(dir, F_OK) == 0)
		return existing(storage, name, rec, err);
	/* made whole under a temporary name, then renamed into place: a volume is never seen
	 * without its record, and of two creators of one name the rename decides */
	random_name(tmpname);
	tmp = husk_xasprintf("%s/.new-%.16s", top, tmpname);
	tmp_data = husk_xasprintf("%s/_data", tmp);
	tmp_file = husk_xasprintf("%s/volume.json", tmp);
	data = volume_path(storage, name, "_data");
	if (mkdir(tmp, 0755) < 0 || mkdir(tmp_data, 0755) < 0) {
		husk_err_sys(err, "create volume %s: mkdir %s", name, tmp_data);
		rmdir(tmp);
		return -1;
	}
	r = json_object();
	json_object_set_new(r, "CreatedAt", json_string(created));
	json_object_set_new(r, "Driver", json_string("local"));
	json_object_set_new(r, "Labels", json_is_object(labels) ? json_deep_copy(labels) : json_object());
	json_object_set_new(r, "Mountpoint", json_string(data));
	json_object_set_new(r, "Name", json_string(name));
	json_object_set_new(r, "Options", json_is_object(opts) ? json_deep_copy(opts) : json_object());
	json_object_set_new(r, "Scope", json_string("local"));
	json_object_set_new(r, "Anonymous", json_boolean(anonymous));
	if (anonymous)
		/* docker 23+ marks them so; prune without --all removes only these */
		json_object_set_new(json_object_get(r, "Labels"), "com.docker.volume.anonymous", json_string(""));
	text = json_dumps(r, JSON_INDENT(4));
	if (husk_write_file_atomic(tmp_file, text, strlen(text), 0600, err) < 0) {
		json_decref(r);
		husk_rmtree_at(AT_FDCWD, tmp, NULL);
		return -1;
	}
	if (rename(tmp, dir) < 0) {
		int e = errno;
		json_decref(r);
		husk_rmtree_at(AT_FDCWD, tmp, NULL);
		if (e == EEXIST || e == ENOTEMPTY)
			return existing(storage, name, rec, err);
		errno = e;
		return husk_err_sys(err, "create volume %s: rename %s to %s", name, tmp, dir);
	}
	if (made)
		*made = true;
	if (rec)
		*rec = r;
	else
		json_decref(r);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_volume_list(const char *storage, char ***names, size_t *n, struct husk_err *err)
{
	_cleanup_free_ char *top = husk_xasprintf("%s/volumes", storage);
	DIR *d = opendir(top);
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : husk_err_sys(err, "read %s", top);
	while ((de = readdir(d))) {
		/* ".rm-*": a removal under way */
		if (de->d_name[0] == '.' || husk_volume_name_check(de->d_name, NULL) < 0)
			continue;
		*names = husk_xrealloc(*names, (*n + 1) * sizeof(char *));
		(*names)[(*n)++] = husk_xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof(char *), by_name);
	return 0;
}

void husk_volume_list_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool record_mounts(json_t *rec, const char *name)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(rec, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type")), *n = json_string_value(json_object_get(m, "Name"));
		if (type && strcmp(type, "volume") == 0 && n && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

char *husk_volume_users(const struct husk_engine *e, const char *name)
{
	char **ids = NULL, *out = NULL;
	size_t n = 0;
	struct husk_err ignored = {0};

	if (husk_record_list(e, &ids, &n, &ignored) < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *rec = NULL;
		if (husk_record_load(e, ids[i], &rec, &ignored) < 0)
			continue;
		if (record_mounts(rec, name)) {
			const char *cname = json_string_value(json_object_get(rec, "Name"));
			char *more = husk_xasprintf("%s%s%s (%.12s)", out ? out : "", out ? ", " : "",
						    cname ? cname + (*cname == '/') : "?", ids[i]);
			free(out);
			out = more;
		}
		json_decref(rec);
	}
	husk_record_list_free(ids, n);
	return out;
}

int husk_volume_remove(const struct husk_engine *e, const char *name, struct husk_err *err)
{
	_cleanup_free_ char *users = NULL, *dir = NULL, *gone = NULL;
	json_t *rec = NULL;
	char suffix[65];

	if (husk_volume_load(e->storage, name, &rec, err) < 0)
		return -1;
	json_decref(rec);
	users = husk_volume_users(e, name);
	if (users)
		return husk_err_set(err, EBUSY, "volume %s is in use by container %s: remove the container first", name,
				    users);
	/* renamed out of the way first: a half-removed volume is never found by its name */
	dir = volume_path(e->storage, name, NULL);
	random_name(suffix);
	gone = husk_xasprintf("%s/volumes/.rm-%.16s", e->storage, suffix);
	if (rename(dir, gone) < 0)
		return husk_err_sys(err, "remove volume %s: rename %s", name, dir);
	/* fd-relative and O_NOFOLLOW: the symlinks a container left in it are unlinked, never followed */
	return husk_rmtree_at(AT_FDCWD, gone, err) < 0 ? husk_err_wrap(err, "remove volume %s", name) : 0;
}

int husk_volume_prune(const struct husk_engine *e, bool all, char ***removed, size_t *n_removed, struct husk_err *err)
{
	char **names;
	size_t n;
	int rc = 0;

	*removed = NULL;
	*n_removed = 0;
	if (husk_volume_list(e->storage, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *rec = NULL;
		_cleanup_free_ char *users = NULL;
		struct husk_err one = {0};
		if (husk_volume_load(e->storage, names[i], &rec, NULL) < 0)
			continue;
		bool anonymous = json_is_true(json_object_get(rec, "Anonymous"));
		json_decref(rec);
		if (!anonymous && !all)
			continue;
		if ((users = husk_volume_users(e, names[i])))
			continue;
		if (husk_volume_remove(e, names[i], &one) < 0) {
			if (rc == 0)
				rc = husk_err_copy(err, &one);
			continue;
		}
		*removed = husk_xrealloc(*removed, (*n_removed + 1) * sizeof(char *));
		(*removed)[(*n_removed)++] = husk_xstrdup(names[i]);
	}
	husk_volume_list_free(names, n);
	return rc;
}

int husk_volume_remove_anonymous(const struct husk_engine *e, json_t *rec, struct husk_err *err)
{
	json_t *m;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(rec, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type")), *name = json_string_value(json_object_get(m, "Name"));
		json_t *vol = NULL;
		struct husk_err one = {0};
		if (!type || strcmp(type, "volume") != 0 || !name || husk_volume_load(e->storage, name, &vol, NULL) < 0)
			continue;
		bool anonymous = json_is_true(json_object_get(vol, "Anonymous"));
		json_decref(vol);
		/* still used by another container (--volumes-from): kept, as docker does */
		if (anonymous && husk_volume_remove(e, name, &one) < 0 && one.errnum != EBUSY && rc == 0)
			rc = husk_err_copy(err, &one);
	}
	return rc;
}

/* ---- SELinux ---- */

bool husk_selinux_enabled(void)
{
	return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

static int relabel_tree(int at, const char *name, const char *label, int depth, struct husk_err *err)
{
	_cleanup_close_ int fd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char proc[64];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_err_sys(err, "relabel %s", name);
	/* by /proc/self/fd of an O_PATH|O_NOFOLLOW fd: a symlink itself is labelled, never its target */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (lsetxattr(proc, "security.selinux", label, strlen(label) + 1, 0) < 0 && !S_ISLNK(st.st_mode))
		return husk_err_sys(err, "relabel %s: setxattr security.selinux %s", name, label);
	if (!S_ISDIR(st.st_mode) || depth > 4096)
		return 0;
	int dfd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	struct dirent *de;
	int rc = 0;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return husk_err_sys(err, "relabel %s: read the directory", name);
	}
	while (rc == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = relabel_tree(dirfd(d), de->d_name, label, depth + 1, err);
	closedir(d);
	return rc;
}

int husk_volume_relabel(const char *path, char relabel, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *label = NULL;

	if (!relabel || !husk_selinux_enabled())
		return 0;
	if (relabel == 'z') {
		label = husk_xstrdup("system_u:object_r:container_file_t:s0");
	} else {
		/* private: two categories from the container's id, as a container's MCS pair */
		unsigned a = (unsigned)strtoul((char[]){id[0], id[1], id[2], 0}, NULL, 16) % 1024;
		unsigned b = (unsigned)strtoul((char[]){id[3], id[4], id[5], 0}, NULL, 16) % 1024;
		if (a == b)
			b = (b + 1) % 1024;
		label = husk_xasprintf("system_u:object_r:container_file_t:s0:c%u,c%u", a < b ? a : b, a < b ? b : a);
	}
	return relabel_tree(AT_FDCWD, path, label, 0, err);
}

/* ---- a container's mounts ---- */

/* A new volume gets what the image has at its target: owner, mode, content (docker's copy-up).
 * The image is read through rootfd with RESOLVE_IN_ROOT (cp.c), its symlinks copied as
 * symlinks: a link to /etc in the image names the image's /etc, never the host's. */
static int seed(int rootfd, const char *target, const char *data, struct husk_err *err)
{
	_cleanup_close_ int src = husk_open_in_root(rootfd, target, O_RDONLY | O_DIRECTORY, NULL);
	_cleanup_close_ int dst = -1;
	_cleanup_free_ char *contents = NULL;
	struct husk_cp_opts o = {.archive = true};
	struct stat st;
	DIR *d;
	bool empty = true;

	if (src < 0)
		return 0;  /* nothing there, or not a directory: nothing to copy */
	if (fstat(src, &st) < 0)
		return husk_err_sys(err, "seed volume: stat %s in the image", target);
	dst = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dst < 0)
		return husk_err_sys(err, "seed volume: open %s", data);
	if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
		return husk_err_sys(err, "seed volume: owner and mode of %s", data);
	d = fdopendir(dup(src));
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
				empty = false;
				break;
			}
		closedir(d);
	}
	if (empty)
		return 0;
	contents = husk_xasprintf("%s/.", target);
	if (husk_cp_out(rootfd, contents, data, &o, err) < 0)
		return husk_err_wrap(err, "seed volume from the image's %s", target);
	return 0;
}

static json_t *oci_mount(const char *target, const char *type, const char *source, json_t *options)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", target, "type", type, "source", source, "options", options);
}

struct planned {
	struct husk_mount_spec m;    /* owned copy */
	size_t order;                /* its place as given */
};

static void add_planned(struct planned **list, size_t *n, const struct husk_mount_spec *m)
{
	*list = husk_xrealloc(*list, (*n + 1) * sizeof(**list));
	struct planned *p = &(*list)[(*n)++];
	memset(p, 0, sizeof(*p));
	p->order = *n - 1;
	p->m = *m;
	p->m.source = m->source ? husk_xstrdup(m->source) : NULL;
	p->m.target = husk_xstrdup(m->target);
	p->m.tmpfs_options = m->tmpfs_options ? husk_xstrdup(m->tmpfs_options) : NULL;
}

static bool has_target(const struct planned *list, size_t n, const char *target)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = list[i].m.target, *b = target;
		/* "/data" and "/data/" are one target */
		size_t la = strlen(a), lb = strlen(b);
		while (la > 1 && a[la - 1] == '/')
			la--;
		while (lb > 1 && b[lb - 1] == '/')
			lb--;
		if (la == lb && strncmp(a, b, la) == 0)
			return true;
	}
	return false;
}

/* --volumes-from CONTAINER[:ro|rw]: its volumes and binds, at the same targets */
static int volumes_from(const struct husk_engine *e, const char *text, struct planned **list, size_t *n,
			struct husk_err *err)
{
	_cleanup_free_ char *ref = husk_xstrdup(text);
	char *mode = strrchr(ref, ':'), id[HUSK_ID_LEN + 1];
	json_t *rec = NULL, *m;
	size_t i;

	if (mode) {
		*mode++ = '\0';
		if (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
			return husk_err_set(err, EINVAL, "--volumes-from %s: the mode is ro or rw, not \"%s\"", text, mode);
	}
	if (husk_engine_lookup(e, ref, id, err) < 0 || husk_record_load(e, id, &rec, err) < 0)
		return husk_err_wrap(err, "--volumes-from %s", text);
	json_array_foreach(json_object_get(rec, "Mounts"), i, m) {
		const char *type = json_string_value(json_object_get(m, "Type"));
		struct husk_mount_spec s = {0};
		if (!type || strcmp(type, "tmpfs") == 0)
			continue;  /* a tmpfs is the container's own */
		s.type = strcmp(type, "bind") == 0 ? HUSK_MOUNT_BIND : HUSK_MOUNT_VOLUME;
		s.source = (char *)json_string_value(json_object_get(m, s.type == HUSK_MOUNT_BIND ? "Source" : "Name"));
		s.target = (char *)json_string_value(json_object_get(m, "Destination"));
		s.readonly = mode ? strcmp(mode, "ro") == 0 : !json_is_true(json_object_get(m, "RW"));
		s.propagation = s.type == HUSK_MOUNT_BIND ? find_propagation(
			json_string_value(json_object_get(m, "Propagation")) ? json_string_value(json_object_get(m, "Propagation")) : "",
			json_string_value(json_object_get(m, "Propagation")) ? strlen(json_string_value(json_object_get(m, "Propagation"))) : 0) : NULL;
		s.nocopy = true;  /* it exists: never seeded again */
		if (!s.source || !s.target || has_target(*list, *n, s.target))
			continue;
		add_planned(list, n, &s);
	}
	json_decref(rec);
	return 0;
}

static size_t depth(const char *path)
{
	size_t d = 0;

	for (const char *p = path; *p; p++)
		if (*p != '/' && (p == path || p[-1] == '/'))
			d++;
	return d;
}

/* stable: equal depths keep the command line's order (the index breaks ties) */
static int by_depth(const void *a, const void *b)
{
	const struct planned *x = a, *y = b;
	size_t dx = depth(x->m.target), dy = depth(y->m.target);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void free_planned(struct planned *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		husk_mount_spec_free(&list[i].m);
	free(list);
}

/* a host path for -v: made (with its parents) when missing, as docker's -v does */
static int bind_source(const struct husk_mount_spec *m, struct husk_err *err)
{
	struct stat st;

	if (stat(m->source, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return husk_err_sys(err, "bind source %s", m->source);
	if (!m->create_source)
		return husk_err_set(err, ENOENT, "--mount: the bind source %s does not exist (-v would create it)", m->source);
	return husk_mkdir_p(m->source, 0755, err) < 0 ? husk_err_wrap(err, "-v: create the host path %s", m->source) : 0;
}

int husk_volumes_prepare(const struct husk_engine *e, struct husk_engine_run *r, int rootfd, const char *image_config,
			 json_t *spec, json_t **mounts_out, struct husk_err *err)
{
	struct planned *list = NULL;
	size_t n = 0, i;
	char **made = NULL;
	size_t n_made = 0;
	json_t *oci = json_object_get(spec, "mounts"), *mounts = json_array(), *image = NULL, *v;
	const char *key;
	int rc = -1;

	*mounts_out = NULL;
	for (i = 0; i < r->n_mounts; i++) {
		if (has_target(list, n, r->mounts[i].target)) {
			husk_err_set(err, EINVAL, "%s: two mounts on one target (duplicate mount point)", r->mounts[i].target);
			goto out;
		}
		add_planned(&list, &n, &r->mounts[i]);
	}
	for (i = 0; i < r->n_volumes_from; i++)
		if (volumes_from(e, r->volumes_from[i], &list, &n, err) < 0)
			goto out;
	image = json_loads(image_config, 0, NULL);
	json_object_foreach(json_object_get(json_object_get(image, "config"), "Volumes"), key, v) {
		struct husk_mount_spec s = {.type = HUSK_MOUNT_VOLUME, .target = (char *)key};
		if (husk_mount_target_check(key, "image config Volumes", err) < 0)
			goto out;
		if (!has_target(list, n, key))
			add_planned(&list, &n, &s);
	}

	/* a parent before what is mounted in it (docker's order): /data, then /data/x */
	qsort(list, n, sizeof(*list), by_depth);
	for (i = 0; i < n; i++) {
		struct husk_mount_spec *m = &list[i].m;
		json_t *opts = json_array();
		if (m->type == HUSK_MOUNT_TMPFS) {
			/* docker's tmpfs defaults: nothing set-id, no devices, nothing to execute */
			json_array_append_new(opts, json_string("nosuid"));
			json_array_append_new(opts, json_string("nodev"));
			json_array_append_new(opts, json_string("noexec"));
			if (m->tmpfs_options) {
				_cleanup_free_ char *copy = husk_xstrdup(m->tmpfs_options);
				for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
					json_array_append_new(opts, json_string(o));
			}
			json_array_append_new(oci, oci_mount(m->target, "tmpfs", "tmpfs", opts));
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source", "",
								"Destination", m->target, "Mode", m->tmpfs_options ? m->tmpfs_options : "",
								"RW", !m->readonly, "Propagation", ""));
			continue;
		}
		_cleanup_free_ char *source = NULL;
		json_t *vol = NULL;
		bool new_volume = false;
		if (m->type == HUSK_MOUNT_BIND) {
			if (bind_source(m, err) < 0) {
				json_decref(opts);
				goto out;
			}
			source = husk_xstrdup(m->source);
		} else {
			if (husk_volume_create(e->storage, m->source, NULL, NULL, m->source == NULL, &vol, &new_volume, err) < 0) {
				json_decref(opts);
				goto out;
			}
			free(m->source);
			m->source = husk_xstrdup(json_string_value(json_object_get(vol, "Name")));
			source = husk_xstrdup(json_string_value(json_object_get(vol, "Mountpoint")));
			json_decref(vol);
			if (new_volume) {
				made = husk_xrealloc(made, (n_made + 1) * sizeof(char *));
				made[n_made++] = husk_xstrdup(m->source);
				if (!m->nocopy && seed(rootfd, m->target, source, err) < 0) {
					json_decref(opts);
					goto out;
				}
			}
		}
		if (husk_volume_relabel(source, m->relabel, r->id, err) < 0) {
			json_decref(opts);
			goto out;
		}
		json_array_append_new(opts, json_string("rbind"));
		json_array_append_new(opts, json_string(m->readonly ? "ro" : "rw"));
		json_array_append_new(opts, json_string(m->propagation ? m->propagation : "rprivate"));
		json_array_append_new(oci, oci_mount(m->target, "bind", source, opts));
		char mode[16];
		snprintf(mode, sizeof(mode), "%s%s%s", m->readonly ? "ro" : "", m->readonly && m->relabel ? "," : "",
			 m->relabel == 'z' ? "z" : m->relabel == 'Z' ? "Z" : "");
		if (m->type == HUSK_MOUNT_BIND)
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", source,
								"Destination", m->target, "Mode", mode, "RW", !m->readonly,
								"Propagation", m->propagation ? m->propagation : "rprivate"));
		else
			json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
								"Name", m->source, "Source", source, "Destination", m->target,
								"Driver", "local", "Mode", mode, "RW", !m->readonly,
								"Propagation", ""));
	}
	*mounts_out = mounts;
	mounts = NULL;
	rc = 0;
out:
	if (rc < 0)
		/* the volumes this run made go again: nobody has seen them */
		for (i = 0; i < n_made; i++)
			husk_volume_remove(e, made[i], NULL);
	husk_volume_list_free(made, n_made);
	json_decref(mounts);
	json_decref(image);
	free_planned(list, n);
	return rc;
}
