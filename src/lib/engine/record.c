#define _GNU_SOURCE
#include "record.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "../util.h"

static bool is_id(const char *s)
{
	return strlen(s) == HUSK_ID_LEN && strspn(s, "0123456789abcdef") == HUSK_ID_LEN;
}

int husk_record_load(const struct husk_engine *e, const char *id, json_t **rec, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/containers/%s/container.json", e->storage, id);
	_cleanup_free_ char *dir = husk_xasprintf("%s/containers/%s", e->storage, id);
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	struct stat st;

	if (!is_id(id))
		return husk_err_set(err, ENOENT, "\"%s\" is not a container id", id);
	if (husk_read_file_at(AT_FDCWD, path, &text, NULL, err) < 0) {
		if (err->errnum != ENOENT || stat(dir, &st) < 0)
			return -1;
		/* killed between making the directory and writing the record: visible, removable */
		husk_err_clear(err);
		*rec = json_pack("{s:s, s:s, s:s, s:{s:s, s:b, s:i, s:s}, s:{}, s:{}}", "Id", id, "Name", "",
				 "Created", "", "State", "Status", "dead", "Running", 0, "ExitCode", -1, "Error",
				 "husk was stopped while making this container", "Config", "HostConfig");
		return 0;
	}
	*rec = json_loads(text, 0, &jerr);
	if (!*rec || !json_is_object(*rec)) {
		json_decref(*rec);
		*rec = NULL;
		return husk_err_set(err, EINVAL, "%s: %s", path, jerr.text);
	}
	return 0;
}

int husk_record_save(const struct husk_engine *e, const char *id, json_t *rec, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/containers/%s/container.json", e->storage, id);
	_cleanup_free_ char *text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (!text)
		return husk_err_set(err, ENOMEM, "encode the record of %s", id);
	return husk_write_file_atomic(path, text, strlen(text), 0600, err);
}

int husk_record_lock(const struct husk_engine *e, const char *id, struct husk_err *err)
{
	/* the container's directory itself: no lock file to make (an inode, on the store's disk,
	 * for every container) */
	_cleanup_free_ char *path = husk_xasprintf("%s/containers/%s", e->storage, id);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			husk_err_sys(err, "lock %s", path);
			close(fd);
			return -1;
		}
	}
	return fd;
}

