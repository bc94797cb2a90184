/* config.json as a struct husk_spec: the top level (version, root, hostname, annotations) and
 * the rules that tie parts together. The parts are read by spec_process.c, spec_mounts.c
 * (mounts, hooks), spec_linux.c and spec_resources.c, over the walk in spec_walk.c. */
#define _GNU_SOURCE
#include "spec.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <seccomp.h>

#include "spec_walk.h"
#include "util.h"

/* With no mount namespace the process lives in husk's own mount table (the host's): the
 * container is entered by chroot, and what would mount there is refused, not done on the host
 * and not dropped (a masked path quietly left unmasked is a hole). */
static int check_no_mount_namespace(struct spec_ctx *c, const struct husk_spec *spec)
{
	static const char why[] = "needs a mount namespace (linux.namespaces has none: husk mounts nothing in the host's)";

	if (spec->n_mounts)
		return spec_fail_key(c, "mounts", "%s", why);
	if (spec->root_readonly) {
		PATH_KEY(c, "root");
		return spec_fail_key(c, "readonly", "%s", why);
	}
	PATH_KEY(c, "linux");
	if (spec->n_masked_paths)
		return spec_fail_key(c, "maskedPaths", "%s", why);
	if (spec->n_readonly_paths)
		return spec_fail_key(c, "readonlyPaths", "%s", why);
	if (spec->n_devices)
		return spec_fail_key(c, "devices", "%s", why);
	if (spec->rootfs_propagation)
		return spec_fail_key(c, "rootfsPropagation", "%s", why);
	/* written through the container's /proc, which nothing mounts */
	if (spec->n_sysctl)
		return spec_fail_key(c, "sysctl", "%s", why);
	return 0;
}

/* The linux object's fields that need one another (or a namespace). */
static int check_linux(struct spec_ctx *c, struct husk_spec *spec)
{
	bool new_user = spec->ns_new & CLONE_NEWUSER;
	bool notify = spec->seccomp.json && spec->seccomp.default_action == SCMP_ACT_NOTIFY;

	PATH_KEY(c, "linux");
	/* asked-for protections husk cannot give yet are refused, never skipped: a container
	 * must not run unconfined because its seccomp filter or label was quietly dropped */
	if (spec->seccomp.listener_path && !spec->seccomp.listener_path[0])
		spec->seccomp.listener_path = NULL;
	for (size_t i = 0; i < spec->seccomp.n_rules; i++)
		notify = notify || spec->seccomp.rules[i].action == SCMP_ACT_NOTIFY;
	if (notify && !spec->seccomp.listener_path)
		return spec_fail_key(c, "seccomp", "SCMP_ACT_NOTIFY needs a listenerPath");
	if (new_user && (spec->n_uid_mappings == 0 || spec->n_gid_mappings == 0))
		return spec_fail(c, "a new user namespace needs uidMappings and gidMappings");
	if (!new_user && (spec->n_uid_mappings || spec->n_gid_mappings))
		return spec_fail(c, "uidMappings and gidMappings need a new user namespace");
	if ((spec->time_monotonic.set || spec->time_boottime.set) && !(spec->ns_new & CLONE_NEWTIME))
		return spec_fail_key(c, "timeOffsets", "time offsets need a new time namespace");
	if (spec->n_sysctl && !(spec->ns_new & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)))
		return spec_fail_key(c, "sysctl", "namespaced sysctls need a new network, ipc or uts namespace");
	return 0;
}

/* Rules that tie fields together, checked once everything is read. */
static int cross_check(struct spec_ctx *c, json_t *root, struct husk_spec *spec)
{
	unsigned long ns = spec->ns_new | spec->ns_join;

	/* a uts namespace joined by path is the container's as much as a new one: its names
	 * may be set (another container sharing it sees them, as it would with runc) */
	if (spec->hostname && spec->hostname[0] && !(ns & CLONE_NEWUTS))
		return spec_fail_key(c, "hostname", "setting the hostname needs a uts namespace (new or joined)");
	if (spec->domainname && spec->domainname[0] && !(ns & CLONE_NEWUTS))
		return spec_fail_key(c, "domainname", "setting the domainname needs a uts namespace (new or joined)");
	if (!(ns & CLONE_NEWNS) && check_no_mount_namespace(c, spec) < 0)
		return -1;
	if (json_object_get(root, "linux") == NULL)
		return 0;
	return check_linux(c, spec);
}

