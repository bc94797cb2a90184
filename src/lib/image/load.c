#define _GNU_SOURCE
#include "load.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>

#include "image.h"
#include "layer.h"
#include "ref.h"
#include "../inroot.h"
#include "../util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Copy fd into the store as a blob (checked against expected when given). */
static int blob_from_fd(struct husk_store *s, int fd, const char *expected, char digest[HUSK_DIGEST_LEN + 1],
			struct husk_err *err)
{
	struct husk_blob_writer w;
	char buf[1 << 16];
	ssize_t n;

	if (expected && husk_blob_exists(s, expected)) {
		strcpy(digest, expected);
		return 0;
	}
	if (husk_blob_begin(s, &w, err) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			husk_err_sys(err, "read");
			husk_blob_abort(&w);
			return -1;
		}
		if (husk_blob_write(&w, buf, (size_t)n, err) < 0) {
			husk_blob_abort(&w);
			return -1;
		}
	}
	return husk_blob_commit(&w, expected, digest, err);
}

/* The digest of the uncompressed tar: the config's rootfs.diff_ids. */
static int layer_diff_id(struct husk_store *s, const char *digest, char diff_id[HUSK_DIGEST_LEN + 1],
			 struct husk_err *err)
{
	_cleanup_close_ int fd = husk_blob_open(s, digest, err);
	struct archive *a;
	struct archive_entry *e;
	struct husk_sha256 *h;
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	if (fd < 0)
		return -1;
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
		husk_err_set(err, EINVAL, "layer %s: %s", digest, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	h = husk_sha256_new();
	while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK)
		husk_sha256_update(h, buf, size);
	if (r != ARCHIVE_EOF) {
		husk_err_set(err, EINVAL, "layer %s: %s", digest, archive_error_string(a));
		husk_sha256_free(h);
		archive_read_free(a);
		return -1;
	}
	husk_sha256_final(h, diff_id);
	archive_read_free(a);
	return 0;
}

static char *now_rfc3339(time_t t)
{
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return husk_xstrdup(buf);
}

/* Config and manifest for a one-layer image made here, stored, committed. */
static int commit_one_layer(struct husk_store *s, const char *layer, json_t *container_config, const char *created_by,
			    time_t created, const char *name, char id[HUSK_DIGEST_LEN + 1], struct husk_err *err)
{
	char diff_id[HUSK_DIGEST_LEN + 1], config_digest[HUSK_DIGEST_LEN + 1], manifest_digest[HUSK_DIGEST_LEN + 1];
	_cleanup_free_ char *when = now_rfc3339(created), *config_text = NULL, *manifest_text = NULL;
	_cleanup_free_ char *local = NULL;
	json_t *config, *manifest;
	const char *names[1];

	if (name) {
		local = husk_ref_local_name(name, err);
		if (!local)
			return -1;
		names[0] = local;
	}
	if (layer_diff_id(s, layer, diff_id, err) < 0)
		return -1;
	config = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:[s]}, s:[{s:s, s:s}]}", "created", when, "architecture",
			   husk_image_arch(), "os", "linux", "config", container_config, "rootfs", "type", "layers",
			   "diff_ids", diff_id, "history", "created", when, "created_by", created_by);
	config_text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(config);
	if (husk_blob_put(s, config_text, strlen(config_text), config_digest, err) < 0)
		return -1;
	manifest = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2, "mediaType",
			     HUSK_MT_OCI_MANIFEST, "config", "mediaType", HUSK_MT_OCI_CONFIG, "digest", config_digest,
			     "size", (json_int_t)strlen(config_text), "layers", "mediaType", HUSK_MT_OCI_LAYER, "digest",
			     layer, "size", (json_int_t)husk_blob_size(s, layer));
	manifest_text = json_dumps(manifest, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(manifest);
	if (husk_blob_put(s, manifest_text, strlen(manifest_text), manifest_digest, err) < 0)
		return -1;
	return husk_image_commit(s, manifest_digest, names, name ? 1 : 0, id, err);
}

