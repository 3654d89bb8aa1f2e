/* cli_audit.c: `jpki audit` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'audit' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
