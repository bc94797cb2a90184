#define _GNU_SOURCE
#include "cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <linux/magic.h>
#include <linux/bpf.h>
#include <sys/syscall.h>

#include "util.h"

/* One line of /proc/self/cgroup: "4:memory:/some/path" or "0::/path". */
static char *own_path_for(const char *self_cgroup, const char *controllers)
{
	const char *line = self_cgroup;

	while (line && *line) {
		const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *eol = strchr(line, '\n');
		if (!c2)
			break;
		if ((size_t)(c2 - c1 - 1) == strlen(controllers) && strncmp(c1 + 1, controllers, (size_t)(c2 - c1 - 1)) == 0)
			return strndup(c2 + 1, eol ? (size_t)(eol - c2 - 1) : strlen(c2 + 1));
		line = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* The controllers of a v1 mount from its super options ("rw,cpu,cpuacct" -> "cpu,cpuacct"). */
static char *v1_controllers(const char *super_opts)
{
	static const char *const generic[] = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev",
					       "noexec", "xattr", "clone_children", "noprefix"};
	_cleanup_free_ char *copy = husk_xstrdup(super_opts);
	char *out = husk_xcalloc(1, strlen(super_opts) + 1), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool skip = strncmp(tok, "release_agent=", 14) == 0;
		for (size_t i = 0; i < ARRAY_SIZE(generic) && !skip; i++)
			skip = strcmp(tok, generic[i]) == 0;
		if (skip)
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, tok);
	}
	return out;
}

/* mountinfo fields: id parent maj:min root mountpoint opts [optional...] - fstype source super */
static int parse_mountinfo_line(char *line, char **root, char **mountpoint, char **fstype, char **super)
{
	char *fields[6], *sep, *save = NULL;
	int i = 0;

	sep = strstr(line, " - ");
	if (!sep)
		return -1;
	*sep = '\0';
	for (char *t = strtok_r(line, " ", &save); t && i < 6; t = strtok_r(NULL, " ", &save))
		fields[i++] = t;
	if (i < 5)
		return -1;
	*root = fields[3];
	*mountpoint = fields[4];
	save = NULL;
	*fstype = strtok_r(sep + 3, " ", &save);
	(void)strtok_r(NULL, " ", &save);
	*super = strtok_r(NULL, " ", &save);
	return *fstype && *super ? 0 : -1;
}

/* own cgroup path, seen from a mount whose root is mount_root -> host directory */
static char *dir_under_mount(const char *mountpoint, const char *mount_root, const char *path)
{
	size_t rl = strlen(mount_root);

	if (strcmp(mount_root, "/") != 0 && strncmp(path, mount_root, rl) == 0 && (path[rl] == '/' || !path[rl]))
		path += rl;
	while (*path == '/')
		path++;
	return *path ? husk_xasprintf("%s/%s", mountpoint, path) : husk_xstrdup(mountpoint);
}

static int add_hier(struct husk_cgroup *cg, const char *mountpoint, const char *controllers, const char *own,
		    struct husk_err *err)
{
	struct husk_cgroup_hier *h;

	for (size_t i = 0; i < cg->n; i++)
		if (strcmp(cg->h[i].controllers, controllers) == 0)
			return 0; /* the same hierarchy mounted twice */
	if (cg->n == HUSK_CGROUP_MAX_HIER)
		return husk_err_set(err, E2BIG, "more than %d cgroup hierarchies", HUSK_CGROUP_MAX_HIER);
	h = &cg->h[cg->n++];
	h->mountpoint = husk_xstrdup(mountpoint);
	h->controllers = husk_xstrdup(controllers);
	h->own = husk_xstrdup(own);
	return 0;
}

