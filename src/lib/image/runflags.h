/* docker run's flags that change a container's config (--memory, --cpus, --cap-add,
 * --privileged, --env-file, --init, ...): their values parsed with docker's spelling, checked,
 * and applied to the OCI config husk_run_config builds. The parsers are pure, for the unit
 * tests; only husk_run_flags_apply looks at the host (its /dev, for --privileged). */
#ifndef HUSK_RUNFLAGS_H
#define HUSK_RUNFLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "../error.h"
#include "runconfig.h"

/* Where --init's catatonit is bound in the container: /dev is the container's own tmpfs, so
 * nothing is created in the image's root (which may be read-only). */
#define HUSK_INIT_PATH "/dev/init"
/* docker's lower bound for --memory (linuxMinMemory) */
#define HUSK_MEMORY_MIN (6 * 1024 * 1024)
#define HUSK_CPU_PERIOD 100000 /* us: docker's CFS period for --cpus */
#define HUSK_CPU_SHARES_MIN 2
#define HUSK_CPU_SHARES_MAX 262144

/* A size as docker's --memory takes it: a decimal number, then optionally a unit b, k, m, g,
 * t or p (any case, 1024-based, "kb"/"kib"/"KiB" alike), as "512m", "1.5g", "100 MiB". */
int husk_size_parse(const char *s, int64_t *out, struct husk_err *err);
/* --cpus: a decimal number of CPUs with up to 9 digits after the point, as nano CPUs. */
int husk_cpus_parse(const char *s, int64_t *nano, struct husk_err *err);
/* --cap-add/--cap-drop: "NET_ADMIN", "cap_net_admin", "CAP_NET_ADMIN"; ALL sets *all. */
int husk_cap_parse(const char *s, int *cap, bool *all, struct husk_err *err);
/* Go's strconv.ParseBool, as docker's flags take them: 1 t T TRUE true True, 0 f F ... */
bool husk_bool_parse(const char *s, bool *out);
/* --ulimit TYPE=SOFT[:HARD], docker's names (nofile, nproc, core, ...), -1 for unlimited. */
int husk_ulimit_parse(const char *s, struct husk_ulimit *u, struct husk_err *err);
/* An integer (base 10) in min..max. */
int husk_int_parse(const char *s, int64_t min, int64_t max, int64_t *out, struct husk_err *err);

/* A docker --env-file/--label-file: KEY=VALUE lines taken as they are (no quotes removed),
 * leading blanks skipped, blank lines and lines starting with # ignored, a name with
 * whitespace refused. A bare KEY: lookup(KEY) gives KEY=value (when it returns NULL the line
 * is skipped), or with no lookup it stays "KEY" (a label with an empty value). The strings are
 * appended to *out (n_out of them), each malloc'ed. path is for messages. */
int husk_kv_file_parse(const char *text, size_t len, const char *path, const char *(*lookup)(const char *key),
		       char ***out, size_t *n_out, struct husk_err *err);

/* The checks docker makes of these values together, before anything is made: --memory at
 * least 6 MiB, --memory-swap only with --memory and not below it, --cpus from 0.01 to ncpus. */
int husk_run_flags_check(const struct husk_run_opts *o, long ncpus, struct husk_err *err);

/* The capabilities the container gets (bit N = capability N): docker's rules for defaults
 * (husk's default set), --cap-add, --cap-drop, ALL and --privileged; all is every capability
 * the kernel has. */
uint64_t husk_run_caps(const struct husk_run_opts *o, uint64_t defaults, uint64_t all);

/* Apply o's flags to spec (built from husk_spec_default by husk_run_config). */
int husk_run_flags_apply(const struct husk_run_opts *o, json_t *spec, struct husk_err *err);

#endif
