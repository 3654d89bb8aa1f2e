/*
 * test_cardinfo.c: the card-info AP's EF 0001 and EF 0002 as real clients
 * (jpki/myna) read them, through the APDUs they send, parsed with the
 * tests' own strict DER reader (cardinfo_der.h); the sex as an ISO 5218
 * digit; reads past the end; the host parsers refusing what is not that
 * layout.
 */
#include "test.h"

#include "card/card_fixture.h"
#include "card/cardinfo_der.h"

static void
test_number_and_facts_read_as_myna_reads_them(struct card_transport *t)
{
	struct card_info info;
	uint8_t buf[APDU_RESP_MAX];
	size_t n;

	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 17, buf, &n), SW_SECURITY);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, FIXTURE_INFO_PIN), SW_OK);
	CHECK_INT(der_read_cardinfo(t, &info), 0);
	CHECK_STR(info.number, fixture_info.number);
	CHECK_STR(info.name, fixture_info.name);
	CHECK_STR(info.address, fixture_info.address);
	CHECK_STR(info.birth, fixture_info.birth);
	CHECK_STR(info.sex, "2");

	/* EF 0001 is exactly the 17 bytes myna asks for: FF 10 0C, the
	 * digits, padding. */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 0, buf, &n), SW_OK); /* Le 00: up to 256 */
	CHECK_INT(n, CARD_INFO_NUMBER_EF_LEN);
	CHECK(memcmp(buf, "\xFF\x10\x0C" "123456789018", 15) == 0);
	/* past the end: 6B00, as real cards answer */
	CHECK_INT(der_read(t, 17, 1, buf, &n), SW_WRONG_OFFSET);
	CHECK_INT(der_read(t, 16, 5, buf, &n), SW_OK);
	CHECK_INT(n, 1);
}

/* Collation number A opens the number only, B the facts only; both show
 * their tries to an empty VERIFY (63Cx) and spend one on a wrong value. */
static void
test_collation_numbers_open_their_own_file(struct card_transport *t)
{
	uint8_t buf[APDU_RESP_MAX];
	uint8_t change[] = {0x00, 0x24, 0x01, 0x80, 0x0C, '9', '9', '9', '9',
	    '9', '9', '9', '9', '9', '9', '9', '9'};
	uint8_t verify_sfi[] = {0x00, 0x20, 0x00, 0x94};
	size_t n;

	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_B, NULL), SW_TRIES(10));
	CHECK_INT(der_apdu(t, verify_sfi, sizeof(verify_sfi), NULL, NULL),
	    SW_TRIES(10));

	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, FIXTURE_MATCH_A), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 17, buf, &n), SW_OK);
	CHECK_INT(n, 17);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_FACTS), SW_OK);
	CHECK_INT(der_read(t, 0, 7, buf, &n), SW_SECURITY);
	/* nobody changes what the card face shows */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_MATCH_A), SW_OK);
	CHECK_INT(der_apdu(t, change, sizeof(change), NULL, NULL),
	    SW_CONDITIONS);

	t->reset(t, buf, &n);
	t->client_app = 0;
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_B, FIXTURE_MATCH_B), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_FACTS), SW_OK);
	CHECK_INT(der_read(t, 0, 7, buf, &n), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_NUMBER), SW_OK);
	CHECK_INT(der_read(t, 0, 17, buf, &n), SW_SECURITY);

	/* a wrong A costs a try, the right one restores them */
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, "123456789019"),
	    SW_TRIES(9));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(9));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, FIXTURE_MATCH_A), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(10));
	/* setting one needs the issuer's proof */
	CHECK_INT(card_client_set_match(t, CARD_MATCH_A, FIXTURE_MATCH_A),
	    JPKI_ERR_REFUSED);
}

static void
test_client_collation_numbers(struct card_transport *t)
{
	struct card_status st;
	int tries = -1;

	/* a malformed value never reaches the card */
	CHECK_INT(card_client_verify_match(t, CARD_MATCH_B, "8001232036432",
	    &tries), JPKI_ERR_INPUT);
	CHECK_INT(card_client_verify_match(t, CARD_MATCH_B, "800123203643210",
	    &tries), JPKI_ERR_INPUT);
	CHECK_INT(card_client_verify_match(t, CARD_MATCH_B, "99999999999999",
	    &tries), JPKI_ERR_PIN);
	CHECK_INT(tries, 9);
	CHECK_INT(card_client_status(t, &st), JPKI_OK);
	CHECK_INT(st.match[CARD_MATCH_B].tries_left, 9);
	CHECK_INT(st.match[CARD_MATCH_A].tries_left, 10);
	CHECK_INT(card_client_verify_match(t, CARD_MATCH_B, FIXTURE_MATCH_B,
	    &tries), JPKI_OK);
	CHECK_INT(tries, 10);
}

