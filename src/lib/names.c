#define _GNU_SOURCE
#include "names.h"

#include <ctype.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <linux/mount.h>

#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct name_value {
	const char *name;
	long value;
};

static int cmp_name_value(const void *key, const void *elem)
{
	return strcmp(key, ((const struct name_value *)elem)->name);
}

static const struct name_value *lookup(const struct name_value *table, size_t n, const char *name)
{
	return bsearch(name, table, n, sizeof(*table), cmp_name_value);
}

/* Sorted by name. */
static const struct name_value signals[] = {
	{"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS}, {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
	{"CONT", SIGCONT}, {"FPE", SIGFPE}, {"HUP", SIGHUP}, {"ILL", SIGILL}, {"INT", SIGINT},
	{"IO", SIGIO}, {"IOT", SIGIOT}, {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
	{"PROF", SIGPROF}, {"PWR", SIGPWR}, {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},
	{"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP}, {"SYS", SIGSYS}, {"TERM", SIGTERM},
	{"TRAP", SIGTRAP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
	{"URG", SIGURG}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM},
	{"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

static int parse_small_int(const char *s, int min, int max)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	return (int)v;
}

int husk_signal_parse(const char *s)
{
	const struct name_value *nv;
	char upper[32];
	size_t i;

	if (isdigit((unsigned char)*s))
		return parse_small_int(s, 1, SIGRTMAX);
	for (i = 0; s[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)s[i]);
	if (s[i])
		return -1;
	upper[i] = '\0';
	s = strncmp(upper, "SIG", 3) == 0 ? upper + 3 : upper;
	if (strncmp(s, "RTMIN", 5) == 0 || strncmp(s, "RTMAX", 5) == 0) {
		int base = s[3] == 'I' ? SIGRTMIN : SIGRTMAX, off = 0;
		if (s[5] == '+' || s[5] == '-') {
			off = parse_small_int(s + 6, 0, SIGRTMAX - SIGRTMIN);
			if (off < 0)
				return -1;
			if (s[5] == '-')
				off = -off;
		} else if (s[5] != '\0') {
			return -1;
		}
		if (base + off < SIGRTMIN || base + off > SIGRTMAX)
			return -1;
		return base + off;
	}
	nv = lookup(signals, ARRAY_SIZE(signals), s);
	return nv ? (int)nv->value : -1;
}

static const struct name_value rlimits[] = {
	{"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
	{"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
	{"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
	{"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", RLIMIT_RTTIME}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", RLIMIT_STACK},
};

int husk_rlimit_from_name(const char *name)
{
	const struct name_value *nv = lookup(rlimits, ARRAY_SIZE(rlimits), name);
	return nv ? (int)nv->value : -1;
}

/* Sorted by name; the runtime-spec's linux.namespaces[].type values. */
static const struct name_value namespaces[] = {
	{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mount", CLONE_NEWNS},
	{"network", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"time", CLONE_NEWTIME},
	{"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
};

static const struct name_value namespace_proc_names[] = {
	{"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mnt", CLONE_NEWNS},
	{"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"time", CLONE_NEWTIME},
	{"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
};

unsigned long husk_namespace_from_name(const char *name)
{
	const struct name_value *nv = lookup(namespaces, ARRAY_SIZE(namespaces), name);
	return nv ? (unsigned long)nv->value : 0;
}

static const char *name_of(const struct name_value *table, size_t n, unsigned long flag)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned long)table[i].value == flag)
			return table[i].name;
	return "?";
}

const char *husk_namespace_name(unsigned long flag)
{
	return name_of(namespaces, ARRAY_SIZE(namespaces), flag);
}

const char *husk_namespace_proc_name(unsigned long flag)
{
	return name_of(namespace_proc_names, ARRAY_SIZE(namespace_proc_names), flag);
}

const char *husk_namespace_name_at(unsigned i)
{
	return i < ARRAY_SIZE(namespaces) ? namespaces[i].name : NULL;
}

/* Sorted by name. Valueless filesystem options (newinstance, ...) are listed as DATA so that
 * an option husk has never heard of is an error rather than a silent no-op. */
static const struct husk_mount_opt mount_opts[] = {
	{"acl", HUSK_MOPT_DATA, 0},
	{"async", HUSK_MOPT_CLEAR, MS_SYNCHRONOUS},
	{"atime", HUSK_MOPT_CLEAR, MS_NOATIME},
	{"bind", HUSK_MOPT_FLAG, MS_BIND},
	{"defaults", HUSK_MOPT_FLAG, 0},
	{"dev", HUSK_MOPT_CLEAR, MS_NODEV},
	{"diratime", HUSK_MOPT_CLEAR, MS_NODIRATIME},
	{"dirsync", HUSK_MOPT_FLAG, MS_DIRSYNC},
	{"exec", HUSK_MOPT_CLEAR, MS_NOEXEC},
	{"idmap", HUSK_MOPT_HUSK, 0},
	{"iversion", HUSK_MOPT_FLAG, MS_I_VERSION},
	{"lazytime", HUSK_MOPT_FLAG, MS_LAZYTIME},
	{"loud", HUSK_MOPT_CLEAR, MS_SILENT},
	{"mand", HUSK_MOPT_FLAG, MS_MANDLOCK},
	{"newinstance", HUSK_MOPT_DATA, 0},
	{"noacl", HUSK_MOPT_DATA, 0},
	{"noatime", HUSK_MOPT_FLAG, MS_NOATIME},
	{"nodev", HUSK_MOPT_FLAG, MS_NODEV},
	{"nodiratime", HUSK_MOPT_FLAG, MS_NODIRATIME},
	{"noexec", HUSK_MOPT_FLAG, MS_NOEXEC},
	{"noiversion", HUSK_MOPT_CLEAR, MS_I_VERSION},
	{"nolazytime", HUSK_MOPT_CLEAR, MS_LAZYTIME},
	{"nomand", HUSK_MOPT_CLEAR, MS_MANDLOCK},
	{"norelatime", HUSK_MOPT_CLEAR, MS_RELATIME},
	{"nostrictatime", HUSK_MOPT_CLEAR, MS_STRICTATIME},
	{"nosuid", HUSK_MOPT_FLAG, MS_NOSUID},
	{"nosymfollow", HUSK_MOPT_FLAG, 256 /* MS_NOSYMFOLLOW */},
	{"nouser_xattr", HUSK_MOPT_DATA, 0},
	{"private", HUSK_MOPT_PROPAGATION, MS_PRIVATE},
	{"rbind", HUSK_MOPT_FLAG, MS_BIND | MS_REC},
	{"relatime", HUSK_MOPT_FLAG, MS_RELATIME},
	{"remount", HUSK_MOPT_FLAG, MS_REMOUNT},
	{"ridmap", HUSK_MOPT_HUSK, 0},
	{"rnoatime", HUSK_MOPT_ATTR, MOUNT_ATTR_NOATIME},
	{"rnodev", HUSK_MOPT_ATTR, MOUNT_ATTR_NODEV},
	{"rnodiratime", HUSK_MOPT_ATTR, MOUNT_ATTR_NODIRATIME},
	{"rnoexec", HUSK_MOPT_ATTR, MOUNT_ATTR_NOEXEC},
	{"rnosuid", HUSK_MOPT_ATTR, MOUNT_ATTR_NOSUID},
	{"rnosymfollow", HUSK_MOPT_ATTR, MOUNT_ATTR_NOSYMFOLLOW},
	{"ro", HUSK_MOPT_FLAG, MS_RDONLY},
	{"rprivate", HUSK_MOPT_PROPAGATION, MS_PRIVATE | MS_REC},
	{"rrelatime", HUSK_MOPT_ATTR, MOUNT_ATTR_RELATIME},
	{"rro", HUSK_MOPT_ATTR, MOUNT_ATTR_RDONLY},
	{"rrw", HUSK_MOPT_ATTR_CLEAR, MOUNT_ATTR_RDONLY},
	{"rshared", HUSK_MOPT_PROPAGATION, MS_SHARED | MS_REC},
	{"rslave", HUSK_MOPT_PROPAGATION, MS_SLAVE | MS_REC},
	{"rstrictatime", HUSK_MOPT_ATTR, MOUNT_ATTR_STRICTATIME},
	{"rsuid", HUSK_MOPT_ATTR_CLEAR, MOUNT_ATTR_NOSUID},
	{"rsymfollow", HUSK_MOPT_ATTR_CLEAR, MOUNT_ATTR_NOSYMFOLLOW},
	{"runbindable", HUSK_MOPT_PROPAGATION, MS_UNBINDABLE | MS_REC},
	{"rw", HUSK_MOPT_CLEAR, MS_RDONLY},
	{"shared", HUSK_MOPT_PROPAGATION, MS_SHARED},
	{"silent", HUSK_MOPT_FLAG, MS_SILENT},
	{"slave", HUSK_MOPT_PROPAGATION, MS_SLAVE},
	{"strictatime", HUSK_MOPT_FLAG, MS_STRICTATIME},
	{"suid", HUSK_MOPT_CLEAR, MS_NOSUID},
	{"symfollow", HUSK_MOPT_CLEAR, 256 /* MS_NOSYMFOLLOW */},
	{"sync", HUSK_MOPT_FLAG, MS_SYNCHRONOUS},
	{"tmpcopyup", HUSK_MOPT_HUSK, 0},
	{"unbindable", HUSK_MOPT_PROPAGATION, MS_UNBINDABLE},
	{"user_xattr", HUSK_MOPT_DATA, 0},
	{"userxattr", HUSK_MOPT_DATA, 0},
};

static int cmp_mount_opt(const void *key, const void *elem)
{
	return strcmp(key, ((const struct husk_mount_opt *)elem)->name);
}

const struct husk_mount_opt *husk_mount_opt_lookup(const char *name)
{
	return bsearch(name, mount_opts, ARRAY_SIZE(mount_opts), sizeof(mount_opts[0]), cmp_mount_opt);
}

const char *husk_mount_opt_name_at(unsigned i)
{
	return i < ARRAY_SIZE(mount_opts) ? mount_opts[i].name : NULL;
}