int husk_image_import(struct husk_store *s, int fd, const char *name, char id[HUSK_DIGEST_LEN + 1],
		      struct husk_err *err)
{
	char layer[HUSK_DIGEST_LEN + 1];
	json_t *cfg;
	int ret;

	if (name) {
		_cleanup_free_ char *check = husk_ref_local_name(name, err);
		if (!check)
			return -1;
	}
	if (blob_from_fd(s, fd, NULL, layer, err) < 0)
		return husk_err_wrap(err, "import");
	cfg = json_pack("{s:[s]}", "Env", DEFAULT_PATH);
	ret = commit_one_layer(s, layer, cfg, "husk image import", time(NULL), name, id, err);
	json_decref(cfg);
	return ret;
}

/* ---- load: OCI image layouts and docker-archives ---- */

struct load_src {
	struct husk_store *store;
	const char *path;
	int dirfd;          /* a layout directory, or -1 for a tar */
	json_t *files;      /* tar: cleaned name -> digest */
	json_t *links;      /* tar: cleaned name -> cleaned name it stands for */
	json_t *meta;       /* tar: index.json, manifest.json, oci-layout, repositories -> text */
};

static bool is_meta(const char *name)
{
	return strcmp(name, "index.json") == 0 || strcmp(name, "manifest.json") == 0 || strcmp(name, "oci-layout") == 0 ||
	       strcmp(name, "repositories") == 0;
}

/* a link's target relative to the link's directory, cleaned; ".." may not climb above the top */
static int join_link(const char *link, const char *target, char *out, size_t len, struct husk_err *err)
{
	char joined[PATH_MAX * 2];
	const char *slash = strrchr(link, '/');
	char *parts[PATH_MAX / 2];
	size_t n = 0, o = 0;

	if (target[0] == '/')
		snprintf(joined, sizeof(joined), "%s", target);
	else
		snprintf(joined, sizeof(joined), "%.*s/%s", slash ? (int)(slash - link) : 0, link, target);
	for (char *save = NULL, *p = strtok_r(joined, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0) {
			if (n == 0)
				return husk_err_set(err, EPERM, "link %s -> %s leaves the archive", link, target);
			n--;
			continue;
		}
		if (n == ARRAY_SIZE(parts))
			return husk_err_set(err, ENAMETOOLONG, "link %s", link);
		parts[n++] = p;
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + o, len - o, "%s%s", i ? "/" : "", parts[i]);
		if (w < 0 || (size_t)w >= len - o)
			return husk_err_set(err, ENAMETOOLONG, "link %s", link);
		o += (size_t)w;
	}
	return 0;
}

