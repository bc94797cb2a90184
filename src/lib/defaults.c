#define _GNU_SOURCE
#include "defaults.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "profile.h"
#include "util.h"

/* The default config: docker's default capability set, noNewPrivileges, the usual masked and
 * read-only paths, every namespace but user and time; the seccomp profile is added in code. */
static const char default_spec[] =
	"{\"ociVersion\": \"" HUSK_OCI_VERSION "\","
	" \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"sh\"],"
	"  \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\"],"
	"  \"cwd\": \"/\","
	"  \"capabilities\": {"
	"   \"bounding\": [CAPS], \"effective\": [CAPS], \"permitted\": [CAPS]},"
	"  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
	"  \"noNewPrivileges\": true},"
	" \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	" \"hostname\": \"husk\","
	" \"mounts\": ["
	"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
	"  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
	"  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},"
	"  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"
	"  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
	"  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
	"  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}],"
	" \"linux\": {"
	"  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],"
	"  \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", \"/proc/latency_stats\","
	"   \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", \"/proc/scsi\", \"/proc/interrupts\","
	"   \"/sys/firmware\", \"/sys/devices/virtual/powercap\"],"
	"  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]}}";

#define CAPS "\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", \"CAP_FOWNER\", \"CAP_MKNOD\", \"CAP_NET_RAW\"," \
	" \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\", \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\"," \
	" \"CAP_SYS_CHROOT\", \"CAP_KILL\", \"CAP_AUDIT_WRITE\""

static char *expand_caps(void)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	for (p = default_spec; (p = strstr(p, "CAPS")); p += 4)
		n++;
	out = o = husk_xmalloc(sizeof(default_spec) + n * sizeof(CAPS));
	for (p = default_spec; *p;) {
		if (strncmp(p, "CAPS", 4) == 0) {
			o = stpcpy(o, CAPS);
			p += 4;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

/* Rootless: a user namespace mapping the caller to root, /sys bound from the host (sysfs
 * cannot be mounted without owning the network namespace), no cgroup mount, devpts without
 * the tty group the caller cannot map. */
static void make_rootless(json_t *spec)
{
	json_t *linux_obj = json_object_get(spec, "linux"), *mounts = json_object_get(spec, "mounts"), *m;
	json_t *nss = json_object_get(linux_obj, "namespaces");
	size_t i;

	json_array_append_new(nss, json_pack("{s:s}", "type", "user"));
	json_object_set_new(linux_obj, "uidMappings",
			    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)getuid(), "size", 1));
	json_object_set_new(linux_obj, "gidMappings",
			    json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t)getgid(), "size", 1));
	for (i = json_array_size(mounts); i-- > 0;) {
		m = json_array_get(mounts, i);
		const char *dest = json_string_value(json_object_get(m, "destination"));
		if (strcmp(dest, "/sys/fs/cgroup") == 0) {
			json_array_remove(mounts, i);
		} else if (strcmp(dest, "/sys") == 0) {
			json_array_set_new(mounts, i, json_pack("{s:s, s:s, s:s, s:[s,s,s,s,s]}", "destination", "/sys",
								"type", "none", "source", "/sys", "options", "rbind",
								"nosuid", "noexec", "nodev", "ro"));
		} else if (strcmp(dest, "/dev/pts") == 0) {
			json_t *opts = json_object_get(m, "options");
			for (size_t j = json_array_size(opts); j-- > 0;)
				if (strcmp(json_string_value(json_array_get(opts, j)), "gid=5") == 0)
					json_array_remove(opts, j);
		}
	}
}

/* The default profile for the capabilities the config grants. */
static void add_seccomp(json_t *spec)
{
	json_t *bounding = json_object_get(json_object_get(json_object_get(spec, "process"), "capabilities"), "bounding");
	json_t *name;
	uint64_t caps = 0;
	size_t i;

	json_array_foreach(bounding, i, name) {
		int cap = husk_cap_from_name(json_string_value(name));
		if (cap >= 0 && cap < 64)
			caps |= 1ull << cap;
	}
	json_object_set_new(json_object_get(spec, "linux"), "seccomp", husk_default_seccomp(caps));
}

json_t *husk_spec_default(bool rootless)
{
	_cleanup_free_ char *text = expand_caps();
	json_error_t jerr;
	json_t *spec = json_loads(text, 0, &jerr);

	if (!spec) {
		fprintf(stderr, "husk: internal error in the default spec: %s\n", jerr.text);
		abort();
	}
	if (rootless)
		make_rootless(spec);
	add_seccomp(spec);
	return spec;
}
