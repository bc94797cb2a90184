/* config.json's linux object: namespaces, id maps, devices, paths, sysctl, seccomp,
 * personality, time offsets (its resources are in spec_resources.c). */
#define _GNU_SOURCE
#include "spec.h"

#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "names.h"
#include "seccomp.h"
#include "spec_walk.h"
#include "util.h"

#define SECCOMP_ARG_INDEX_MAX 5 /* a system call's six arguments (struct seccomp_data.args) */

static int parse_namespace(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_namespace *ns = elem;
	struct husk_spec *spec = data;
	const char *type = NULL;
	(void)index;

	if (spec_get_string(c, item, "type", true, &type) < 0 || spec_get_string(c, item, "path", false, &ns->path) < 0)
		return -1;
	ns->type = husk_namespace_from_name(type);
	if (ns->type == 0)
		return spec_fail_key(c, "type", "unknown namespace type \"%s\"", type);
	if ((spec->ns_new | spec->ns_join) & ns->type)
		return spec_fail_key(c, "type", "namespace \"%s\" is given twice", type);
	if (ns->path && ns->path[0] == '\0')
		ns->path = NULL;
	if (ns->path && !spec_is_absolute(ns->path))
		return spec_fail_key(c, "path", "\"%s\" is not an absolute path", ns->path);
	if (ns->path)
		spec->ns_join |= ns->type;
	else
		spec->ns_new |= ns->type;
	return 0;
}

static int parse_idmap(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_idmap *m = elem;
	long long n;
	(void)index;
	(void)data;

	if (spec_get_int(c, item, "containerID", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	m->container_id = (uint32_t)n;
	if (spec_get_int(c, item, "hostID", true, 0, UINT32_MAX, &n) < 0)
		return -1;
	m->host_id = (uint32_t)n;
	if (spec_get_int(c, item, "size", true, 1, UINT32_MAX, &n) < 0)
		return -1;
	m->size = (uint32_t)n;
	return 0;
}

static int parse_device(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_device *d = elem;
	const char *type = NULL;
	long long n = 0;
	int rc;
	(void)index;
	(void)data;

	if (spec_get_string(c, item, "type", true, &type) < 0 || spec_get_string(c, item, "path", true, &d->path) < 0)
		return -1;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return spec_fail_key(c, "type", "unknown device type \"%s\" (expected c, b, u or p)", type);
	d->type = type[0];
	if (strncmp(d->path, "/dev/", strlen("/dev/")) != 0 || d->path[strlen("/dev/")] == '\0')
		return spec_fail_key(c, "path", "\"%s\" is not a path under /dev", d->path);
	if (d->type != 'p') {
		if (spec_get_int(c, item, "major", true, 0, SPEC_DEV_MAJOR_MAX, &n) < 0)
			return -1;
		d->major = n;
		if (spec_get_int(c, item, "minor", true, 0, SPEC_DEV_MINOR_MAX, &n) < 0)
			return -1;
		d->minor = n;
	}
	if ((rc = spec_get_int(c, item, "fileMode", false, 0, SPEC_MODE_MAX, &n)) < 0)
		return -1;
	d->has_mode = rc > 0;
	d->mode = (uint32_t)n;
	if ((rc = spec_get_int(c, item, "uid", false, 0, UINT32_MAX, &n)) < 0)
		return -1;
	d->has_uid = rc > 0;
	d->uid = (uint32_t)n;
	if ((rc = spec_get_int(c, item, "gid", false, 0, UINT32_MAX, &n)) < 0)
		return -1;
	d->has_gid = rc > 0;
	d->gid = (uint32_t)n;
	return 0;
}

static int parse_time_offset(struct spec_ctx *c, json_t *offsets, const char *key, struct husk_time_offset *t)
{
	json_t *o;
	long long n;
	int rc = spec_field(c, offsets, key, JSON_OBJECT, false, &o);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, key);
	if (spec_get_int(c, o, "secs", false, INT64_MIN, INT64_MAX, &n) < 0)
		return -1;
	t->secs = n;
	n = 0;
	if (spec_get_int(c, o, "nanosecs", false, 0, SPEC_NSEC_MAX, &n) < 0)
		return -1;
	t->nanosecs = (uint32_t)n;
	t->set = true;
	return 1;
}

static int parse_time_offsets(struct spec_ctx *c, json_t *linux_obj, struct husk_spec *spec)
{
	json_t *offsets;
	int rc = spec_field(c, linux_obj, "timeOffsets", JSON_OBJECT, false, &offsets);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "timeOffsets");
	if (parse_time_offset(c, offsets, "monotonic", &spec->time_monotonic) < 0 ||
	    parse_time_offset(c, offsets, "boottime", &spec->time_boottime) < 0)
		return -1;
	return 1;
}

