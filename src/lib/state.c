#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "defaults.h"
#include "util.h"

#define STATE_FILE "state.json"

int husk_state_check_id(const char *id, struct husk_err *err)
{
	size_t len = strlen(id);

	if (len == 0 || len > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return husk_err_set(err, EINVAL, "invalid container id \"%s\"", id);
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '+' || *p == '-' || *p == '.'))
			return husk_err_set(err, EINVAL,
					    "invalid container id \"%s\" (letters, digits, '_', '+', '-', '.')", id);
	return 0;
}

static int lock_dir(const char *path, int *dirfd, struct husk_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0) {
		husk_err_sys(err, "lock %s", path);
		close(fd);
		return -2;
	}
	*dirfd = fd;
	return 0;
}

/* Remove the files in a state directory (the state, its temporary copies, the exec fifo). */
static int clear_dir(int dirfd, const char *path, struct husk_err *err)
{
	DIR *dir = fdopendir(dup(dirfd));
	struct dirent *de;

	if (!dir)
		return husk_err_sys(err, "read %s", path);
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT) {
			husk_err_sys(err, "remove %s/%s", path, de->d_name);
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

/* What the locked directory fd is, for a create that wants it. */
enum claim { CLAIM_OURS, CLAIM_TAKEN, CLAIM_GONE };

/* The rule that makes a killed create recoverable: ROOT/ID without state.json is a container
 * being created, and its creator holds the directory's lock from (just after) the mkdir until
 * state.json is written or the directory is removed. Whoever holds the lock and finds the
 * directory still linked and without state.json owns an id nobody else is working on: a
 * creator killed before writing its state left it, and nothing else (cgroups are made only
 * after state.json names them). */
static enum claim claim_locked(int dirfd)
{
	struct stat st;

	if (fstat(dirfd, &st) == 0 && st.st_nlink == 0)
		return CLAIM_GONE;
	if (faccessat(dirfd, STATE_FILE, F_OK, 0) == 0 || errno != ENOENT)
		return CLAIM_TAKEN;
	return CLAIM_OURS;
}

/* Bounded: each round means another command removed or claimed the directory meanwhile. */
#define CLAIM_TRIES 100

int husk_state_create(const char *root, const char *id, int *dirfd, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/%s", root, id);

	if (husk_state_check_id(id, err) < 0)
		return -1;
	if (husk_mkdir_p(root, 0700, err) < 0)
		return -1;
	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		_cleanup_close_ int fd = -1;
		bool made;
		enum claim claim;

		/* mkdir is the atomic claim on the id: two concurrent creates cannot both succeed */
		made = mkdir(path, 0700) == 0;
		if (!made && errno != EEXIST)
			return husk_err_sys(err, "mkdir %s", path);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* removed by a delete since: try again */
			return husk_err_sys(err, "open %s", path);
		}
		/* Our own directory: wait for the lock, since between our mkdir and this flock
		 * another create or a delete may have taken it for a dead creator's. Another's: a
		 * held lock is a live creator or a command at work on an existing container. */
		if (flock(fd, made ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				return husk_err_set(err, EEXIST, "container \"%s\" already exists", id);
			return husk_err_sys(err, "lock %s", path);
		}
		claim = claim_locked(fd);
		if (claim == CLAIM_GONE)
			continue;
		if (claim == CLAIM_TAKEN)
			return husk_err_set(err, EEXIST, "container \"%s\" already exists", id);
		/* a dead creator's directory (or ours): what it wrote before dying is dropped */
		if (!made && clear_dir(fd, path, err) < 0)
			return husk_err_wrap(err, "reclaim the directory of a create that died");
		*dirfd = steal_fd(&fd);
		return 0;
	}
	return husk_err_set(err, EAGAIN, "claim %s: removed or taken %d times in a row by other commands", path,
			    CLAIM_TRIES);
}

int husk_state_open(const char *root, const char *id, int *dirfd, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/%s", root, id);
	int rc;

	if (husk_state_check_id(id, err) < 0)
		return -1;
	rc = lock_dir(path, dirfd, err);
	if (rc == -1) {
		if (errno == ENOENT)
			return husk_err_set(err, ENOENT, "container \"%s\" does not exist", id);
		return husk_err_sys(err, "open %s", path);
	}
	if (rc < 0)
		return -1;
	/* a concurrent delete may have removed it while we waited for the lock */
	if (faccessat(*dirfd, STATE_FILE, F_OK, 0) < 0 && errno == ENOENT) {
		struct stat st;
		if (fstat(*dirfd, &st) == 0 && st.st_nlink == 0) {
			close(*dirfd);
			*dirfd = -1;
			return husk_err_set(err, ENOENT, "container \"%s\" does not exist", id);
		}
	}
	return 0;
}

