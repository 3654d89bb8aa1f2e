/*
 * test_applet.c: the JPKI-AP and card-info AP at the APDU level: every
 * command and status word of docs/card.md and issue 3, sent as the bytes
 * OpenSC and the counter send.
 */
#include "test.h"
#include "card_fixture.h"

#include <openssl/rsa.h>
#include <openssl/sha.h>

static char dir_path[512], image[512];
static uint8_t master[CARD_ISSUER_KEY_LEN];
static uint8_t data[APDU_RESP_MAX];
static size_t data_len;

/* Send an APDU written as hex ("00 A4 04 0C ..."), return the SW; the data
 * part of the answer lands in data/data_len. */
static unsigned
tx_bytes(struct card *c, const uint8_t *cmd, size_t n)
{
	uint8_t resp[APDU_RESP_MAX];
	size_t rlen = 0;

	card_apdu(c, cmd, n, resp, &rlen);
	if (rlen < 2)
		return 0;
	data_len = rlen - 2;
	memcpy(data, resp, data_len);
	return (unsigned)(resp[rlen - 2] << 8 | resp[rlen - 1]);
}

static unsigned
tx(struct card *c, const char *hex)
{
	uint8_t cmd[APDU_MAX + 16];
	size_t n = 0;
	unsigned v;
	int used;

	while (n < sizeof(cmd) && sscanf(hex, " %2x%n", &v, &used) == 1) {
		cmd[n++] = (uint8_t)v;
		hex += used;
	}
	return tx_bytes(c, cmd, n);
}

/* Send header + data + optional Le. */
static unsigned
tx_data(struct card *c, const char *hdr, const void *p, size_t n, int le)
{
	uint8_t cmd[APDU_MAX + 1];
	unsigned v;
	size_t len = 0;
	int used;

	while (len < 4 && sscanf(hdr, " %2x%n", &v, &used) == 1) {
		cmd[len++] = (uint8_t)v;
		hdr += used;
	}
	cmd[len++] = (uint8_t)n;
	memcpy(cmd + len, p, n);
	len += n;
	if (le >= 0)
		cmd[len++] = (uint8_t)le;
	return tx_bytes(c, cmd, len);
}

#define SELECT_JPKI "00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"
#define SELECT_CARDINFO "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"

static struct card *
load(void)
{
	struct card *c = NULL;

	if (card_image_load(image, &c) != JPKI_OK)
		fprintf(stderr, "load: %s\n", jpki_errmsg());
	return c;
}

/* A fresh personalised card for each test that spends tries. */
static struct card *
fresh(void)
{
	unlink(image);
	if (fixture_card_image(dir_path, master, image) != 0)
		return NULL;
	return load();
}