static int parse_sysctl(struct spec_ctx *c, json_t *linux_obj, struct husk_spec *spec)
{
	json_t *obj, *value;
	const char *key;
	size_t i = 0;
	int rc = spec_field(c, linux_obj, "sysctl", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "sysctl");
	spec->n_sysctl = json_object_size(obj);
	spec->sysctl_keys = husk_xcalloc(spec->n_sysctl, sizeof(char *));
	spec->sysctl_values = husk_xcalloc(spec->n_sysctl, sizeof(char *));
	json_object_foreach(obj, key, value) {
		PATH_KEY(c, key);
		if (!json_is_string(value))
			return spec_fail(c, "expected a string, got %s", spec_type_name(value));
		if (key[0] == '\0' || strchr(key, '/') || spec_has_dotdot(key) || key[0] == '.')
			return spec_fail(c, "\"%s\" is not a sysctl name", key);
		spec->sysctl_keys[i] = key;
		spec->sysctl_values[i] = json_string_value(value);
		i++;
	}
	return 1;
}

static int parse_seccomp_arg(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_seccomp_arg *a = elem;
	const char *op = NULL;
	long long n;
	(void)index;
	(void)data;

	if (spec_get_int(c, item, "index", true, 0, SECCOMP_ARG_INDEX_MAX, &n) < 0)
		return -1;
	a->index = (unsigned)n;
	if (spec_get_u64(c, item, "value", true, &a->value) < 0 ||
	    spec_get_u64(c, item, "valueTwo", false, &a->value_two) < 0 ||
	    spec_get_string(c, item, "op", true, &op) < 0)
		return -1;
	a->op = husk_seccomp_op_from_name(op);
	if (a->op < 0)
		return spec_fail_key(c, "op", "unknown operator \"%s\"", op);
	return 0;
}

static int parse_seccomp_rule(struct spec_ctx *c, json_t *item, void *elem, size_t index, void *data)
{
	struct husk_seccomp_rule *r = elem;
	const char *action = NULL;
	int64_t a;
	long long n;
	int rc;
	(void)index;
	(void)data;

	if (spec_get_string_array(c, item, "names", true, &r->names, &r->n_names) < 0 ||
	    spec_get_string(c, item, "action", true, &action) < 0)
		return -1;
	if (r->n_names == 0)
		return spec_fail_key(c, "names", "must name at least one system call");
	a = husk_seccomp_action_from_name(action);
	if (a < 0)
		return spec_fail_key(c, "action", "unknown action \"%s\"", action);
	r->action = (uint32_t)a;
	if ((rc = spec_get_int(c, item, "errnoRet", false, 0, SPEC_ERRNO_MAX, &n)) < 0)
		return -1;
	r->has_errno = rc > 0;
	r->errno_ret = (uint32_t)n;
	return spec_parse_object_array(c, item, "args", sizeof(struct husk_seccomp_arg), (void **)&r->args,
				       &r->n_args, parse_seccomp_arg, NULL) < 0 ? -1 : 0;
}

static int parse_seccomp(struct spec_ctx *c, json_t *linux_obj, struct husk_seccomp *sc)
{
	const char *action = NULL;
	_cleanup_free_ const char **names = NULL;
	size_t n_names = 0;
	json_t *obj;
	int64_t v;
	long long n;
	int rc = spec_field(c, linux_obj, "seccomp", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "seccomp");
	sc->json = obj;
	if (spec_get_string(c, obj, "defaultAction", true, &action) < 0)
		return -1;
	if ((v = husk_seccomp_action_from_name(action)) < 0)
		return spec_fail_key(c, "defaultAction", "unknown action \"%s\"", action);
	sc->default_action = (uint32_t)v;
	if ((rc = spec_get_int(c, obj, "defaultErrnoRet", false, 0, SPEC_ERRNO_MAX, &n)) < 0)
		return -1;
	sc->has_default_errno = rc > 0;
	sc->default_errno = (uint32_t)n;
	if (spec_get_string_array(c, obj, "architectures", false, &names, &n_names) < 0)
		return -1;
	sc->arches = husk_xcalloc(n_names, sizeof(uint32_t));
	for (size_t i = 0; i < n_names; i++) {
		if ((v = husk_seccomp_arch_from_name(names[i])) < 0) {
			PATH_KEY(c, "architectures");
			PATH_INDEX(c, i);
			return spec_fail(c, "unknown architecture \"%s\"", names[i]);
		}
		sc->arches[sc->n_arches++] = (uint32_t)v;
	}
	free(steal_pointer(&names));
	if (spec_get_string_array(c, obj, "flags", false, &names, &n_names) < 0)
		return -1;
	for (size_t i = 0; i < n_names; i++) {
		if ((v = husk_seccomp_flag_from_name(names[i])) < 0) {
			PATH_KEY(c, "flags");
			PATH_INDEX(c, i);
			return spec_fail(c, "unknown seccomp flag \"%s\"", names[i]);
		}
		sc->flags |= (unsigned)v;
	}
	if (spec_get_string(c, obj, "listenerPath", false, &sc->listener_path) < 0 ||
	    spec_get_string(c, obj, "listenerMetadata", false, &sc->listener_metadata) < 0 ||
	    spec_parse_object_array(c, obj, "syscalls", sizeof(struct husk_seccomp_rule), (void **)&sc->rules,
				    &sc->n_rules, parse_seccomp_rule, NULL) < 0)
		return -1;
	return 1;
}