static void
test_match_b_and_security_code(void)
{
	uint8_t m[CARD_ISSUER_KEY_LEN] = {1, 2, 3};
	char b[CARD_MATCH_B_LEN + 1], c1[5], c2[5], c3[5];

	CHECK_INT(card_match_b("19800123", 2036, "4321", b), JPKI_OK);
	CHECK_STR(b, "80012320364321");
	CHECK_INT(card_match_b("1980012", 2036, "4321", b), JPKI_ERR_INPUT);
	CHECK_INT(card_match_b("19800123", 36, "4321", b), JPKI_ERR_INPUT);
	CHECK_INT(card_match_b("19800123", 2036, "43a1", b), JPKI_ERR_INPUT);
	/* the same card always has the same code; another card another */
	CHECK_INT(card_security_code(m, "47EE540AC44A7865", c1), JPKI_OK);
	CHECK_INT(card_security_code(m, "47ee540ac44a7865", c2), JPKI_OK);
	CHECK_INT(card_security_code(m, "47EE540AC44A7866", c3), JPKI_OK);
	CHECK_STR(c1, c2);
	CHECK_INT(strlen(c1), 4);
	CHECK_INT((int)strspn(c1, "0123456789"), 4);
	CHECK_INT(strlen(c3), 4);
	CHECK_INT(card_security_code(m, "47EE540AC44A78", c1), JPKI_ERR_INPUT);
	CHECK_INT(card_security_code(m, "47EE540AC44A786G", c1),
	    JPKI_ERR_INPUT);
}

/* A relying party reads the facts with the PIN and checks them against
 * the card issuer's signature; one changed byte of EF 0002 is caught, and
 * so is another issuer's key. */
static void
test_relying_party_checks_the_issuer_signature(struct card_transport *t)
{
	struct card_info_files f;
	EVP_PKEY *issuer = NULL, *other = EVP_RSA_gen(2048);
	uint8_t buf[APDU_RESP_MAX];
	size_t n;

	card_info_files_init(&f);
	/* EF 0004 and 0005 are free; 0003 needs the PIN, A or B */
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_CERT), SW_OK);
	CHECK_INT(der_read(t, 0, 7, buf, &n), SW_OK);
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_SIGNATURE), SW_OK);
	CHECK_INT(der_read(t, 0, 7, buf, &n), SW_SECURITY);

	CHECK_INT(card_client_verify(t, PIN_CARDINFO, FIXTURE_INFO_PIN, NULL),
	    JPKI_OK);
	CHECK_INT(card_client_read_info_files(t, &f), JPKI_OK);
	/* the sizes real clients read: myna 17, 336, 568, 256 bytes */
	CHECK_INT(f.number.len, 15); /* the TLV, without the FF FF */
	CHECK_INT(f.signature.len, 336);
	CHECK_INT(f.cert.len, 568);
	CHECK_INT(f.apinfo.len, 29); /* its TLV; the EF is 256 bytes */
	CHECK_INT(der_select_ef(t, CARD_EF_INFO_APINFO), SW_OK);
	CHECK_INT(der_read(t, 0, 0, buf, &n), SW_OK);
	CHECK_INT(n, 256);
	CHECK_INT(card_info_verify(&f, fixture_card_issuer(), &issuer),
	    JPKI_OK);
	CHECK(issuer != NULL &&
	    EVP_PKEY_eq(issuer, fixture_card_issuer()) == 1);
	EVP_PKEY_free(issuer);
	CHECK_INT(card_info_verify(&f, NULL, NULL), JPKI_OK);
	/* another issuer is not trusted */
	CHECK_INT(card_info_verify(&f, other, NULL), JPKI_ERR_VERIFY);
	/* one changed byte of the facts: the address's last byte */
	f.facts.data[f.facts.len - 12] ^= 0x01;
	CHECK_INT(card_info_verify(&f, fixture_card_issuer(), NULL),
	    JPKI_ERR_VERIFY);
	CHECK(strstr(jpki_errmsg(), "EF 0002") != NULL);
	f.facts.data[f.facts.len - 12] ^= 0x01;
	/* one changed byte of the number, of the signature */
	f.number.data[5] ^= 0x01;
	CHECK_INT(card_info_verify(&f, NULL, NULL), JPKI_ERR_VERIFY);
	CHECK(strstr(jpki_errmsg(), "EF 0001") != NULL);
	f.number.data[5] ^= 0x01;
	f.signature.data[f.signature.len - 1] ^= 0x01;
	CHECK_INT(card_info_verify(&f, NULL, NULL), JPKI_ERR_VERIFY);
	f.signature.data[f.signature.len - 1] ^= 0x01;
	f.cert.data[40] ^= 0x01;
	CHECK(card_info_verify(&f, NULL, NULL) != JPKI_OK);
	f.cert.data[40] ^= 0x01;
	CHECK_INT(card_info_verify(&f, NULL, NULL), JPKI_OK);
	/* every truncation of the signed EFs is refused, never accepted */
	for (size_t cut = 0; cut < 336; cut += 7) {
		size_t keep = f.signature.len;

		f.signature.len = cut;
		CHECK(card_info_verify(&f, NULL, NULL) != JPKI_OK);
		f.signature.len = keep;
	}
	card_info_files_free(&f);
	EVP_PKEY_free(other);
}