static void unescape_octal(char *s)
{
	char *out = s;

	/* mountinfo escapes space, tab, newline and backslash as \ooo */
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int husk_cgroup_resolve(struct husk_cgroup *cg, const char *cgroups_path, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *self = NULL, *mountinfo = NULL;
	_cleanup_free_ char *v2_mount = NULL, *v2_root = NULL;
	char *line, *save = NULL;
	struct statfs sfs;
	bool absolute = cgroups_path && cgroups_path[0] == '/';
	_cleanup_free_ char *rel = NULL;

	memset(cg, 0, sizeof(*cg));
	cg->v2_dirfd = -1;
	if (husk_read_file_at(AT_FDCWD, "/proc/self/cgroup", &self, NULL, err) < 0 ||
	    husk_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, err) < 0)
		return -1;
	cg->v2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	for (line = strtok_r(mountinfo, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *root, *mountpoint, *fstype, *super;
		_cleanup_free_ char *controllers = NULL, *own = NULL, *dir = NULL;
		if (parse_mountinfo_line(line, &root, &mountpoint, &fstype, &super) < 0)
			continue;
		unescape_octal(mountpoint);
		if (strcmp(fstype, "cgroup2") == 0 && cg->v2 && !v2_mount) {
			v2_mount = husk_xstrdup(mountpoint);
			v2_root = husk_xstrdup(root);
		} else if (strcmp(fstype, "cgroup") == 0 && !cg->v2) {
			controllers = v1_controllers(super);
			own = own_path_for(self, controllers);
			if (!own)
				continue; /* a hierarchy this process is not in */
			dir = dir_under_mount(mountpoint, root, own);
			if (add_hier(cg, mountpoint, controllers, dir, err) < 0)
				return -1;
		}
	}
	if (cg->v2) {
		_cleanup_free_ char *own = own_path_for(self, "");
		if (!v2_mount || !own)
			return husk_err_set(err, ENOENT, "cgroup v2 is mounted at /sys/fs/cgroup but this process has no cgroup in it");
		_cleanup_free_ char *dir = dir_under_mount(v2_mount, v2_root, own);
		if (add_hier(cg, v2_mount, "", dir, err) < 0)
			return -1;
	}
	if (cg->n == 0)
		return husk_err_set(err, ENOENT, "no cgroup hierarchy is mounted (looked in /proc/self/mountinfo)");

	cg->default_path = cgroups_path == NULL;
	rel = cgroups_path ? husk_xstrdup(cgroups_path) : husk_xasprintf("husk/%s", id);
	for (size_t i = 0; i < cg->n; i++) {
		struct husk_cgroup_hier *h = &cg->h[i];
		const char *p = rel;
		while (*p == '/')
			p++;
		if (*p == '\0')
			return husk_err_set(err, EINVAL, "cgroupsPath \"%s\" names the root cgroup", cgroups_path);
		h->dir = husk_xasprintf("%s/%s", absolute ? h->mountpoint : h->own, p);
	}
	return 0;
}

char *husk_cgroup_systemd_path(const char *spec, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *copy = spec ? husk_xstrdup(spec) : husk_xasprintf("system.slice:husk:%s", id);
	char *slice = copy, *prefix, *name, *out;
	size_t off = 0, cap;

	prefix = strchr(slice, ':');
	name = prefix ? strchr(prefix + 1, ':') : NULL;
	if (!name || strchr(name + 1, ':')) {
		husk_err_set(err, EINVAL, "cgroupsPath \"%s\": with --systemd-cgroup it is slice:prefix:name", spec);
		return NULL;
	}
	*prefix++ = '\0';
	*name++ = '\0';
	if (!*slice)
		slice = "system.slice";
	if (strchr(slice, '/') || strchr(prefix, '/') || strchr(name, '/') || !*name ||
	    strlen(slice) < 7 || strcmp(slice + strlen(slice) - 6, ".slice") != 0) {
		husk_err_set(err, EINVAL, "cgroupsPath \"%s\": a slice ending in .slice, a prefix and a name, no '/'", spec);
		return NULL;
	}
	cap = strlen(slice) * strlen(slice) + strlen(prefix) + strlen(name) + 16;
	out = husk_xcalloc(1, cap);
	/* systemd nests a-b-c.slice as a.slice/a-b.slice/a-b-c.slice; -.slice is the root */
	if (strcmp(slice, "-.slice") != 0) {
		for (char *dash = slice; (dash = strchr(dash, '-')); dash++)
			off += (size_t)snprintf(out + off, cap - off, "/%.*s.slice", (int)(dash - slice), slice);
		off += (size_t)snprintf(out + off, cap - off, "/%s", slice);
	}
	/* a name that is itself a slice is used as is; anything else is the scope prefix-name */
	if (strlen(name) > 6 && strcmp(name + strlen(name) - 6, ".slice") == 0)
		snprintf(out + off, cap - off, "/%s", name);
	else if (*prefix)
		snprintf(out + off, cap - off, "/%s-%s.scope", prefix, name);
	else
		snprintf(out + off, cap - off, "/%s.scope", name);
	return out;
}

static void record_created(struct husk_cgroup *cg, const char *dir)
{
	/* a path walked again (a parent vanished under us) is recorded once */
	for (size_t i = 0; i < cg->n_created; i++)
		if (strcmp(cg->created[i], dir) == 0)
			return;
	cg->created = husk_xrealloc(cg->created, (cg->n_created + 2) * sizeof(char *));
	cg->created[cg->n_created++] = husk_xstrdup(dir);
	cg->created[cg->n_created] = NULL;
}

/* v1 cpuset starts a new cgroup with no cpus and no memory nodes: a task cannot join it
 * until they are copied from the parent. */
static int cpuset_fill_if_empty(const char *dir, struct husk_err *err);

static int cpuset_inherit(const char *dir, struct husk_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	_cleanup_free_ char *parent = husk_xstrdup(dir);

	*strrchr(parent, '/') = '\0';
	/* the parent may have been removed and made anew (by another husk, whose fill has not come
	 * yet) after this walk passed it: fill it first, or the copy would be empty and no task
	 * could join (ENOSPC). The walk's start (husk's own cgroup, or the root) is never empty,
	 * which ends the climb. */
	if (cpuset_fill_if_empty(parent, err) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *value = NULL, *ppath = husk_xasprintf("%s/%s", parent, files[i]);
		_cleanup_free_ char *cpath = husk_xasprintf("%s/%s", dir, files[i]);
		if (husk_read_file_at(AT_FDCWD, ppath, &value, NULL, err) < 0)
			return -1;
		if (husk_write_file_at(AT_FDCWD, cpath, value, strlen(value), err) < 0)
			return -1;
	}
	return 0;
}

/* A parent another husk has just made may not have its cpus and mems yet (mkdir and the
 * copy are two steps): a child made under it now would inherit nothing and refuse every task
 * (ENOSPC). So every husk fills an empty parent itself; the values are the same either way. */
static int cpuset_fill_if_empty(const char *dir, struct husk_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *path = husk_xasprintf("%s/%s", dir, files[i]), *value = NULL;
		if (husk_read_file_at(AT_FDCWD, path, &value, NULL, err) < 0)
			return -1;
		if (strspn(value, " \n") == strlen(value))
			return cpuset_inherit(dir, err);
	}
	return 0;
}

