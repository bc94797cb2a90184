#define _GNU_SOURCE
#include "verbs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>

#include "../cgroup.h"
#include "../container.h"
#include "../exec.h"
#include "../inroot.h"
#include "../state.h"
#include "../util.h"
#include "../image/runconfig.h"

/* ---- exec ---- */

static char *read_in_root(int rootfd, const char *path)
{
	_cleanup_close_ int fd = husk_open_in_root(rootfd, path, O_RDONLY, NULL);
	char *text = NULL;

	if (fd < 0 || husk_read_fd(fd, &text, NULL) < 0)
		return NULL;
	return text;
}

/* env with NAME=VALUE set, replacing an earlier NAME */
static void set_env(const char ***env, size_t *n, const char *entry)
{
	size_t name = strcspn(entry, "=");

	for (size_t i = 0; i < *n; i++)
		if (strncmp((*env)[i], entry, name) == 0 && (*env)[i][name] == '=') {
			(*env)[i] = entry;
			return;
		}
	*env = husk_xrealloc(*env, (*n + 2) * sizeof(char *));
	(*env)[(*n)++] = entry;
	(*env)[*n] = NULL;
}

static bool has_env(char *const *env, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
			return true;
	return false;
}

/* the kernel's capabilities, not only those husk was built knowing */
static unsigned last_cap(void)
{
	_cleanup_free_ char *text = NULL;

	if (husk_read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", &text, NULL, NULL) == 0 && atoi(text) > 0 &&
	    atoi(text) < 64)
		return (unsigned)atoi(text);
	return CAP_LAST_CAP;
}

int husk_engine_exec(const struct husk_engine *e, const char *id, const struct husk_engine_exec *o, pid_t *pid,
		     int *terminal_fd, struct husk_err *err)
{
	struct husk_spec spec = {0};
	struct husk_process proc;
	struct husk_user user = {0};
	_cleanup_free_ const char **env = NULL, **args = NULL;
	_cleanup_free_ char *home = NULL;
	_cleanup_free_ uint32_t *gids = NULL;
	size_t n_env = 0;
	int rc = -1;

	if (o->n_cmd == 0)
		return husk_err_set(err, EINVAL, "no command to run");
	/* the container's process is the base: env, cwd, user, capabilities, rlimits, no_new_privs */
	if (husk_container_load_spec(e->root, id, &spec, err) < 0)
		return -1;
	proc = spec.process;
	proc.terminal = o->tty;
	proc.console_width = proc.console_height = 0;
	args = husk_xcalloc(o->n_cmd + 1, sizeof(char *));
	for (size_t i = 0; i < o->n_cmd; i++)
		args[i] = o->cmd[i];
	proc.args = args;
	proc.n_args = o->n_cmd;
	for (size_t i = 0; i < spec.process.n_env; i++)
		set_env(&env, &n_env, spec.process.env[i]);
	for (size_t i = 0; i < o->n_env; i++)
		set_env(&env, &n_env, o->env[i]);
	if (o->user) {
		/* names are the container's: its own files, read without following its symlinks out */
		_cleanup_close_ int rootfd = husk_engine_open_root(e, id, err);
		_cleanup_free_ char *passwd = NULL, *group = NULL;
		if (rootfd < 0)
			goto out;
		passwd = read_in_root(rootfd, "/etc/passwd");
		group = read_in_root(rootfd, "/etc/group");
		if (husk_user_resolve(o->user, passwd, group, &user, err) < 0) {
			husk_err_wrap(err, "-u %s (in container %.12s)", o->user, id);
			goto out;
		}
		proc.uid = user.uid;
		proc.gid = user.gid;
		gids = husk_xcalloc(user.n_groups + 1, sizeof(uint32_t));
		for (size_t i = 0; i < user.n_groups; i++)
			gids[i] = user.groups[i];
		proc.additional_gids = gids;
		proc.n_additional_gids = user.n_groups;
		/* the container's HOME was its own user's */
		if (!has_env(o->env, o->n_env, "HOME") && user.home) {
			home = husk_xasprintf("HOME=%s", user.home);
			set_env(&env, &n_env, home);
		}
	}
	if (o->tty && !has_env((char *const *)env, n_env, "TERM"))
		set_env(&env, &n_env, "TERM=xterm");
	proc.env = env;
	proc.n_env = n_env;
	if (o->workdir)
		proc.cwd = o->workdir;
	if (o->privileged) {
		uint64_t all = last_cap() >= 63 ? ~0ULL : (1ULL << (last_cap() + 1)) - 1;
		proc.has_caps = true;
		for (int set = 0; set < HUSK_CAP_NSETS; set++)
			if (set != HUSK_CAP_AMBIENT && set != HUSK_CAP_INHERITABLE)
				proc.caps[set] = all;
	}
	struct husk_exec_opts xo = {.root = e->root, .id = id, .process = &proc, .terminal_fd = terminal_fd};
	rc = husk_container_exec(&xo, pid, err);
out:
	husk_user_free(&user);
	husk_spec_free(&spec);
	return rc;
}