static void
test_unknown_aids_answer_6a82_and_probes_6d00(struct card *c)
{
	/* The probes OpenSC's other drivers send before jpki's (trace). */
	CHECK_INT(tx(c, "00 A4 04 00 07 62 76 01 FF 00 00 00"), 0x6A82);
	CHECK_INT(tx(c, "00 A4 04 00 06 A0 00 00 00 01 01"), 0x6A82);
	CHECK_INT(tx(c, "00 A4 04 0C 0F D2 33 00 00 00 45 73 74 45 49 44 20 "
	    "76 33 35"), 0x6A82);
	CHECK_INT(tx(c, "00 A4 04 0C 07 A0 00 00 00 79 01 0F 00"), 0x6A82);
	/* The two other APs of the card (docs/card.md) are not emulated. */
	CHECK_INT(tx(c, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 01 00"),
	    0x6A82);
	CHECK_INT(tx(c, "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 01"),
	    0x6A82);
	CHECK_INT(tx(c, "00 CA DF 30 05"), 0x6D00);
	CHECK_INT(tx(c, "00 CB 3F FF 03 5C 01 7E 08"), 0x6D00);
	/* EFs are not found before an application is selected. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x6A82);
}

static void
test_select_and_read_certificates_like_opensc(struct card *c)
{
	size_t total;

	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(data_len, 0);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x9000);
	CHECK_INT(data_len, 4);
	CHECK(data[0] == 0x30 && data[1] == 0x82);
	total = 4 + ((size_t)data[2] << 8 | data[3]);
	CHECK_INT(tx(c, "00 B0 00 00 00"), 0x9000);
	CHECK_INT(data_len, 256);
	CHECK_INT(tx(c, "00 B0 01 00 00"), 0x9000);
	CHECK_INT(data_len, 256);
	/* The rest, then past the end. */
	CHECK_INT(tx(c, "00 B0 02 00 00"), 0x9000);
	CHECK_INT(data_len, total - 512 < 256 ? total - 512 : 256);
	{
		char cmd[32];

		snprintf(cmd, sizeof(cmd), "00 B0 %02X %02X 01",
		    (unsigned)(total >> 8), (unsigned)(total & 0xff));
		CHECK_INT(tx(c, cmd), 0x6B00);
	}
	CHECK_INT(tx(c, "00 B0 7F 00 01"), 0x6B00);
	/* Unknown EF in the AP. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 99"), 0x6A82);
	/* CA certificates are free. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0B"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 02"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x9000);
	/* Keys are never readable; PIN EFs neither. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 17"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x6981);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1B"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x6981);
}

static void
test_signing_cert_readable_only_after_signing_password(struct card *c)
{
	card_reset(c);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 01"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1B"), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_SIGN_PIN, 6, -1), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 01"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x9000);
	CHECK(data_len == 4 && data[0] == 0x30);
	/* Another application ends the security state. */
	CHECK_INT(tx(c, SELECT_CARDINFO), 0x9000);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 01"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x6982);
}

static void
test_token_info_and_status_ef(struct card *c)
{
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 06"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 00"), 0x9000);
	CHECK_INT(data_len, 160);
	CHECK(memcmp(data, "JPKIAPICCTOKEN2 ", 16) == 0);
	CHECK(memcmp(data + 80, card_serial_hex(c), 16) == 0);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 08"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 03"), 0x9000);
	CHECK(data_len == 3 && data[0] == 0x8F && data[1] == 0x8F &&
	    data[2] == 0x00);
}

static void
test_status_ef_of_blank_card_is_zero(void)
{
	char path[600];
	struct card *c = NULL;

	snprintf(path, sizeof(path), "%s/blank.img", dir_path);
	CHECK_INT(card_image_create(path, CARD_MYNUMBER, master, NULL),
	    JPKI_OK);
	CHECK_INT(card_image_load(path, &c), JPKI_OK);
	if (c == NULL)
		return;
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 08"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 03"), 0x9000);
	CHECK(data_len == 3 && data[0] == 0 && data[1] == 0);
	/* Certificate EFs exist but are empty. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 04"), 0x6B00);
	/* A PIN the counter never set is not usable. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x6984);
	CHECK_INT(tx_data(c, "00 20 00 80", "1234", 4, -1), 0x6984);
	card_free(&c);
}

static void
test_empty_verify_reports_tries_and_uses_none(struct card *c)
{
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	for (int i = 0; i < 5; i++)
		CHECK_INT(tx(c, "00 20 00 80"), 0x63C3);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1B"), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C5);
	/* 80|SFI names the PIN EF without selecting it. */
	CHECK_INT(tx(c, "00 20 00 98"), 0x63C3);
	CHECK_INT(tx(c, "00 20 00 9B"), 0x63C5);
	CHECK_INT(tx(c, "00 20 00 9F"), 0x6A88);
	/* P2 80 with no PIN EF selected. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x6986);
}

static void
test_third_wrong_auth_pin_locks(void)
{
	struct card *c = fresh();

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 80", "0000", 4, -1), 0x63C2);
	CHECK_INT(tx_data(c, "00 20 00 80", "0000", 4, -1), 0x63C1);
	CHECK_INT(tx_data(c, "00 20 00 80", "0000", 4, -1), 0x63C0);
	/* Blocked: even the right PIN is refused and spends nothing. */
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_AUTH_PIN, 4, -1), 0x6984);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C0);
	/* The signing password is a separate counter. */
	CHECK_INT(tx(c, "00 20 00 9B"), 0x63C5);
	card_free(&c);
	/* test_locked_pin_stays_locked_across_reload */
	c = load();
	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C0);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_AUTH_PIN, 4, -1), 0x6984);
	/* CHANGE REFERENCE DATA cannot sidestep the lock. */
	CHECK_INT(tx_data(c, "00 24 01 80", "4321", 4, -1), 0x6984);
	card_free(&c);
}

