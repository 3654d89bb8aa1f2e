/*
 * card_client_suite.c: test helper.  Runs the card client suite
 * (tests/unit/card/client_suite.h) over PC/SC, against a card personalised
 * by card_personalise and attached to pcscd's vpcd reader.  Exit 0 when
 * every check passed.
 *
 *   card_client_suite --reader NAME --data DIR
 */
#include "../unit/card/client_suite.h"

int
main(int argc, char **argv)
{
	const char *reader = NULL, *data = NULL;
	uint8_t master[CARD_ISSUER_KEY_LEN];
	struct card_transport *t = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--reader") == 0)
			reader = argv[i + 1];
		else if (strcmp(argv[i], "--data") == 0)
			data = argv[i + 1];
	}
	if (reader == NULL || data == NULL) {
		fprintf(stderr, "usage: card_client_suite --reader NAME "
		    "--data DIR\n");
		return 2;
	}
	if (fixture_master(data, master) != 0 ||
	    card_transport_pcsc(reader, &t) != JPKI_OK) {
		fprintf(stderr, "card_client_suite: %s\n", jpki_errmsg());
		return 1;
	}
	client_suite(t, master);
	card_transport_free(&t);
	return test_summary();
}