/* ---- stats ---- */

static uint64_t read_u64(const char *dir, const char *file, bool *found)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/%s", dir, file), *text = NULL;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	*found = true;
	if (strncmp(text, "max", 3) == 0)
		return UINT64_MAX;
	return strtoull(text, NULL, 10);
}

/* the first of the container's cgroup dirs that has file (v1: one dir per controller) */
static uint64_t cgroup_u64(const struct husk_state *st, const char *file, bool *found)
{
	*found = false;
	for (size_t i = 0; i < st->n_cgroup_dirs; i++) {
		uint64_t v = read_u64(st->cgroup_dirs[i], file, found);
		if (*found)
			return v;
	}
	return 0;
}

static char *cgroup_text(const struct husk_state *st, const char *file)
{
	for (size_t i = 0; i < st->n_cgroup_dirs; i++) {
		_cleanup_free_ char *path = husk_xasprintf("%s/%s", st->cgroup_dirs[i], file);
		char *text = NULL;
		if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) == 0)
			return text;
	}
	return NULL;
}

/* "key value" lines (memory.stat, cpu.stat) */
static uint64_t keyed(const char *text, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, len) == 0 && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
	return 0;
}

static void sample_blkio(const struct husk_state *st, struct husk_engine_stats *s)
{
	_cleanup_free_ char *v2 = cgroup_text(st, "io.stat");
	_cleanup_free_ char *v1 = v2 ? NULL : cgroup_text(st, "blkio.throttle.io_service_bytes_recursive");
	char *line, *save = NULL;

	if (v2) {
		/* "8:0 rbytes=N wbytes=N rios=N ..." a line per device */
		for (line = strtok_r(v2, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *r = strstr(line, " rbytes="), *w = strstr(line, " wbytes=");
			if (r)
				s->blk_read += strtoull(r + 8, NULL, 10);
			if (w)
				s->blk_write += strtoull(w + 8, NULL, 10);
		}
	} else if (v1) {
		/* "8:0 Read N", "8:0 Write N", ..., "Total N" */
		for (line = strtok_r(v1, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char dev[32], op[16];
			unsigned long long n;
			if (sscanf(line, "%31s %15s %llu", dev, op, &n) != 3)
				continue;
			if (strcmp(op, "Read") == 0)
				s->blk_read += n;
			else if (strcmp(op, "Write") == 0)
				s->blk_write += n;
		}
	}
}

/* /proc/PID/net/dev shows the interfaces of PID's network namespace */
static void sample_net(pid_t pid, struct husk_engine_stats *s)
{
	_cleanup_free_ char *path = husk_xasprintf("/proc/%d/net/dev", (int)pid), *text = NULL;
	char *line, *save = NULL;

	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		unsigned long long rx, tx, skip;
		if (!colon)
			continue; /* the two header lines */
		*colon = '\0';
		while (*line == ' ')
			line++;
		if (strcmp(line, "lo") == 0)
			continue;
		/* receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ... */
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &rx, &skip, &skip, &skip, &skip, &skip,
			   &skip, &skip, &tx) == 9) {
			s->net_rx += rx;
			s->net_tx += tx;
		}
	}
}

static uint64_t host_cpu_ns(void)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long v[8] = {0};
	uint64_t sum = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (husk_read_file_at(AT_FDCWD, "/proc/stat", &text, NULL, NULL) < 0 || hz <= 0)
		return 0;
	/* "cpu  user nice system idle iowait irq softirq steal ..." in clock ticks (as docker sums) */
	if (sscanf(text, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		   &v[7]) < 4)
		return 0;
	for (int i = 0; i < 8; i++)
		sum += v[i];
	return sum * (1000000000ULL / (uint64_t)hz);
}

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

