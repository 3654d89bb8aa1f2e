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

#include <cairo.h>

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
 * card-info AP's part; the whole of it is suite_myna_pin_status),
 * `text mynumber`, `text attr`, `text signature`,
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

/* ---- myna's other commands, as it sends them --------------------------- */

static uint16_t
suite_select_aid(struct card_transport *t, const uint8_t aid[10])
{
	uint8_t cmd[15] = {0x00, 0xA4, 0x04, 0x0C, 0x0A};

	memcpy(cmd + 5, aid, 10);
	return der_apdu(t, cmd, sizeof(cmd), NULL, NULL);
}

/* A fresh connection, as each of myna's commands opens one. */
static void
suite_new_session(struct card_transport *t)
{
	uint8_t atr[CARD_ATR_MAX];
	size_t n;

	CHECK_INT(t->reset(t, atr, &n), JPKI_OK);
	t->client_app = 0;
}

/* READ BINARY of an EF the way myna's ReadCertificate / GetVisualInfo do:
 * 7 bytes, the TLV's length from them (ASN1PartialParser), then the whole
 * TLV from offset 0 in Le 00 chunks.  buf holds cap bytes. */
static int
suite_read_tlv_like_myna(struct card_transport *t, uint8_t *buf, size_t cap,
    size_t *n)
{
	size_t total = 0;

	if (der_read_like_myna(t, 7, buf, n) != 0 ||
	    der_total_len(buf, *n, &total) != 0 || total > cap)
		return -1;
	return der_read_like_myna(t, total, buf, n);
}

/* `myna pin status` (GetPinStatus): the card-face AP's PIN A (EF 0013)
 * and B (EF 0012), the card-info AP's PIN, A and B, the JPKI-AP's two,
 * each by an empty VERIFY after SELECT EF, every answer 63Cx. */
static void
suite_myna_pin_status(struct card_transport *t)
{
	suite_new_session(t);
	CHECK_INT(suite_select_aid(t, card_aid_cardface), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_FACE_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_FACE_MATCH_B, NULL), SW_TRIES(10));
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, NULL), SW_TRIES(3));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_B, NULL), SW_TRIES(10));
	CHECK_INT(suite_select_aid(t, card_aid_jpki), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_AUTH_PIN, NULL), SW_TRIES(3));
	CHECK_INT(der_verify(t, CARD_EF_SIGN_PIN, NULL), SW_TRIES(5));
}

static cairo_status_t
suite_png_read(void *closure, unsigned char *data, unsigned int n)
{
	return cursor_get_bytes(closure, data, n) == JPKI_OK ?
	    CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR;
}

/* A PNG that decodes whole (cairo's reader), w x h. */
static int
suite_png_decodes(const struct cursor *v, int *w, int *h)
{
	struct cursor c = *v;
	cairo_surface_t *s;
	int ok;

	s = cairo_image_surface_create_from_png_stream(suite_png_read, &c);
	ok = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS;
	if (ok) {
		*w = cairo_image_surface_get_width(s);
		*h = cairo_image_surface_get_height(s);
	}
	cairo_surface_destroy(s);
	return ok;
}

/* `myna visual` (GetMyNumber, then GetVisualInfo): the number with the
 * card-info PIN; in a new connection the card-face AP, VERIFY PIN A (EF
 * 0013) with it, EF 0002 read as 7 bytes and the TLV, unmarshalled with
 * VisualInfo (private 32 { 33 header, 34 birth, 35 sex, 36 key, 37 name,
 * 38 address, 39 photo, 40 signature, 41 expiry, 42 code }); every image
 * decodes. */