static int parse_personality(struct spec_ctx *c, json_t *linux_obj, struct husk_spec *spec)
{
	static const struct spec_name_int domains[] = {{"LINUX", PER_LINUX}, {"LINUX32", PER_LINUX32}};
	const char *domain = NULL;
	_cleanup_free_ const char **flags = NULL;
	size_t n_flags = 0;
	json_t *obj;
	long d;
	int rc = spec_field(c, linux_obj, "personality", JSON_OBJECT, false, &obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "personality");
	if (spec_get_string(c, obj, "domain", true, &domain) < 0 ||
	    spec_get_string_array(c, obj, "flags", false, &flags, &n_flags) < 0)
		return -1;
	if ((d = spec_lookup_name(domains, ARRAY_SIZE(domains), domain)) < 0)
		return spec_fail_key(c, "domain", "unknown personality domain \"%s\" (LINUX or LINUX32)", domain);
	/* the spec defines no flags yet: one it does not know is refused, not ignored */
	if (n_flags)
		return spec_fail_key(c, "flags", "no personality flags are defined");
	spec->personality = (unsigned long)d;
	spec->has_personality = true;
	return 1;
}

static int parse_propagation(struct spec_ctx *c, const char *propagation, struct husk_spec *spec)
{
	static const struct spec_name_int propagations[] = {
		{"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC}, {"rshared", MS_SHARED | MS_REC},
		{"rslave", MS_SLAVE | MS_REC}, {"runbindable", MS_UNBINDABLE | MS_REC}, {"shared", MS_SHARED},
		{"slave", MS_SLAVE}, {"unbindable", MS_UNBINDABLE},
	};
	long flags = spec_lookup_name(propagations, ARRAY_SIZE(propagations), propagation);

	if (flags < 0)
		return spec_fail_key(c, "rootfsPropagation", "unknown propagation \"%s\"", propagation);
	spec->rootfs_propagation = (unsigned long)flags;
	return 0;
}

int spec_parse_linux(struct spec_ctx *c, json_t *root, struct husk_spec *spec)
{
	json_t *linux_obj, *resources;
	const char *propagation = NULL;
	int rc = spec_field(c, root, "linux", JSON_OBJECT, false, &linux_obj);

	if (rc <= 0)
		return rc;
	PATH_KEY(c, "linux");
	if (spec_parse_object_array(c, linux_obj, "namespaces", sizeof(struct husk_namespace), (void **)&spec->namespaces,
				    &spec->n_namespaces, parse_namespace, spec) < 0 ||
	    spec_parse_object_array(c, linux_obj, "uidMappings", sizeof(struct husk_idmap), (void **)&spec->uid_mappings,
				    &spec->n_uid_mappings, parse_idmap, NULL) < 0 ||
	    spec_parse_object_array(c, linux_obj, "gidMappings", sizeof(struct husk_idmap), (void **)&spec->gid_mappings,
				    &spec->n_gid_mappings, parse_idmap, NULL) < 0 ||
	    spec_parse_object_array(c, linux_obj, "devices", sizeof(struct husk_device), (void **)&spec->devices,
				    &spec->n_devices, parse_device, NULL) < 0 ||
	    spec_get_string(c, linux_obj, "cgroupsPath", false, &spec->cgroups_path) < 0 ||
	    spec_get_path_array(c, linux_obj, "maskedPaths", &spec->masked_paths, &spec->n_masked_paths) < 0 ||
	    spec_get_path_array(c, linux_obj, "readonlyPaths", &spec->readonly_paths, &spec->n_readonly_paths) < 0 ||
	    parse_sysctl(c, linux_obj, spec) < 0 || parse_seccomp(c, linux_obj, &spec->seccomp) < 0 ||
	    parse_personality(c, linux_obj, spec) < 0 ||
	    spec_get_string(c, linux_obj, "rootfsPropagation", false, &propagation) < 0 ||
	    spec_get_string(c, linux_obj, "mountLabel", false, &spec->mount_label) < 0)
		return -1;
	rc = spec_field(c, linux_obj, "resources", JSON_OBJECT, false, &resources);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		PATH_KEY(c, "resources");
		if (spec_parse_linux_resources(c, resources, spec) < 0)
			return -1;
	}
	if (parse_time_offsets(c, linux_obj, spec) < 0)
		return -1;
	if (spec->cgroups_path && spec_has_dotdot(spec->cgroups_path))
		return spec_fail_key(c, "cgroupsPath", "\"%s\" must not contain \"..\"", spec->cgroups_path);
	if (propagation && parse_propagation(c, propagation, spec) < 0)
		return -1;
	return 1;
}