int husk_record_list(const struct husk_engine *e, char ***ids, size_t *n, struct husk_err *err)
{
	_cleanup_free_ char *path = husk_xasprintf("%s/containers", e->storage);
	DIR *d = opendir(path);
	struct dirent *de;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT ? 0 : husk_err_sys(err, "open %s", path);
	while ((de = readdir(d))) {
		if (!is_id(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			*ids = husk_xrealloc(*ids, cap * sizeof(char *));
		}
		(*ids)[(*n)++] = husk_xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

void husk_record_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int husk_name_check(const char *name, struct husk_err *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > 128 || !isalnum((unsigned char)name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return husk_err_set(err, 0,
				    "invalid container name \"%s\": a letter or digit, then letters, digits, '_', '.', '-' "
				    "(at most 128)", name);
	return 0;
}

static char *name_path(const struct husk_engine *e, const char *name)
{
	return husk_xasprintf("%s/names/%s", e->storage, name);
}

int husk_name_claim(const struct husk_engine *e, const char *name, const char *id, struct husk_err *err)
{
	_cleanup_free_ char *dir = husk_xasprintf("%s/names", e->storage);
	_cleanup_free_ char *path = name_path(e, name);
	char holder[HUSK_ID_LEN + 1];
	ssize_t len;

	if (husk_name_check(name, err) < 0)
		return -1;
	if (husk_mkdir_p(dir, 0700, err) < 0)
		return -1;
	if (symlink(id, path) == 0)
		return 0;
	if (errno != EEXIST)
		return husk_err_sys(err, "claim the name %s (%s)", name, path);
	len = readlink(path, holder, sizeof(holder) - 1);
	holder[len > 0 ? len : 0] = '\0';
	return husk_err_set(err, 0,
			    "the name \"%s\" is already in use by container %.12s: remove that container (husk rm %s) "
			    "or choose another name",
			    name, holder, name);
}

void husk_name_release(const struct husk_engine *e, const char *name, const char *id)
{
	_cleanup_free_ char *path = NULL;
	char holder[HUSK_ID_LEN + 1];
	ssize_t len;

	if (!name || !*name)
		return;
	path = name_path(e, name[0] == '/' ? name + 1 : name);
	len = readlink(path, holder, sizeof(holder) - 1);
	if (len == HUSK_ID_LEN) {
		holder[len] = '\0';
		if (strcmp(holder, id) == 0)
			unlink(path);
	}
}

char *husk_name_generate(void)
{
	/* husk's own lists: weather and landforms */
	static const char *const first[] = {
		"amber",  "azure",  "balmy",  "breezy", "brisk",   "calm",    "clear",  "crisp",   "dewy",
		"dusky",  "early",  "fair",   "foggy",  "frosty",  "gentle",  "gusty",  "hazy",    "humid",
		"icy",    "late",   "leeward", "lucid", "mellow",  "misty",   "mild",   "muggy",   "pale",
		"placid", "quiet",  "rainy",  "rosy",   "silver",  "snowy",   "still",  "stormy",  "sunny",
		"tidal",  "vernal", "windy",  "wintry",
	};
	static const char *const second[] = {
		"atoll",  "basin",   "bay",    "bluff",  "brook",   "butte",  "canyon", "cape",   "cliff",
		"cove",   "crater",  "dale",   "delta",  "dune",    "estuary", "fjord", "geyser", "glacier",
		"glen",   "gorge",   "grove",  "gulch",  "heath",   "isthmus", "knoll", "lagoon", "ledge",
		"marsh",  "mesa",    "moor",   "oasis",  "plateau", "prairie", "ravine", "reef",  "ridge",
		"shoal",  "spring",  "summit", "tundra",
	};
	unsigned r[2];

	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		uint64_t t = husk_now_ns();
		r[0] = (unsigned)t;
		r[1] = (unsigned)(t >> 20);
	}
	return husk_xasprintf("%s_%s", first[r[0] % ARRAY_SIZE(first)], second[r[1] % ARRAY_SIZE(second)]);
}

int husk_engine_lookup(const struct husk_engine *e, const char *ref, char id[HUSK_ID_LEN + 1], struct husk_err *err)
{
	const char *name = ref[0] == '/' ? ref + 1 : ref;
	char **ids = NULL;
	size_t n = 0, found = 0, len = strlen(ref);

	if (*name && husk_name_check(name, NULL) == 0) {
		_cleanup_free_ char *path = name_path(e, name);
		ssize_t l = readlink(path, id, HUSK_ID_LEN + 1);
		if (l == HUSK_ID_LEN) {
			id[l] = '\0';
			if (is_id(id))
				return 0;
		}
	}
	if (len == 0 || len > HUSK_ID_LEN || strspn(ref, "0123456789abcdef") != len)
		goto none;
	if (husk_record_list(e, &ids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(ids[i], ref, len) != 0)
			continue;
		if (found++ == 0)
			memcpy(id, ids[i], HUSK_ID_LEN + 1);
	}
	husk_record_list_free(ids, n);
	if (found == 1)
		return 0;
	if (found > 1)
		return husk_err_set(err, 0, "\"%s\" is the start of %zu container ids: give more of it", ref, found);
none:
	return husk_err_set(err, 0, "no container \"%s\" (husk ps -a lists them)", ref);
}

char *husk_engine_run_path(const struct husk_engine *e, const char *id, const char *file)
{
	return file ? husk_xasprintf("%s/%s/%s", e->run, id, file) : husk_xasprintf("%s/%s", e->run, id);
}

bool husk_monitor_alive(const struct husk_engine *e, const char *id)
{
	_cleanup_free_ char *path = husk_engine_run_path(e, id, "monitor.lock");
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	/* the monitor holds it exclusively; a shared lock is refused while it lives */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return false;
	return errno == EWOULDBLOCK;
}

uint64_t husk_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

char *husk_time_format(uint64_t ns)
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	char buf[32];

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return husk_xasprintf("%s.%09lluZ", buf, (unsigned long long)(ns % 1000000000ULL));
}

int husk_time_parse(const char *text, uint64_t now_ns, uint64_t *ns)
{
	struct tm tm = {0};
	const char *p;
	char *end;
	unsigned long long frac = 0, digits = 0;

	if (!*text)
		return -1;
	/* a duration before now: 10s, 5m, 2h */
	{
		double v = strtod(text, &end);
		if (end != text && end[0] && !end[1] && strchr("smh", end[0]) && v >= 0) {
			double mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : 3600;
			uint64_t back = (uint64_t)(v * mult * 1e9);
			*ns = back > now_ns ? 0 : now_ns - back;
			return 0;
		}
	}
	/* Unix seconds, optionally with a fraction */
	if (strspn(text, "0123456789.") == strlen(text)) {
		double v = strtod(text, &end);
		if (*end)
			return -1;
		*ns = (uint64_t)(v * 1e9);
		return 0;
	}
	p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 9)
				frac = frac * 10 + (unsigned)(*p - '0');
		for (; digits < 9; digits++)
			frac *= 10;
	}
	long offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return -1;
		offset = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	}
	if (*p)
		return -1;
	time_t secs = timegm(&tm) - offset;
	*ns = (uint64_t)secs * 1000000000ULL + frac;
	return 0;
}