static void
suite_myna_visual(struct card_transport *t)
{
	uint8_t *buf = malloc(CARD_FACE_EF_MAX);
	char number[CARD_NUMBER_LEN + 1] = "", birth[9], sex[2], expiry[9];
	struct cursor c, outer, v, key, name, addr, photo, sig, code;
	struct card_pixels px = {0, 0, NULL};
	struct card_face face;
	size_t n;
	int w = 0, h = 0;

	if (buf == NULL)
		return;
	card_face_init(&face);
	suite_new_session(t);
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read_like_myna(t, 17, buf, &n), 0);
	cursor_init(&c, buf, n);
	CHECK_INT(der_take_str(&c, 0xFF10, number, sizeof(number)), 0);

	suite_new_session(t);
	CHECK_INT(suite_select_aid(t, card_aid_cardface), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_FACE_MATCH_A, number), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_FACE_ENTRIES), SW_OK);
	CHECK_INT(suite_read_tlv_like_myna(t, buf, CARD_FACE_EF_MAX, &n), 0);
	cursor_init(&c, buf, n);
	CHECK(der_take(&c, 0xFF20, &outer) == 0 && cursor_left(&c) == 0 &&
	    der_take(&outer, 0xDF21, &v) == 0 &&
	    der_take_str(&outer, 0xDF22, birth, sizeof(birth)) == 0 &&
	    der_take_str(&outer, 0xDF23, sex, sizeof(sex)) == 0 &&
	    der_take(&outer, 0xDF24, &key) == 0 &&
	    der_take(&outer, 0xDF25, &name) == 0 &&
	    der_take(&outer, 0xDF26, &addr) == 0 &&
	    der_take(&outer, 0xDF27, &photo) == 0 &&
	    der_take(&outer, 0xDF28, &sig) == 0 &&
	    der_take_str(&outer, 0xDF29, expiry, sizeof(expiry)) == 0 &&
	    der_take(&outer, 0xDF2A, &code) == 0 && cursor_left(&outer) == 0);
	CHECK_STR(birth, fixture_info.birth);
	CHECK_STR(sex, fixture_info.sex);
	CHECK_INT(strlen(expiry), 8);
	CHECK_INT(cursor_left(&sig), 256);
	/* the issuer key as AokiApp's decodePublicKey reads it: e, then n */
	CHECK(der_take(&key, 0x82, &v) == 0 && der_take(&key, 0x81, &v) == 0 &&
	    cursor_left(&v) == 256);
	/* every image decodes */
	CHECK(suite_png_decodes(&name, &w, &h) && w > 0 && h > 0);
	CHECK(suite_png_decodes(&addr, &w, &h) && w > 0 && h > 0);
	CHECK(suite_png_decodes(&code, &w, &h) && w > 0 && h > 0);
	CHECK_INT(card_jp2_decode(photo.p, cursor_left(&photo), &px), JPKI_OK);
	CHECK(px.width > 0 && px.height > 0);
	card_pixels_free(&px);
	/* and what was read verifies under the card issuer's key */
	CHECK_INT(card_face_parse(buf, n, &face), JPKI_OK);
	CHECK_INT(card_face_verify(&face, NULL, NULL), JPKI_OK);
	card_face_free(&face);
	free(buf);
}

