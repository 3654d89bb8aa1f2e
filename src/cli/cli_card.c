/* cli_card.c: `jpki card` (being written). */
#include "cli/cli.h"
#include "base/base.h"

int
cli_card(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	jpki_fail(JPKI_ERR_USAGE, "'card' is not available in this build yet");
	return cli_report(JPKI_ERR_USAGE);
}