static void
test_sex_is_iso5218(void)
{
	static const struct {
		enum gender g;
		char iso;
	} table[] = {{GENDER_MALE, '1'}, {GENDER_FEMALE, '2'},
	    {GENDER_UNKNOWN, '9'}};
	struct card_info info = fixture_info;
	struct jbuf b;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(table); i++)
		CHECK_INT(card_info_sex_of(table[i].g), table[i].iso);
	/* the certificate's code 3 is not an ISO 5218 digit */
	jbuf_init(&b);
	info.sex[0] = '3';
	CHECK_INT(card_info_encode_facts(&info, &b), JPKI_ERR_INPUT);
	info.sex[0] = '9';
	CHECK_INT(card_info_encode_facts(&info, &b), JPKI_OK);
	jbuf_free(&b);
}

static void
test_parsers_refuse_other_layouts(void)
{
	/* the layout before issue 14: a universal tag, no header */
	static const uint8_t old_number[] = "\x10\x0C" "123456789018";
	static const uint8_t old_facts[] = {0xFF, 0x20, 0x0B, 0xDF, 0x22,
	    0x01, 'A', 0xDF, 0x23, 0x01, 'B', 0xDF, 0x24, 0x00};
	struct card_info info, back;
	struct jbuf num, facts;

	memset(&back, 0, sizeof(back));
	CHECK_INT(card_info_parse_number(old_number, sizeof(old_number) - 1,
	    &back), JPKI_ERR_INPUT);
	CHECK_INT(card_info_parse_facts(old_facts, sizeof(old_facts), &back),
	    JPKI_ERR_INPUT);

	info = fixture_info;
	jbuf_init(&num);
	jbuf_init(&facts);
	CHECK_INT(card_info_encode_number(&info, &num), JPKI_OK);
	CHECK_INT(card_info_encode_facts(&info, &facts), JPKI_OK);
	CHECK_INT(num.len, CARD_INFO_NUMBER_EF_LEN);
	CHECK_INT(card_info_parse_number(num.data, num.len, &back), JPKI_OK);
	CHECK_INT(card_info_parse_facts(facts.data, facts.len, &back),
	    JPKI_OK);
	CHECK_STR(back.address, info.address);
	/* every truncation is refused */
	for (size_t n = 0; n < facts.len; n++)
		CHECK_INT(card_info_parse_facts(facts.data, n, &back),
		    JPKI_ERR_INPUT);
	for (size_t n = 0; n < 15; n++)
		CHECK_INT(card_info_parse_number(num.data, n, &back),
		    JPKI_ERR_INPUT);
	jbuf_free(&num);
	jbuf_free(&facts);
}

/* A card whose card-info AP has no collation numbers (SELECT of EF 0014
 * or 0015 answers 6A82): status still answers, A and B not set. */
static struct card_transport *inner;

static int
no_match_transmit(struct card_transport *t, const uint8_t *cmd, size_t n,
    uint8_t *resp, size_t *resp_len)
{
	(void)t;
	if (n == 7 && cmd[1] == 0xA4 && cmd[2] == 0x02 && cmd[5] == 0x00 &&
	    (cmd[6] == 0x14 || cmd[6] == 0x15)) {
		resp[0] = 0x6A;
		resp[1] = 0x82;
		*resp_len = 2;
		return JPKI_OK;
	}
	return inner->transmit(inner, cmd, n, resp, resp_len);
}

static void
test_status_without_collation_numbers(struct card_transport *t)
{
	struct card_transport wrap = *t;
	struct card_status st;

	inner = t;
	wrap.transmit = no_match_transmit;
	wrap.client_app = 0;
	CHECK_INT(card_client_status(&wrap, &st), JPKI_OK);
	CHECK_INT(st.match[CARD_MATCH_A].initialised, 0);
	CHECK_INT(st.match[CARD_MATCH_B].initialised, 0);
	CHECK_INT(st.pin[PIN_CARDINFO].tries_left, 3);
	CHECK_INT(card_client_verify_match(&wrap, CARD_MATCH_A,
	    FIXTURE_MATCH_A, NULL), JPKI_ERR_NOTFOUND);
}

/* Run one test on the image, in a session of its own. */
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
	char image[512], *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0 ||
	    fixture_card_image(d, master, image) != 0)
		return 1;
	test_sex_is_iso5218();
	test_match_b_and_security_code();
	test_parsers_refuse_other_layouts();
	CHECK_INT(card_image_read(image, &c), JPKI_OK);
	CHECK(c != NULL && !card_info_outdated(c));
	card_free(&c);
	on_card(image, test_number_and_facts_read_as_myna_reads_them);
	on_card(image, test_relying_party_checks_the_issuer_signature);
	on_card(image, test_collation_numbers_open_their_own_file);
	on_card(image, test_client_collation_numbers);
	on_card(image, test_status_without_collation_numbers);
	fixture_rmdir(d);
	return test_summary();
}
