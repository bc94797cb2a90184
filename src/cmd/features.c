#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <sys/capability.h>
#include <jansson.h>

#include "cmd.h"
#include "../lib/lsm.h"
#include "../lib/names.h"

/* The runtime-spec features document: what this build of husk can do. Only what is
 * implemented is listed; later features (seccomp, hooks, ...) add themselves here. */
int husk_cmd_features(struct husk_globals *g, int argc, char **argv)
{
	json_t *doc, *mount_opts = json_array(), *nss = json_array(), *caps = json_array();
	const char *name;
	(void)argc;
	(void)argv;

	for (unsigned i = 0; (name = husk_mount_opt_name_at(i)); i++)
		if (strcmp(name, "idmap") != 0 && strcmp(name, "ridmap") != 0)
			json_array_append_new(mount_opts, json_string(name));
	for (unsigned i = 0; (name = husk_namespace_name_at(i)); i++)
		json_array_append_new(nss, json_string(name));
	for (int cap = 0; cap < (int)cap_max_bits(); cap++) {
		char *n = cap_to_name((cap_value_t)cap), upper[64];
		size_t j;
		if (!n)
			continue;
		for (j = 0; n[j] && j < sizeof(upper) - 1; j++)
			upper[j] = (char)toupper((unsigned char)n[j]);
		upper[j] = '\0';
		cap_free(n);
		if (strncmp(upper, "CAP_", 4) == 0)
			json_array_append_new(caps, json_string(upper));
	}
	/* built in steps: one json_pack for the whole document fails as a whole, silently */
	json_t *cgroup = json_pack("{s:b, s:b, s:b, s:b, s:b}", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0);
	json_t *seccomp = json_pack("{s:b, s:[sssssssss], s:[sssssss], s:[s,s,s], s:[sss], s:[ssss]}", "enabled", 1,
				    "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
				    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
				    "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
				    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE",
				    "archs", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
				    "knownFlags", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
				    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
				    "supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
				    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
	json_t *linux_obj = json_pack("{s:o, s:o, s:o, s:o, s:{s:b}, s:{s:b}, s:{s:b}, s:{s:{s:b}}}",
				      "namespaces", nss, "capabilities", caps, "cgroup", cgroup, "seccomp", seccomp,
				      "apparmor", "enabled", husk_lsm_enabled(HUSK_LSM_APPARMOR),
				      "selinux", "enabled", husk_lsm_enabled(HUSK_LSM_SELINUX),
				      "intelRdt", "enabled", 0, "mountExtensions", "idmap", "enabled", 0);
	doc = json_pack("{s:s, s:s, s:[ssssss], s:o, s:o, s:{s:s, s:s}}", "ociVersionMin", "1.0.0",
			"ociVersionMax", HUSK_OCI_VERSION, "hooks", "prestart", "createRuntime", "createContainer",
			"startContainer", "poststart", "poststop", "mountOptions", mount_opts, "linux", linux_obj,
			"annotations", "io.github.husk.version", HUSK_VERSION, "io.github.husk.systemd-cgroup",
			"--systemd-cgroup maps slice:prefix:name to the cgroupfs path systemd would use; husk does not talk to systemd over D-Bus yet");
	if (!cgroup || !seccomp || !linux_obj || !doc) {
		struct husk_err err = {0};
		husk_err_set(&err, 0, "internal error: cannot build the features document");
		return husk_cmd_fail(g, &err);
	}
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(doc);
	return 0;
}
