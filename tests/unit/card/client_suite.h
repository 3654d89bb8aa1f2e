/*
 * client_suite.h: one body of card client tests, run unchanged over every
 * transport: in-process and vpcd (test_client.c), PC/SC through pcscd's
 * vpcd reader (tests/tools/card_client_suite.c, from the interop test).
 * It expects a card personalised by card_fixture.h with all tries left,
 * and leaves it that way.
 */
#ifndef JPKI_CLIENT_SUITE_H
#define JPKI_CLIENT_SUITE_H

#include "../test.h"
#include "card_fixture.h"
#include "cardinfo_der.h"

#include <openssl/rsa.h>
#include <openssl/sha.h>

static EVP_PKEY *
suite_cert_key(struct card_transport *t, enum card_cert which)
{
	struct jbuf der;
	const unsigned char *p;
	X509 *x;
	EVP_PKEY *k = NULL;

	if (card_client_read_cert(t, which, &der) != JPKI_OK)
		return NULL;
	p = der.data;
	if ((x = d2i_X509(NULL, &p, (long)der.len)) != NULL &&
	    p == der.data + der.len)
		k = X509_get_pubkey(x);
	X509_free(x);
	jbuf_free(&der);
	return k;
}

static int
suite_verifies(EVP_PKEY *k, const uint8_t hash[32], const uint8_t *sig)
{
	static const uint8_t prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20};
	uint8_t di[51];
	EVP_PKEY_CTX *ctx;
	int ok;

	if (k == NULL)
		return 0;
	memcpy(di, prefix, 19);
	memcpy(di + 19, hash, 32);
	ctx = EVP_PKEY_CTX_new(k, NULL);
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_verify(ctx, sig, CARD_SIG_LEN, di, sizeof(di)) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
suite_status_of_delivered_card(struct card_transport *t)
{
	struct card_status st;

	CHECK_INT(card_client_status(t, &st), JPKI_OK);
	CHECK_INT(strlen(st.serial), 16);
	CHECK_INT(st.pin[PIN_AUTH].tries_left, 3);
	CHECK_INT(st.pin[PIN_SIGN].tries_left, 5);
	CHECK_INT(st.pin[PIN_CARDINFO].tries_left, 3);
	CHECK(st.pin[PIN_AUTH].initialised && !st.pin[PIN_AUTH].locked);
	CHECK(st.sign_cert && st.auth_cert && st.sign_ca && st.auth_ca);
}

static void
suite_wrong_pin_says_tries_left(struct card_transport *t)
{
	struct card_status st;
	int left = -1;

	CHECK_INT(card_client_verify(t, PIN_AUTH, "0000", &left),
	    JPKI_ERR_PIN);
	CHECK_INT(left, 2);
	CHECK(strstr(jpki_errmsg(), "2 tries left") != NULL);
	/* A malformed PIN is refused before the card sees it. */
	CHECK_INT(card_client_verify(t, PIN_AUTH, "12a4", &left),
	    JPKI_ERR_INPUT);
	CHECK_INT(card_client_verify(t, PIN_SIGN, "abc", &left),
	    JPKI_ERR_INPUT);
	CHECK_INT(card_client_status(t, &st), JPKI_OK);
	CHECK_INT(st.pin[PIN_AUTH].tries_left, 2);
	CHECK_INT(st.pin[PIN_SIGN].tries_left, 5);
	CHECK_INT(card_client_verify(t, PIN_AUTH, FIXTURE_AUTH_PIN, &left),
	    JPKI_OK);
	CHECK_INT(left, 3);
}

/* Any DigestInfo goes through P1 00: here SHA-384's. */
static void
suite_sign_sha384_digestinfo(struct card_transport *t, EVP_PKEY *k)
{
	static const uint8_t prefix[19] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	    0x04, 0x30};
	uint8_t di[19 + 48], sig[CARD_SIG_LEN], big[246] = {0};
	EVP_PKEY_CTX *ctx;
	int ok;

	memcpy(di, prefix, 19);
	SHA384((const uint8_t *)"suite", 5, di + 19);
	CHECK_INT(card_client_sign_digestinfo(t, CERT_AUTH, di, sizeof(di),
	    sig), JPKI_OK);
	CHECK_INT(card_client_sign_digestinfo(t, CERT_AUTH, big, sizeof(big),
	    sig), JPKI_ERR_INPUT);
	ctx = k ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	ok = ctx != NULL && EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_verify(ctx, sig, CARD_SIG_LEN, di, sizeof(di)) == 1;
	CHECK(ok);
	EVP_PKEY_CTX_free(ctx);
}

