/*
 * test_cardface.c: the card-face AP (券面AP): its EF 0002 encoded and
 * parsed back, the card issuer's signature over it, every single changed
 * byte of the EF caught by the relying party's check, the collation
 * numbers A and B that open it (and nothing else), and JPEG 2000 both
 * ways with its limits.
 */
#include "test.h"

#include "card/card_fixture.h"
#include "card/cardinfo_der.h"

#include <openssl/sha.h>

static uint16_t
select_cardface(struct card_transport *t)
{
	uint8_t cmd[15] = {0x00, 0xA4, 0x04, 0x0C, 0x0A};

	memcpy(cmd + 5, card_aid_cardface, 10);
	return der_apdu(t, cmd, sizeof(cmd), NULL, NULL);
}

static void
test_face_round_trips_and_verifies(void)
{
	struct card_face f, g;
	struct jbuf ef, again;
	EVP_PKEY *issuer = NULL, *other = EVP_RSA_gen(2048);

	CHECK_INT(fixture_face(&f, fixture_card_issuer()), 0);
	jbuf_init(&ef);
	jbuf_init(&again);
	card_face_init(&g);
	CHECK_INT(card_face_encode(&f, &ef), JPKI_OK);
	CHECK(ef.len > 4 && ef.data[0] == 0xFF && ef.data[1] == 0x20);
	CHECK_INT(card_face_parse(ef.data, ef.len, &g), JPKI_OK);
	CHECK_STR(g.birth, fixture_info.birth);
	CHECK_STR(g.sex, "2");
	CHECK_STR(g.expiry, "20360123");
	CHECK(g.photo.len == f.photo.len && memcmp(g.photo.data, f.photo.data,
	    f.photo.len) == 0);
	CHECK_INT(card_face_encode(&g, &again), JPKI_OK);
	CHECK(again.len == ef.len && memcmp(again.data, ef.data, ef.len) == 0);
	/* verified by the key it carries, by the trusted one, not another */
	CHECK_INT(card_face_verify(&g, NULL, &issuer), JPKI_OK);
	CHECK(issuer != NULL && EVP_PKEY_eq(issuer, fixture_card_issuer()) ==
	    1);
	CHECK_INT(card_face_verify(&g, fixture_card_issuer(), NULL), JPKI_OK);
	CHECK_INT(card_face_verify(&g, other, NULL), JPKI_ERR_VERIFY);
	CHECK(strstr(jpki_errmsg(), "not the trusted") != NULL);
	/* an unsigned face is not written */
	f.signature.len = 0;
	CHECK_INT(card_face_encode(&f, &again), JPKI_ERR_INPUT);
	/* a photo that is not JPEG 2000, a name that is not PNG */
	card_face_free(&f);
	CHECK_INT(fixture_face(&f, fixture_card_issuer()), 0);
	f.photo.data[4] ^= 1;
	CHECK_INT(card_face_encode(&f, &again), JPKI_ERR_INPUT);
	EVP_PKEY_free(issuer);
	EVP_PKEY_free(other);
	card_face_free(&f);
	card_face_free(&g);
	jbuf_free(&ef);
	jbuf_free(&again);
}

/* The relying party's check: each one of the EF's bytes changed (every
 * position, one at a time) is refused, by the parser or the signature. */
static void
test_every_changed_byte_is_caught(void)
{
	struct card_face f, g;
	struct jbuf ef;
	size_t caught = 0;

	CHECK_INT(fixture_face(&f, fixture_card_issuer()), 0);
	jbuf_init(&ef);
	card_face_init(&g);
	CHECK_INT(card_face_encode(&f, &ef), JPKI_OK);
	for (size_t i = 0; i < ef.len; i++) {
		ef.data[i] ^= 0x01;
		if (card_face_parse(ef.data, ef.len, &g) != JPKI_OK ||
		    card_face_verify(&g, fixture_card_issuer(), NULL) !=
		    JPKI_OK)
			caught++;
		else
			fprintf(stderr, "    byte %zu changed, not caught\n", i);
		ef.data[i] ^= 0x01;
	}
	CHECK_INT(caught, ef.len);
	CHECK_INT(card_face_parse(ef.data, ef.len, &g), JPKI_OK);
	CHECK_INT(card_face_verify(&g, fixture_card_issuer(), NULL), JPKI_OK);
	card_face_free(&f);
	card_face_free(&g);
	jbuf_free(&ef);
}

