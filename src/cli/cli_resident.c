/* cli_resident.c: `jpki resident` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_resident(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'resident' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