static void
test_fifth_wrong_signing_password_locks(void)
{
	struct card *c = fresh();
	static const unsigned want[] = {0x63C4, 0x63C3, 0x63C2, 0x63C1,
	    0x63C0, 0x6984};

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1B"), 0x9000);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(want); i++)
		CHECK_INT(tx_data(c, "00 20 00 80", "WRONG1", 6, -1), want[i]);
	card_free(&c);
	c = load();
	if (c == NULL)
		return;
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 20 00 9B"), 0x63C0);
	CHECK_INT(tx_data(c, "00 20 00 9B", FIXTURE_SIGN_PIN, 6, -1), 0x6984);
	card_free(&c);
}

static void
test_right_pin_restores_tries(struct card *c)
{
	card_reset(c);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 80", "9999", 4, -1), 0x63C2);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_AUTH_PIN, 4, -1), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C3);
	/* A PIN longer than any PIN: wrong length, no try. */
	CHECK_INT(tx_data(c, "00 20 00 80", "12345678901234567", 17, -1),
	    0x6700);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C3);
	CHECK_INT(tx_data(c, "00 20 01 80", "1234", 4, -1), 0x6A86);
}

static EVP_PKEY *
public_key_of_cert(struct card *c, const char *fid_select)
{
	uint8_t der[CARD_EF_MAX];
	size_t n = 0, total;
	const unsigned char *p = der;
	X509 *x;
	EVP_PKEY *k;

	tx(c, fid_select);
	if (tx(c, "00 B0 00 00 04") != 0x9000)
		return NULL;
	total = 4 + ((size_t)data[2] << 8 | data[3]);
	while (n < total) {
		char cmd[32];

		snprintf(cmd, sizeof(cmd), "00 B0 %02X %02X 00",
		    (unsigned)(n >> 8), (unsigned)(n & 0xff));
		if (tx(c, cmd) != 0x9000)
			return NULL;
		memcpy(der + n, data, data_len);
		n += data_len;
	}
	if ((x = d2i_X509(NULL, &p, (long)total)) == NULL)
		return NULL;
	k = X509_get_pubkey(x);
	X509_free(x);
	return k;
}

static int
verify_sig(EVP_PKEY *k, int pss, const uint8_t *in, size_t n)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
	int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0;

	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) >
		    0 && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0;
	else if (ok)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
	ok = ok && data_len == CARD_SIG_LEN &&
	    EVP_PKEY_verify(ctx, data, data_len, in, n) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
