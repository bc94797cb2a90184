#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void out_of_memory(void)
{
	static const char msg[] = "husk: out of memory\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

void *husk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *husk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *husk_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *husk_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory();
	return p;
}

char *husk_xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		out_of_memory();
	va_end(ap);
	return s;
}

int husk_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int husk_write_file_at(int dirfd, const char *path, const char *buf, size_t len, struct husk_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	if (husk_write_all(fd, buf, len) < 0)
		return husk_err_sys(err, "write %s", path);
	return 0;
}

int husk_read_fd(int fd, char **out, size_t *lenp)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 4096;

	buf = husk_xmalloc(cap);
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap) {
			cap *= 2;
			buf = husk_xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	*out = steal_pointer(&buf);
	return 0;
}

int husk_read_file_at(int dirfd, const char *path, char **out, size_t *lenp, struct husk_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return husk_err_sys(err, "open %s", path);
	if (husk_read_fd(fd, out, lenp) < 0)
		return husk_err_sys(err, "read %s", path);
	return 0;
}

int husk_write_file_atomic(const char *path, const char *buf, size_t len, mode_t mode, struct husk_err *err)
{
	_cleanup_free_ char *tmp = husk_xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return husk_err_sys(err, "create %s", tmp);
	if (husk_write_all(fd, buf, len) < 0) {
		husk_err_sys(err, "write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		husk_err_sys(err, "rename %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int husk_mkdir_p(const char *path, mode_t mode, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(path);
	char *p;

	for (p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return husk_err_sys(err, "mkdir %s", copy);
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return husk_err_sys(err, "mkdir %s", copy);
	return 0;
}

static int rmtree_contents(int dirfd, const char *name, int depth, struct husk_err *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fd < 0)
		return husk_err_sys(err, "open %s to remove it", name);
	if (depth > 4096) {
		close(fd);
		return husk_err_set(err, ELOOP, "remove %s: nested too deep", name);
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return husk_err_sys(err, "read %s to remove it", name);
	}
	while (ret == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR)
			ret = husk_err_sys(err, "remove %s/%s", name, de->d_name);
		else if (rmtree_contents(fd, de->d_name, depth + 1, err) < 0)
			ret = -1;
		else if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			ret = husk_err_sys(err, "remove %s/%s", name, de->d_name);
	}
	closedir(d);
	return ret;
}

int husk_rmtree_at(int dirfd, const char *name, struct husk_err *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return husk_err_sys(err, "remove %s", name);
	if (rmtree_contents(dirfd, name, 0, err) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return husk_err_sys(err, "remove %s", name);
	return 0;
}

uint64_t husk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned long long husk_proc_start_time(pid_t pid, char *state)
{
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (state)
		*state = *p;
	/* p is at field 3 (state); the start time is field 22 */
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}
