#define _GNU_SOURCE
#include "runflags.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../caps.h"
#include "../names.h"
#include "../profile.h"
#include "../util.h"

int husk_size_parse(const char *s, int64_t *out, struct husk_err *err)
{
	/* docker's units (go-units RAMInBytes): binary multiples whatever the spelling */
	static const char units[] = "bkmgtp";
	const char *p = s, *u;
	long double v;
	int shift = 0;
	size_t n = strspn(p, "0123456789");

	if (n == 0)
		goto bad;
	p += n;
	if (*p == '.') {
		n = strspn(p + 1, "0123456789");
		if (n == 0)
			goto bad;
		p += 1 + n;
	}
	v = strtold(s, NULL);
	if (*p == ' ')
		p++;
	if (*p && (u = strchr(units, tolower((unsigned char)*p)))) {
		shift = 10 * (int)(u - units);
		p++;
		/* "kib", "KiB", "kb", "k": the same, as in docker; "bb" is not a unit */
		if (shift && (*p == 'i' || *p == 'I'))
			p++;
		if (shift && (*p == 'b' || *p == 'B'))
			p++;
	}
	if (*p)
		goto bad;
	v *= (long double)(1ull << shift);
	if (v >= (long double)INT64_MAX)
		return husk_err_set(err, 0, "%s is too big (the most is 8 EiB)", s);
	*out = (int64_t)v;
	return 0;
bad:
	return husk_err_set(err, 0, "not a size: a number, then optionally a unit b, k, m, g, t or p (as 512m or 1.5g)");
}

int husk_cpus_parse(const char *s, int64_t *nano, struct husk_err *err)
{
	size_t whole = strspn(s, "0123456789"), frac = 0;
	const char *p = s + whole;
	int64_t v = 0, scale = 1000000000;

	if (*p == '.') {
		frac = strspn(p + 1, "0123456789");
		p += 1 + frac;
	}
	if (whole + frac == 0 || *p)
		return husk_err_set(err, 0, "not a number of CPUs (a decimal number, as 1.5)");
	if (frac > 9)
		return husk_err_set(err, 0, "too precise: at most 9 digits after the point");
	if (whole > 9)
		return husk_err_set(err, 0, "too many CPUs");
	for (size_t i = 0; i < whole; i++)
		v = v * 10 + (s[i] - '0');
	v *= scale;
	for (size_t i = 0; i < frac; i++) {
		scale /= 10;
		v += (s[whole + 1 + i] - '0') * scale;
	}
	*nano = v;
	return 0;
}

int husk_cap_parse(const char *s, int *cap, bool *all, struct husk_err *err)
{
	char name[64];
	size_t i, at = 0;

	*all = false;
	*cap = -1;
	if (strcasecmp(s, "ALL") == 0) {
		*all = true;
		return 0;
	}
	/* docker takes the name with or without CAP_, in any case */
	if (strncasecmp(s, "CAP_", 4) != 0)
		at = (size_t)snprintf(name, sizeof(name), "CAP_");
	for (i = 0; s[i] && at < sizeof(name) - 1; i++)
		name[at++] = (char)toupper((unsigned char)s[i]);
	name[at] = '\0';
	if (s[i] || !*s || (*cap = husk_cap_from_name(name)) < 0)
		return husk_err_set(err, 0, "unknown capability \"%s\"", name);
	return 0;
}

bool husk_bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

int husk_int_parse(const char *s, int64_t min, int64_t max, int64_t *out, struct husk_err *err)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || isspace((unsigned char)*s) || *end)
		return husk_err_set(err, 0, "not an integer");
	if (errno == ERANGE || v < min || v > max)
		return husk_err_set(err, 0, "out of range (%lld..%lld)", (long long)min, (long long)max);
	*out = v;
	return 0;
}