/* A parent that vanished while the path was walked: its files or the child's mkdir report
 * ENOENT, or ENODEV while the kernel takes the directory down. */
static bool parent_vanished(const struct husk_err *err)
{
	return err->errnum == ENOENT || err->errnum == ENODEV;
}

/* 0: the path is made; 1: a parent vanished before the leaf was made (err says where);
 * -1: an error. */
static int mkdir_walk(struct husk_cgroup *cg, const struct husk_cgroup_hier *h, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xstrdup(h->dir);
	bool cpuset = strstr(h->controllers, "cpuset") != NULL;
	size_t own_len = strlen(h->own);
	/* relative paths start below husk's own cgroup, which is never husk's to record */
	size_t start = strncmp(h->dir, h->own, own_len) == 0 && h->dir[own_len] == '/' ? own_len : strlen(h->mountpoint);

	for (char *p = path + start + 1, *parent_end = NULL;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			record_created(cg, path);
			if (cpuset && cpuset_inherit(path, err) < 0)
				return !last && parent_vanished(err) ? 1 : -1;
		} else if (errno != EEXIST) {
			husk_err_sys(err, "create cgroup %s", path);
			/* a parent this walk found or made is gone */
			return parent_end && parent_vanished(err) ? 1 : -1;
		} else if (!last && cpuset && cpuset_fill_if_empty(path, err) < 0) {
			return parent_vanished(err) ? 1 : -1;
		} else if (!last && cg->default_path) {
			record_created(cg, path);
		} else if (last) {
			/* the container's own cgroup must be new: joining one that exists would
			 * share it, and delete would remove what husk did not make */
			return husk_err_set(err, EEXIST, "create cgroup %s", path);
		}
		if (last)
			break;
		*p = '/';
		parent_end = p;
	}
	return 0;
}

