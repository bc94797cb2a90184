#define _GNU_SOURCE
#include "ref.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "digest.h"
#include "../util.h"

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path components: [a-z0-9]+ joined by ".", "_", "__" or "-"s */
static bool valid_repository(const char *r)
{
	const char *p = r;

	if (!*r || strlen(r) > 255)
		return false;
	while (*p) {
		if (!is_alnum_lower(*p))
			return false;
		while (is_alnum_lower(*p))
			p++;
		if (*p == '/') {
			p++;
			continue;
		}
		if (*p == '.' || *p == '-' || *p == '_') {
			if (*p == '_' && p[1] == '_')
				p++;
			else if (*p == '-')
				while (p[1] == '-')
					p++;
			p++;
			if (!is_alnum_lower(*p))
				return false;
		} else if (*p) {
			return false;
		}
	}
	return p[-1] != '/';
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

static bool valid_domain(const char *d)
{
	if (!*d)
		return false;
	for (const char *p = d; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
			return false;
	return true;
}

int husk_ref_parse(const char *text, struct husk_ref *ref, struct husk_err *err)
{
	_cleanup_free_ char *copy = husk_xstrdup(text);
	char *name = copy, *at, *slash, *colon;

	memset(ref, 0, sizeof(*ref));
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!husk_digest_valid(at + 1))
			return husk_err_set(err, EINVAL, "image reference \"%s\": \"%s\" is not a sha256 digest", text, at + 1);
		ref->digest = husk_xstrdup(at + 1);
	}
	slash = strchr(name, '/');
	if (slash && (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
		      strncmp(name, "localhost/", 10) == 0)) {
		*slash = '\0';
		ref->domain = husk_xstrdup(name);
		ref->explicit_domain = true;
		name = slash + 1;
		if (!valid_domain(ref->domain)) {
			husk_ref_free(ref);
			return husk_err_set(err, EINVAL, "image reference \"%s\": \"%s\" is not a registry name", text, copy);
		}
	} else {
		ref->domain = husk_xstrdup("docker.io");
	}
	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		ref->tag = husk_xstrdup(colon + 1);
		if (!valid_tag(ref->tag)) {
			husk_err_set(err, EINVAL, "image reference \"%s\": \"%s\" is not a valid tag", text, ref->tag);
			husk_ref_free(ref);
			return -1;
		}
	}
	if (strcmp(ref->domain, "docker.io") == 0 && !strchr(name, '/'))
		ref->repository = husk_xasprintf("library/%s", name);
	else
		ref->repository = husk_xstrdup(name);
	if (!valid_repository(ref->repository)) {
		husk_err_set(err, EINVAL,
			     "image reference \"%s\": \"%s\" is not a valid repository name (lowercase letters, digits and . _ - /)",
			     text, name);
		husk_ref_free(ref);
		return -1;
	}
	if (!ref->tag && !ref->digest)
		ref->tag = husk_xstrdup("latest");
	return 0;
}

void husk_ref_free(struct husk_ref *ref)
{
	free(ref->domain);
	free(ref->repository);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

char *husk_ref_string(const struct husk_ref *ref)
{
	if (ref->digest && !ref->tag)
		return husk_xasprintf("%s/%s@%s", ref->domain, ref->repository, ref->digest);
	if (ref->digest)
		return husk_xasprintf("%s/%s:%s@%s", ref->domain, ref->repository, ref->tag, ref->digest);
	return husk_xasprintf("%s/%s:%s", ref->domain, ref->repository, ref->tag);
}

const char *husk_ref_api_host(const struct husk_ref *ref)
{
	return strcmp(ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain;
}

char *husk_ref_local_name(const char *text, struct husk_err *err)
{
	struct husk_ref ref;
	char *name;

	if (husk_ref_parse(text, &ref, err) < 0)
		return NULL;
	if (ref.digest) {
		husk_ref_free(&ref);
		husk_err_set(err, EINVAL, "image name %s: a name cannot hold a digest", text);
		return NULL;
	}
	if (ref.explicit_domain)
		name = husk_ref_string(&ref);
	else
		name = husk_xasprintf("localhost/%s:%s",
				      strncmp(ref.repository, "library/", 8) == 0 ? ref.repository + 8 : ref.repository, ref.tag);
	husk_ref_free(&ref);
	return name;
}