static int read_tar_source(struct load_src *src, int fd, struct husk_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char name[PATH_MAX], digest[HUSK_DIGEST_LEN + 1];
	uint64_t entries = 0;
	int r, ret = -1;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		husk_err_set(err, EINVAL, "%s: %s", src->path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *raw = archive_entry_pathname(e);
		if (++entries > 1u << 20) {
			husk_err_set(err, EFBIG, "%s: too many entries for an image archive", src->path);
			goto out;
		}
		if (!raw || husk_layer_clean_name(raw, name, sizeof(name), err) < 0) {
			if (!raw)
				husk_err_set(err, EINVAL, "an entry without a name");
			husk_err_wrap(err, "%s", src->path);
			goto out;
		}
		if (archive_entry_hardlink(e) || archive_entry_filetype(e) == AE_IFLNK) {
			char target[PATH_MAX];
			if (archive_entry_hardlink(e)) {
				if (husk_layer_clean_name(archive_entry_hardlink(e), target, sizeof(target), err) < 0)
					goto out;
			} else if (join_link(name, archive_entry_symlink(e) ? archive_entry_symlink(e) : "", target,
					     sizeof(target), err) < 0) {
				husk_err_wrap(err, "%s", src->path);
				goto out;
			}
			json_object_set_new(src->links, name, json_string(target));
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (is_meta(name)) {
			la_int64_t size = archive_entry_size(e);
			_cleanup_free_ char *buf = NULL;
			if (size < 0 || size > HUSK_MANIFEST_MAX) {
				husk_err_set(err, EFBIG, "%s: %s is larger than %u bytes", src->path, name, HUSK_MANIFEST_MAX);
				goto out;
			}
			buf = husk_xmalloc((size_t)size + 1);
			if (archive_read_data(a, buf, (size_t)size) != size) {
				husk_err_set(err, EIO, "%s: read %s: %s", src->path, name, archive_error_string(a));
				goto out;
			}
			json_object_set_new(src->meta, name, json_stringn(buf, (size_t)size));
			continue;
		}
		/* everything else is content: stored by what it hashes to, whatever its name says */
		struct husk_blob_writer w;
		const void *block;
		size_t size;
		la_int64_t offset;
		if (husk_blob_begin(src->store, &w, err) < 0)
			goto out;
		while ((r = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK)
			if (husk_blob_write(&w, block, size, err) < 0)
				break;
		if (r != ARCHIVE_EOF) {
			if (!err->msg[0])
				husk_err_set(err, EIO, "%s: read %s: %s", src->path, name, archive_error_string(a));
			husk_blob_abort(&w);
			goto out;
		}
		if (husk_blob_commit(&w, NULL, digest, err) < 0)
			goto out;
		if (strncmp(name, "blobs/sha256/", 13) == 0 && strcmp(name + 13, husk_digest_hex(digest)) != 0) {
			husk_err_set(err, EBADMSG, "%s: %s does not match its digest (its content hashes to %s)", src->path,
				     name, digest);
			goto out;
		}
		json_object_set_new(src->files, name, json_string(digest));
	}
	if (r != ARCHIVE_EOF) {
		husk_err_set(err, EINVAL, "%s: %s", src->path, archive_error_string(a) ? archive_error_string(a) : "not a tar archive");
		goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

/* The digest of the file at name in the source, its content now in the store. */
static int src_file(struct load_src *src, const char *name, char digest[HUSK_DIGEST_LEN + 1], struct husk_err *err)
{
	char clean[PATH_MAX];

	if (husk_layer_clean_name(name, clean, sizeof(clean), err) < 0)
		return husk_err_wrap(err, "%s", src->path);
	if (src->dirfd >= 0) {
		_cleanup_close_ int fd = husk_open_in_root(src->dirfd, clean, O_RDONLY, err);
		const char *expected = NULL;
		char want[HUSK_DIGEST_LEN + 1];
		if (fd < 0)
			return husk_err_wrap(err, "%s", src->path);
		if (strncmp(clean, "blobs/sha256/", 13) == 0) {
			snprintf(want, sizeof(want), "sha256:%s", clean + 13);
			expected = husk_digest_valid(want) ? want : NULL;
		}
		if (blob_from_fd(src->store, fd, expected, digest, err) < 0)
			return husk_err_wrap(err, "%s: %s", src->path, clean);
		return 0;
	}
	for (int hops = 0; hops < 16; hops++) {
		json_t *d = json_object_get(src->files, clean), *l;
		if (d) {
			strcpy(digest, json_string_value(d));
			return 0;
		}
		l = json_object_get(src->links, clean);
		if (!l)
			break;
		snprintf(clean, sizeof(clean), "%s", json_string_value(l));
	}
	return husk_err_set(err, ENOENT, "%s: no file %s in the archive", src->path, name);
}

static int src_blob(struct load_src *src, const char *digest, struct husk_err *err)
{
	char path[128], got[HUSK_DIGEST_LEN + 1];

	if (husk_digest_check(digest, "descriptor", err) < 0)
		return husk_err_wrap(err, "%s", src->path);
	/* verified when it was stored, whichever archive it came from */
	if (husk_blob_exists(src->store, digest))
		return 0;
	snprintf(path, sizeof(path), "blobs/sha256/%s", husk_digest_hex(digest));
	if (src_file(src, path, got, err) < 0)
		return -1;
	return 0;
}

static int src_meta(struct load_src *src, const char *name, char **text, size_t *len, struct husk_err *err)
{
	if (src->dirfd >= 0) {
		_cleanup_close_ int fd = husk_open_in_root(src->dirfd, name, O_RDONLY, err);
		struct stat st;
		if (fd < 0)
			return -1;
		if (fstat(fd, &st) < 0 || st.st_size > HUSK_MANIFEST_MAX)
			return husk_err_set(err, EFBIG, "%s: %s is larger than %u bytes", src->path, name, HUSK_MANIFEST_MAX);
		if (husk_read_fd(fd, text, len) < 0)
			return husk_err_sys(err, "%s: read %s", src->path, name);
		return 0;
	}
	json_t *t = json_object_get(src->meta, name);
	if (!t)
		return husk_err_set(err, ENOENT, "%s: no %s", src->path, name);
	*text = husk_xstrdup(json_string_value(t));
	*len = json_string_length(t);
	return 0;
}

static int commit_manifest(struct load_src *src, const char *digest, const char *const *names, size_t n_names,
			   json_t *loaded, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	char picked[HUSK_DIGEST_LEN + 1], id[HUSK_DIGEST_LEN + 1];
	struct husk_manifest m;
	json_error_t jerr;
	json_t *doc;
	size_t len;
	int kind;

	if (src_blob(src, digest, err) < 0 ||
	    husk_blob_read(src->store, digest, HUSK_MANIFEST_MAX, &text, &len, err) < 0)
		return -1;
	doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return husk_err_set(err, EINVAL, "%s: manifest %s: line %d column %d: %s", src->path, digest, jerr.line,
				    jerr.column, jerr.text);
	kind = husk_manifest_kind(doc, NULL, err);
	if (kind == 1) {
		int r = husk_index_pick(doc, picked, err);
		json_decref(doc);
		if (r < 0)
			return husk_err_wrap(err, "%s", src->path);
		return commit_manifest(src, picked, names, n_names, loaded, err);
	}
	json_decref(doc);
	if (kind < 0 || husk_manifest_parse(text, len, &m, err) < 0)
		return husk_err_wrap(err, "%s: manifest %s", src->path, digest);
	int ret = src_blob(src, m.config, err);
	for (size_t i = 0; ret == 0 && i < m.n_layers; i++)
		ret = src_blob(src, m.layers[i], err);
	husk_manifest_free(&m);
	if (ret < 0 || husk_image_commit(src->store, digest, names, n_names, id, err) < 0)
		return -1;
	json_t *namelist = json_array();
	for (size_t i = 0; i < n_names; i++)
		json_array_append_new(namelist, json_string(names[i]));
	json_array_append_new(loaded, json_pack("{s:s, s:o}", "id", id, "names", namelist));
	return 0;
}

/* A full reference is a name; a bare tag (skopeo's oci:DIR:TAG) names nothing by itself. */
static char *name_from_annotations(json_t *annotations, const char *given, struct husk_err *err)
{
	const char *full = json_string_value(json_object_get(annotations, "io.containerd.image.name"));
	const char *ref = json_string_value(json_object_get(annotations, "org.opencontainers.image.ref.name"));
	struct husk_ref parsed;

	if (given)
		return husk_ref_local_name(given, err);
	if (!full && ref && (strchr(ref, '/') || strchr(ref, ':')))
		full = ref;
	if (!full)
		return NULL;
	if (husk_ref_parse(full, &parsed, err) < 0)
		return NULL;
	char *name = husk_ref_string(&parsed);
	husk_ref_free(&parsed);
	return name;
}

static int load_oci(struct load_src *src, const char *name, json_t *loaded, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *index, *d;
	size_t len, i;
	int ret = 0;

	if (src_meta(src, "index.json", &text, &len, err) < 0)
		return -1;
	index = json_loadb(text, len, 0, &jerr);
	if (!index)
		return husk_err_set(err, EINVAL, "%s: index.json: line %d column %d: %s", src->path, jerr.line, jerr.column,
				    jerr.text);
	if (!json_is_array(json_object_get(index, "manifests"))) {
		json_decref(index);
		return husk_err_set(err, EINVAL, "%s: index.json has no \"manifests\"", src->path);
	}
	if (name && json_array_size(json_object_get(index, "manifests")) > 1) {
		json_decref(index);
		return husk_err_set(err, EINVAL, "%s holds %zu images: a name fits only one", src->path,
				    json_array_size(json_object_get(index, "manifests")));
	}
	json_array_foreach(json_object_get(index, "manifests"), i, d) {
		const char *digest = json_string_value(json_object_get(d, "digest"));
		husk_err_clear(err);
		_cleanup_free_ char *image_name = name_from_annotations(json_object_get(d, "annotations"), name, err);
		if (!image_name && err->msg[0]) {
			ret = -1;
			break;
		}
		const char *names[1] = {image_name};
		if (commit_manifest(src, digest, names, image_name ? 1 : 0, loaded, err) < 0) {
			ret = -1;
			break;
		}
	}
	json_decref(index);
	return ret;
}

/* docker save / podman save: manifest.json [{Config, RepoTags, Layers}], layers uncompressed */
static int load_docker(struct load_src *src, const char *name, json_t *loaded, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	json_error_t jerr;
	json_t *list, *item, *path;
	size_t len, i, j;
	int ret = -1;

	if (src_meta(src, "manifest.json", &text, &len, err) < 0)
		return -1;
	list = json_loadb(text, len, 0, &jerr);
	if (!list || !json_is_array(list)) {
		json_decref(list);
		return husk_err_set(err, EINVAL, "%s: manifest.json: %s", src->path, list ? "not an array" : jerr.text);
	}
	if (name && json_array_size(list) > 1) {
		json_decref(list);
		return husk_err_set(err, EINVAL, "%s holds %zu images: a name fits only one", src->path, json_array_size(list));
	}
	json_array_foreach(list, i, item) {
		char config[HUSK_DIGEST_LEN + 1], layer[HUSK_DIGEST_LEN + 1], manifest[HUSK_DIGEST_LEN + 1];
		const char *config_path = json_string_value(json_object_get(item, "Config"));
		json_t *layers = json_array(), *tags = json_object_get(item, "RepoTags"), *t;
		const char **names = husk_xcalloc(json_array_size(tags) + 1, sizeof(char *));
		size_t n_names = 0;
		bool ok = config_path && src_file(src, config_path, config, err) == 0;

		json_array_foreach(json_object_get(item, "Layers"), j, path) {
			if (!ok || !json_is_string(path) || src_file(src, json_string_value(path), layer, err) < 0) {
				if (ok && !json_is_string(path))
					husk_err_set(err, EINVAL, "%s: manifest.json: a layer is not a path", src->path);
				ok = false;
				break;
			}
			json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", HUSK_MT_OCI_LAYER, "digest",
								layer, "size", (json_int_t)husk_blob_size(src->store, layer)));
		}
		if (ok && !config_path)
			ok = husk_err_set(err, EINVAL, "%s: manifest.json: an image without \"Config\"", src->path) == 0;
		if (!config_path && !err->msg[0])
			husk_err_set(err, EINVAL, "%s: manifest.json: an image without \"Config\"", src->path);
		if (ok && name) {
			names[n_names] = husk_ref_local_name(name, err);
			ok = names[n_names++] != NULL;
		} else if (ok) {
			json_array_foreach(tags, j, t) {
				struct husk_ref ref;
				if (!json_is_string(t) || husk_ref_parse(json_string_value(t), &ref, err) < 0) {
					ok = false;
					break;
				}
				names[n_names++] = husk_ref_string(&ref);
				husk_ref_free(&ref);
			}
		}
		if (ok) {
			json_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
					      HUSK_MT_OCI_MANIFEST, "config", "mediaType", HUSK_MT_OCI_CONFIG, "digest", config,
					      "size", (json_int_t)husk_blob_size(src->store, config), "layers", layers);
			_cleanup_free_ char *mtext = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
			json_decref(m);
			ok = husk_blob_put(src->store, mtext, strlen(mtext), manifest, err) == 0 &&
			     commit_manifest(src, manifest, names, n_names, loaded, err) == 0;
		}
		for (size_t k = 0; k < n_names; k++)
			free((char *)names[k]);
		free(names);
		json_decref(layers);
		if (!ok)
			goto out;
	}
	ret = 0;
out:
	json_decref(list);
	return ret;
}

static int src_has(struct load_src *src, const char *name)
{
	if (src->dirfd >= 0)
		return faccessat(src->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	return json_object_get(src->meta, name) != NULL;
}

int husk_image_load(struct husk_store *s, const char *path, const char *name, json_t *loaded, struct husk_err *err)
{
	struct load_src src = {.store = s, .path = path, .dirfd = -1, .files = json_object(), .links = json_object(),
			       .meta = json_object()};
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		husk_err_sys(err, "open %s", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		src.dirfd = fd;
	} else if (read_tar_source(&src, fd, err) < 0) {
		goto out;
	}
	if (src_has(&src, "index.json"))
		ret = load_oci(&src, name, loaded, err);
	else if (src_has(&src, "manifest.json"))
		ret = load_docker(&src, name, loaded, err);
	else
		husk_err_set(err, EINVAL, "%s is neither an OCI image layout (index.json) nor a docker-archive (manifest.json)",
			     path);
out:
	json_decref(src.files);
	json_decref(src.links);
	json_decref(src.meta);
	return ret;
}

/* ---- bootstrap: busybox from the host ---- */

bool husk_elf_is_static(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(ph))
		return false;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			return false;
		if (ph.p_type == PT_INTERP)
			return false;
	}
	return true;
}