int husk_engine_stats_sample(const struct husk_engine *e, const char *id, struct husk_engine_stats *s,
			     struct husk_err *err)
{
	_cleanup_close_ int lock_fd = -1;
	_cleanup_free_ char *memstat = NULL, *cpustat = NULL;
	struct husk_state st;
	bool found, v2;
	uint64_t v;

	memset(s, 0, sizeof(*s));
	s->online_cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	s->system_ns = host_cpu_ns();
	if (husk_state_load(e->root, id, &lock_fd, &st, err) < 0) {
		/* a container that is not running has no runtime state: all zeros */
		if (err->errnum == ENOENT) {
			husk_err_clear(err);
			return 0;
		}
		return -1;
	}
	s->running = husk_state_status(&st) == HUSK_RUNNING || husk_state_status(&st) == HUSK_PAUSED;
	v2 = husk_cgroup_dirs_v2(st.cgroup_dirs, st.n_cgroup_dirs);
	if (v2) {
		cpustat = cgroup_text(&st, "cpu.stat");
		s->cpu_ns = cpustat ? keyed(cpustat, "usage_usec") * 1000 : 0;
		s->mem_usage = cgroup_u64(&st, "memory.current", &found);
		s->mem_limit = cgroup_u64(&st, "memory.max", &found);
	} else {
		s->cpu_ns = cgroup_u64(&st, "cpuacct.usage", &found);
		s->mem_usage = cgroup_u64(&st, "memory.usage_in_bytes", &found);
		s->mem_limit = cgroup_u64(&st, "memory.limit_in_bytes", &found);
	}
	/* docker leaves the page cache that could be dropped out of the usage */
	memstat = cgroup_text(&st, "memory.stat");
	if (memstat) {
		v = keyed(memstat, v2 ? "inactive_file" : "total_inactive_file");
		s->mem_usage = v < s->mem_usage ? s->mem_usage - v : 0;
	}
	if (s->mem_limit == 0 || s->mem_limit > host_memory())
		s->mem_limit = host_memory();
	s->pids = cgroup_u64(&st, "pids.current", &found);
	if (!found) {
		pid_t *pids = NULL;
		size_t n = 0;
		if (st.n_cgroup_dirs && husk_cgroup_pids(st.cgroup_dirs[0], &pids, &n, NULL) == 0)
			s->pids = n;
		free(pids);
	}
	sample_blkio(&st, s);
	if (s->running && st.pid > 0)
		sample_net(st.pid, s);
	husk_state_free(&st);
	return 0;
}

double husk_engine_cpu_percent(const struct husk_engine_stats *prev, const struct husk_engine_stats *now)
{
	double cpu = (double)now->cpu_ns - (double)prev->cpu_ns;
	double system = (double)now->system_ns - (double)prev->system_ns;

	if (cpu <= 0 || system <= 0)
		return 0;
	return cpu / system * (double)now->online_cpus * 100.0;
}

/* ---- disk usage ---- */

/* nftw has no argument for its callback: one walk at a time (husk is one thread) */
static struct {
	uint64_t size;
	dev_t *devs;
	ino_t *inos;
	size_t n;
} walk;

static int add_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path, (void)ftw;
	if (type == FTW_D || type == FTW_DP || type == FTW_DNR || type == FTW_NS)
		return 0;
	if (st->st_nlink > 1) {
		/* a hard link counted once */
		for (size_t i = 0; i < walk.n; i++)
			if (walk.inos[i] == st->st_ino && walk.devs[i] == st->st_dev)
				return 0;
		walk.inos = husk_xrealloc(walk.inos, (walk.n + 1) * sizeof(ino_t));
		walk.devs = husk_xrealloc(walk.devs, (walk.n + 1) * sizeof(dev_t));
		walk.inos[walk.n] = st->st_ino;
		walk.devs[walk.n++] = st->st_dev;
	}
	walk.size += (uint64_t)st->st_size;
	return 0;
}

int husk_dir_size(const char *dir, uint64_t *size, struct husk_err *err)
{
	int rc;

	memset(&walk, 0, sizeof(walk));
	rc = nftw(dir, add_entry, 32, FTW_PHYS | FTW_MOUNT);
	free(walk.inos);
	free(walk.devs);
	*size = walk.size;
	if (rc < 0) {
		if (errno == ENOENT) {
			*size = 0;
			return 0;
		}
		return husk_err_sys(err, "walk %s", dir);
	}
	return 0;
}