/* docker's --ulimit names, sorted */
struct ulimit_name {
	const char *name, *type;
};
static const struct ulimit_name ulimit_names[] = {
	{"as", "RLIMIT_AS"}, {"core", "RLIMIT_CORE"}, {"cpu", "RLIMIT_CPU"}, {"data", "RLIMIT_DATA"},
	{"fsize", "RLIMIT_FSIZE"}, {"locks", "RLIMIT_LOCKS"}, {"memlock", "RLIMIT_MEMLOCK"},
	{"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"}, {"nofile", "RLIMIT_NOFILE"},
	{"nproc", "RLIMIT_NPROC"}, {"rss", "RLIMIT_RSS"}, {"rtprio", "RLIMIT_RTPRIO"},
	{"rttime", "RLIMIT_RTTIME"}, {"sigpending", "RLIMIT_SIGPENDING"}, {"stack", "RLIMIT_STACK"},
};

static int cmp_ulimit(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ulimit_name *)elem)->name);
}

static int ulimit_value(const char *s, uint64_t *out, struct husk_err *err)
{
	int64_t v;

	if (husk_int_parse(s, -1, INT64_MAX, &v, err) < 0)
		return husk_err_wrap(err, "\"%s\"", s);
	*out = v < 0 ? UINT64_MAX : (uint64_t)v;
	return 0;
}

