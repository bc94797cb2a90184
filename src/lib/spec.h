/* The runtime-spec config.json as typed C structs, validated before any side effect. */
#ifndef HUSK_SPEC_H
#define HUSK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "error.h"

enum husk_cap_set { HUSK_CAP_BOUNDING, HUSK_CAP_EFFECTIVE, HUSK_CAP_INHERITABLE,
		    HUSK_CAP_PERMITTED, HUSK_CAP_AMBIENT, HUSK_CAP_NSETS };

struct husk_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct husk_process {
	bool terminal;
	unsigned console_height, console_width;
	const char **args;           /* NULL terminated; strings owned by the JSON document */
	size_t n_args;
	const char **env;            /* NULL terminated */
	size_t n_env;
	const char *cwd;
	uint32_t uid, gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool has_caps;
	uint64_t caps[HUSK_CAP_NSETS]; /* bit N = capability N */
	struct husk_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	const char *apparmor_profile;
	const char *selinux_label;
	bool has_io_priority;
	int io_class;               /* IOPRIO_CLASS_* */
	int io_priority;
	bool has_scheduler;
	struct husk_scheduler {
		int policy;         /* SCHED_* */
		int nice, priority;
		uint64_t flags;     /* SCHED_FLAG_* */
		uint64_t runtime, deadline, period;
	} scheduler;
};

struct husk_mount {
	const char *destination, *type, *source;
	unsigned long flags;        /* MS_* to set */
	unsigned long clear_flags;  /* MS_* the options asked to clear (rw, suid, ...) */
	unsigned long propagation;  /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE [| MS_REC] */
	uint64_t attr_set, attr_clr; /* recursive MOUNT_ATTR_* (rro, rnosuid, ...) */
	char *data;                 /* filesystem options, comma separated; NULL if none */
	bool tmpcopyup;
};

struct husk_namespace {
	unsigned long type;         /* CLONE_NEW* */
	const char *path;           /* join this one, or NULL for a new one */
};

struct husk_idmap {
	uint32_t container_id, host_id, size;
};

struct husk_device {
	char type;                  /* c, b, u, p */
	const char *path;
	int64_t major, minor;
	bool has_mode, has_uid, has_gid;
	uint32_t mode, uid, gid;
};

/* linux.resources.devices: a devices cgroup rule; major/minor -1 mean "*" */
struct husk_device_rule {
	bool allow;
	char type;                  /* a, c, b */
	int64_t major, minor;
	char access[4];             /* some of "rwm" */
};

struct husk_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	int op;                     /* SCMP_CMP_* */
};

struct husk_seccomp_rule {
	const char **names;
	size_t n_names;
	uint32_t action;            /* SCMP_ACT_*, without the errno */
	bool has_errno;
	uint32_t errno_ret;
	struct husk_seccomp_arg *args;
	size_t n_args;
};

struct husk_seccomp {
	json_t *json;               /* linux.seccomp, NULL when there is none */
	uint32_t default_action;
	bool has_default_errno;
	uint32_t default_errno;
	uint32_t *arches;
	size_t n_arches;
	unsigned flags;
	const char *listener_path, *listener_metadata;
	struct husk_seccomp_rule *rules;
	size_t n_rules;
};

/* An optional number: set says whether the config gave it. */
struct husk_opt_i64 {
	bool set;
	int64_t v;
};

struct husk_blkio_device {
	int64_t major, minor;
	struct husk_opt_i64 weight, leaf_weight, rate; /* rate: bytes or I/Os per second */
};

struct husk_named_value {
	const char *name;           /* borrowed */
	const char *value;          /* borrowed (unified) */
	int64_t number;             /* hugepage limit, net priority */
	struct husk_opt_i64 hca_handles, hca_objects; /* rdma */
};