/* Every husk removes the shared default parent (husk/) when it empties it, so another one
 * can take it down between our finding it (EEXIST) and making the child under it: then the
 * path is walked again, and the next mkdir makes the parent anew. */
static int mkdir_recorded(struct husk_cgroup *cg, const struct husk_cgroup_hier *h, struct husk_err *err)
{
	for (int tries = 0;; tries++) {
		int rc = mkdir_walk(cg, h, err);
		if (rc == 0)
			return 0;
		if (rc < 0 || tries >= 100)
			return -1;
		husk_err_clear(err);
	}
}

char **husk_cgroup_plan_created(const struct husk_cgroup *cg, size_t *n_out)
{
	char **out = NULL;
	size_t n = 0;

	for (size_t i = 0; i < cg->n; i++) {
		const struct husk_cgroup_hier *h = &cg->h[i];
		_cleanup_free_ char *path = husk_xstrdup(h->dir);
		size_t own_len = strlen(h->own);
		/* the same walk as mkdir_walk: from below husk's own cgroup (or the mountpoint) */
		size_t start = strncmp(h->dir, h->own, own_len) == 0 && h->dir[own_len] == '/' ? own_len
												  : strlen(h->mountpoint);

		for (char *p = path + start + 1;; p++) {
			bool last = *p == '\0';
			if (*p != '/' && !last)
				continue;
			*p = '\0';
			/* what mkdir_walk would record: what it makes, and the default parent always */
			if (last || cg->default_path || access(path, F_OK) < 0) {
				out = husk_xrealloc(out, (n + 2) * sizeof(char *));
				out[n++] = husk_xstrdup(path);
			}
			if (last)
				break;
			*p = '/';
		}
	}
	if (!out)
		out = husk_xcalloc(1, sizeof(char *));
	out[n] = NULL;
	*n_out = n;
	return out;
}

int husk_cgroup_check_new(const struct husk_cgroup *cg, struct husk_err *err)
{
	for (size_t i = 0; i < cg->n; i++)
		if (access(cg->h[i].dir, F_OK) == 0)
			return husk_err_set(err, EEXIST, "create cgroup %s: it exists already, and is not husk's", cg->h[i].dir);
	return 0;
}

int husk_cgroup_open_tasks(const char *dir, struct husk_err *err)
{
	_cleanup_free_ char *tasks = husk_xasprintf("%s/tasks", dir);
	int fd = open(tasks, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return husk_err_sys(err, "open %s", tasks);
	return fd;
}

int husk_cgroup_create(struct husk_cgroup *cg, struct husk_err *err)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct husk_cgroup_hier *h = &cg->h[i];
		if (mkdir_recorded(cg, h, err) < 0)
			return -1;
		if (cg->v2) {
			cg->v2_dirfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (cg->v2_dirfd < 0)
				return husk_err_sys(err, "open cgroup %s", h->dir);
		} else {
			int fd = husk_cgroup_open_tasks(h->dir, err);
			if (fd < 0)
				return -1;
			cg->attach_fds[cg->n_attach_fds++] = fd;
		}
	}
	return 0;
}