test_compute_digital_signature(struct card *c)
{
	static const uint8_t prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20};
	static const char msg[] = "a document to sign";
	uint8_t hash[32], di[51];
	EVP_PKEY *auth, *sign;

	card_reset(c);
	SHA256((const uint8_t *)msg, strlen(msg), hash);
	memcpy(di, prefix, 19);
	memcpy(di + 19, hash, 32);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	auth = public_key_of_cert(c, "00 A4 02 0C 02 00 0A");
	CHECK(auth != NULL);
	/* 6982 before the PIN, for either key. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 17"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1A"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x6982);
	/* INTERNAL AUTHENTICATE: refused by JPKI keys. */
	CHECK_INT(tx_data(c, "00 88 00 00", di, sizeof(di), 0), 0x6982);
	/* The trace's sequence: VERIFY, SELECT key, sign a DigestInfo. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_AUTH_PIN, 4, -1), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 17"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x9000);
	CHECK(auth && verify_sig(auth, 0, di, sizeof(di)));
	/* P1 02: the card adds the DigestInfo. */
	CHECK_INT(tx_data(c, "80 2A 02 80", hash, 32, 0), 0x9000);
	CHECK(auth && verify_sig(auth, 0, di, sizeof(di)));
	/* P1 03: the card hashes too. */
	CHECK_INT(tx_data(c, "80 2A 03 80", msg, strlen(msg), 0), 0x9000);
	CHECK(auth && verify_sig(auth, 0, di, sizeof(di)));
	/* P1 01: bare hash. */
	CHECK_INT(tx_data(c, "80 2A 01 80", msg, strlen(msg), 0), 0x9000);
	CHECK(auth && verify_sig(auth, 0, hash, 32));
	/* P1 04 / 05: PSS. */
	CHECK_INT(tx_data(c, "80 2A 04 80", hash, 32, 0), 0x9000);
	CHECK(auth && verify_sig(auth, 1, hash, 32));
	CHECK_INT(tx_data(c, "80 2A 05 80", msg, strlen(msg), 0), 0x9000);
	CHECK(auth && verify_sig(auth, 1, hash, 32));
	/* Bad P1, bad P2, bad lengths. */
	CHECK_INT(tx_data(c, "80 2A 06 80", hash, 32, 0), 0x6A86);
	CHECK_INT(tx_data(c, "80 2A 00 00", di, sizeof(di), 0), 0x6A86);
	CHECK_INT(tx_data(c, "80 2A 02 80", hash, 31, 0), 0x6700);
	{
		uint8_t big[250] = {0};

		CHECK_INT(tx_data(c, "80 2A 00 80", big, sizeof(big), 0),
		    0x6700);
	}
	/* The auth PIN does not open the signing key. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1A"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1B"), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_SIGN_PIN, 6, -1), 0x9000);
	sign = public_key_of_cert(c, "00 A4 02 0C 02 00 01");
	CHECK(sign != NULL);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1A"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x9000);
	CHECK(sign && verify_sig(sign, 0, di, sizeof(di)));
	/* Signing needs a key EF selected. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx_data(c, "80 2A 00 80", di, sizeof(di), 0), 0x6981);
	EVP_PKEY_free(auth);
	EVP_PKEY_free(sign);
}

static void
test_change_reference_data(void)
{
	struct card *c = fresh();

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 24 01 80", "4321", 4, -1), 0x6982);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_AUTH_PIN, 4, -1), 0x9000);
	CHECK_INT(tx_data(c, "00 24 01 80", "43A1", 4, -1), 0x6A80);
	CHECK_INT(tx_data(c, "00 24 01 80", "43210", 5, -1), 0x6A80);
	CHECK_INT(tx_data(c, "00 24 00 80", "4321", 4, -1), 0x6A86);
	CHECK_INT(tx_data(c, "00 24 01 80", "4321", 4, -1), 0x9000);
	card_free(&c);
	c = load();
	if (c == NULL)
		return;
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx_data(c, "00 20 00 98", FIXTURE_AUTH_PIN, 4, -1), 0x63C2);
	CHECK_INT(tx_data(c, "00 20 00 98", "4321", 4, -1), 0x9000);
	card_free(&c);
}

static void
test_cardinfo_ap_needs_its_pin(struct card *c)
{
	card_reset(c);
	CHECK_INT(tx(c, SELECT_CARDINFO), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 01"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 00"), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 11"), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C3);
	CHECK_INT(tx_data(c, "00 20 00 80", FIXTURE_INFO_PIN, 4, -1), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 01"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 00"), 0x9000);
	CHECK(data_len == CARD_INFO_NUMBER_EF_LEN && data[0] == 0xFF &&
	    data[1] == 0x10 && data[2] == 0x0C &&
	    memcmp(data + 3, "123456789018", 12) == 0);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 02"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 00"), 0x9000);
	CHECK(data_len > 20 && data[0] == 0xFF && data[1] == 0x20);
	/* JPKI-AP files are not in the card-info AP. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x6A82);
}

static void
issuer_prove(struct card *c)
{
	uint8_t key[32], mac[32], serial[CARD_SERIAL_LEN];
	const char *hex = card_serial_hex(c);

	for (int i = 0; i < CARD_SERIAL_LEN; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2X", &v);
		serial[i] = (uint8_t)v;
	}
	CHECK_INT(tx(c, "00 84 00 00 08"), 0x9000);
	CHECK_INT(data_len, 8);
	card_issuer_key_derive(master, serial, key);
	card_issuer_response(key, serial, data, mac);
	CHECK_INT(tx_data(c, "00 82 00 00", mac, 32, -1), 0x9000);
}

static void
test_issuer_commands_refused_without_external_authenticate(void)
{
	struct card *c = fresh();
	uint8_t junk[32] = {0};
	static const char *cmds[] = {
	    "00 47 00 00 02 00 17 00", "00 47 FF FF",
	    "00 D6 00 00 03 30 82 00", "00 D6 80 00",
	    "00 0E 00 00", "00 0E 12 34 01 00",
	    "00 2C 02 80 04 31 32 33 34", "00 2C 00 00",
	    "84 47 00 00", "00 D6 00 00 05 01", "80 0E", "00 2C 02 80 00 01 02",
	};

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++)
		CHECK_INT(tx(c, cmds[i]), 0x6982);
	/* EXTERNAL AUTHENTICATE needs a challenge, and the right MAC. */
	CHECK_INT(tx_data(c, "00 82 00 00", junk, 32, -1), 0x6985);
	CHECK_INT(tx(c, "00 84 00 00 08"), 0x9000);
	CHECK_INT(tx_data(c, "00 82 00 00", junk, 32, -1), 0x6300);
	/* The challenge was used up by the wrong answer. */
	CHECK_INT(tx_data(c, "00 82 00 00", junk, 32, -1), 0x6985);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++)
		CHECK_INT(tx(c, cmds[i]), 0x6982);
	CHECK_INT(tx(c, "00 84 00 00 10"), 0x6700);
	CHECK_INT(tx(c, "00 84 01 00 08"), 0x6A86);
	/* With the proof, a blocked PIN is reset. */
	for (int i = 0; i < 3; i++)
		tx_data(c, "00 20 00 80", "0000", 4, -1);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C0);
	issuer_prove(c);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 2C 02 80", "12X4", 4, -1), 0x6A80);
	CHECK_INT(tx_data(c, "00 2C 02 80", "2468", 4, -1), 0x9000);
	CHECK_INT(tx(c, "00 20 00 80"), 0x63C3);
	CHECK_INT(tx_data(c, "00 20 00 80", "2468", 4, -1), 0x9000);
	/* The proof ends with the session. */
	card_reset(c);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 18"), 0x9000);
	CHECK_INT(tx_data(c, "00 2C 02 80", "1357", 4, -1), 0x6982);
	card_free(&c);
}