static void
suite_sign_with_both_keys(struct card_transport *t)
{
	uint8_t hash[32], sig[CARD_SIG_LEN];
	struct jbuf der;
	EVP_PKEY *auth, *sign;

	SHA256((const uint8_t *)"suite", 5, hash);
	auth = suite_cert_key(t, CARD_CERT_AUTH);
	CHECK(auth != NULL);
	CHECK_INT(card_client_read_cert(t, CARD_CERT_SIGN, &der),
	    JPKI_ERR_REFUSED);
	/* A fresh session: nothing verified. */
	CHECK_INT(card_client_verify(t, PIN_AUTH, FIXTURE_AUTH_PIN, NULL),
	    JPKI_OK);
	CHECK_INT(card_client_sign_sha256(t, CERT_AUTH, hash, sig), JPKI_OK);
	CHECK(suite_verifies(auth, hash, sig));
	CHECK_INT(card_client_sign_sha256(t, CERT_SIGN, hash, sig),
	    JPKI_ERR_REFUSED);
	suite_sign_sha384_digestinfo(t, auth);
	/* The client upper-cases the signing password. */
	CHECK_INT(card_client_verify(t, PIN_SIGN, "abc123", NULL), JPKI_OK);
	sign = suite_cert_key(t, CARD_CERT_SIGN);
	CHECK(sign != NULL);
	CHECK_INT(card_client_sign_sha256(t, CERT_SIGN, hash, sig), JPKI_OK);
	CHECK(suite_verifies(sign, hash, sig));
	CHECK(!suite_verifies(auth, hash, sig));
	EVP_PKEY_free(auth);
	EVP_PKEY_free(sign);
}

static void
suite_card_info(struct card_transport *t)
{
	static struct card_info info;

	CHECK_INT(card_client_read_info(t, &info), JPKI_ERR_REFUSED);
	CHECK_INT(card_client_verify(t, PIN_CARDINFO, FIXTURE_INFO_PIN, NULL),
	    JPKI_OK);
	CHECK_INT(card_client_read_info(t, &info), JPKI_OK);
	CHECK_STR(info.number, fixture_info.number);
	CHECK_STR(info.name, fixture_info.name);
	CHECK_STR(info.address, fixture_info.address);
	CHECK_STR(info.birth, fixture_info.birth);
	CHECK_STR(info.sex, fixture_info.sex);
}

/* The APDU sequences the Go myna tool sends for `pin status` (the
 * card-info AP's part), `text mynumber`, `text attr`, `text signature`,
 * `text cert` and `text info` (libmyna/text_ap.go, reader.go), each
 * answer parsed with the structures myna declares. */
static void
suite_myna_replay(struct card_transport *t)
{
	uint8_t atr[CARD_ATR_MAX], buf[1024];
	struct cursor c, outer, v, w;
	struct card_info_files f;
	size_t n, total = 0;
	char number[CARD_NUMBER_LEN + 1];

	CHECK_INT(t->reset(t, atr, &n), JPKI_OK);
	t->client_app = 0;
	/* pin status: empty VERIFY of 0011, 0014, 0015 */
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, NULL), SW_TRIES(3));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_B, NULL), SW_TRIES(10));
	/* text mynumber: VERIFY 0011, SELECT 0001, READ 17,
	 * private,tag:16 */
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read_like_myna(t, 17, buf, &n), 0);
	cursor_init(&c, buf, n);
	CHECK_INT(der_take_str(&c, 0xFF10, number, sizeof(number)), 0);
	CHECK_STR(number, fixture_info.number);
	/* text attr: READ 7, the length, READ all from 0 */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_FACTS), SW_OK);
	CHECK_INT(der_read_like_myna(t, 7, buf, &n), 0);
	CHECK_INT(der_total_len(buf, n, &total), 0);
	CHECK(total <= sizeof(buf) &&
	    der_read_like_myna(t, total, buf, &n) == 0);
	cursor_init(&c, buf, n);
	CHECK(der_take(&c, 0xFF20, &outer) == 0 &&
	    der_take(&outer, 0xDF21, &v) == 0 &&
	    der_take(&outer, 0xDF22, &v) == 0 &&
	    cursor_left(&v) == strlen(fixture_info.name) &&
	    memcmp(v.p, fixture_info.name, cursor_left(&v)) == 0);
	/* text signature: READ 336, private,tag:48 { 49, 50, 51 } */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_SIGNATURE), SW_OK);
	CHECK_INT(der_read_like_myna(t, 336, buf, &n), 0);
	cursor_init(&c, buf, n);
	CHECK(der_take(&c, 0xFF30, &outer) == 0 && cursor_left(&c) == 0 &&
	    der_take(&outer, 0xDF31, &v) == 0 && cursor_left(&v) == 32 &&
	    der_take(&outer, 0xDF32, &v) == 0 && cursor_left(&v) == 32 &&
	    der_take(&outer, 0xDF33, &v) == 0 && cursor_left(&v) == 256);
	/* text cert: READ 568, application 33 { 78 body, 55 signature } */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_CERT), SW_OK);
	CHECK_INT(der_read_like_myna(t, 568, buf, &n), 0);
	cursor_init(&c, buf, n);
	CHECK(der_take(&c, 0x7F21, &outer) == 0 && cursor_left(&c) == 0 &&
	    der_take(&outer, 0x5F4E, &v) == 0 &&
	    der_take(&outer, 0x5F37, &w) == 0 && cursor_left(&w) == 256);
	/* text info: READ 256, private,tag:64 { 65 AP info, 66 key id } */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_APINFO), SW_OK);
	CHECK_INT(der_read_like_myna(t, 256, buf, &n), 0);
	cursor_init(&c, buf, n);
	CHECK(der_take(&c, 0xFF40, &outer) == 0 &&
	    der_take(&outer, 0xDF41, &v) == 0 && cursor_left(&v) == 4 &&
	    der_take(&outer, 0xDF42, &w) == 0 && cursor_left(&w) == 16);
	/* and what was read verifies under the card's issuer key */
	card_info_files_init(&f);
	CHECK_INT(card_client_read_info_files(t, &f), JPKI_OK);
	CHECK_INT(card_info_verify(&f, NULL, NULL), JPKI_OK);
	card_info_files_free(&f);
}