/* linux.resources, typed and range-checked; the cgroup planner turns it into file writes. */
struct husk_resources {
	bool present;
	struct {
		struct husk_opt_i64 limit, reservation, swap, kernel, kernel_tcp, swappiness;
		bool has_disable_oom_killer, disable_oom_killer, has_use_hierarchy, use_hierarchy;
		bool check_before_update;
	} memory;
	struct {
		struct husk_opt_i64 shares, quota, period, burst, realtime_runtime, realtime_period, idle;
		const char *cpus, *mems;
	} cpu;
	struct husk_opt_i64 pids_limit;
	struct {
		struct husk_opt_i64 weight, leaf_weight;
		struct husk_blkio_device *weight_device, *throttle[4]; /* read bps, write bps, read iops, write iops */
		size_t n_weight_device, n_throttle[4];
	} blkio;
	struct husk_named_value *hugepages, *net_priorities, *rdma, *unified;
	size_t n_hugepages, n_net_priorities, n_rdma, n_unified;
	struct husk_opt_i64 net_class_id;
};

struct husk_hook {
	const char *path;
	const char **args;          /* NULL terminated; NULL: just the path */
	const char **env;
	size_t n_args, n_env;
	int timeout;                /* seconds; 0: none */
};

enum husk_hook_kind { HUSK_HOOK_PRESTART, HUSK_HOOK_CREATE_RUNTIME, HUSK_HOOK_CREATE_CONTAINER,
		      HUSK_HOOK_START_CONTAINER, HUSK_HOOK_POSTSTART, HUSK_HOOK_POSTSTOP, HUSK_HOOK_KINDS };

struct husk_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
};

struct husk_spec {
	json_t *json;               /* owns every string below */
	const char *oci_version;
	const char *root_path;
	bool root_readonly;
	bool has_process;           /* optional until start; without it process is zeroed, cwd "/" */
	struct husk_process process;
	const char *hostname, *domainname;
	struct husk_mount *mounts;
	size_t n_mounts;
	struct husk_namespace *namespaces;
	size_t n_namespaces;
	unsigned long ns_new, ns_join; /* CLONE_NEW* masks */
	struct husk_idmap *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct husk_time_offset time_monotonic, time_boottime;
	struct husk_device *devices;
	size_t n_devices;
	struct husk_device_rule *device_rules;
	size_t n_device_rules;
	struct husk_resources resources;
	const char *cgroups_path;
	const char **masked_paths, **readonly_paths;
	size_t n_masked_paths, n_readonly_paths;
	const char **sysctl_keys, **sysctl_values;
	size_t n_sysctl;
	unsigned long rootfs_propagation; /* 0: husk's default (rslave) */
	const char *mount_label;
	json_t *annotations;        /* borrowed from json; NULL if none */
	struct husk_seccomp seccomp;
	struct husk_hook *hooks[HUSK_HOOK_KINDS];
	size_t n_hooks[HUSK_HOOK_KINDS];
	bool has_personality;
	unsigned long personality; /* PER_LINUX or PER_LINUX32 */
};

/* Parse and validate config text; `file` names it in errors ("config.json"). */
int husk_spec_parse(const char *file, const char *text, size_t len, struct husk_spec *spec,
		    struct husk_err *err);
/* A linux.resources object on its own (husk oci update --resources FILE); `file` names it. */
int husk_resources_parse(const char *file, const char *text, size_t len, json_t **json,
			 struct husk_resources *res, struct husk_err *err);
void husk_resources_free(struct husk_resources *res);

/* A process object on its own (husk oci exec --process FILE), checked as config.json's is. */
int husk_process_parse(const char *file, const char *text, size_t len, json_t **json, struct husk_process *p,
		       struct husk_err *err);
void husk_process_free(struct husk_process *p);

extern const char *const husk_hook_kind_names[HUSK_HOOK_KINDS];

/* Read and parse BUNDLE/config.json. */
int husk_spec_load(const char *bundle, struct husk_spec *spec, struct husk_err *err);
void husk_spec_free(struct husk_spec *spec);

/* The namespace entry of a type, or NULL when the config does not mention it. */
const struct husk_namespace *husk_spec_namespace(const struct husk_spec *spec, unsigned long type);


#endif