static void
test_generate_key_chains_and_empties_certificate(void)
{
	struct card *c = fresh();
	uint8_t spki[600];
	size_t n;
	const unsigned char *p = spki;
	EVP_PKEY *k;

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	issuer_prove(c);
	CHECK_INT(tx(c, "00 47 00 00 02 00 18 00"), 0x6A82);
	CHECK_INT(tx(c, "00 47 00 00 02 00 17"), 0x6700);
	CHECK_INT(tx(c, "00 47 00 00 02 00 17 00"), 0x6126);
	CHECK_INT(data_len, 256);
	memcpy(spki, data, 256);
	n = 256;
	CHECK_INT(tx(c, "00 C0 00 00 26"), 0x9000);
	memcpy(spki + n, data, data_len);
	n += data_len;
	CHECK_INT(n, 294);
	k = d2i_PUBKEY(NULL, &p, (long)n);
	CHECK(k != NULL && EVP_PKEY_get_bits(k) == 2048);
	EVP_PKEY_free(k);
	CHECK_INT(tx(c, "00 C0 00 00 10"), 0x6985);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 08"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 03"), 0x9000);
	CHECK(data[0] == 0x8F && data[1] == 0x00);
	/* UPDATE BINARY writes front to back, within the EF limit. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 D6 00 05 01 00"), 0x6B00);
	CHECK_INT(tx(c, "00 D6 00 00 02 30 82"), 0x9000);
	CHECK_INT(tx(c, "00 D6 7F FF 01 00"), 0x6B00);
	CHECK_INT(tx(c, "00 B0 00 00 10"), 0x9000);
	CHECK_INT(data_len, 2);
	CHECK_INT(tx(c, "00 0E 00 00"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 01"), 0x6B00);
	/* Token info is computed: not writable. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 06"), 0x9000);
	CHECK_INT(tx(c, "00 D6 00 00 01 00"), 0x6981);
	card_free(&c);
}

/* ERASE BINARY on a key EF erases the key pair and empties the
 * certificate EF that named it; the other key is left alone. */
