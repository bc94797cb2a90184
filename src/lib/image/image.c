#define _GNU_SOURCE
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ref.h"
#include "../util.h"

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

const char *husk_image_arch(void)
{
	static const struct { const char *uname, *goarch; } arches[] = {
		{"aarch64", "arm64"}, {"armv7l", "arm"}, {"i686", "386"}, {"ppc64le", "ppc64le"},
		{"riscv64", "riscv64"}, {"s390x", "s390x"}, {"x86_64", "amd64"},
	};
	static struct utsname u;

	if (!u.machine[0])
		uname(&u);
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (strcmp(u.machine, arches[i].uname) == 0)
			return arches[i].goarch;
	return u.machine;
}

int husk_manifest_kind(json_t *doc, const char *media_type, struct husk_err *err)
{
	const char *mt = media_type ? media_type : json_string_value(json_object_get(doc, "mediaType"));

	if (!json_is_object(doc))
		return husk_err_set(err, EINVAL, "a manifest must be a JSON object");
	if (mt && (strcmp(mt, HUSK_MT_OCI_INDEX) == 0 || strcmp(mt, HUSK_MT_DOCKER_LIST) == 0))
		return 1;
	if (mt && (strcmp(mt, HUSK_MT_OCI_MANIFEST) == 0 || strcmp(mt, HUSK_MT_DOCKER_MANIFEST) == 0))
		return 0;
	if (mt && *mt)
		return husk_err_set(err, ENOTSUP, "manifest media type %s is not one husk reads (OCI and docker v2 schema 2)", mt);
	/* OCI allows mediaType to be absent: go by the shape */
	if (json_is_array(json_object_get(doc, "manifests")))
		return 1;
	if (json_is_object(json_object_get(doc, "config")))
		return 0;
	return husk_err_set(err, EINVAL, "neither an image manifest nor an index (no \"config\", no \"manifests\")");
}

int husk_manifest_parse(const char *text, size_t len, struct husk_manifest *m, struct husk_err *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr), *layers, *layer;
	const char *digest;
	size_t i;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	if (!doc)
		return husk_err_set(err, EINVAL, "manifest: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (husk_manifest_kind(doc, NULL, err) != 0) {
		if (err->msg[0] == '\0')
			husk_err_set(err, EINVAL, "expected an image manifest, found an index");
		goto out;
	}
	if (json_integer_value(json_object_get(doc, "schemaVersion")) != 2) {
		husk_err_set(err, ENOTSUP, "manifest schemaVersion must be 2");
		goto out;
	}
	digest = json_string_value(json_object_get(json_object_get(doc, "config"), "digest"));
	if (husk_digest_check(digest, "manifest config.digest", err) < 0)
		goto out;
	strcpy(m->config, digest);
	layers = json_object_get(doc, "layers");
	if (!json_is_array(layers)) {
		husk_err_set(err, EINVAL, "manifest: \"layers\" must be an array");
		goto out;
	}
	m->n_layers = json_array_size(layers);
	m->layers = husk_xcalloc(m->n_layers ? m->n_layers : 1, sizeof(*m->layers));
	json_array_foreach(layers, i, layer) {
		const char *mt = json_string_value(json_object_get(layer, "mediaType"));
		bool known = false;
		for (size_t j = 0; mt && j < ARRAY_SIZE(layer_types); j++)
			known = known || strcmp(mt, layer_types[j]) == 0;
		if (!known) {
			husk_err_set(err, ENOTSUP, "manifest: layer %zu has media type %s, which husk cannot unpack", i,
				     mt ? mt : "(none)");
			goto out;
		}
		digest = json_string_value(json_object_get(layer, "digest"));
		if (husk_digest_check(digest, "manifest layer digest", err) < 0)
			goto out;
		strcpy(m->layers[i], digest);
	}
	ret = 0;
out:
	json_decref(doc);
	if (ret < 0)
		husk_manifest_free(m);
	return ret;
}

void husk_manifest_free(struct husk_manifest *m)
{
	free(m->layers);
	m->layers = NULL;
	m->n_layers = 0;
}

