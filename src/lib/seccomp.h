/* seccomp: the config's filter compiled by libseccomp, cached as BPF, loaded before exec. */
#ifndef HUSK_SECCOMP_H
#define HUSK_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#include "error.h"

struct husk_spec;

/* Lookups for the parser: -1 / false when the name is unknown. */
int64_t husk_seccomp_action_from_name(const char *name);   /* SCMP_ACT_* without an errno */
int husk_seccomp_op_from_name(const char *name);           /* SCMP_CMP_* */
int64_t husk_seccomp_flag_from_name(const char *name);     /* SECCOMP_FILTER_FLAG_* */
int64_t husk_seccomp_arch_from_name(const char *name);     /* SCMP_ARCH_* token */

/* A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
struct husk_bpf {
	struct sock_filter *insns;
	size_t len;
	unsigned flags;       /* SECCOMP_FILTER_FLAG_* to load with */
	bool notify;          /* a rule says SCMP_ACT_NOTIFY: load with NEW_LISTENER */
};

/* Compile spec->seccomp, or take it from the cache in cache_dir (NULL: no cache) where a
 * previous start left it: the key is a sha256 of the filter as JSON, libseccomp's version and
 * the kernel API level, so a change to any of them compiles afresh. */
int husk_seccomp_prepare(const struct husk_spec *spec, const char *cache_dir, struct husk_bpf *bpf,
			 struct husk_err *err);
void husk_bpf_free(struct husk_bpf *bpf);

/* Load the filter into the calling thread; returns the notify listener fd (or 0). */
int husk_seccomp_load(const struct husk_bpf *bpf, struct husk_err *err);

#endif