int husk_cgroup_join_self(struct husk_cgroup *cg, struct husk_err *err)
{
	for (size_t i = 0; i < cg->n_attach_fds; i++) {
		if (write(cg->attach_fds[i], "0", 1) != 1)
			return husk_err_sys(err, "join cgroup %s", cg->h[i].dir);
	}
	return 0;
}

static void add_line(struct husk_device_line **lines, size_t *n, bool allow, char type, int64_t major,
		     int64_t minor, const char *access)
{
	char maj[24] = "*", min[24] = "*";
	struct husk_device_line *l;

	if (major >= 0)
		snprintf(maj, sizeof(maj), "%lld", (long long)major);
	if (minor >= 0)
		snprintf(min, sizeof(min), "%lld", (long long)minor);
	*lines = husk_xrealloc(*lines, (*n + 1) * sizeof(**lines));
	l = &(*lines)[(*n)++];
	l->allow = allow;
	l->type = type;
	l->major = major;
	l->minor = minor;
	l->access = (strchr(access, 'm') ? 1u : 0) | (strchr(access, 'r') ? 2u : 0) | (strchr(access, 'w') ? 4u : 0);
	snprintf(l->text, sizeof(l->text), "%c %s:%s %s", type, maj, min, access);
}

void husk_cgroup_device_lines(const struct husk_spec *spec, struct husk_device_line **lines, size_t *n)
{
	/* the spec's default devices (null, zero, full, random, urandom, tty, console, ptmx) */
	static const struct { int major, minor; } defaults[] = {
		{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2},
	};

	*lines = NULL;
	*n = 0;
	add_line(lines, n, false, 'a', -1, -1, "rwm");
	for (size_t i = 0; i < spec->n_device_rules; i++) {
		const struct husk_device_rule *r = &spec->device_rules[i];
		add_line(lines, n, r->allow, r->type, r->major, r->minor, r->access);
	}
	/* mknod of character devices only: a block device node is a way to a host disk */
	add_line(lines, n, true, 'c', -1, -1, "m");
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		add_line(lines, n, true, 'c', defaults[i].major, defaults[i].minor, "rwm");
	add_line(lines, n, true, 'c', 136, -1, "rwm"); /* /dev/pts/N */
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct husk_device *d = &spec->devices[i];
		if (d->type != 'p') /* fifos are not devices to the cgroup */
			add_line(lines, n, true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm");
	}
}

#define INSN(c, d, s_, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i)})