int husk_index_pick(json_t *index, char digest[HUSK_DIGEST_LEN + 1], struct husk_err *err)
{
	json_t *manifests = json_object_get(index, "manifests"), *d;
	const char *arch = husk_image_arch(), *found = NULL;
	size_t i;

	if (!json_is_array(manifests) || json_array_size(manifests) == 0)
		return husk_err_set(err, EINVAL, "index: no \"manifests\"");
	json_array_foreach(manifests, i, d) {
		json_t *platform = json_object_get(d, "platform");
		const char *os = json_string_value(json_object_get(platform, "os"));
		const char *a = json_string_value(json_object_get(platform, "architecture"));
		const char *variant = json_string_value(json_object_get(platform, "variant"));
		if (!platform && json_array_size(manifests) == 1) {
			found = json_string_value(json_object_get(d, "digest"));
			break;
		}
		if (os && a && strcmp(os, "linux") == 0 && strcmp(a, arch) == 0 &&
		    (!variant || strcmp(arch, "arm64") != 0 || strcmp(variant, "v8") == 0)) {
			found = json_string_value(json_object_get(d, "digest"));
			break;
		}
	}
	if (!found)
		return husk_err_set(err, ENOENT, "the index has no manifest for linux/%s", arch);
	if (husk_digest_check(found, "index manifest digest", err) < 0)
		return -1;
	strcpy(digest, found);
	return 0;
}

/* names move to the image that takes them, as docker tags do */
struct commit_args {
	const char *id, *manifest, *created;
	const char *const *names;
	size_t n_names;
};

static void drop_name(json_t *images, const char *name)
{
	json_t *rec, *names, *n;
	size_t i, j;

	json_array_foreach(images, i, rec) {
		names = json_object_get(rec, "names");
		for (j = json_array_size(names); j-- > 0;) {
			n = json_array_get(names, j);
			if (strcmp(json_string_value(n), name) == 0)
				json_array_remove(names, j);
		}
	}
}

static json_t *find_by_id(json_t *images, const char *id)
{
	json_t *rec;
	size_t i;

	json_array_foreach(images, i, rec)
		if (strcmp(json_string_value(json_object_get(rec, "id")), id) == 0)
			return rec;
	return NULL;
}

static int commit_edit(json_t *images, void *arg, struct husk_err *err)
{
	struct commit_args *a = arg;
	json_t *rec;
	char now[32];
	time_t t = time(NULL);

	(void)err;
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	for (size_t i = 0; i < a->n_names; i++)
		drop_name(images, a->names[i]);
	rec = find_by_id(images, a->id);
	if (!rec) {
		rec = json_pack("{s:s, s:s, s:[], s:s, s:s}", "id", a->id, "manifest", a->manifest, "names", "created",
				a->created ? a->created : now, "added", now);
		json_array_append_new(images, rec);
	} else {
		json_object_set_new(rec, "manifest", json_string(a->manifest));
	}
	for (size_t i = 0; i < a->n_names; i++)
		json_array_append_new(json_object_get(rec, "names"), json_string(a->names[i]));
	return 0;
}