/* myna's ReadCertificate: SELECT EF, 7 bytes, the whole DER; x509 parse. */
static X509 *
suite_myna_cert(struct card_transport *t, uint16_t fid)
{
	uint8_t buf[CARD_EF_MAX];
	const unsigned char *p = buf;
	size_t n;
	X509 *x;

	if (der_select_ef(t, fid) != SW_OK ||
	    suite_read_tlv_like_myna(t, buf, sizeof(buf), &n) != 0)
		return NULL;
	if ((x = d2i_X509(NULL, &p, (long)n)) != NULL && p != buf + n) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* `myna jpki cert auth|authca|signca|sign`, `myna jpki cms sign` (the
 * signing certificate after the password, then in a new connection
 * VERIFY, SELECT EF 001A, 80 2A 00 80 Lc DigestInfo 00) and `cms verify`
 * (the signing CA's certificate, free, checks the signer's). */
static void
suite_myna_jpki(struct card_transport *t)
{
	static const uint8_t prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20};
	uint8_t cmd[5 + 51 + 1] = {0x80, 0x2A, 0x00, 0x80, 51};
	uint8_t sig[APDU_RESP_MAX], di[51];
	X509 *auth, *authca, *signca, *sign;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k;
	size_t n = 0;

	suite_new_session(t);
	CHECK_INT(suite_select_aid(t, card_aid_jpki), SW_OK);
	/* myna's CheckCard: the token label in EF 0006 */
	CHECK_INT(der_select_ef(t, CARD_EF_TOKEN_INFO), SW_OK);
	CHECK_INT(der_read_like_myna(t, 0x20, sig, &n), 0);
	CHECK(n == 0x20 && memcmp(sig, "JPKIAPICCTOKEN2 ", 16) == 0);
	auth = suite_myna_cert(t, CARD_EF_AUTH_CERT);
	authca = suite_myna_cert(t, CARD_EF_AUTH_CA);
	signca = suite_myna_cert(t, CARD_EF_SIGN_CA);
	CHECK(auth != NULL && authca != NULL && signca != NULL);
	/* the signing certificate only after the password */
	CHECK(suite_myna_cert(t, CARD_EF_SIGN_CERT) == NULL);
	CHECK_INT(der_verify(t, CARD_EF_SIGN_PIN, FIXTURE_SIGN_PIN), SW_OK);
	sign = suite_myna_cert(t, CARD_EF_SIGN_CERT);
	CHECK(sign != NULL);
	/* cms sign: a new connection signs the DigestInfo */
	suite_new_session(t);
	CHECK_INT(suite_select_aid(t, card_aid_jpki), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_SIGN_PIN, FIXTURE_SIGN_PIN), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_SIGN_KEY), SW_OK);
	memcpy(di, prefix, sizeof(prefix));
	SHA256((const uint8_t *)"myna cms", 8, di + sizeof(prefix));
	memcpy(cmd + 5, di, sizeof(di));
	cmd[sizeof(cmd) - 1] = 0x00;
	CHECK_INT(der_apdu(t, cmd, sizeof(cmd), sig, &n), SW_OK);
	CHECK_INT(n, CARD_SIG_LEN);
	k = sign != NULL ? X509_get0_pubkey(sign) : NULL;
	CHECK(k != NULL && (ctx = EVP_PKEY_CTX_new(k, NULL)) != NULL &&
	    EVP_PKEY_verify_init(ctx) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_verify(ctx, sig, n, di, sizeof(di)) == 1);
	EVP_PKEY_CTX_free(ctx);
	/* cms verify: the signer's certificate chains to the card's CA */
	CHECK(sign != NULL && signca != NULL &&
	    X509_verify(sign, X509_get0_pubkey(signca)) == 1);
	CHECK(auth != NULL && authca != NULL &&
	    X509_verify(auth, X509_get0_pubkey(authca)) == 1);
	X509_free(auth);
	X509_free(authca);
	X509_free(signca);
	X509_free(sign);
}

/* `myna pin change card|auth|sign` (Change4DigitPin, ChangeJPKISignPin):
 * SELECT the AP, SELECT the PIN EF, VERIFY, 00 24 01 80 Lc new; and back. */
static void
suite_myna_pin_change(struct card_transport *t)
{
	static const struct {
		const uint8_t *aid;
		uint16_t fid;
		const char *pin, *other;
	} pins[] = {
	    {card_aid_cardinfo, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN, "9876"},
	    {card_aid_jpki, CARD_EF_AUTH_PIN, FIXTURE_AUTH_PIN, "9876"},
	    {card_aid_jpki, CARD_EF_SIGN_PIN, FIXTURE_SIGN_PIN, "NEWPASS1"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(pins); i++)
		for (int back = 0; back < 2; back++) {
			const char *from = back ? pins[i].other : pins[i].pin;
			const char *to = back ? pins[i].pin : pins[i].other;
			uint8_t cmd[5 + CARD_PIN_MAX] = {0x00, 0x24, 0x01,
			    0x80, (uint8_t)strlen(to)};

			suite_new_session(t);
			CHECK_INT(suite_select_aid(t, pins[i].aid), SW_OK);
			CHECK_INT(der_verify(t, pins[i].fid, from), SW_OK);
			memcpy(cmd + 5, to, strlen(to));
			CHECK_INT(der_apdu(t, cmd, 5 + strlen(to), NULL, NULL),
			    SW_OK);
			/* the old one is wrong now (and costs a try) */
			if (!back)
				CHECK_INT(der_verify(t, pins[i].fid, from) &
				    0xFFF0, 0x63C0);
		}
	/* the tries the wrong ones cost are back after the right one */
	suite_new_session(t);
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, NULL), SW_TRIES(3));
	CHECK_INT(suite_select_aid(t, card_aid_jpki), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_AUTH_PIN, NULL), SW_TRIES(3));
	CHECK_INT(der_verify(t, CARD_EF_SIGN_PIN, NULL), SW_TRIES(5));
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
	suite_myna_pin_status(t);
	suite_myna_visual(t);
	suite_myna_jpki(t);
	suite_myna_pin_change(t);
	suite_change_pin_and_back(t);
	suite_lock_and_counter_reset(t, master);
	suite_reset_ends_the_session(t);
	suite_status_of_delivered_card(t);
}

#endif
