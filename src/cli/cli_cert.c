/* cli_cert.c: `jpki cert` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_cert(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'cert' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
