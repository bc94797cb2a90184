/* husk's default seccomp profile, as the runtime-spec JSON object linux.seccomp. */
#ifndef HUSK_PROFILE_H
#define HUSK_PROFILE_H

#include <stdint.h>
#include <jansson.h>

/* The profile for a process whose bounding set is caps (bit N = capability N): default EPERM,
 * an allowlist, and the syscalls a capability stands for allowed only with that capability. */
json_t *husk_default_seccomp(uint64_t caps);

#endif
