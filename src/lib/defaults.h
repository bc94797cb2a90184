/* The default container config: what `husk oci spec` writes and what `husk run` starts from. */
#ifndef HUSK_DEFAULTS_H
#define HUSK_DEFAULTS_H

#include <stdbool.h>
#include <jansson.h>

#define HUSK_OCI_VERSION "1.2.0"

/* docker's default capabilities, noNewPrivileges, the usual masked and read-only paths, every
 * namespace but user and time, and the default seccomp profile for those capabilities; rootless
 * adds a user namespace mapping the caller to root. */
json_t *husk_spec_default(bool rootless);

#endif
