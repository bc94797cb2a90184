/* husk: one binary, two faces. `husk oci VERB` (or the binary called as husk-oci) is the
 * runc-compatible runtime; plain `husk VERB` is kept for the docker-like front end. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static int usage(FILE *out)
{
	fprintf(out,
		"usage: husk [--version] COMMAND [ARGS...]\n"
		"\n"
		"commands:\n"
		"  oci VERB ...   the OCI runtime, with runc's command line (husk oci --help)\n"
		"  version        print the version\n"
		"\n"
		"husk-oci (a link to this binary) is the same as `husk oci`.\n");
	return out == stderr ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');

	self = self ? self + 1 : argv[0];
	if (strcmp(self, "husk-oci") == 0)
		return husk_oci_main(argc, argv);
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "oci") == 0)
		return husk_oci_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0) {
		printf("husk version %s\nspec: %s\n", HUSK_VERSION, HUSK_OCI_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout);
	fprintf(stderr, "husk: unknown command \"%s\"\n", argv[1]);
	return usage(stderr);
}
