/* The signer's wire (src/ca/signer_wire.c): a request names its key by
 * type, role and CA generation, which travels whole; a generation past
 * CA_GEN_MAX, a request of protocol version 1 (whose generation meant
 * "the current one") and trailing bytes are refused. */
#include "ca/signer_wire.h"
#include "test.h"

#include <stdint.h>
#include <string.h>

/* Encode q, and decode the frame's body back into *back. */
static int
roundtrip(const struct signer_request *q, struct jbuf *b,
    struct signer_request *back)
{
	int r;

	b->len = 0;
	if ((r = signer_request_encode(q, b)) != JPKI_OK)
		return r;
	if (b->len < 4)
		return -1;
	return signer_request_decode(b->data + 4, b->len - 4, back);
}

static void
test_generation_travels(void)
{
	static const uint8_t tbs[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	struct signer_request q = {.kind = SIGNER_SIGN,
	    .id = {CERT_AUTH, CA_KEY_CA, 7}, .op = CA_SIGN_CERT, .in = tbs,
	    .len = sizeof(tbs)};
	struct signer_request back;
	struct jbuf b;

	jbuf_init(&b);
	CHECK_INT(roundtrip(&q, &b, &back), JPKI_OK);
	CHECK_INT(back.kind, SIGNER_SIGN);
	CHECK_INT(back.id.type, CERT_AUTH);
	CHECK_INT(back.id.role, CA_KEY_CA);
	CHECK_INT(back.id.gen, 7);
	CHECK_INT(back.len, sizeof(tbs));
	CHECK(back.in != NULL && memcmp(back.in, tbs, sizeof(tbs)) == 0);

	q = (struct signer_request){.kind = SIGNER_CRL_BEGIN,
	    .id = {CERT_SIGN, CA_KEY_CA, CA_GEN_MAX}, .total = 1000};
	CHECK_INT(roundtrip(&q, &b, &back), JPKI_OK);
	CHECK_INT(back.id.gen, CA_GEN_MAX);
	CHECK_INT(back.total, 1000);

	q = (struct signer_request){.kind = SIGNER_PUBKEY,
	    .id = CA_KEY_ID_CARD_ISSUER};
	CHECK_INT(roundtrip(&q, &b, &back), JPKI_OK);
	CHECK_INT(back.id.role, CA_KEY_CARD_ISSUER);
	CHECK_INT(back.id.gen, 0);

	/* A generation no data directory can hold. */
	q = (struct signer_request){.kind = SIGNER_PUBKEY,
	    .id = {CERT_SIGN, CA_KEY_OCSP, CA_GEN_MAX + 1}};
	CHECK_INT(roundtrip(&q, &b, &back), JPKI_ERR_INPUT);
	jbuf_free(&b);
}

static void
test_refused_frames(void)
{
	/* Version 1: PUBKEY sign CA, generation 0 ("the current one"). */
	static const uint8_t v1[] = {1, SIGNER_PUBKEY, 1, 1, 0, 0, 0, 0};
	static const uint8_t v2[] = {SIGNER_WIRE_VERSION, SIGNER_PUBKEY, 1, 1,
	    0, 0, 0, 2};
	static const uint8_t trailing[] = {SIGNER_WIRE_VERSION, SIGNER_PUBKEY,
	    1, 1, 0, 0, 0, 2, 0};
	static const uint8_t short_gen[] = {SIGNER_WIRE_VERSION, SIGNER_PUBKEY,
	    1, 1, 0, 0};
	struct signer_request q;

	CHECK_INT(signer_request_decode(v1, sizeof(v1), &q), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "protocol version 1") != NULL);
	CHECK_INT(signer_request_decode(v2, sizeof(v2), &q), JPKI_OK);
	CHECK_INT(q.id.gen, 2);
	CHECK_INT(signer_request_decode(trailing, sizeof(trailing), &q),
	    JPKI_ERR_INPUT);
	CHECK_INT(signer_request_decode(short_gen, sizeof(short_gen), &q),
	    JPKI_ERR_INPUT);
}

int
main(void)
{
	test_generation_travels();
	test_refused_frames();
	return test_summary();
}