static const char *const status_names[] = {
	[HUSK_CREATING] = "creating", [HUSK_CREATED] = "created", [HUSK_RUNNING] = "running",
	[HUSK_STOPPED] = "stopped", [HUSK_PAUSED] = "paused",
};

const char *husk_status_name(enum husk_status status)
{
	return status_names[status];
}

static enum husk_status status_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(status_names); i++)
		if (name && strcmp(name, status_names[i]) == 0)
			return (enum husk_status)i;
	return HUSK_STOPPED;
}

static json_t *strings_to_json(char **v, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

static char **strings_from_json(json_t *arr, size_t *n)
{
	json_t *item;
	size_t i;
	char **v;

	*n = json_array_size(arr);
	v = husk_xcalloc(*n + 1, sizeof(char *));
	json_array_foreach(arr, i, item)
		v[i] = husk_xstrdup(json_string_value(item) ? json_string_value(item) : "");
	return v;
}

/* A locked directory without state.json: a create that died before writing it (see
 * claim_locked). It is shown as what it is, a container still "creating" with no process, no
 * bundle and no cgroup, created when its directory was. */
static void unfinished_state(int dirfd, const char *id, struct husk_state *s)
{
	struct stat st;
	struct passwd *pw;

	memset(s, 0, sizeof(*s));
	s->id = husk_xstrdup(id);
	s->bundle = husk_xstrdup("");
	s->status = HUSK_CREATING;
	if (fstat(dirfd, &st) == 0) {
		s->created = husk_timestamp_of(&st.st_mtim);
		pw = getpwuid(st.st_uid);
		s->owner = husk_xstrdup(pw ? pw->pw_name : "");
	}
}

int husk_state_load(const char *root, const char *id, int *dirfd, struct husk_state *state, struct husk_err *err)
{
	if (husk_state_open(root, id, dirfd, err) < 0)
		return -1;
	if (faccessat(*dirfd, STATE_FILE, F_OK, 0) < 0 && errno == ENOENT) {
		unfinished_state(*dirfd, id, state);
		return 0;
	}
	if (husk_state_read(*dirfd, state, err) < 0) {
		husk_err_wrap(err, "container \"%s\"", id);
		close(*dirfd);
		*dirfd = -1;
		return -1;
	}
	return 0;
}

int husk_state_write(int dirfd, const struct husk_state *s, struct husk_err *err)
{
	json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "ociVersion", HUSK_OCI_VERSION,
				"id", s->id, "status", husk_status_name(s->status), "bundle", s->bundle,
				"rootfs", s->rootfs, "created", s->created, "pid", (json_int_t)s->pid,
				"pidStartTime", (json_int_t)s->start_time);
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	char tmp[64];

	json_object_set_new(obj, "cgroupDirs", strings_to_json(s->cgroup_dirs, s->n_cgroup_dirs));
	json_object_set_new(obj, "cgroupCreated", strings_to_json(s->cgroup_created, s->n_cgroup_created));
	json_object_set_new(obj, "owner", json_string(s->owner ? s->owner : ""));
	if (s->hooks)
		json_object_set_new(obj, "hooks", json_true());
	if (s->no_process)
		json_object_set_new(obj, "noProcess", json_true());
	if (s->no_new_keyring)
		json_object_set_new(obj, "noNewKeyring", json_true());
	if (s->annotations)
		json_object_set(obj, "annotations", s->annotations);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		return husk_err_set(err, ENOMEM, "encode state of %s", s->id);
	/* temporary file + rename: a crash leaves the old state or the new, never half of one */
	snprintf(tmp, sizeof(tmp), STATE_FILE ".%d", (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_err_sys(err, "create state file of %s", s->id);
	if (husk_write_all(fd, text, strlen(text)) < 0 || renameat(dirfd, tmp, dirfd, STATE_FILE) < 0) {
		husk_err_sys(err, "write state file of %s", s->id);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static char *dup_or_null(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v ? husk_xstrdup(v) : NULL;
}

int husk_state_read(int dirfd, struct husk_state *s, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *obj;
	size_t len;

	memset(s, 0, sizeof(*s));
	if (husk_read_file_at(dirfd, STATE_FILE, &text, &len, err) < 0)
		return -1;
	obj = json_loadb(text, len, 0, &jerr);
	if (!obj || !json_is_object(obj)) {
		json_decref(obj);
		return husk_err_set(err, EINVAL, "state file is corrupt: %d:%d: %s", jerr.line, jerr.column, jerr.text);
	}
	s->id = dup_or_null(obj, "id");
	s->bundle = dup_or_null(obj, "bundle");
	s->rootfs = dup_or_null(obj, "rootfs");
	s->created = dup_or_null(obj, "created");
	s->owner = dup_or_null(obj, "owner");
	s->pid = (pid_t)json_integer_value(json_object_get(obj, "pid"));
	s->start_time = (unsigned long long)json_integer_value(json_object_get(obj, "pidStartTime"));
	s->status = status_from_name(json_string_value(json_object_get(obj, "status")));
	s->cgroup_dirs = strings_from_json(json_object_get(obj, "cgroupDirs"), &s->n_cgroup_dirs);
	s->cgroup_created = strings_from_json(json_object_get(obj, "cgroupCreated"), &s->n_cgroup_created);
	s->annotations = json_incref(json_object_get(obj, "annotations"));
	s->hooks = json_is_true(json_object_get(obj, "hooks"));
	s->no_process = json_is_true(json_object_get(obj, "noProcess"));
	s->no_new_keyring = json_is_true(json_object_get(obj, "noNewKeyring"));
	json_decref(obj);
	if (!s->id || !s->bundle) {
		husk_state_free(s);
		return husk_err_set(err, EINVAL, "state file is missing id or bundle");
	}
	return 0;
}

void husk_state_free(struct husk_state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->owner);
	for (size_t i = 0; i < s->n_cgroup_dirs; i++)
		free(s->cgroup_dirs[i]);
	free(s->cgroup_dirs);
	for (size_t i = 0; i < s->n_cgroup_created; i++)
		free(s->cgroup_created[i]);
	free(s->cgroup_created);
	json_decref(s->annotations);
	memset(s, 0, sizeof(*s));
}

int husk_state_remove(const char *root, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/%s", root, id);
	_cleanup_close_ int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dirfd < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, "open %s", path);
	if (clear_dir(dirfd, path, err) < 0)
		return -1;
	if (rmdir(path) < 0 && errno != ENOENT)
		return husk_err_sys(err, "remove %s", path);
	return 0;
}

enum husk_status husk_state_status(const struct husk_state *s)
{
	char proc_state = 0;
	unsigned long long start;

	if (s->status == HUSK_STOPPED || s->pid <= 0)
		return s->status == HUSK_CREATING ? HUSK_CREATING : HUSK_STOPPED;
	start = husk_proc_start_time(s->pid, &proc_state);
	/* gone, reused by another process, or a zombie nobody reaped yet */
	if (start == 0 || start != s->start_time || proc_state == 'Z' || proc_state == 'X')
		return HUSK_STOPPED;
	return s->status;
}

json_t *husk_state_to_json(const struct husk_state *s, enum husk_status status)
{
	json_t *obj = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "ociVersion", HUSK_OCI_VERSION, "id", s->id,
				"pid", (json_int_t)(status == HUSK_STOPPED ? 0 : s->pid), "status",
				husk_status_name(status), "bundle", s->bundle, "rootfs", s->rootfs ? s->rootfs : "",
				"created", s->created ? s->created : "", "owner", s->owner ? s->owner : "");
	if (s->annotations && json_object_size(s->annotations))
		json_object_set(obj, "annotations", s->annotations);
	return obj;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int husk_state_list(const char *root, char ***ids_out, size_t *n_out, struct husk_err *err)
{
	DIR *dir = opendir(root);
	struct dirent *de;
	char **ids = NULL;
	size_t n = 0;

	*ids_out = NULL;
	*n_out = 0;
	if (!dir) {
		if (errno == ENOENT) {
			*ids_out = husk_xcalloc(1, sizeof(char *));
			return 0;
		}
		return husk_err_sys(err, "open %s", root);
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		ids = husk_xrealloc(ids, (n + 2) * sizeof(char *));
		ids[n++] = husk_xstrdup(de->d_name);
	}
	closedir(dir);
	if (!ids)
		ids = husk_xcalloc(1, sizeof(char *));
	ids[n] = NULL;
	qsort(ids, n, sizeof(char *), cmp_str);
	*ids_out = ids;
	*n_out = n;
	return 0;
}

char *husk_timestamp_of(const struct timespec *ts)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return husk_xasprintf("%s.%09ldZ", buf, ts->tv_nsec);
}

char *husk_timestamp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return husk_timestamp_of(&ts);
}
