/* Volumes: directories that outlive containers, and the mounts that put them (and host paths,
 * and tmpfs) into a container, with docker's spelling (-v, --mount, --tmpfs, --volumes-from,
 * the image's Volumes).
 *
 *   STORAGE/volumes/NAME/_data         what the container sees (the mount's source)
 *   STORAGE/volumes/NAME/volume.json   the record: docker's `volume inspect` shape, plus Anonymous
 *
 * A volume's content is hostile: a container may plant symlinks (absolute, climbing with ..) or
 * race renames in it. husk never walks a volume from the host through such a path: the mounts
 * are made by the runtime, which resolves every target inside the new container's root
 * (RESOLVE_IN_ROOT), the seed copy reads the image through the same resolution and copies
 * symlinks as symlinks, and removal unlinks without following. */
#ifndef HUSK_ENGINE_VOLUME_H
#define HUSK_ENGINE_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../error.h"

struct husk_engine;
struct husk_engine_run;

enum husk_mount_type { HUSK_MOUNT_BIND, HUSK_MOUNT_VOLUME, HUSK_MOUNT_TMPFS };

/* One mount as the command line gave it (parsed, checked, nothing made yet). */
struct husk_mount_spec {
	enum husk_mount_type type;
	char *source;                /* bind: the host path; volume: the name, NULL for a new anonymous one */
	char *target;                /* absolute, no ".." */
	bool readonly;
	const char *propagation;     /* bind: "rprivate", "shared", ... (NULL: rprivate) */
	char relabel;                /* 'z' (shared), 'Z' (private) or 0 */
	bool nocopy;                 /* volume: not seeded from the image */
	bool create_source;          /* bind from -v: a missing host path is made (docker's -v) */
	char *tmpfs_options;         /* tmpfs: "size=...,mode=..." as mount options, or NULL */
};

/* -v [SOURCE:]TARGET[:OPTIONS] */
int husk_mount_parse_volume(const char *text, struct husk_mount_spec *m, struct husk_err *err);
/* --mount type=bind|volume|tmpfs,source=,target=,readonly,... (docker's keys) */
int husk_mount_parse_mount(const char *text, struct husk_mount_spec *m, struct husk_err *err);
/* --tmpfs TARGET[:OPTIONS] */
int husk_mount_parse_tmpfs(const char *text, struct husk_mount_spec *m, struct husk_err *err);
void husk_mount_spec_free(struct husk_mount_spec *m);

/* A target in the container: absolute, not "/", no ".." component. */
int husk_mount_target_check(const char *target, const char *what, struct husk_err *err);
/* A volume's name: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (docker's), so never a path. */
int husk_volume_name_check(const char *name, struct husk_err *err);

/* A volume, made if there is none (name NULL: a new anonymous one, 64 hex digits). *made says
 * whether this call made it; *rec (optional) its record. labels, opts: objects or NULL. */
int husk_volume_create(const char *storage, const char *name, json_t *labels, json_t *opts, bool anonymous,
		       json_t **rec, bool *made, struct husk_err *err);
int husk_volume_load(const char *storage, const char *name, json_t **rec, struct husk_err *err);
/* Every volume's name, sorted. */
int husk_volume_list(const char *storage, char ***names, size_t *n, struct husk_err *err);
void husk_volume_list_free(char **names, size_t n);
/* The containers whose record mounts the volume: "name (id12)" texts joined by ", ", or NULL. */
char *husk_volume_users(const struct husk_engine *e, const char *name);
/* Refused (EBUSY) while a container, running or not, mounts it, naming which. */
int husk_volume_remove(const struct husk_engine *e, const char *name, struct husk_err *err);
/* The anonymous volumes (all with `all`) that no container uses; their names in *removed. */
int husk_volume_prune(const struct husk_engine *e, bool all, char ***removed, size_t *n, struct husk_err *err);
/* The anonymous volumes a container's record mounts (husk rm -v, --rm); named ones stay. */
int husk_volume_remove_anonymous(const struct husk_engine *e, json_t *rec, struct husk_err *err);

/* SELinux is on: /sys/fs/selinux/enforce exists (selinuxfs mounted, the policy loaded). */
bool husk_selinux_enabled(void);
/* :z / :Z: the tree's security.selinux label set (without following symlinks); 0 when SELinux
 * is off (nothing done). */
int husk_volume_relabel(const char *path, char relabel, const char *id, struct husk_err *err);

/* At prepare: every mount of r (its mounts, then --volumes-from, then the image's Volumes)
 * made ready: volumes created and seeded from the image at rootfd, host paths made for -v;
 * then appended to the OCI spec's mounts and returned as docker's "Mounts" for the record. */
int husk_volumes_prepare(const struct husk_engine *e, struct husk_engine_run *r, int rootfd, const char *image_config,
			 json_t *spec, json_t **mounts, struct husk_err *err);

#endif