size_t husk_cgroup_device_program(const struct husk_device_line *lines, size_t n, void **out)
{
	/* r2 = type, r3 = access, r4 = major, r5 = minor, from struct bpf_cgroup_dev_ctx */
	struct bpf_insn *p = husk_xcalloc(8 + n * 10, sizeof(*p));
	size_t len = 0;

	p[len++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	p[len++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	p[len++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0);
	p[len++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	p[len++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
	p[len++] = INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
	/* the last rule that matches decides, as later lines override earlier ones in v1's lists:
	 * so test from the last line up, and the first match returns */
	for (size_t i = n; i-- > 0;) {
		const struct husk_device_line *l = &lines[i];
		size_t start = len, jumps[4], n_jumps = 0;
		if (l->type != 'a')
			jumps[n_jumps++] = len,
			p[len++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, l->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
		if (l->access != 7) {
			/* the request must be a subset of the rule's access: (access & ~rule) == 0 */
			p[len++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
			p[len++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int)(~l->access & 7));
			jumps[n_jumps++] = len, p[len++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, 0);
		}
		if (l->major >= 0)
			jumps[n_jumps++] = len, p[len++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int)l->major);
		if (l->minor >= 0)
			jumps[n_jumps++] = len, p[len++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int)l->minor);
		p[len++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, l->allow ? 1 : 0);
		p[len++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		/* a failed comparison skips to the next rule: the end of this block */
		for (size_t j = 0; j < n_jumps; j++)
			p[jumps[j]].off = (short)(len - jumps[j] - 1);
		(void)start;
		/* a rule without conditions ends the program: the verifier refuses code that
		 * cannot be reached, and nothing after it could be */
		if (n_jumps == 0) {
			*out = p;
			return len;
		}
	}
	p[len++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[len++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	*out = p;
	return len;
}

static int attach_device_program(int cgroup_fd, const struct husk_device_line *lines, size_t n, const char *dir,
				 struct husk_err *err)
{
	_cleanup_free_ void *insns = NULL;
	size_t len = husk_cgroup_device_program(lines, n, &insns);
	char log[4096] = "";
	union bpf_attr attr;
	_cleanup_close_ int prog = -1;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)len;
	attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (prog < 0)
		return husk_err_sys(err, "load the device filter for %s%s%s", dir, *log ? ": " : "", log);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	/* the cgroup keeps the program once attached; it goes with the cgroup */
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return husk_err_sys(err, "attach the device filter to %s", dir);
	return 0;
}

int husk_cgroup_apply_devices(const struct husk_cgroup *cg, const struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_free_ struct husk_device_line *lines = NULL;
	const struct husk_cgroup_hier *h = NULL;
	_cleanup_close_ int allow = -1, deny = -1;
	size_t n;

	if (cg->v2) {
		husk_cgroup_device_lines(spec, &lines, &n);
		return attach_device_program(cg->v2_dirfd, lines, n, cg->h[0].dir, err);
	}
	for (size_t i = 0; i < cg->n && !cg->v2; i++)
		if (strcmp(cg->h[i].controllers, "devices") == 0)
			h = &cg->h[i];
	if (!h)
		return 0;
	{
		_cleanup_free_ char *a = husk_xasprintf("%s/devices.allow", h->dir);
		_cleanup_free_ char *d = husk_xasprintf("%s/devices.deny", h->dir);
		allow = open(a, O_WRONLY | O_CLOEXEC);
		deny = open(d, O_WRONLY | O_CLOEXEC);
		if (allow < 0 || deny < 0)
			return husk_err_sys(err, "open the devices cgroup files in %s", h->dir);
	}
	husk_cgroup_device_lines(spec, &lines, &n);
	/* one rule per write(): the kernel parses a single rule each time */
	for (size_t i = 0; i < n; i++)
		if (write(lines[i].allow ? allow : deny, lines[i].text, strlen(lines[i].text)) < 0)
			return husk_err_sys(err, "devices cgroup %s: %s \"%s\"", h->dir,
					    lines[i].allow ? "allow" : "deny", lines[i].text);
	return 0;
}

void husk_cgroup_close_fds(struct husk_cgroup *cg)
{
	for (size_t i = 0; i < cg->n_attach_fds; i++)
		close(cg->attach_fds[i]);
	cg->n_attach_fds = 0;
	if (cg->v2_dirfd >= 0)
		close(cg->v2_dirfd);
	cg->v2_dirfd = -1;
}

void husk_cgroup_free(struct husk_cgroup *cg)
{
	husk_cgroup_close_fds(cg);
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].mountpoint);
		free(cg->h[i].controllers);
		free(cg->h[i].own);
		free(cg->h[i].dir);
	}
	for (size_t i = 0; i < cg->n_created; i++)
		free(cg->created[i]);
	free(cg->created);
	memset(cg, 0, sizeof(*cg));
	cg->v2_dirfd = -1;
}

int husk_cgroup_pids(const char *dir, pid_t **pids_out, size_t *n_out, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/cgroup.procs", dir), *text = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	char *p, *end;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	for (p = text; *p; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		pids = husk_xrealloc(pids, (n + 1) * sizeof(pid_t));
		pids[n++] = (pid_t)v;
		while (*end == '\n')
			end++;
	}
	*pids_out = pids;
	*n_out = n;
	return 0;
}

int husk_cgroup_kill(const char *dir, int sig, struct husk_err *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;

	if (husk_cgroup_pids(dir, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return husk_err_sys(err, "kill %d", (int)pids[i]);
	return 0;
}

bool husk_cgroup_dirs_v2(char *const *dirs, size_t n)
{
	struct statfs sfs;
	return n == 1 && statfs(dirs[0], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* dirs[i]/file of the first dir that has it, read whole; NULL if none */
static char *read_from(char *const *dirs, size_t n, const char *file)
{
	struct husk_err ignored = {0};
	char *text = NULL;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = husk_xasprintf("%s/%s", dirs[i], file);
		if (husk_read_file_at(AT_FDCWD, path, &text, NULL, &ignored) == 0)
			return text;
		husk_err_clear(&ignored);
	}
	return NULL;
}

static const char *dir_having(char *const *dirs, size_t n, const char *file)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = husk_xasprintf("%s/%s", dirs[i], file);
		if (access(path, F_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

/* "key value" lines (memory.stat, cpu.stat, memory.events): the value of key, or -1 */
static long long keyed(const char *text, const char *key)
{
	size_t len = strlen(key);

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, len) == 0 && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 10);
	return -1;
}

static long long number_in(char *const *dirs, size_t n, const char *file)
{
	_cleanup_free_ char *text = read_from(dirs, n, file);

	if (!text)
		return -1;
	if (strncmp(text, "max", 3) == 0)
		return 0;
	return strtoll(text, NULL, 10);
}

int husk_cgroup_freeze(char *const *dirs, size_t n, bool freeze, struct husk_err *err)
{
	bool v2 = husk_cgroup_dirs_v2(dirs, n);
	const char *file = v2 ? "cgroup.freeze" : "freezer.state";
	const char *dir = dir_having(dirs, n, file);
	const char *want = v2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
	_cleanup_free_ char *path = NULL;

	if (!dir)
		return husk_err_set(err, ENOTSUP, "%s: no freezer for this container (no %s in its cgroups)",
				    freeze ? "pause" : "resume", file);
	path = husk_xasprintf("%s/%s", dir, file);
	if (husk_write_file_at(AT_FDCWD, path, want, strlen(want), err) < 0)
		return -1;
	/* freezing is asynchronous: wait until the kernel reports every task frozen */
	for (int tries = 0; tries < 1000; tries++) {
		_cleanup_free_ char *text = NULL;
		const char *state_file = v2 ? "cgroup.events" : "freezer.state";
		_cleanup_free_ char *sp = husk_xasprintf("%s/%s", dir, state_file);
		if (husk_read_file_at(AT_FDCWD, sp, &text, NULL, err) < 0)
			return -1;
		if (v2 ? keyed(text, "frozen") == (freeze ? 1 : 0) : strncmp(text, want, strlen(want)) == 0)
			return 0;
		/* v1 FREEZING is retried by writing again, as the kernel documentation says */
		if (!v2 && freeze && strncmp(text, "FREEZING", 8) == 0 && tries % 10 == 9)
			husk_write_file_at(AT_FDCWD, path, want, strlen(want), &(struct husk_err){0});
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return husk_err_set(err, ETIMEDOUT, "%s did not reach %s within a second", path, want);
}

json_t *husk_cgroup_stats(char *const *dirs, size_t n)
{
	bool v2 = husk_cgroup_dirs_v2(dirs, n);
	_cleanup_free_ char *cpu_stat = v2 ? read_from(dirs, n, "cpu.stat") : NULL;
	_cleanup_free_ char *mem_stat = read_from(dirs, n, "memory.stat");
	long long cpu_total = v2 ? (cpu_stat ? keyed(cpu_stat, "usage_usec") * 1000 : -1) : number_in(dirs, n, "cpuacct.usage");
	json_t *memory, *obj;

	if (v2)
		memory = json_pack("{s:{s:I, s:I, s:I}, s:{s:I, s:I}, s:o}", "usage", "usage",
				   (json_int_t)number_in(dirs, n, "memory.current"), "limit",
				   (json_int_t)number_in(dirs, n, "memory.max"), "max", (json_int_t)number_in(dirs, n, "memory.peak"),
				   "swap_usage", "usage", (json_int_t)number_in(dirs, n, "memory.swap.current"), "limit",
				   (json_int_t)number_in(dirs, n, "memory.swap.max"), "stats", json_object());
	else
		memory = json_pack("{s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:o}", "usage", "usage",
				   (json_int_t)number_in(dirs, n, "memory.usage_in_bytes"), "limit",
				   (json_int_t)number_in(dirs, n, "memory.limit_in_bytes"), "max",
				   (json_int_t)number_in(dirs, n, "memory.max_usage_in_bytes"), "failcnt",
				   (json_int_t)number_in(dirs, n, "memory.failcnt"), "swap_usage", "usage",
				   (json_int_t)number_in(dirs, n, "memory.memsw.usage_in_bytes"), "limit",
				   (json_int_t)number_in(dirs, n, "memory.memsw.limit_in_bytes"), "stats", json_object());
	obj = json_pack("{s:{s:{s:I}}, s:o, s:{s:I, s:I}}", "cpu", "usage", "total", (json_int_t)cpu_total, "memory", memory,
			"pids", "current", (json_int_t)number_in(dirs, n, "pids.current"), "limit",
			(json_int_t)number_in(dirs, n, "pids.max"));
	if (mem_stat) {
		json_t *stats = json_object_get(json_object_get(obj, "memory"), "stats");
		for (char *line = strtok(mem_stat, "\n"); line; line = strtok(NULL, "\n")) {
			char *sp = strchr(line, ' ');
			if (sp) {
				*sp = '\0';
				json_object_set_new(stats, line, json_integer(strtoll(sp + 1, NULL, 10)));
			}
		}
	}
	return obj;
}

long long husk_cgroup_oom_kills(char *const *dirs, size_t n)
{
	_cleanup_free_ char *text = read_from(dirs, n, husk_cgroup_dirs_v2(dirs, n) ? "memory.events" : "memory.oom_control");

	return text ? keyed(text, "oom_kill") : -1;
}

static bool is_empty(const char *dir)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	struct husk_err ignored = {0};

	if (husk_cgroup_pids(dir, &pids, &n, &ignored) < 0)
		return errno == ENOENT;
	return n == 0;
}

int husk_cgroup_destroy(char **dirs, size_t n_dirs, char **created, size_t n_created, bool force,
			struct husk_err *err)
{
	for (size_t i = 0; i < n_dirs; i++) {
		if (access(dirs[i], F_OK) < 0)
			continue;
		if (force) {
			/* kill until empty: a process may fork while we read the list */
			for (int tries = 0; tries < 200 && !is_empty(dirs[i]); tries++) {
				husk_cgroup_kill(dirs[i], SIGKILL, NULL);
				nanosleep(&(struct timespec){0, 5000000}, NULL);
			}
		}
		if (!is_empty(dirs[i]))
			return husk_err_set(err, EBUSY, "cgroup %s still holds processes", dirs[i]);
	}
	for (size_t i = n_created; i-- > 0;) {
		bool leaf = false;
		for (size_t j = 0; j < n_dirs; j++)
			leaf = leaf || strcmp(dirs[j], created[i]) == 0;
		/* an exited task leaves the cgroup a moment after it is reaped: retry briefly */
		for (int tries = 0;; tries++) {
			if (rmdir(created[i]) == 0 || errno == ENOENT)
				break;
			if (!leaf && (errno == EBUSY || errno == ENOTEMPTY))
				break; /* a parent still shared with another container */
			if (errno != EBUSY || tries >= 100)
				return husk_err_sys(err, "remove cgroup %s", created[i]);
			nanosleep(&(struct timespec){0, 2000000}, NULL);
		}
	}
	return 0;
}
