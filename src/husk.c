/* husk: one binary, two faces. `husk oci VERB` (or the binary called as husk-oci) is the
 * runc-compatible runtime; plain `husk COMMAND` is the docker-like front end (src/cmd/engine.c). */
#define _GNU_SOURCE
#include <string.h>

#include "cmd/cmd.h"

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');

	self = self ? self + 1 : argv[0];
	if (strcmp(self, "husk-oci") == 0)
		return husk_oci_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "oci") == 0)
		return husk_oci_main(argc - 1, argv + 1);
	return husk_engine_main(argc, argv);
}