/* `busybox --list-full`: bin/ls, usr/bin/wget, ... */
static int busybox_applets(const char *busybox, char **out, struct husk_err *err)
{
	int pipefd[2];
	pid_t pid;
	int status;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 1 << 14;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return husk_err_sys(err, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return husk_err_sys(err, "fork");
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execl(busybox, "busybox", "--list-full", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	buf = husk_xmalloc(cap);
	for (;;) {
		ssize_t n;
		if (len + 1 >= cap)
			buf = husk_xrealloc(buf, cap *= 2);
		n = read(pipefd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return husk_err_set(err, EINVAL, "%s --list-full failed (exit status %d)", busybox, WEXITSTATUS(status));
	*out = steal_pointer(&buf);
	return 0;
}

struct tar_sink {
	struct husk_blob_writer *w;
	struct husk_err *err;
	bool failed;
};

static la_ssize_t sink_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct tar_sink *sink = arg;
	(void)a;
	if (husk_blob_write(sink->w, buf, len, sink->err) < 0) {
		sink->failed = true;
		return -1;
	}
	return (la_ssize_t)len;
}

static int add_entry(struct archive *a, const char *path, mode_t type, mode_t perm, const char *symlink,
		     const void *data, size_t size, time_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	int r;

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, mtime, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (symlink)
		archive_entry_set_symlink(e, symlink);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)size : 0);
	r = archive_write_header(a, e);
	if (r == ARCHIVE_OK && type == AE_IFREG && size && archive_write_data(a, data, size) != (la_ssize_t)size)
		r = ARCHIVE_FATAL;
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : -1;
}

int husk_image_bootstrap_busybox(struct husk_store *s, const char *busybox, const char *name,
				 char id[HUSK_DIGEST_LEN + 1], struct husk_err *err)
{
	static const struct { const char *path; mode_t perm; } dirs[] = {
		{"bin", 0755}, {"dev", 0755}, {"etc", 0755}, {"home", 0755}, {"proc", 0555}, {"root", 0700},
		{"run", 0755}, {"sbin", 0755}, {"sys", 0555}, {"tmp", 01777}, {"usr", 0755}, {"usr/bin", 0755},
		{"usr/sbin", 0755}, {"var", 0755}, {"var/www", 0755},
	};
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
				     "nobody:x:65534:65534:nobody:/home:/bin/false\n";
	static const char group[] = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n";
	_cleanup_free_ char *applets = NULL, *binary = NULL;
	_cleanup_close_ int fd = -1;
	char layer[HUSK_DIGEST_LEN + 1];
	struct husk_blob_writer w;
	struct tar_sink sink = {.w = &w, .err = err};
	struct archive *a;
	struct stat st;
	size_t size;
	bool ok = true;

	fd = open(busybox, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return husk_err_sys(err, "open %s (install Debian's busybox-static)", busybox);
	if (!husk_elf_is_static(busybox))
		return husk_err_set(err, EINVAL, "%s is not statically linked: it would not run in an image without a "
				    "libc (install Debian's busybox-static)", busybox);
	if (husk_read_fd(fd, &binary, &size) < 0)
		return husk_err_sys(err, "read %s", busybox);
	if (busybox_applets(busybox, &applets, err) < 0)
		return -1;
	/* every time the binary's: the same busybox gives the same image id */
	time_t mtime = st.st_mtime;
	if (husk_blob_begin(s, &w, err) < 0)
		return -1;
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open2(a, &sink, NULL, sink_write, NULL, NULL) != ARCHIVE_OK)
		ok = false;
	for (size_t i = 0; ok && i < ARRAY_SIZE(dirs); i++)
		ok = add_entry(a, dirs[i].path, AE_IFDIR, dirs[i].perm, NULL, NULL, 0, mtime) == 0;
	ok = ok && add_entry(a, "bin/busybox", AE_IFREG, 0755, NULL, binary, size, mtime) == 0;
	ok = ok && add_entry(a, "etc/passwd", AE_IFREG, 0644, NULL, passwd, strlen(passwd), mtime) == 0;
	ok = ok && add_entry(a, "etc/group", AE_IFREG, 0644, NULL, group, strlen(group), mtime) == 0;
	for (char *save = NULL, *line = strtok_r(applets, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
		char clean[PATH_MAX];
		if (husk_layer_clean_name(line, clean, sizeof(clean), NULL) < 0 || !*clean ||
		    strcmp(clean, "bin/busybox") == 0)
			continue;
		ok = add_entry(a, clean, AE_IFLNK, 0777, "/bin/busybox", NULL, 0, mtime) == 0;
	}
	if (ok && archive_write_close(a) != ARCHIVE_OK)
		ok = false;
	if (!ok && !sink.failed)
		husk_err_set(err, EIO, "write the busybox layer: %s", archive_error_string(a));
	archive_write_free(a);
	if (!ok) {
		husk_blob_abort(&w);
		return -1;
	}
	if (husk_blob_commit(&w, NULL, layer, err) < 0)
		return -1;
	json_t *cfg = json_pack("{s:[s], s:[s]}", "Env", DEFAULT_PATH, "Cmd", "sh");
	int ret = commit_one_layer(s, layer, cfg, "husk image bootstrap busybox", mtime, name, id, err);
	json_decref(cfg);
	return ret;
}