static void
suite_change_pin_and_back(struct card_transport *t)
{
	CHECK_INT(card_client_change_pin(t, PIN_AUTH, FIXTURE_AUTH_PIN,
	    "12345", NULL), JPKI_ERR_INPUT);
	CHECK_INT(card_client_change_pin(t, PIN_AUTH, FIXTURE_AUTH_PIN, "4321",
	    NULL), JPKI_OK);
	CHECK_INT(card_client_verify(t, PIN_AUTH, FIXTURE_AUTH_PIN, NULL),
	    JPKI_ERR_PIN);
	CHECK_INT(card_client_change_pin(t, PIN_AUTH, "4321", FIXTURE_AUTH_PIN,
	    NULL), JPKI_OK);
	CHECK_INT(card_client_verify(t, PIN_AUTH, FIXTURE_AUTH_PIN, NULL),
	    JPKI_OK);
}

static void
suite_lock_and_counter_reset(struct card_transport *t,
    const uint8_t master[CARD_ISSUER_KEY_LEN])
{
	struct card_status st;
	int left = -1;

	for (int i = 0; i < 4; i++)
		CHECK_INT(card_client_verify(t, PIN_SIGN, "WRONG9", &left),
		    JPKI_ERR_PIN);
	CHECK_INT(card_client_verify(t, PIN_SIGN, "WRONG9", &left),
	    JPKI_ERR_LOCKED);
	CHECK_INT(left, 0);
	CHECK_INT(card_client_verify(t, PIN_SIGN, FIXTURE_SIGN_PIN, &left),
	    JPKI_ERR_LOCKED);
	CHECK_INT(card_client_status(t, &st), JPKI_OK);
	CHECK(st.pin[PIN_SIGN].locked && st.pin[PIN_SIGN].tries_left == 0);
	/* Only the issuer resets it (R2). */
	CHECK_INT(card_client_set_pin(t, PIN_SIGN, FIXTURE_SIGN_PIN),
	    JPKI_ERR_REFUSED);
	CHECK_INT(card_client_issuer_auth(t, master), JPKI_OK);
	CHECK_INT(card_client_set_pin(t, PIN_SIGN, FIXTURE_SIGN_PIN), JPKI_OK);
	CHECK_INT(card_client_status(t, &st), JPKI_OK);
	CHECK(!st.pin[PIN_SIGN].locked && st.pin[PIN_SIGN].tries_left == 5);
}

static void
suite_reset_ends_the_session(struct card_transport *t)
{
	uint8_t atr[CARD_ATR_MAX], hash[32] = {0}, sig[CARD_SIG_LEN];
	size_t n = 0;

	CHECK_INT(card_client_verify(t, PIN_AUTH, FIXTURE_AUTH_PIN, NULL),
	    JPKI_OK);
	CHECK_INT(t->reset(t, atr, &n), JPKI_OK);
	CHECK(n == card_atr_len && memcmp(atr, card_atr, n) == 0);
	CHECK_INT(card_client_sign_sha256(t, CERT_AUTH, hash, sig),
	    JPKI_ERR_REFUSED);
}

static void
client_suite(struct card_transport *t,
    const uint8_t master[CARD_ISSUER_KEY_LEN])
{
	fprintf(stderr, "client suite over %s\n", t->name);
	suite_status_of_delivered_card(t);
	suite_wrong_pin_says_tries_left(t);
	suite_sign_with_both_keys(t);
	suite_card_info(t);
	suite_myna_replay(t);
	suite_change_pin_and_back(t);
	suite_lock_and_counter_reset(t, master);
	suite_reset_ends_the_session(t);
	suite_status_of_delivered_card(t);
}

#endif