static void
test_parser_refuses_other_layouts(void)
{
	static const uint8_t info_facts[] = {0xFF, 0x20, 0x05, 0xDF, 0x21,
	    0x00, 0xDF, 0x22};
	struct card_face g;
	struct jbuf ef;

	card_face_init(&g);
	jbuf_init(&ef);
	CHECK_INT(card_face_parse(NULL, 0, &g), JPKI_ERR_INPUT);
	CHECK_INT(card_face_parse(info_facts, sizeof(info_facts), &g),
	    JPKI_ERR_INPUT);
	CHECK(strchr(jpki_errmsg(), '\n') == NULL);
	{
		struct card_face f;

		CHECK_INT(fixture_face(&f, fixture_card_issuer()), 0);
		CHECK_INT(card_face_encode(&f, &ef), JPKI_OK);
		card_face_free(&f);
	}
	/* cut short anywhere: refused, fields left empty */
	for (size_t n = 0; n < ef.len; n += 97) {
		CHECK_INT(card_face_parse(ef.data, n, &g), JPKI_ERR_INPUT);
		CHECK(g.photo.len == 0 && g.birth[0] == '\0');
	}
	card_face_free(&g);
	jbuf_free(&ef);
}

/* Collation number A or B opens EF 0002 of the card-face AP; the
 * card-info PIN does not; nobody changes them. */
static void
test_collation_numbers_open_the_face(struct card_transport *t)
{
	uint8_t buf[APDU_RESP_MAX], atr[CARD_ATR_MAX];
	uint8_t change[] = {0x00, 0x24, 0x01, 0x80, 0x0C, '9', '9', '9', '9',
	    '9', '9', '9', '9', '9', '9', '9', '9'};
	struct jbuf ef;
	struct card_face g;
	size_t n;
	int tries = -1;

	jbuf_init(&ef);
	card_face_init(&g);
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN), SW_OK);
	CHECK_INT(select_cardface(t), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_FACE_ENTRIES), SW_OK);
	CHECK_INT(der_read(t, 0, 7, buf, &n), SW_SECURITY);
	CHECK_INT(der_verify(t, CARD_EF_FACE_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_FACE_MATCH_B, NULL), SW_TRIES(10));
	CHECK_INT(der_apdu(t, change, sizeof(change), NULL, NULL),
	    SW_CONDITIONS);
	/* the client: a wrong A costs a try, a malformed one none */
	t->client_app = 0;
	CHECK_INT(card_client_read_face(t, &ef), JPKI_ERR_REFUSED);
	CHECK_INT(card_client_verify_match(t, CARD_FACE_MATCH_A, "12345",
	    &tries), JPKI_ERR_INPUT);
	CHECK_INT(card_client_verify_match(t, CARD_FACE_MATCH_A,
	    "123456789019", &tries), JPKI_ERR_PIN);
	CHECK_INT(tries, 9);
	CHECK(strstr(jpki_errmsg(), "card-face collation number A") != NULL);
	CHECK_INT(card_client_verify_match(t, CARD_FACE_MATCH_A,
	    FIXTURE_MATCH_A, &tries), JPKI_OK);
	CHECK_INT(tries, 10);
	CHECK_INT(card_client_read_face(t, &ef), JPKI_OK);
	CHECK_INT(card_face_parse(ef.data, ef.len, &g), JPKI_OK);
	CHECK_INT(card_face_verify(&g, fixture_card_issuer(), NULL), JPKI_OK);
	/* B opens it too, in a fresh session */
	t->reset(t, atr, &n);
	t->client_app = 0;
	ef.len = 0;
	CHECK_INT(card_client_verify_match(t, CARD_FACE_MATCH_B,
	    FIXTURE_MATCH_B, NULL), JPKI_OK);
	CHECK_INT(card_client_read_face(t, &ef), JPKI_OK);
	/* writing it needs the issuer's proof */
	CHECK_INT(card_client_write_face(t, &ef), JPKI_ERR_REFUSED);
	card_face_free(&g);
	jbuf_free(&ef);
}

