#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer.h"
#include "../util.h"

static const char *const store_dirs[] = {"blobs", "blobs/sha256", "layers", "containers", "tmp"};

int husk_store_open(struct husk_store *s, const char *path, bool exclusive, struct husk_err *err)
{
	_cleanup_close_ int dirfd = -1, lock_fd = -1;

	s->path = NULL;
	s->dirfd = s->lock_fd = -1;
	if (husk_mkdir_p(path, 0700, err) < 0)
		return husk_err_wrap(err, "image store %s (choose another with --storage DIR or HUSK_STORAGE)", path);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return husk_err_sys(err, "open the image store %s", path);
	for (size_t i = 0; i < ARRAY_SIZE(store_dirs); i++)
		if (mkdirat(dirfd, store_dirs[i], 0700) < 0 && errno != EEXIST)
			return husk_err_sys(err, "create %s/%s (is the image store writable? choose another with --storage DIR)",
					    path, store_dirs[i]);
	lock_fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		return husk_err_sys(err, "open %s/lock (is the image store writable? choose another with --storage DIR)", path);
	if (flock(lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return husk_err_sys(err, "lock the image store %s", path);
	s->path = husk_xstrdup(path);
	s->dirfd = steal_fd(&dirfd);
	s->lock_fd = steal_fd(&lock_fd);
	return 0;
}

void husk_store_close(struct husk_store *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	s->path = NULL;
	s->dirfd = s->lock_fd = -1;
}

static void blob_path(const char *digest, char *buf, size_t len)
{
	snprintf(buf, len, "blobs/sha256/%s", husk_digest_hex(digest));
}

int husk_blob_begin(struct husk_store *s, struct husk_blob_writer *w, struct husk_err *err)
{
	static unsigned counter;

	w->store = s;
	w->size = 0;
	w->hash = NULL;
	snprintf(w->tmp, sizeof(w->tmp), "tmp/blob-%d-%u", (int)getpid(), counter++);
	w->fd = openat(s->dirfd, w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0)
		return husk_err_sys(err, "create %s/%s", s->path, w->tmp);
	w->hash = husk_sha256_new();
	return 0;
}

int husk_blob_begin_resumable(struct husk_store *s, struct husk_blob_writer *w, const char *name, struct husk_err *err)
{
	char buf[1 << 16];
	ssize_t n;

	w->store = s;
	w->size = 0;
	w->hash = NULL;
	snprintf(w->tmp, sizeof(w->tmp), "tmp/%s", name);
	w->fd = openat(s->dirfd, w->tmp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (w->fd < 0)
		return husk_err_sys(err, "create %s/%s", s->path, w->tmp);
	if (flock(w->fd, LOCK_EX) < 0) {
		husk_err_sys(err, "lock %s/%s", s->path, w->tmp);
		close(w->fd);
		return -1;
	}
	w->hash = husk_sha256_new();
	while ((n = read(w->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			husk_err_sys(err, "read %s/%s", s->path, w->tmp);
			husk_blob_suspend(w);
			return -1;
		}
		husk_sha256_update(w->hash, buf, (size_t)n);
		w->size += (uint64_t)n;
	}
	return 0;
}

void husk_blob_suspend(struct husk_blob_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	husk_sha256_free(w->hash);
	w->hash = NULL;
}

int husk_blob_restart(struct husk_blob_writer *w, struct husk_err *err)
{
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return husk_err_sys(err, "truncate %s/%s", w->store->path, w->tmp);
	husk_sha256_free(w->hash);
	w->hash = husk_sha256_new();
	w->size = 0;
	return 0;
}

int husk_blob_write(struct husk_blob_writer *w, const void *buf, size_t len, struct husk_err *err)
{
	if (husk_write_all(w->fd, buf, len) < 0)
		return husk_err_sys(err, "write %s/%s", w->store->path, w->tmp);
	husk_sha256_update(w->hash, buf, len);
	w->size += len;
	return 0;
}

void husk_blob_abort(struct husk_blob_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->store->dirfd, w->tmp, 0);
	}
	w->fd = -1;
	husk_sha256_free(w->hash);
	w->hash = NULL;
}

int husk_blob_commit(struct husk_blob_writer *w, const char *expected, char digest[HUSK_DIGEST_LEN + 1],
		     struct husk_err *err)
{
	char path[128];

	husk_sha256_final(w->hash, digest);
	w->hash = NULL;
	if (expected && strcmp(expected, digest) != 0) {
		husk_err_set(err, EBADMSG, "content does not match its digest: expected %s, got %s (%llu bytes)",
			     expected, digest, (unsigned long long)w->size);
		husk_blob_abort(w);
		return -1;
	}
	if (fsync(w->fd) < 0) {
		husk_err_sys(err, "fsync %s/%s", w->store->path, w->tmp);
		husk_blob_abort(w);
		return -1;
	}
	blob_path(digest, path, sizeof(path));
	if (renameat(w->store->dirfd, w->tmp, w->store->dirfd, path) < 0) {
		husk_err_sys(err, "rename %s/%s to %s", w->store->path, w->tmp, path);
		husk_blob_abort(w);
		return -1;
	}
	close(w->fd);
	w->fd = -1;
	return 0;
}

int husk_blob_put(struct husk_store *s, const void *buf, size_t len, char digest[HUSK_DIGEST_LEN + 1],
		  struct husk_err *err)
{
	struct husk_blob_writer w;

	husk_sha256_buf(buf, len, digest);
	if (husk_blob_exists(s, digest))
		return 0;
	if (husk_blob_begin(s, &w, err) < 0)
		return -1;
	if (husk_blob_write(&w, buf, len, err) < 0) {
		husk_blob_abort(&w);
		return -1;
	}
	return husk_blob_commit(&w, NULL, digest, err);
}

bool husk_blob_exists(struct husk_store *s, const char *digest)
{
	char path[128];

	if (!husk_digest_valid(digest))
		return false;
	blob_path(digest, path, sizeof(path));
	return faccessat(s->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int64_t husk_blob_size(struct husk_store *s, const char *digest)
{
	char path[128];
	struct stat st;

	if (!husk_digest_valid(digest))
		return -1;
	blob_path(digest, path, sizeof(path));
	return fstatat(s->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : st.st_size;
}

int husk_blob_open(struct husk_store *s, const char *digest, struct husk_err *err)
{
	char path[128];
	int fd;

	if (husk_digest_check(digest, "blob", err) < 0)
		return -1;
	blob_path(digest, path, sizeof(path));
	fd = openat(s->dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return husk_err_sys(err, "open blob %s in %s", digest, s->path);
	return fd;
}

int husk_blob_read(struct husk_store *s, const char *digest, size_t max, char **out, size_t *lenp,
		   struct husk_err *err)
{
	_cleanup_close_ int fd = husk_blob_open(s, digest, err);
	_cleanup_free_ char *buf = NULL;
	char actual[HUSK_DIGEST_LEN + 1];
	struct stat st;
	size_t len = 0;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		return husk_err_sys(err, "stat blob %s", digest);
	if ((uint64_t)st.st_size > max)
		return husk_err_set(err, EFBIG, "blob %s: %lld bytes, more than the %zu a manifest or config may have",
				    digest, (long long)st.st_size, max);
	buf = husk_xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return husk_err_set(err, n < 0 ? errno : EIO, "read blob %s", digest);
		len += (size_t)n;
	}
	buf[len] = '\0';
	husk_sha256_buf(buf, len, actual);
	if (strcmp(actual, digest) != 0)
		return husk_err_set(err, EBADMSG, "blob %s in %s is corrupt (its content hashes to %s)", digest,
				    s->path, actual);
	*out = steal_pointer(&buf);
	if (lenp)
		*lenp = len;
	return 0;
}

int husk_store_layer_open(struct husk_store *s, const char *digest, struct husk_err *err)
{
	char path[128];
	int fd;

	if (husk_digest_check(digest, "layer", err) < 0)
		return -1;
	snprintf(path, sizeof(path), "layers/%s", husk_digest_hex(digest));
	fd = openat(s->dirfd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, "open layer %s in %s", digest, s->path);
	return fd;
}

int husk_store_layer_ensure(struct husk_store *s, const char *digest, struct husk_err *err)
{
	static unsigned counter;
	char final[128], tmp[64];
	_cleanup_close_ int blob = -1, dir = -1;
	struct husk_unpack_limits limits = HUSK_UNPACK_LIMITS_DEFAULT;

	if (husk_digest_check(digest, "layer", err) < 0)
		return -1;
	snprintf(final, sizeof(final), "layers/%s", husk_digest_hex(digest));
	if (faccessat(s->dirfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	blob = husk_blob_open(s, digest, err);
	if (blob < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "tmp/layer-%d-%u", (int)getpid(), counter++);
	husk_rmtree_at(s->dirfd, tmp, NULL);
	if (mkdirat(s->dirfd, tmp, 0755) < 0)
		return husk_err_sys(err, "create %s/%s", s->path, tmp);
	dir = openat(s->dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || husk_layer_unpack(blob, dir, &limits, err) < 0) {
		if (dir < 0)
			husk_err_sys(err, "open %s/%s", s->path, tmp);
		husk_err_wrap(err, "unpack layer %s", digest);
		husk_rmtree_at(s->dirfd, tmp, NULL);
		return -1;
	}
	if (renameat(s->dirfd, tmp, s->dirfd, final) < 0) {
		int e = errno;
		husk_rmtree_at(s->dirfd, tmp, NULL);
		/* another husk unpacked the same layer meanwhile: theirs is as good as ours */
		if (e == EEXIST || e == ENOTEMPTY)
			return 0;
		return husk_err_set(err, e, "rename %s/%s to %s", s->path, tmp, final);
	}
	return 0;
}

int husk_store_images_load(struct husk_store *s, json_t **images, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *root, *arr;

	if (husk_read_file_at(s->dirfd, "images.json", &text, NULL, err) < 0) {
		if (err->errnum != ENOENT)
			return -1;
		husk_err_clear(err);
		*images = json_array();
		return 0;
	}
	root = json_loads(text, 0, &jerr);
	if (!root)
		return husk_err_set(err, EINVAL, "%s/images.json: line %d column %d: %s", s->path, jerr.line, jerr.column,
				    jerr.text);
	arr = json_object_get(root, "images");
	if (!json_is_array(arr)) {
		json_decref(root);
		return husk_err_set(err, EINVAL, "%s/images.json: no \"images\" array", s->path);
	}
	*images = json_incref(arr);
	json_decref(root);
	return 0;
}

int husk_store_images_edit(struct husk_store *s, husk_images_edit_fn fn, void *arg, struct husk_err *err)
{
	_cleanup_close_ int lock = openat(s->dirfd, "images.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	json_t *images = NULL, *root;
	char tmp[64];
	int ret = -1;

	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return husk_err_sys(err, "lock %s/images.lock", s->path);
	if (husk_store_images_load(s, &images, err) < 0)
		return -1;
	if (fn(images, arg, err) < 0)
		goto out;
	root = json_pack("{s:O}", "images", images);
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	/* blobs and layers the records will name reach the disk before the records do */
	if (syncfs(s->dirfd) < 0) {
		husk_err_sys(err, "sync %s", s->path);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "tmp/images.json-%d", (int)getpid());
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		husk_err_sys(err, "create %s/%s", s->path, tmp);
		goto out;
	}
	if (husk_write_all(fd, text, strlen(text)) < 0 || husk_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		husk_err_sys(err, "write %s/%s", s->path, tmp);
		unlinkat(s->dirfd, tmp, 0);
		goto out;
	}
	if (renameat(s->dirfd, tmp, s->dirfd, "images.json") < 0) {
		husk_err_sys(err, "rename %s/%s to images.json", s->path, tmp);
		unlinkat(s->dirfd, tmp, 0);
		goto out;
	}
	fsync(s->dirfd);
	ret = 0;
out:
	json_decref(images);
	return ret;
}