static int parse_root(struct spec_ctx *c, json_t *doc, struct husk_spec *spec)
{
	json_t *root_obj;

	if (spec_field(c, doc, "root", JSON_OBJECT, true, &root_obj) <= 0)
		return -1;
	PATH_KEY(c, "root");
	if (spec_get_string(c, root_obj, "path", true, &spec->root_path) < 0 ||
	    spec_get_bool(c, root_obj, "readonly", &spec->root_readonly) < 0)
		return -1;
	return 0;
}

static int parse_document(struct spec_ctx *c, json_t *doc, struct husk_spec *spec)
{
	int rc;

	if (!json_is_object(doc))
		return spec_fail(c, "expected an object, got %s", spec_type_name(doc));
	if (spec_get_string(c, doc, "ociVersion", true, &spec->oci_version) < 0)
		return -1;
	if (strncmp(spec->oci_version, "1.", 2) != 0)
		return spec_fail_key(c, "ociVersion", "unsupported version \"%s\" (husk implements 1.x)", spec->oci_version);
	if (parse_root(c, doc, spec) < 0 || spec_get_string(c, doc, "hostname", false, &spec->hostname) < 0 ||
	    spec_get_string(c, doc, "domainname", false, &spec->domainname) < 0)
		return -1;
	/* optional until start (the runtime-spec): create makes the container without it */
	rc = spec_parse_process(c, doc, &spec->process, false);
	if (rc < 0)
		return -1;
	spec->has_process = rc > 0;
	if (!spec->has_process)
		spec->process.cwd = "/";
	if (spec_parse_mounts(c, doc, spec) < 0 || spec_parse_linux(c, doc, spec) < 0 ||
	    spec_parse_hooks(c, doc, spec) < 0 ||
	    spec_field(c, doc, "annotations", JSON_OBJECT, false, &spec->annotations) < 0)
		return -1;
	return cross_check(c, doc, spec);
}

int husk_spec_parse(const char *file, const char *text, size_t len, struct husk_spec *spec,
		    struct husk_err *err)
{
	struct spec_ctx c = {.file = file, .text = text, .len = len, .err = err};
	json_error_t jerr;
	int rc;

	memset(spec, 0, sizeof(*spec));
	/* REJECT_DUPLICATES: two "uid" keys must not silently pick one */
	spec->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (spec->json == NULL)
		return husk_err_set(err, 0, "%s:%d:%d: %s%s", file, jerr.line, jerr.column, jerr.text,
				    json_error_code(&jerr) == json_error_invalid_utf8 ? " (not valid UTF-8)" : "");
	rc = parse_document(&c, spec->json, spec);
	rc = spec_walk_done(&c, rc);
	if (rc < 0) {
		husk_spec_free(spec);
		return -1;
	}
	return 0;
}

int husk_spec_load(const char *bundle, struct husk_spec *spec, struct husk_err *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *path = husk_xasprintf("%s/config.json", bundle);
	size_t len;

	if (husk_read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return -1;
	return husk_spec_parse("config.json", text, len, spec, err);
}

void husk_spec_free(struct husk_spec *spec)
{
	free(spec->process.args);
	free(spec->process.env);
	free(spec->process.additional_gids);
	free(spec->process.rlimits);
	for (size_t i = 0; i < spec->n_mounts; i++)
		free(spec->mounts[i].data);
	free(spec->mounts);
	free(spec->uid_mappings);
	free(spec->gid_mappings);
	free(spec->devices);
	free(spec->namespaces);
	free(spec->device_rules);
	husk_resources_free(&spec->resources);
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) {
		for (size_t i = 0; i < spec->n_hooks[k]; i++) {
			free(spec->hooks[k][i].args);
			free(spec->hooks[k][i].env);
		}
		free(spec->hooks[k]);
	}
	for (size_t i = 0; i < spec->seccomp.n_rules; i++) {
		free(spec->seccomp.rules[i].names);
		free(spec->seccomp.rules[i].args);
	}
	free(spec->seccomp.rules);
	free(spec->seccomp.arches);
	free(spec->masked_paths);
	free(spec->readonly_paths);
	free(spec->sysctl_keys);
	free(spec->sysctl_values);
	if (spec->json)
		json_decref(spec->json);
	memset(spec, 0, sizeof(*spec));
}

const struct husk_namespace *husk_spec_namespace(const struct husk_spec *spec, unsigned long type)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		if (spec->namespaces[i].type == type)
			return &spec->namespaces[i];
	return NULL;
}

