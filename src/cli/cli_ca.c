/* cli_ca.c: `jpki ca` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_ca(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'ca' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
