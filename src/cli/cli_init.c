/* cli_init.c: `jpki init` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'init' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
