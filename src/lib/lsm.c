#define _GNU_SOURCE
#include "lsm.h"

#include <fcntl.h>
#include <string.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "procfs.h"
#include "util.h"

static const char *const lsm_names[] = {[HUSK_LSM_APPARMOR] = "apparmor", [HUSK_LSM_SELINUX] = "selinux"};

bool husk_lsm_enabled(enum husk_lsm lsm)
{
	_cleanup_free_ char *list = NULL;
	struct husk_err ignored = {0};

	if (husk_read_file_at(AT_FDCWD, "/sys/kernel/security/lsm", &list, NULL, &ignored) == 0) {
		for (char *tok = strtok(list, ",\n"); tok; tok = strtok(NULL, ",\n"))
			if (strcmp(tok, lsm_names[lsm]) == 0)
				return true;
		return false;
	}
	/* no securityfs: each LSM's own interface tells */
	if (lsm == HUSK_LSM_SELINUX)
		return access("/sys/fs/selinux/enforce", F_OK) == 0;
	return access("/sys/module/apparmor/parameters/enabled", F_OK) == 0;
}

void husk_lsm_exec_attr(enum husk_lsm lsm, const char *label, const char **file, char **text)
{
	if (lsm == HUSK_LSM_APPARMOR) {
		/* AppArmor's own directory since 5.8; "exec" is the shared one older kernels use */
		*file = "apparmor/exec";
		*text = husk_xasprintf("exec %s", label);
	} else {
		*file = "exec";
		*text = husk_xstrdup(label);
	}
}

char *husk_lsm_mount_data(const char *data, const char *mount_label)
{
	if (!mount_label || !*mount_label)
		return data ? husk_xstrdup(data) : NULL;
	if (!data || !*data)
		return husk_xasprintf("context=\"%s\"", mount_label);
	return husk_xasprintf("%s,context=\"%s\"", data, mount_label);
}

void husk_lsm_check(struct husk_spec *spec, husk_warn_fn warn, void *warn_arg)
{
	const struct {
		const char **label;
		enum husk_lsm lsm;
		const char *field, *name;
	} labels[] = {
		{&spec->process.apparmor_profile, HUSK_LSM_APPARMOR, "process.apparmorProfile", "AppArmor"},
		{&spec->process.selinux_label, HUSK_LSM_SELINUX, "process.selinuxLabel", "SELinux"},
		{&spec->mount_label, HUSK_LSM_SELINUX, "linux.mountLabel", "SELinux"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(labels); i++) {
		struct husk_err warning = {0};
		if (!*labels[i].label || !**labels[i].label || husk_lsm_enabled(labels[i].lsm))
			continue;
		husk_err_set(&warning, 0, "%s \"%s\" ignored: %s is not enabled on this host", labels[i].field,
			     *labels[i].label, labels[i].name);
		if (warn)
			warn(warn_arg, &warning);
		*labels[i].label = NULL;
	}
}

static int write_attr(enum husk_lsm lsm, const char *label, struct husk_err *err)
{
	_cleanup_close_ int proc = husk_procfs_open_root(AT_FDCWD, "/proc", err);
	_cleanup_free_ char *text = NULL, *path = NULL;
	const char *file;

	if (proc < 0)
		return husk_err_wrap(err, "label the container's process %s", label);
	husk_lsm_exec_attr(lsm, label, &file, &text);
	path = husk_xasprintf("thread-self/attr/%s", file);
	/* AppArmor before 5.8 has only the shared attr/exec */
	if (lsm == HUSK_LSM_APPARMOR) {
		_cleanup_close_ int probe = husk_procfs_open(proc, path, O_PATH, NULL);
		if (probe < 0 && errno == ENOENT) {
			free(path);
			path = husk_xstrdup("thread-self/attr/exec");
		}
	}
	/* the label goes where procfs says, nowhere else: no symlink, no mount on the way */
	if (husk_procfs_write(proc, path, text, strlen(text), err) < 0)
		return husk_err_wrap(err, "label the container's process %s", label);
	return 0;
}

int husk_lsm_apply(const struct husk_spec *spec, struct husk_err *err)
{
	const struct husk_process *p = &spec->process;

	if (p->apparmor_profile && *p->apparmor_profile && write_attr(HUSK_LSM_APPARMOR, p->apparmor_profile, err) < 0)
		return -1;
	if (p->selinux_label && *p->selinux_label && write_attr(HUSK_LSM_SELINUX, p->selinux_label, err) < 0)
		return -1;
	return 0;
}