int husk_ulimit_parse(const char *s, struct husk_ulimit *u, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(s);
	char *value = strchr(copy, '='), *hard;
	const struct ulimit_name *found;

	if (!value)
		return husk_err_set(err, 0, "not TYPE=SOFT[:HARD] (as nofile=1024:2048)");
	*value++ = '\0';
	for (char *c = copy; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	found = bsearch(copy, ulimit_names, ARRAY_SIZE(ulimit_names), sizeof(ulimit_names[0]), cmp_ulimit);
	if (!found)
		return husk_err_set(err, 0, "unknown ulimit type \"%s\" (as, core, cpu, data, fsize, locks, memlock, "
				    "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)", copy);
	u->type = found->type;
	hard = strchr(value, ':');
	if (hard)
		*hard++ = '\0';
	if (ulimit_value(value, &u->soft, err) < 0 || (hard && ulimit_value(hard, &u->hard, err) < 0))
		return -1;
	if (!hard)
		u->hard = u->soft;
	if (u->soft > u->hard)
		return husk_err_set(err, 0, "the soft limit %s is above the hard limit %s", value, hard);
	return 0;
}

static char *xstrndup(const char *s, size_t n)
{
	char *c = husk_xmalloc(n + 1);

	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* Docker's rules for a file of KEY=VALUE lines (opts.ParseEnvFile): the value is the rest of
 * the line as it is, quotes and trailing blanks included. */
int husk_kv_file_parse(const char *text, size_t len, const char *path, const char *(*lookup)(const char *key),
		       char ***out, size_t *n_out, struct husk_err *err)
{
	const char *end = text + len, *line = text;
	unsigned lineno = 0;

	if (memchr(text, '\0', len))
		return husk_err_set(err, 0, "%s: holds a NUL byte: not a text file", path);
	/* a byte order mark, as some editors write */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	for (; line < end; lineno++) {
		const char *nl = memchr(line, '\n', (size_t)(end - line)), *eol = nl ? nl : end, *next = nl ? nl + 1 : end;
		_cleanup_free_ char *l = NULL;
		char *key;
		size_t keylen;

		while (line < eol && isspace((unsigned char)*line))
			line++;
		if (eol > line && eol[-1] == '\r')
			eol--;
		if (line == eol || *line == '#') {
			line = next;
			continue;
		}
		l = xstrndup(line, (size_t)(eol - line));
		line = next;
		keylen = strcspn(l, "=");
		if (keylen == 0)
			return husk_err_set(err, 0, "%s line %u: no variable name before the = in \"%s\"", path, lineno + 1, l);
		key = xstrndup(l, keylen);
		if (strpbrk(key, " \t\v\f\r")) {
			husk_err_set(err, 0, "%s line %u: the name \"%s\" holds whitespace", path, lineno + 1, key);
			free(key);
			return -1;
		}
		*out = husk_xrealloc(*out, (*n_out + 1) * sizeof(char *));
		if (l[keylen] == '=') {
			(*out)[(*n_out)++] = steal_pointer(&l);
		} else if (!lookup) {
			(*out)[(*n_out)++] = steal_pointer(&l);
		} else {
			const char *v = lookup(key);
			/* docker leaves out a variable the caller does not have */
			if (v)
				(*out)[(*n_out)++] = husk_xasprintf("%s=%s", key, v);
		}
		free(key);
	}
	return 0;
}

int husk_run_flags_check(const struct husk_run_opts *o, long ncpus, struct husk_err *err)
{
	if (o->memory && o->memory < HUSK_MEMORY_MIN)
		return husk_err_set(err, 0, "--memory %lld: below the least docker allows, 6 MiB", (long long)o->memory);
	if (o->memory_swap > 0 && !o->memory)
		return husk_err_set(err, 0, "--memory-swap needs --memory as well (it is the limit of memory and swap together)");
	if (o->memory_swap > 0 && o->memory_swap < o->memory)
		return husk_err_set(err, 0, "--memory-swap %lld is below --memory %lld: it limits memory and swap together",
				    (long long)o->memory_swap, (long long)o->memory);
	if (o->nano_cpus && (o->nano_cpus < 10000000 || o->nano_cpus > (int64_t)ncpus * 1000000000))
		return husk_err_set(err, 0, "--cpus %g: CPUs go from 0.01 to %ld.00, as this machine has %ld",
				    (double)o->nano_cpus / 1e9, ncpus, ncpus);
	return 0;
}

uint64_t husk_run_caps(const struct husk_run_opts *o, uint64_t defaults, uint64_t all)
{
	/* docker's order (TweakCapabilities): --privileged has all; --cap-add ALL all but the
	 * dropped ones; --cap-drop ALL only the added ones; else the defaults minus the dropped,
	 * plus the added (an added one that is also dropped stays) */
	if (o->privileged)
		return all;
	if (o->cap_add_all)
		return all & ~o->cap_drop;
	if (o->cap_drop_all)
		return o->cap_add & all;
	return ((defaults & ~o->cap_drop) | o->cap_add) & all;
}

/* "All" capabilities: those the kernel and libcap know by name and husk itself may hand on.
 * Where husk runs with a reduced bounding set (in a container itself) a container cannot be
 * given more, and asking for it would fail the start with EPERM; podman counts the same. */
static uint64_t all_caps(void)
{
	uint64_t all = 0;

	for (int cap = 0; cap < (int)cap_max_bits() && cap < 64; cap++) {
		if (cap_get_bound((cap_value_t)cap) != 1)
			continue;
		char *name = cap_to_name((cap_value_t)cap), upper[64];
		size_t i;

		if (!name)
			continue;
		for (i = 0; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)toupper((unsigned char)name[i]);
		upper[i] = '\0';
		cap_free(name);
		if (husk_cap_from_name(upper) == cap)
			all |= 1ull << cap;
	}
	return all;
}

static uint64_t caps_of(json_t *list)
{
	uint64_t caps = 0;
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v) {
		int cap = husk_cap_from_name(json_string_value(v));
		if (cap >= 0 && cap < 64)
			caps |= 1ull << cap;
	}
	return caps;
}

static json_t *caps_list(uint64_t caps)
{
	json_t *list = json_array();

	for (int cap = 0; cap < 64; cap++) {
		if (!(caps & (1ull << cap)))
			continue;
		char *name = cap_to_name((cap_value_t)cap);
		for (char *c = name; c && *c; c++)
			*c = (char)toupper((unsigned char)*c);
		json_array_append_new(list, json_string(name));
		cap_free(name);
	}
	return list;
}

/* docker's list of /dev entries --privileged leaves out (libcontainer's HostDevices): other
 * filesystems mounted there, and the console, which is the container's own */
static bool skipped_dev(const char *name)
{
	static const char *const skip[] = {".lxc", ".lxd-mounts", ".udev", "console", "fd", "mqueue", "pts", "shm"};

	for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
		if (strcmp(name, skip[i]) == 0)
			return true;
	return false;
}

/* The host's device nodes under dir (a /dev path) into devices, as linux.devices entries. */
static int add_host_devices(json_t *devices, int parent, const char *name, const char *path, int depth,
			    struct husk_err *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, "--privileged: open %s", path);
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return husk_err_sys(err, "--privileged: read %s", path);
	}
	while ((de = readdir(dir))) {
		_cleanup_free_ char *sub = NULL;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || skipped_dev(de->d_name))
			continue;
		/* a node that went away meanwhile is no device to pass on */
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		sub = husk_xasprintf("%s/%s", path, de->d_name);
		if (S_ISDIR(st.st_mode) && depth < 8) {
			if (add_host_devices(devices, dirfd(dir), de->d_name, sub, depth + 1, err) < 0) {
				closedir(dir);
				return -1;
			}
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			json_array_append_new(devices, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path", sub, "type",
								 S_ISCHR(st.st_mode) ? "c" : "b", "major",
								 (json_int_t)major(st.st_rdev), "minor",
								 (json_int_t)minor(st.st_rdev), "fileMode",
								 (json_int_t)(st.st_mode & 07777), "uid", (json_int_t)st.st_uid,
								 "gid", (json_int_t)st.st_gid));
		}
	}
	closedir(dir);
	return 0;
}

