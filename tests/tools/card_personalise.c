/*
 * card_personalise.c: test helper.  Turns a card image into a card as the
 * counter would deliver it, through the card client's issuer operations:
 * PINs (auth 1234, signing ABC123, card-info 5678), both key pairs born in
 * the card, certificates from a throwaway test CA (not the project's CA
 * module), the card-info AP.  Writes the two CA certificates as PEM so
 * openssl can verify what the card signs.
 *
 *   card_personalise --card FILE --data DIR [--ca-out DIR]
 *
 * Creates the image if it does not exist; DIR holds issuer-master.key
 * (created if missing).
 */
#include "../unit/card/card_fixture.h"

#include <openssl/pem.h>

static int
write_pem(const char *dir, const char *name, X509 *x)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = PEM_write_X509(f, x);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const char *card = NULL, *data = NULL, *ca_out = NULL;
	uint8_t master[CARD_ISSUER_KEY_LEN];
	struct card_transport *t = NULL;
	struct test_ca sign_ca = {NULL, NULL}, auth_ca = {NULL, NULL};
	int rc = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--card") == 0)
			card = argv[i + 1];
		else if (strcmp(argv[i], "--data") == 0)
			data = argv[i + 1];
		else if (strcmp(argv[i], "--ca-out") == 0)
			ca_out = argv[i + 1];
	}
	if (card == NULL || data == NULL) {
		fprintf(stderr, "usage: card_personalise --card FILE --data DIR "
		    "[--ca-out DIR]\n");
		return 2;
	}
	if (fixture_master(data, master) != 0 ||
	    fixture_ca(&sign_ca, "Test signing CA") != 0 ||
	    fixture_ca(&auth_ca, "Test authentication CA") != 0)
		goto fail;
	if (access(card, F_OK) != 0 &&
	    card_image_create(card, CARD_MYNUMBER, master, NULL) != 0)
		goto fail;
	if (card_transport_image(card, &t) != 0 ||
	    fixture_personalise(t, master, &sign_ca, &auth_ca) != 0)
		goto fail;
	if (ca_out != NULL && (write_pem(ca_out, "sign-ca.pem",
	    sign_ca.cert) != 0 || write_pem(ca_out, "auth-ca.pem",
	    auth_ca.cert) != 0))
		goto fail;
	rc = 0;
fail:
	if (rc != 0)
		fprintf(stderr, "card_personalise: %s\n", jpki_errmsg());
	card_transport_free(&t);
	fixture_ca_free(&sign_ca);
	fixture_ca_free(&auth_ca);
	jpki_wipe(master, sizeof(master));
	return rc;
}
