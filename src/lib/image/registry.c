#define _GNU_SOURCE
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <jansson.h>

#include "image.h"
#include "ref.h"
#include "../util.h"

static const char accept_manifests[] =
	"Accept: " HUSK_MT_OCI_INDEX ", " HUSK_MT_DOCKER_LIST ", " HUSK_MT_OCI_MANIFEST ", " HUSK_MT_DOCKER_MANIFEST;

struct session {
	CURL *curl;
	struct husk_store *store;
	const struct husk_pull_opts *opts;
	struct husk_ref ref;
	char *base;                 /* https://host/v2/REPO */
	char *token;                /* bearer token, once a challenge was answered */
	bool insecure;
};

struct response {
	long status;
	char *content_type;
	char *challenge;
	/* body into memory (capped) or into a blob writer */
	char *body;
	size_t len, cap;
	struct husk_blob_writer *blob;
	struct husk_err *err;
	bool failed;
	/* progress */
	const char *digest;
	uint64_t offset, total;
};

static void response_reset(struct response *r)
{
	free(r->body);
	free(r->content_type);
	free(r->challenge);
	r->body = r->content_type = r->challenge = NULL;
	r->len = r->cap = 0;
	r->status = 0;
	r->failed = false;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	char *colon = memchr(buf, ':', len);

	if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after a redirect): forget the previous one's headers */
		free(r->content_type);
		free(r->challenge);
		r->content_type = r->challenge = NULL;
		return len;
	}
	if (!colon)
		return len;
	size_t key = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vlen = len - key - 1;
	while (vlen && isspace((unsigned char)*v)) {
		v++;
		vlen--;
	}
	while (vlen && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (key == 12 && strncasecmp(buf, "content-type", 12) == 0) {
		free(r->content_type);
		r->content_type = strndup(v, strcspn(v, ";") < vlen ? strcspn(v, ";") : vlen);
	} else if (key == 16 && strncasecmp(buf, "www-authenticate", 16) == 0) {
		free(r->challenge);
		r->challenge = strndup(v, vlen);
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	size_t len = size * n;
	if (r->blob && (r->status == 200 || r->status == 206)) {
		if (husk_blob_write(r->blob, buf, len, r->err) < 0) {
			r->failed = true;
			return 0;
		}
		return len;
	}
	if (r->len + len > HUSK_MANIFEST_MAX) {
		husk_err_set(r->err, EFBIG, "a registry response larger than %u bytes where a manifest was expected",
			     HUSK_MANIFEST_MAX);
		r->failed = true;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		r->cap = (r->len + len + 1) * 2;
		r->body = husk_xrealloc(r->body, r->cap);
	}
	memcpy(r->body + r->len, buf, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

struct progress_ctx {
	struct session *s;
	struct response *r;
};

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct progress_ctx *p = arg;
	(void)ultotal;
	(void)ulnow;
	if (p->s->opts->progress && p->r->digest && p->r->blob)
		p->s->opts->progress(p->s->opts->arg, HUSK_PULL_PROGRESS, p->r->digest, p->r->offset + (uint64_t)dlnow,
				     p->r->total ? p->r->total : p->r->offset + (uint64_t)dltotal);
	return 0;
}

/* the status line's code is known only once the headers are in: set it from the header hook */
static size_t on_header_status(char *buf, size_t size, size_t n, void *arg)
{
	struct response *r = arg;
	if (size * n > 9 && strncmp(buf, "HTTP/", 5) == 0) {
		const char *sp = memchr(buf, ' ', size * n);
		if (sp)
			r->status = strtol(sp + 1, NULL, 10);
	}
	return on_header(buf, size, n, arg);
}

int husk_auth_parse(const char *header, struct husk_auth_challenge *c)
{
	const char *p = header;

	memset(c, 0, sizeof(*c));
	while (*p && isspace((unsigned char)*p))
		p++;
	size_t n = strcspn(p, " \t");
	if (n == 0)
		return -1;
	c->scheme = strndup(p, n);
	p += n;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t k = strcspn(p, "= \t,");
		if (p[k] != '=') {
			husk_auth_free(c);
			return -1;
		}
		_cleanup_free_ char *key = strndup(p, k);
		p += k + 1;
		_cleanup_free_ char *value = NULL;
		if (*p == '"') {
			const char *end = strchr(p + 1, '"');
			if (!end) {
				husk_auth_free(c);
				return -1;
			}
			value = strndup(p + 1, (size_t)(end - p - 1));
			p = end + 1;
		} else {
			size_t v = strcspn(p, ", \t");
			value = strndup(p, v);
			p += v;
		}
		char **slot = strcasecmp(key, "realm") == 0 ? &c->realm : strcasecmp(key, "service") == 0 ? &c->service
							      : strcasecmp(key, "scope") == 0   ? &c->scope
											       : NULL;
		if (slot) {
			free(*slot);
			*slot = steal_pointer(&value);
		}
	}
	return 0;
}

void husk_auth_free(struct husk_auth_challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

static int perform(struct session *s, const char *url, const char *accept, const char *range, struct response *r,
		   const char *auth, struct husk_err *err)
{
	struct curl_slist *headers = NULL;
	struct progress_ctx pc = {s, r};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;

	if (accept)
		headers = curl_slist_append(headers, accept);
	_cleanup_free_ char *bearer = NULL;
	if (auth) {
		bearer = husk_xasprintf("Authorization: Bearer %s", auth);
		headers = curl_slist_append(headers, bearer);
	}
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(s->curl, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "husk");
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled transfer (under 1 byte/s for a minute) fails, and resumes on the next pull */
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header_status);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, &pc);
	if (range)
		curl_easy_setopt(s->curl, CURLOPT_RANGE, range);
	if (s->insecure) {
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	r->err = err;
	rc = curl_easy_perform(s->curl);
	curl_slist_free_all(headers);
	if (r->failed)
		return -1;
	if (rc != CURLE_OK)
		return husk_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "GET %s: %s", url,
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

/* Answer a Bearer challenge: an anonymous token for the scope asked. */
static int get_token(struct session *s, const char *header, struct husk_err *err)
{
	struct husk_auth_challenge c;
	struct response r = {0};
	json_error_t jerr;
	json_t *doc;
	char *service = NULL, *scope = NULL;
	_cleanup_free_ char *url = NULL;
	int ret = -1;

	if (husk_auth_parse(header, &c) < 0)
		return husk_err_set(err, EPROTO, "registry %s: cannot read its challenge \"%s\"", s->ref.domain, header);
	if (strcasecmp(c.scheme, "Bearer") != 0 || !c.realm) {
		husk_err_set(err, EACCES, "registry %s wants %s authentication, and husk pulls anonymously", s->ref.domain,
			     c.scheme);
		goto out;
	}
	service = c.service ? curl_easy_escape(s->curl, c.service, 0) : NULL;
	scope = c.scope ? curl_easy_escape(s->curl, c.scope, 0) : NULL;
	url = husk_xasprintf("%s%sservice=%s&scope=%s", c.realm, strchr(c.realm, '?') ? "&" : "?",
						  service ? service : "", scope ? scope : "");
	curl_free(service);
	curl_free(scope);
	if (perform(s, url, "Accept: application/json", NULL, &r, NULL, err) < 0)
		goto out;
	if (r.status != 200) {
		husk_err_set(err, EACCES, "token server %s: HTTP %ld%s", c.realm, r.status,
			     r.status == 401 ? " (the image is private, or does not exist)" : "");
		goto out;
	}
	doc = json_loadb(r.body ? r.body : "", r.len, 0, &jerr);
	const char *token = json_string_value(json_object_get(doc, "token"));
	if (!token)
		token = json_string_value(json_object_get(doc, "access_token"));
	if (!token) {
		husk_err_set(err, EPROTO, "token server %s: no token in its answer", c.realm);
		json_decref(doc);
		goto out;
	}
	free(s->token);
	s->token = husk_xstrdup(token);
	json_decref(doc);
	ret = 0;
out:
	response_reset(&r);
	husk_auth_free(&c);
	return ret;
}

/* GET with the session's token, answering one challenge when the registry asks */
static int get(struct session *s, const char *path, const char *accept, const char *range, struct response *r,
	       struct husk_err *err)
{
	_cleanup_free_ char *url = husk_xasprintf("%s/%s", s->base, path);

	for (int attempt = 0;; attempt++) {
		if (perform(s, url, accept, range, r, s->token, err) < 0)
			return -1;
		if (r->status != 401 || attempt > 0 || !r->challenge)
			return 0;
		_cleanup_free_ char *challenge = steal_pointer(&r->challenge);
		response_reset(r);
		if (get_token(s, challenge, err) < 0)
			return -1;
		if (r->blob && husk_blob_restart(r->blob, err) < 0)
			return -1;
	}
}

static bool is_local(const char *domain)
{
	return strncmp(domain, "localhost", 9) == 0 || strncmp(domain, "127.", 4) == 0 || strncmp(domain, "[::1]", 5) == 0;
}

/* A manifest or index by tag or digest, stored as the exact bytes its digest is of. */
static int fetch_manifest(struct session *s, const char *reference, const char *want, char digest[HUSK_DIGEST_LEN + 1],
			  json_t **doc, char **media_type, struct husk_err *err)
{
	struct response r = {0};
	_cleanup_free_ char *path = husk_xasprintf("manifests/%s", reference);
	json_error_t jerr;
	int ret = -1;

	if (get(s, path, accept_manifests, NULL, &r, err) < 0)
		goto out;
	if (r.status == 404) {
		husk_err_set(err, ENOENT, "%s/%s: the registry has no manifest %s", s->ref.domain, s->ref.repository,
			     reference);
		goto out;
	}
	if (r.status != 200) {
		husk_err_set(err, EPROTO, "%s/%s: manifest %s: HTTP %ld%s%.200s", s->ref.domain, s->ref.repository,
			     reference, r.status, r.body ? ": " : "", r.body ? r.body : "");
		goto out;
	}
	if (!r.body)
		r.body = husk_xstrdup("");
	husk_sha256_buf(r.body, r.len, digest);
	if (want && strcmp(want, digest) != 0) {
		husk_err_set(err, EBADMSG, "%s/%s: the manifest the registry sent for %s hashes to %s", s->ref.domain,
			     s->ref.repository, want, digest);
		goto out;
	}
	*doc = json_loadb(r.body, r.len, 0, &jerr);
	if (!*doc) {
		husk_err_set(err, EINVAL, "%s/%s: manifest %s: line %d column %d: %s", s->ref.domain, s->ref.repository,
			     reference, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (husk_blob_put(s->store, r.body, r.len, digest, err) < 0) {
		json_decref(*doc);
		*doc = NULL;
		goto out;
	}
	*media_type = r.content_type ? husk_xstrdup(r.content_type) : NULL;
	ret = 0;
out:
	response_reset(&r);
	return ret;
}

/* A blob into the store, verified; resumed from what an earlier attempt left in tmp/. */
static int fetch_blob(struct session *s, const char *digest, uint64_t size, struct husk_err *err)
{
	const struct husk_pull_opts *o = s->opts;
	struct husk_blob_writer w;
	struct response r = {0};
	char got[HUSK_DIGEST_LEN + 1], name[HUSK_DIGEST_LEN + 16];
	_cleanup_free_ char *path = husk_xasprintf("blobs/%s", digest), *range = NULL;

	if (husk_blob_exists(s->store, digest)) {
		if (o->progress)
			o->progress(o->arg, HUSK_PULL_EXISTS, digest, size, size);
		return 0;
	}
	snprintf(name, sizeof(name), "pull-%s", husk_digest_hex(digest));
	if (husk_blob_begin_resumable(s->store, &w, name, err) < 0)
		return -1;
	/* another husk may have finished it while this one waited for the partial file's lock */
	if (husk_blob_exists(s->store, digest)) {
		husk_blob_suspend(&w);
		unlinkat(s->store->dirfd, w.tmp, 0);
		return 0;
	}
	if (o->progress)
		o->progress(o->arg, HUSK_PULL_START, digest, w.size, size);
	if (size && w.size == size) {
		/* all there already: a crash came between the last byte and the rename */
		if (husk_blob_commit(&w, digest, got, err) == 0) {
			if (o->progress)
				o->progress(o->arg, HUSK_PULL_DONE, digest, size, size);
			return 0;
		}
		husk_err_clear(err);
		if (husk_blob_begin_resumable(s->store, &w, name, err) < 0)
			return -1;
	}
	if (w.size > 0 && (size == 0 || w.size < size))
		range = husk_xasprintf("%llu-", (unsigned long long)w.size);
	else if (w.size > 0 && husk_blob_restart(&w, err) < 0)
		goto suspend;
	r.blob = &w;
	r.digest = digest;
	r.offset = w.size;
	r.total = size;
	if (get(s, path, NULL, range, &r, err) < 0)
		goto suspend;
	if (r.status == 200 && range) {
		/* the server ignored the range: what it sends is the whole blob */
		if (husk_blob_restart(&w, err) < 0)
			goto suspend;
		response_reset(&r);
		r.blob = &w;
		r.offset = 0;
		if (get(s, path, NULL, NULL, &r, err) < 0)
			goto suspend;
	}
	if (r.status == 416 && range) {
		/* a partial file longer than the blob: start over next time */
		husk_blob_abort(&w);
		response_reset(&r);
		return husk_err_set(err, EIO, "%s: the registry refused to resume %s; run the pull again", s->ref.domain,
				    digest);
	}
	if (r.status != 200 && r.status != 206) {
		husk_err_set(err, r.status == 404 ? ENOENT : EPROTO, "%s/%s: blob %s: HTTP %ld", s->ref.domain,
			     s->ref.repository, digest, r.status);
		goto suspend;
	}
	response_reset(&r);
	if (husk_blob_commit(&w, digest, got, err) < 0)
		return husk_err_wrap(err, "%s/%s: blob %s", s->ref.domain, s->ref.repository, digest);
	if (o->progress)
		o->progress(o->arg, HUSK_PULL_DONE, digest, size, size);
	return 0;
suspend:
	response_reset(&r);
	/* what arrived stays in tmp/ for the next attempt to resume from */
	husk_blob_suspend(&w);
	return -1;
}

static int start_session(struct session *s, struct husk_err *err)
{
	struct response r = {0};
	const char *host = husk_ref_api_host(&s->ref);

	s->base = husk_xasprintf("https://%s/v2/%s", host, s->ref.repository);
	if (perform(s, s->base, NULL, NULL, &r, NULL, err) == 0 || !s->insecure) {
		response_reset(&r);
		/* the answer (even 401 or 404) says a registry speaks https there */
		if (err->msg[0])
			return husk_err_wrap(err, "registry %s (for a registry without TLS use --tls-verify=false)", host);
		return 0;
	}
	response_reset(&r);
	/* an insecure registry may speak plain http only */
	husk_err_clear(err);
	free(s->base);
	s->base = husk_xasprintf("http://%s/v2/%s", host, s->ref.repository);
	_cleanup_free_ char *ping = husk_xasprintf("http://%s/v2/", host);
	if (perform(s, ping, NULL, NULL, &r, NULL, err) < 0) {
		response_reset(&r);
		return husk_err_wrap(err, "registry %s", host);
	}
	response_reset(&r);
	return 0;
}

int husk_pull(struct husk_store *store, const char *text, const struct husk_pull_opts *o, char id[HUSK_DIGEST_LEN + 1],
	      char **name, struct husk_err *err)
{
	struct session s = {.store = store, .opts = o};
	char digest[HUSK_DIGEST_LEN + 1], picked[HUSK_DIGEST_LEN + 1];
	_cleanup_free_ char *media_type = NULL, *manifest_text = NULL, *full = NULL;
	struct husk_manifest m = {0};
	json_t *doc = NULL;
	size_t len;
	int ret = -1, kind;

	if (husk_ref_parse(text, &s.ref, err) < 0)
		return -1;
	s.insecure = !o->tls_verify || is_local(s.ref.domain);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s.curl = curl_easy_init();
	if (!s.curl) {
		husk_err_set(err, ENOMEM, "initialise libcurl");
		goto out;
	}
	if (start_session(&s, err) < 0)
		goto out;
	if (fetch_manifest(&s, s.ref.digest ? s.ref.digest : s.ref.tag, s.ref.digest, digest, &doc, &media_type, err) < 0)
		goto out;
	kind = husk_manifest_kind(doc, media_type, err);
	if (kind < 0)
		goto out;
	if (kind == 1) {
		json_t *index = doc;
		if (husk_index_pick(index, picked, err) < 0) {
			husk_err_wrap(err, "%s", text);
			goto out;
		}
		json_decref(index);
		doc = NULL;
		free(media_type);
		media_type = NULL;
		if (fetch_manifest(&s, picked, picked, digest, &doc, &media_type, err) < 0)
			goto out;
		if (husk_manifest_kind(doc, media_type, err) != 0) {
			husk_err_set(err, EINVAL, "%s: the index points at another index", text);
			goto out;
		}
	}
	if (husk_blob_read(store, digest, HUSK_MANIFEST_MAX, &manifest_text, &len, err) < 0 ||
	    husk_manifest_parse(manifest_text, len, &m, err) < 0) {
		husk_err_wrap(err, "%s", text);
		goto out;
	}
	json_t *layers = json_object_get(doc, "layers");
	if (fetch_blob(&s, m.config, (uint64_t)json_integer_value(json_object_get(json_object_get(doc, "config"), "size")),
		       err) < 0)
		goto out;
	for (size_t i = 0; i < m.n_layers; i++)
		if (fetch_blob(&s, m.layers[i], (uint64_t)json_integer_value(json_object_get(json_array_get(layers, i), "size")),
			       err) < 0)
			goto out;
	/* recorded by tag; pulled by digest alone, by repository@digest */
	full = husk_ref_string(&s.ref);
	const char *names[1] = {full};
	if (husk_image_commit(store, digest, names, 1, id, err) < 0)
		goto out;
	*name = steal_pointer(&full);
	ret = 0;
out:
	husk_manifest_free(&m);
	json_decref(doc);
	if (s.curl)
		curl_easy_cleanup(s.curl);
	free(s.base);
	free(s.token);
	husk_ref_free(&s.ref);
	return ret;
}