static void drop_ro(json_t *mounts)
{
	json_t *m;
	size_t i;

	json_array_foreach(mounts, i, m) {
		const char *dest = json_string_value(json_object_get(m, "destination"));
		json_t *opts = json_object_get(m, "options");
		if (strcmp(dest, "/sys") != 0 && strcmp(dest, "/sys/fs/cgroup") != 0)
			continue;
		for (size_t j = json_array_size(opts); j-- > 0;)
			if (strcmp(json_string_value(json_array_get(opts, j)), "ro") == 0)
				json_array_remove(opts, j);
	}
}

/* A limit --memory-swap left implicit (twice --memory) is set only where the kernel accounts
 * swap: on cgroup v1 without memsw (swapaccount=0) writing it would fail, and docker too goes
 * on without a swap limit there. */
static bool swap_accounted(void)
{
	if (access("/sys/fs/cgroup/memory", F_OK) < 0)
		return true; /* cgroup v2: memory.swap.max is always there */
	return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
}

static json_t *object_at(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

static void set_resources(const struct husk_run_opts *o, json_t *linux_obj)
{
	json_t *res;

	if (!o->memory && !o->nano_cpus && !o->cpu_shares && !o->pids_limit)
		return;
	res = object_at(linux_obj, "resources");
	if (o->memory) {
		json_t *mem = object_at(res, "memory");
		json_object_set_new(mem, "limit", json_integer(o->memory));
		if (o->memory_swap)
			json_object_set_new(mem, "swap", json_integer(o->memory_swap));
		else if (swap_accounted())
			json_object_set_new(mem, "swap", json_integer(o->memory > INT64_MAX / 2 ? -1 : 2 * o->memory));
	}
	if (o->nano_cpus || o->cpu_shares) {
		json_t *cpu = object_at(res, "cpu");
		if (o->nano_cpus) {
			json_object_set_new(cpu, "quota", json_integer(o->nano_cpus / (1000000000 / HUSK_CPU_PERIOD)));
			json_object_set_new(cpu, "period", json_integer(HUSK_CPU_PERIOD));
		}
		if (o->cpu_shares)
			json_object_set_new(cpu, "shares", json_integer(o->cpu_shares));
	}
	if (o->pids_limit)
		json_object_set_new(object_at(res, "pids"), "limit", json_integer(o->pids_limit));
}

static void set_ulimits(const struct husk_run_opts *o, json_t *process)
{
	json_t *rlimits = json_object_get(process, "rlimits");

	if (!o->n_ulimits)
		return;
	if (!json_is_array(rlimits)) {
		rlimits = json_array();
		json_object_set_new(process, "rlimits", rlimits);
	}
	for (size_t i = 0; i < o->n_ulimits; i++) {
		const struct husk_ulimit *u = &o->ulimits[i];
		/* jansson's integers are signed: unlimited (2^64-1) is written as a real, which the
		 * spec reader takes as the largest value */
		json_t *entry = json_pack("{s:s, s:o, s:o}", "type", u->type, "hard",
					  u->hard == UINT64_MAX ? json_real(18446744073709551615.0) : json_integer((json_int_t)u->hard),
					  "soft",
					  u->soft == UINT64_MAX ? json_real(18446744073709551615.0) : json_integer((json_int_t)u->soft));
		json_t *r;
		size_t j;
		bool replaced = false;
		json_array_foreach(rlimits, j, r)
			if (strcmp(json_string_value(json_object_get(r, "type")), u->type) == 0) {
				json_array_set(rlimits, j, entry);
				replaced = true;
				break;
			}
		if (!replaced)
			json_array_append(rlimits, entry);
		json_decref(entry);
	}
}

int husk_run_flags_apply(const struct husk_run_opts *o, json_t *spec, struct husk_err *err)
{
	json_t *process = json_object_get(spec, "process"), *linux_obj = json_object_get(spec, "linux");
	json_t *capabilities = json_object_get(process, "capabilities");
	uint64_t defaults = caps_of(json_object_get(capabilities, "bounding")), caps;

	caps = husk_run_caps(o, defaults, all_caps());
	if (caps != defaults) {
		static const char *const sets[] = {"bounding", "effective", "permitted"};
		for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
			json_object_set_new(capabilities, sets[i], caps_list(caps));
		/* the default profile allows the calls a capability stands for (mount for
		 * CAP_SYS_ADMIN, ...) only with that capability, as docker's does */
		json_object_set_new(linux_obj, "seccomp", husk_default_seccomp(caps));
	}
	if (o->privileged || o->seccomp_unconfined)
		json_object_del(linux_obj, "seccomp");
	if (o->privileged || o->systempaths_unconfined) {
		json_object_del(linux_obj, "maskedPaths");
		json_object_del(linux_obj, "readonlyPaths");
	}
	if (o->privileged) {
		json_t *devices = json_array();
		json_object_set_new(linux_obj, "devices", devices);
		if (add_host_devices(devices, AT_FDCWD, "/dev", "/dev", 0, err) < 0)
			return -1;
		json_object_set_new(object_at(linux_obj, "resources"), "devices",
				    json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
		drop_ro(json_object_get(spec, "mounts"));
	}
	if (o->no_new_privileges)
		json_object_set_new(process, "noNewPrivileges", json_boolean(o->no_new_privileges > 0));
	if (o->read_only)
		json_object_set_new(object_at(spec, "root"), "readonly", json_true());
	set_resources(o, linux_obj);
	set_ulimits(o, process);
	if (o->init) {
		json_t *args = json_object_get(process, "args");
		/* catatonit as PID 1: it forwards signals to the command and reaps the orphans
		 * that reach it; "--" ends its own options, as docker passes to its init */
		json_array_insert_new(args, 0, json_string("--"));
		json_array_insert_new(args, 0, json_string(HUSK_INIT_PATH));
		json_array_append_new(json_object_get(spec, "mounts"),
				      json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", HUSK_INIT_PATH, "type", "bind",
						"source", o->init, "options", "bind", "ro", "nosuid"));
	}
	return 0;
}
