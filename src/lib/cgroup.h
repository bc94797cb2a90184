/* The container's cgroup: where it goes on cgroup v1 (one directory per hierarchy) or v2
 * (one directory), how the init process gets into it, and how it goes away. Resource limits
 * build on this. */
#ifndef HUSK_CGROUP_H
#define HUSK_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "error.h"
#include "spec.h"

#define HUSK_CGROUP_MAX_HIER 16

struct husk_cgroup_hier {
	char *mountpoint;   /* host mount of this hierarchy, e.g. /sys/fs/cgroup/memory */
	char *controllers;  /* "memory", "cpu,cpuacct", "name=systemd"; "" for v2 */
	char *own;          /* husk's own cgroup directory in it */
	char *dir;          /* the container's directory in it */
};

struct husk_cgroup {
	bool v2;                  /* unified hierarchy only */
	bool default_path;        /* "husk/<id>": the "husk" parent is husk's to remove when empty */
	size_t n;
	struct husk_cgroup_hier h[HUSK_CGROUP_MAX_HIER];
	char **created;           /* directories made by husk_cgroup_create, outermost first */
	size_t n_created;
	int v2_dirfd;             /* v2: the container's directory, for clone3(CLONE_INTO_CGROUP) */
	int attach_fds[HUSK_CGROUP_MAX_HIER]; /* v1 "tasks" files the init writes "0" into */
	size_t n_attach_fds;
};

/* Find the hierarchies and husk's own place in them, and work out the container's directory
 * for cgroupsPath (NULL: "husk/<id>", relative to husk's own cgroup; relative paths are too;
 * absolute ones start at each hierarchy's root). Nothing is created. */
int husk_cgroup_resolve(struct husk_cgroup *cg, const char *cgroups_path, const char *id, struct husk_err *err);

/* Refuse a container cgroup that exists already, before anything is recorded or made:
 * husk neither joins nor removes a cgroup it did not create. */
int husk_cgroup_check_new(const struct husk_cgroup *cg, struct husk_err *err);

/* The directories husk_cgroup_create is about to record as made (those of each path that do
 * not exist yet, the default "husk" parent always, each leaf), outermost first, worked out
 * before it runs: recorded in the state first, so that `delete --force` after a create killed
 * half way through them removes them too. NULL-terminated, malloc'ed. */
char **husk_cgroup_plan_created(const struct husk_cgroup *cg, size_t *n);

/* --systemd-cgroup: "slice:prefix:name" as the cgroupfs path systemd's driver would give it
 * ("a-b.slice:husk:x" -> "/a.slice/a-b.slice/husk-x.scope"); NULL spec: "system.slice:husk:<id>".
 * Pure; the result is malloc'ed. */
char *husk_cgroup_systemd_path(const char *spec, const char *id, struct husk_err *err);

/* A v1 "tasks" file, opened for a task that joins by writing "0" into it: a single-threaded
 * task moves itself without the RCU grace period a write of a pid into cgroup.procs waits for. */
int husk_cgroup_open_tasks(const char *dir, struct husk_err *err);
/* Make the directories (recording each in cg->created as it goes, so a failure half way can
 * be undone) and open what the init needs to join them. */
int husk_cgroup_create(struct husk_cgroup *cg, struct husk_err *err);

/* In the container's init, before it exec's: join the cgroup through the fds opened by
 * husk_cgroup_create (a single-threaded task moving itself through v1 "tasks" avoids the
 * RCU grace period a write of another pid into cgroup.procs waits for). */
int husk_cgroup_join_self(struct husk_cgroup *cg, struct husk_err *err);

/* One line for a v1 devices.allow / devices.deny file. */
struct husk_device_line {
	bool allow;
	char type;              /* a, c, b */
	int64_t major, minor;   /* -1: any */
	unsigned access;        /* 1 mknod, 2 read, 4 write (BPF_DEVCG_ACC_*) */
	char text[48];          /* "c 1:3 rwm", "a *:* rwm" */
};

/* The device rules of a container, in the order they are applied: deny everything, the
 * config's linux.resources.devices, then what is always permitted (mknod of character nodes, the
 * spec's default devices, /dev/pts, and each linux.devices node). Pure; *lines is malloc'ed. */
void husk_cgroup_device_lines(const struct husk_spec *spec, struct husk_device_line **lines, size_t *n);

/* Install those rules before the init joins: on v1 in the devices cgroup's lists, on v2 as a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup. */
int husk_cgroup_apply_devices(const struct husk_cgroup *cg, const struct husk_spec *spec, struct husk_err *err);

/* The eBPF program for lines (pure; unit-tested by running its logic in C). *insns is malloc'ed
 * struct bpf_insn; the count is returned. */
size_t husk_cgroup_device_program(const struct husk_device_line *lines, size_t n, void **insns);

/* Close the fds husk_cgroup_create opened. */
void husk_cgroup_close_fds(struct husk_cgroup *cg);
void husk_cgroup_free(struct husk_cgroup *cg);

/* Pids in the cgroup directory (cgroup.procs); *pids is malloc'ed. */
int husk_cgroup_pids(const char *dir, pid_t **pids, size_t *n, struct husk_err *err);

/* Send sig to every process in dir. */
int husk_cgroup_kill(const char *dir, int sig, struct husk_err *err);

/* Are these the container's cgroup v2 directory (rather than v1 hierarchies)? */
bool husk_cgroup_dirs_v2(char *const *dirs, size_t n);

/* Freeze or thaw (v1 freezer.state, v2 cgroup.freeze), waiting until the kernel says done. */
int husk_cgroup_freeze(char *const *dirs, size_t n, bool freeze, struct husk_err *err);

/* runc's stats object: cpu, memory, pids (and what else the files give). */
json_t *husk_cgroup_stats(char *const *dirs, size_t n);

/* How many times the OOM killer has struck in the cgroup (memory.oom_control or
 * memory.events oom_kill); -1 if unknown. */
long long husk_cgroup_oom_kills(char *const *dirs, size_t n);

/* Remove a container's cgroups: dirs are its leaves, created what husk made (outermost first).
 * With force, processes left in them are killed first. A leaf that still holds processes is an
 * error; a shared parent that is not empty is left alone. */
int husk_cgroup_destroy(char **dirs, size_t n_dirs, char **created, size_t n_created, bool force,
			struct husk_err *err);

#endif