int husk_image_commit(struct husk_store *s, const char *manifest_digest, const char *const *names, size_t n_names,
		      char id[HUSK_DIGEST_LEN + 1], struct husk_err *err)
{
	_cleanup_free_ char *text = NULL, *config = NULL;
	struct husk_manifest m;
	size_t len, config_len;
	json_error_t jerr;
	json_t *cfg, *diff_ids;
	int ret = -1;

	if (husk_blob_read(s, manifest_digest, HUSK_MANIFEST_MAX, &text, &len, err) < 0)
		return -1;
	if (husk_manifest_parse(text, len, &m, err) < 0)
		return husk_err_wrap(err, "manifest %s", manifest_digest);
	if (husk_blob_read(s, m.config, HUSK_MANIFEST_MAX, &config, &config_len, err) < 0)
		goto out;
	cfg = json_loadb(config, config_len, 0, &jerr);
	if (!cfg) {
		husk_err_set(err, EINVAL, "image config %s: line %d column %d: %s", m.config, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	diff_ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	const char *os = json_string_value(json_object_get(cfg, "os"));
	if (os && strcmp(os, "linux") != 0) {
		husk_err_set(err, ENOTSUP, "image config %s: the image is for %s, not linux", m.config, os);
		json_decref(cfg);
		goto out;
	}
	if (diff_ids && json_array_size(diff_ids) != m.n_layers) {
		husk_err_set(err, EINVAL, "image config %s lists %zu layers, its manifest %zu", m.config,
			     json_array_size(diff_ids), m.n_layers);
		json_decref(cfg);
		goto out;
	}
	struct commit_args args = {
		.id = m.config, .manifest = manifest_digest, .names = names, .n_names = n_names,
		.created = json_string_value(json_object_get(cfg, "created")),
	};
	for (size_t i = 0; i < m.n_layers; i++) {
		if (husk_store_layer_ensure(s, m.layers[i], err) < 0) {
			json_decref(cfg);
			goto out;
		}
	}
	ret = husk_store_images_edit(s, commit_edit, &args, err);
	json_decref(cfg);
	if (ret == 0)
		strcpy(id, m.config);
out:
	husk_manifest_free(&m);
	return ret;
}

static bool is_hex_prefix(const char *t)
{
	size_t n = strlen(t);

	if (n < 3 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

static json_t *find_by_name(json_t *images, const char *name)
{
	json_t *rec, *n;
	size_t i, j;

	json_array_foreach(images, i, rec)
		json_array_foreach(json_object_get(rec, "names"), j, n)
			if (strcmp(json_string_value(n), name) == 0)
				return rec;
	return NULL;
}

static json_t *find_by_ref(json_t *images, const char *text)
{
	struct husk_ref ref;
	json_t *found;

	if (husk_ref_parse(text, &ref, NULL) < 0)
		return NULL;
	_cleanup_free_ char *name = husk_ref_string(&ref);
	found = find_by_name(images, name);
	if (!found && !ref.explicit_domain && ref.tag) {
		/* images made here (bootstrap, import, tag) live under localhost/, as podman's do */
		const char *repo = strncmp(ref.repository, "library/", 8) == 0 ? ref.repository + 8 : ref.repository;
		_cleanup_free_ char *local = husk_xasprintf("localhost/%s:%s", repo, ref.tag);
		found = find_by_name(images, local);
	}
	husk_ref_free(&ref);
	return found;
}

int husk_image_find(json_t *images, const char *text, json_t **record, struct husk_err *err)
{
	const char *hex = strncmp(text, "sha256:", 7) == 0 ? text + 7 : text;
	json_t *rec, *found = find_by_ref(images, text);
	size_t i;

	if (!found && is_hex_prefix(hex)) {
		json_array_foreach(images, i, rec) {
			if (strncmp(json_string_value(json_object_get(rec, "id")) + 7, hex, strlen(hex)) != 0)
				continue;
			if (found)
				return husk_err_set(err, EINVAL, "image id prefix %s is ambiguous: give more digits", hex);
			found = rec;
		}
	}
	if (!found) {
		struct husk_ref ref;
		if (husk_ref_parse(text, &ref, err) < 0)
			return -1;
		husk_ref_free(&ref);
		return husk_err_set(err, ENOENT, "no image %s in the store (get it with `husk pull %s`, or make "
				    "busybox with `husk image bootstrap busybox`)", text, text);
	}
	*record = found;
	return 0;
}

int husk_image_lookup(struct husk_store *s, const char *text, json_t **record, struct husk_err *err)
{
	json_t *images;

	if (husk_store_images_load(s, &images, err) < 0)
		return -1;
	if (husk_image_find(images, text, record, err) < 0) {
		json_decref(images);
		return -1;
	}
	json_incref(*record);
	json_decref(images);
	return 0;
}

struct tag_args {
	const char *source, *target;
};

static int tag_edit(json_t *images, void *arg, struct husk_err *err)
{
	struct tag_args *a = arg;
	json_t *rec;

	if (husk_image_find(images, a->source, &rec, err) < 0)
		return -1;
	json_incref(rec);
	drop_name(images, a->target);
	json_array_append_new(json_object_get(rec, "names"), json_string(a->target));
	json_decref(rec);
	return 0;
}

int husk_image_tag(struct husk_store *s, const char *source, const char *target, struct husk_err *err)
{
	_cleanup_free_ char *name = husk_ref_local_name(target, err);
	struct tag_args a = {.source = source, .target = name};

	if (!name)
		return husk_err_wrap(err, "tag");
	return husk_store_images_edit(s, tag_edit, &a, err);
}

/* Which image manifests the store's containers were made from. */
static json_t *container_manifests(struct husk_store *s)
{
	json_t *used = json_object();
	_cleanup_close_ int dfd = openat(s->dirfd, "containers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (dfd < 0)
		return used;
	d = fdopendir(steal_fd(&dfd));
	if (!d)
		return used;
	while ((de = readdir(d))) {
		char path[NAME_MAX + 16];
		_cleanup_free_ char *text = NULL;
		struct husk_err ignored = {0};
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/image", de->d_name);
		if (husk_read_file_at(dirfd(d), path, &text, NULL, &ignored) == 0) {
			text[strcspn(text, "\n")] = '\0';
			json_object_set_new(used, text, json_string(de->d_name));
		}
	}
	closedir(d);
	return used;
}

struct remove_args {
	const char *text;
	bool force;
	json_t *used, *removed;
};

static int remove_edit(json_t *images, void *arg, struct husk_err *err)
{
	struct remove_args *a = arg;
	json_t *rec, *names;
	struct husk_ref ref;
	bool by_name = false;
	size_t i;

	if (husk_image_find(images, a->text, &rec, err) < 0)
		return -1;
	names = json_object_get(rec, "names");
	/* a name given takes that name off; the image goes when it was its last */
	if (husk_ref_parse(a->text, &ref, NULL) == 0) {
		_cleanup_free_ char *full = husk_ref_string(&ref);
		husk_ref_free(&ref);
		json_t *n;
		json_array_foreach(names, i, n) {
			const char *nm = json_string_value(n);
			const char *tail = strncmp(nm, "localhost/", 10) == 0 ? nm + 10 : NULL;
			if (strcmp(nm, full) == 0 || (tail && strncmp(full, "docker.io/library/", 18) == 0 &&
						      strcmp(tail, full + 18) == 0) ||
			    (tail && strncmp(full, "docker.io/", 10) == 0 && strcmp(tail, full + 10) == 0)) {
				json_array_append(a->removed, json_pack("{s:s}", "untagged", nm));
				json_array_remove(names, i);
				by_name = true;
				break;
			}
		}
	}
	if (!by_name && json_array_size(names) > 1 && !a->force)
		return husk_err_set(err, EBUSY, "image %s has %zu names: remove them one by one, or use --force", a->text,
				    json_array_size(names));
	if (by_name && json_array_size(names) > 0)
		return 0;
	const char *manifest = json_string_value(json_object_get(rec, "manifest"));
	json_t *user = json_object_get(a->used, manifest);
	if (user)
		return husk_err_set(err, EBUSY, "image %s is used by container %s (remove the container first)", a->text,
				    json_string_value(user));
	json_array_foreach(images, i, rec) {
		if (strcmp(json_string_value(json_object_get(rec, "manifest")), manifest) == 0) {
			json_array_append_new(a->removed, json_pack("{s:O}", "deleted", json_object_get(rec, "id")));
			json_array_remove(images, i);
			break;
		}
	}
	return 0;
}

int husk_image_remove(struct husk_store *s, const char *text, bool force, json_t *removed, struct husk_err *err)
{
	struct remove_args a = {.text = text, .force = force, .used = container_manifests(s), .removed = removed};
	int ret;

	if (!a.removed)
		a.removed = json_array();
	else
		json_incref(a.removed);
	ret = husk_store_images_edit(s, remove_edit, &a, err);
	json_decref(a.used);
	json_decref(a.removed);
	if (ret < 0)
		return -1;
	return husk_image_gc(s, false, NULL, err);
}

static int add_manifest_refs(struct husk_store *s, const char *manifest, json_t *keep)
{
	_cleanup_free_ char *text = NULL;
	struct husk_manifest m;
	struct husk_err ignored = {0};
	size_t len;

	json_object_set_new(keep, husk_digest_hex(manifest), json_true());
	if (husk_blob_read(s, manifest, HUSK_MANIFEST_MAX, &text, &len, &ignored) < 0 ||
	    husk_manifest_parse(text, len, &m, &ignored) < 0)
		return -1;
	json_object_set_new(keep, husk_digest_hex(m.config), json_true());
	for (size_t i = 0; i < m.n_layers; i++)
		json_object_set_new(keep, husk_digest_hex(m.layers[i]), json_true());
	husk_manifest_free(&m);
	return 0;
}

static uint64_t du_at(int at, const char *name)
{
	struct stat st;
	uint64_t total = 0;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	total = (uint64_t)st.st_blocks * 512;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return total;
		}
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				total += du_at(dirfd(d), de->d_name);
		closedir(d);
	}
	return total;
}

/* remove every entry of dir (under the store) whose name keep does not hold */
static int sweep(struct husk_store *s, const char *dir, json_t *keep, uint64_t *freed, struct husk_err *err)
{
	_cleanup_close_ int fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fd < 0)
		return husk_err_sys(err, "open %s/%s", s->path, dir);
	d = fdopendir(steal_fd(&fd));
	if (!d)
		return husk_err_sys(err, "read %s/%s", s->path, dir);
	while ((de = readdir(d)) && ret == 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (keep && json_object_get(keep, de->d_name))
			continue;
		if (freed)
			*freed += du_at(dirfd(d), de->d_name);
		if (husk_rmtree_at(dirfd(d), de->d_name, err) < 0)
			ret = husk_err_wrap(err, "prune %s/%s", s->path, dir);
	}
	closedir(d);
	return ret;
}

static int drop_dangling(json_t *images, void *arg, struct husk_err *err)
{
	json_t *used = arg, *rec;
	(void)err;
	for (size_t i = json_array_size(images); i-- > 0;) {
		rec = json_array_get(images, i);
		if (json_array_size(json_object_get(rec, "names")) == 0 &&
		    !json_object_get(used, json_string_value(json_object_get(rec, "manifest"))))
			json_array_remove(images, i);
	}
	return 0;
}

int husk_image_gc(struct husk_store *s, bool dangling, uint64_t *freed, struct husk_err *err)
{
	json_t *images = NULL, *used = container_manifests(s), *keep = json_object(), *rec;
	const char *manifest;
	void *iter;
	size_t i;
	int ret = -1;

	/* only with no other husk adding content: what it adds is not named by any record yet */
	if (flock(s->lock_fd, LOCK_EX) < 0) {
		husk_err_sys(err, "lock the image store %s", s->path);
		goto out;
	}
	if (dangling && husk_store_images_edit(s, drop_dangling, used, err) < 0)
		goto out;
	if (husk_store_images_load(s, &images, err) < 0)
		goto out;
	json_array_foreach(images, i, rec)
		add_manifest_refs(s, json_string_value(json_object_get(rec, "manifest")), keep);
	json_object_foreach_safe(used, iter, manifest, rec)
		add_manifest_refs(s, manifest, keep);
	if (sweep(s, "blobs/sha256", keep, freed, err) < 0 || sweep(s, "layers", keep, freed, err) < 0 ||
	    sweep(s, "tmp", NULL, freed, err) < 0)
		goto out;
	ret = 0;
out:
	json_decref(images);
	json_decref(used);
	json_decref(keep);
	return ret;
}

uint64_t husk_image_size(struct husk_store *s, json_t *record)
{
	_cleanup_free_ char *text = NULL;
	struct husk_manifest m;
	struct husk_err ignored = {0};
	uint64_t total = 0;
	size_t len;

	if (husk_blob_read(s, json_string_value(json_object_get(record, "manifest")), HUSK_MANIFEST_MAX, &text, &len,
			   &ignored) < 0 ||
	    husk_manifest_parse(text, len, &m, &ignored) < 0)
		return 0;
	for (size_t i = 0; i < m.n_layers; i++) {
		int64_t n = husk_blob_size(s, m.layers[i]);
		total += n > 0 ? (uint64_t)n : 0;
	}
	husk_manifest_free(&m);
	return total;
}

int husk_image_inspect(struct husk_store *s, json_t *record, json_t **out, struct husk_err *err)
{
	_cleanup_free_ char *manifest = NULL, *config = NULL;
	const char *digest = json_string_value(json_object_get(record, "manifest"));
	json_t *mdoc, *cdoc;
	json_error_t jerr;
	size_t len;

	if (husk_blob_read(s, digest, HUSK_MANIFEST_MAX, &manifest, &len, err) < 0)
		return -1;
	mdoc = json_loadb(manifest, len, 0, &jerr);
	if (husk_blob_read(s, json_string_value(json_object_get(record, "id")), HUSK_MANIFEST_MAX, &config, &len, err) < 0) {
		json_decref(mdoc);
		return -1;
	}
	cdoc = json_loadb(config, len, 0, &jerr);
	*out = json_pack("{s:O, s:O, s:O, s:s, s:O, s:I, s:o*, s:o*}", "Id", json_object_get(record, "id"), "Names",
			 json_object_get(record, "names"), "Created", json_object_get(record, "created"), "Digest",
			 digest, "Added", json_object_get(record, "added"), "Size", (json_int_t)husk_image_size(s, record),
			 "Manifest", mdoc, "Config", cdoc);
	return 0;
}