static void
test_erase_key(void)
{
	struct card *c = fresh();

	if (c == NULL) {
		CHECK(0);
		return;
	}
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	issuer_prove(c);
	CHECK_INT(tx(c, "00 47 00 00 02 00 17 00"), 0x6126);
	CHECK_INT(tx(c, "00 47 00 00 02 00 1A 00"), 0x6126);
	/* COMPUTE DIGITAL SIGNATURE looks for the key before the PIN:
	 * 6982 a key there (no PIN given), 6A88 none. */
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 17"), 0x9000);
	CHECK_INT(tx(c, "80 2A 00 80 01 00"), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 D6 00 00 02 30 82"), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 17"), 0x9000);
	CHECK_INT(tx(c, "00 0E 00 01"), 0x6A86);
	CHECK_INT(tx(c, "00 0E 00 00"), 0x9000);
	CHECK_INT(tx(c, "80 2A 00 80 01 00"), 0x6A88);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1A"), 0x9000);
	CHECK_INT(tx(c, "80 2A 00 80 01 00"), 0x6982);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00 01"), 0x6B00);
	/* Without the issuer's proof: refused, the key kept. */
	card_reset(c);
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 1A"), 0x9000);
	CHECK_INT(tx(c, "00 0E 00 00"), 0x6982);
	CHECK_INT(tx(c, "80 2A 00 80 01 00"), 0x6982);
	card_free(&c);
}

static void
test_lengths_instructions_and_classes(struct card *c)
{
	card_reset(c);
	CHECK_INT(tx(c, "00 A4 04"), 0x6700);
	CHECK_INT(tx(c, "00 A4 04 0C 0A D3 92"), 0x6700);
	CHECK_INT(tx(c, "00 A4 04 0C 00 01 02 03"), 0x6700); /* extended */
	CHECK_INT(tx(c, SELECT_JPKI), 0x9000);
	CHECK_INT(tx(c, "00 A4 02 0C 03 00 0A 00"), 0x6700);
	CHECK_INT(tx(c, "00 A4 02 0C 02 00 0A"), 0x9000);
	CHECK_INT(tx(c, "00 B0 00 00"), 0x6700);
	CHECK_INT(tx(c, "00 B0 80 00 04"), 0x6A86);
	CHECK_INT(tx(c, "00 A4 08 0C 02 00 0A"), 0x6A86);
	CHECK_INT(tx(c, "00 A4 02 04 02 00 0A"), 0x6A86);
	CHECK_INT(tx(c, "00 FF 00 00"), 0x6D00);
	CHECK_INT(tx(c, "80 B0 00 00 04"), 0x6D00);
	CHECK_INT(tx(c, "A0 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01"),
	    0x6E00);
	CHECK_INT(tx(c, "00 C0 00 00 10"), 0x6985);
	{
		uint8_t big[APDU_MAX + 1] = {0};

		CHECK_INT(tx_bytes(c, big, sizeof(big)), 0x6700);
	}
}

int
main(void)
{
	struct card *c;
	char *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0) {
		fprintf(stderr, "no scratch directory\n");
		return 1;
	}
	snprintf(dir_path, sizeof(dir_path), "%s", d);
	c = fresh();
	CHECK(c != NULL);
	if (c != NULL) {
		test_unknown_aids_answer_6a82_and_probes_6d00(c);
		test_select_and_read_certificates_like_opensc(c);
		test_signing_cert_readable_only_after_signing_password(c);
		test_token_info_and_status_ef(c);
		test_empty_verify_reports_tries_and_uses_none(c);
		test_right_pin_restores_tries(c);
		test_compute_digital_signature(c);
		test_cardinfo_ap_needs_its_pin(c);
		test_lengths_instructions_and_classes(c);
		card_free(&c);
	}
	test_status_ef_of_blank_card_is_zero();
	test_third_wrong_auth_pin_locks();
	test_fifth_wrong_signing_password_locks();
	test_change_reference_data();
	test_issuer_commands_refused_without_external_authenticate();
	test_generate_key_chains_and_empties_certificate();
	test_erase_key();
	fixture_rmdir(dir_path);
	return test_summary();
}