static void
test_jp2_both_ways_and_its_limits(void)
{
	struct card_pixels px = {40, 30, NULL}, back;
	struct jbuf jp2;
	long err = 0;

	jbuf_init(&jp2);
	px.rgb = malloc(40 * 30 * 3);
	if (px.rgb == NULL)
		return;
	for (int i = 0; i < 40 * 30; i++) {
		px.rgb[3 * i] = (uint8_t)(i % 40 * 6);
		px.rgb[3 * i + 1] = (uint8_t)(i / 40 * 8);
		px.rgb[3 * i + 2] = 128;
	}
	CHECK_INT(card_jp2_encode(&px, 1, &jp2), JPKI_OK);
	CHECK_INT(card_jp2_decode(jp2.data, jp2.len, &back), JPKI_OK);
	CHECK_INT(back.width, 40);
	CHECK_INT(back.height, 30);
	if (back.rgb != NULL)
		for (int i = 0; i < 40 * 30 * 3; i++)
			err += labs((long)back.rgb[i] - px.rgb[i]);
	/* ratio 1: as good as lossless */
	CHECK(err < 40 * 30 * 3);
	card_pixels_free(&back);
	/* not JPEG 2000; too long; truncated */
	CHECK_INT(card_jp2_decode((const uint8_t *)"\x89PNG\r\n\x1a\n", 8,
	    &back), JPKI_ERR_INPUT);
	CHECK_INT(card_jp2_decode(jp2.data, CARD_FACE_IMAGE_MAX + 1, &back),
	    JPKI_ERR_INPUT);
	CHECK_INT(card_jp2_decode(jp2.data, jp2.len / 2, &back),
	    JPKI_ERR_INPUT);
	CHECK(back.rgb == NULL);
	/* a header promising more pixels than the limit: refused before
	 * decoding (SIZ Xsiz/Ysiz patched to 4096 x 4096) */
	for (size_t i = 0; i + 12 < jp2.len; i++)
		if (jp2.data[i] == 0xFF && jp2.data[i + 1] == 0x51) {
			uint8_t *siz = jp2.data + i + 6;

			siz[0] = 0x00, siz[1] = 0x00, siz[2] = 0x10, siz[3] = 0;
			siz[4] = 0x00, siz[5] = 0x00, siz[6] = 0x10, siz[7] = 0;
			break;
		}
	CHECK_INT(card_jp2_decode(jp2.data, jp2.len, &back), JPKI_ERR_INPUT);
	/* the encoder's own limits */
	px.width = CARD_JP2_SIDE_MAX + 1;
	CHECK_INT(card_jp2_encode(&px, 10, &jp2), JPKI_ERR_INPUT);
	card_pixels_free(&px);
	jbuf_free(&jp2);
}

static void
on_card(const char *image, void (*test)(struct card_transport *))
{
	struct card_transport *t = NULL;

	CHECK_INT(card_transport_image(image, &t), JPKI_OK);
	if (t != NULL) {
		test(t);
		card_transport_free(&t);
	}
}

int
main(void)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	struct card *c = NULL;
	struct jbuf photo;
	char image[512], *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0 ||
	    fixture_card_image(d, master, image) != 0)
		return 1;
	test_face_round_trips_and_verifies();
	test_every_changed_byte_is_caught();
	test_parser_refuses_other_layouts();
	test_jp2_both_ways_and_its_limits();
	CHECK_INT(card_image_read(image, &c), JPKI_OK);
	jbuf_init(&photo);
	CHECK(c != NULL && !card_face_outdated(c));
	CHECK(c != NULL && card_face_photo_of(c, &photo) == JPKI_OK &&
	    photo.len > 12);
	jbuf_free(&photo);
	card_free(&c);
	on_card(image, test_collation_numbers_open_the_face);
	fixture_rmdir(d);
	return test_summary();
}
