/*
 * cardface.c: the card-face AP's EF 0002 (券面AP, 券面事項確認AP) in the
 * layout real clients parse (jpki/myna's VisualInfo, AokiApp's mynacard
 * kenkaku schema; card.h has the layout, docs/card.md what is our
 * choice), and the relying party's check of the card issuer's signature
 * over it.  Both directions live here so the layout is written down once.
 *
 * The images are bytes to this file: it checks their signatures (PNG,
 * JP2) and sizes, never decodes them (jp2.c decodes the photo; the host
 * that writes PNG files decodes nothing it does not need).  Signing is
 * not done here: the counter asks the card issuer's key behind the key
 * seam and hands the signature in.
 */
#include "card/card_int.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#define FACE_TAG 0xFF20
#define FACE_TAG_HEADER 0xDF21
#define FACE_TAG_BIRTH 0xDF22
#define FACE_TAG_SEX 0xDF23
#define FACE_TAG_KEY 0xDF24
#define FACE_TAG_NAME 0xDF25
#define FACE_TAG_ADDRESS 0xDF26
#define FACE_TAG_PHOTO 0xDF27
#define FACE_TAG_SIGNATURE 0xDF28
#define FACE_TAG_EXPIRY 0xDF29
#define FACE_TAG_CODE 0xDF2A
/* The elements after the header, in EF order. */
#define FACE_ELEMENTS 9
#define FACE_HEADER_LEN (2 * FACE_ELEMENTS)
#define KEY_TAG_MODULUS 0x81
#define KEY_TAG_EXPONENT 0x82
/* Largest RSA modulus and exponent accepted from a card, in bytes. */
/* Largest signature accepted (RSA-4096). */
#define FACE_SIG_MAX 512

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A,
    0x0A};
/* The JP2 signature box (ISO/IEC 15444-1 I.5.1). */
static const uint8_t jp2_magic[12] = {0x00, 0x00, 0x00, 0x0C, 'j', 'P', ' ',
    ' ', 0x0D, 0x0A, 0x87, 0x0A};

static int
nomem(void)
{
	return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
}

void
card_face_init(struct card_face *f)
{
	memset(f, 0, sizeof(*f));
	jbuf_init(&f->public_key);
	jbuf_init(&f->name);
	jbuf_init(&f->address);
	jbuf_init(&f->photo);
	jbuf_init(&f->signature);
	jbuf_init(&f->code);
	jbuf_init(&f->header);
}

static void
wipe_free(struct jbuf *b)
{
	if (b->data != NULL)
		jpki_wipe(b->data, b->cap);
	jbuf_free(b);
}

void
card_face_free(struct card_face *f)
{
	/* The images are personal data. */
	wipe_free(&f->name);
	wipe_free(&f->address);
	wipe_free(&f->photo);
	wipe_free(&f->code);
	jbuf_free(&f->public_key);
	jbuf_free(&f->signature);
	jbuf_free(&f->header);
	jpki_wipe(f->birth, sizeof(f->birth));
	jpki_wipe(f->sex, sizeof(f->sex));
	jpki_wipe(f->expiry, sizeof(f->expiry));
}

static int
digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

static int
starts_with(const struct jbuf *b, const uint8_t *magic, size_t n)
{
	return b->len >= n && memcmp(b->data, magic, n) == 0;
}

static int
image_ok(const struct jbuf *b, const uint8_t *magic, size_t n)
{
	return b->len <= CARD_FACE_IMAGE_MAX && starts_with(b, magic, n);
}

/* The fields' shapes, as written and as read. */
static int
check_face(const struct card_face *f)
{
	if (!digits(f->birth, 8) || !digits(f->expiry, 8) ||
	    strlen(f->sex) != 1 || strchr("0129", f->sex[0]) == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "card face: birth and expiry "
		    "YYYYMMDD, sex an ISO 5218 digit");
	if (f->public_key.len == 0 || f->public_key.len > CARD_FACE_KEY_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card face: a public key of "
		    "1 to %d bytes", CARD_FACE_KEY_MAX);
	if (!image_ok(&f->name, png_magic, sizeof(png_magic)) ||
	    !image_ok(&f->address, png_magic, sizeof(png_magic)) ||
	    !image_ok(&f->code, png_magic, sizeof(png_magic)))
		return jpki_fail(JPKI_ERR_INPUT, "card face: the name, address "
		    "and security code images are PNG files of at most %d "
		    "bytes", CARD_FACE_IMAGE_MAX);
	if (!image_ok(&f->photo, jp2_magic, sizeof(jp2_magic)))
		return jpki_fail(JPKI_ERR_INPUT, "card face: the photo is a "
		    "JPEG 2000 (JP2) file of at most %d bytes",
		    CARD_FACE_IMAGE_MAX);
	if (f->signature.len > FACE_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card face: a signature of "
		    "at most %d bytes", FACE_SIG_MAX);
	return JPKI_OK;
}

/* The elements in EF order; element 6 (DF 28) is the signature. */
struct element {
	unsigned tag;
	const uint8_t *p;
	size_t n;
};

static void
elements_of(const struct card_face *f, struct element e[FACE_ELEMENTS])
{
	const struct element table[FACE_ELEMENTS] = {
	    {FACE_TAG_BIRTH, (const uint8_t *)f->birth, strlen(f->birth)},
	    {FACE_TAG_SEX, (const uint8_t *)f->sex, strlen(f->sex)},
	    {FACE_TAG_KEY, f->public_key.data, f->public_key.len},
	    {FACE_TAG_NAME, f->name.data, f->name.len},
	    {FACE_TAG_ADDRESS, f->address.data, f->address.len},
	    {FACE_TAG_PHOTO, f->photo.data, f->photo.len},
	    {FACE_TAG_SIGNATURE, f->signature.data, f->signature.len},
	    {FACE_TAG_EXPIRY, (const uint8_t *)f->expiry, strlen(f->expiry)},
	    {FACE_TAG_CODE, f->code.data, f->code.len},
	};

	memcpy(e, table, sizeof(table));
}

/* The length of a TLV with an n-byte value (card_tlv_put's encoding). */
static size_t
tlv_size(unsigned tag, size_t n)
{
	return (tag > 0xFF ? 2 : 1) + (n < 0x80 ? 1 : n <= 0xFF ? 2 : 3) + n;
}

/* The DF 21 header for a signature of sig_len bytes: where each element
 * starts in the EF; *ef_len receives the whole EF's length. */
static int
layout(const struct element e[FACE_ELEMENTS], size_t sig_len,
    uint8_t header[FACE_HEADER_LEN], size_t *ef_len)
{
	size_t body = tlv_size(FACE_TAG_HEADER, FACE_HEADER_LEN), inner, at;
	size_t offs[FACE_ELEMENTS];

	for (int i = 0; i < FACE_ELEMENTS; i++) {
		offs[i] = body;
		body += tlv_size(e[i].tag, e[i].tag == FACE_TAG_SIGNATURE ?
		    sig_len : e[i].n);
	}
	inner = body;
	*ef_len = tlv_size(FACE_TAG, inner);
	if (*ef_len > CARD_FACE_EF_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card face: %zu bytes, more "
		    "than the EF holds (%d)", *ef_len, CARD_FACE_EF_MAX);
	for (int i = 0; i < FACE_ELEMENTS; i++) {
		at = *ef_len - inner + offs[i];
		header[2 * i] = (uint8_t)(at >> 8);
		header[2 * i + 1] = (uint8_t)at;
	}
	return JPKI_OK;
}

int
card_face_signed_content(const struct card_face *f, size_t sig_len,
    struct jbuf *out)
{
	struct element e[FACE_ELEMENTS];
	uint8_t header[FACE_HEADER_LEN];
	size_t ef_len;
	int r;

	if ((r = check_face(f)) != JPKI_OK)
		return r;
	if (sig_len == 0 || sig_len > FACE_SIG_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card face: a signature of 1 "
		    "to %d bytes", FACE_SIG_MAX);
	elements_of(f, e);
	if ((r = layout(e, sig_len, header, &ef_len)) != JPKI_OK)
		return r;
	/* A face read from a card is checked with its header as read. */
	if (f->header.len > 0)
		r = card_tlv_put(out, FACE_TAG_HEADER, f->header.data,
		    f->header.len);
	else
		r = card_tlv_put(out, FACE_TAG_HEADER, header, sizeof(header));
	if (r != JPKI_OK)
		return r;
	for (int i = 0; i < FACE_ELEMENTS; i++)
		if (e[i].tag != FACE_TAG_SIGNATURE &&
		    (r = card_tlv_put(out, e[i].tag, e[i].p, e[i].n)) !=
		    JPKI_OK)
			return r;
	return JPKI_OK;
}

int
card_face_encode(const struct card_face *f, struct jbuf *out)
{
	struct element e[FACE_ELEMENTS];
	struct jbuf inner;
	uint8_t header[FACE_HEADER_LEN];
	size_t ef_len;
	int r;

	if ((r = check_face(f)) != JPKI_OK)
		return r;
	if (f->signature.len == 0)
		return jpki_fail(JPKI_ERR_INPUT, "card face: not signed");
	elements_of(f, e);
	if ((r = layout(e, f->signature.len, header, &ef_len)) != JPKI_OK)
		return r;
	jbuf_init(&inner);
	if ((r = card_tlv_put(&inner, FACE_TAG_HEADER, header,
	    sizeof(header))) != JPKI_OK)
		goto fail;
	for (int i = 0; i < FACE_ELEMENTS; i++)
		if ((r = card_tlv_put(&inner, e[i].tag, e[i].p, e[i].n)) !=
		    JPKI_OK)
			goto fail;
	r = card_tlv_put(out, FACE_TAG, inner.data, inner.len);
fail:
	wipe_free(&inner);
	return r;
}

static int
take(struct cursor *c, unsigned want, struct cursor *v)
{
	unsigned tag;

	if (card_tlv_next(c, &tag, v) || tag != want)
		return JPKI_ERR_INPUT;
	return JPKI_OK;
}

static int
take_str(struct cursor *c, unsigned want, char *dst, size_t cap)
{
	struct cursor v;

	if (take(c, want, &v) || cursor_left(&v) >= cap)
		return JPKI_ERR_INPUT;
	memcpy(dst, v.p, cursor_left(&v));
	dst[cursor_left(&v)] = '\0';
	return JPKI_OK;
}

static int
take_buf(struct cursor *c, unsigned want, size_t max, struct jbuf *dst)
{
	struct cursor v;

	if (take(c, want, &v) || cursor_left(&v) > max)
		return JPKI_ERR_INPUT;
	dst->len = 0;
	if (cursor_left(&v) > 0 && jbuf_put(dst, v.p, cursor_left(&v)))
		return JPKI_ERR_NOMEM;
	return JPKI_OK;
}

static void
face_clear(struct card_face *f)
{
	card_face_free(f);
	card_face_init(f);
}

int
card_face_parse(const uint8_t *p, size_t n, struct card_face *f)
{
	struct cursor c, outer, header;
	int r;

	face_clear(f);
	cursor_init(&c, p, n);
	r = JPKI_ERR_INPUT;
	if (n > CARD_FACE_EF_MAX || take(&c, FACE_TAG, &outer) ||
	    take(&outer, FACE_TAG_HEADER, &header) ||
	    cursor_left(&header) == 0 ||
	    cursor_left(&header) > CARD_FACE_HEADER_MAX)
		goto fail;
	if (jbuf_put(&f->header, header.p, cursor_left(&header))) {
		r = JPKI_ERR_NOMEM;
		goto fail;
	}
	/* Only the elements' order is relied on, never the header. */
	if (take_str(&outer, FACE_TAG_BIRTH, f->birth, sizeof(f->birth)) ||
	    take_str(&outer, FACE_TAG_SEX, f->sex, sizeof(f->sex)) ||
	    (r = take_buf(&outer, FACE_TAG_KEY, CARD_FACE_KEY_MAX,
	    &f->public_key)) ||
	    (r = take_buf(&outer, FACE_TAG_NAME, CARD_FACE_IMAGE_MAX,
	    &f->name)) ||
	    (r = take_buf(&outer, FACE_TAG_ADDRESS, CARD_FACE_IMAGE_MAX,
	    &f->address)) ||
	    (r = take_buf(&outer, FACE_TAG_PHOTO, CARD_FACE_IMAGE_MAX,
	    &f->photo)) ||
	    (r = take_buf(&outer, FACE_TAG_SIGNATURE, FACE_SIG_MAX,
	    &f->signature)) ||
	    (r = JPKI_ERR_INPUT, take_str(&outer, FACE_TAG_EXPIRY, f->expiry,
	    sizeof(f->expiry))) ||
	    (r = take_buf(&outer, FACE_TAG_CODE, CARD_FACE_IMAGE_MAX,
	    &f->code)) || (r = JPKI_ERR_INPUT, cursor_left(&outer) != 0))
		goto fail;
	if ((r = check_face(f)) != JPKI_OK) {
		face_clear(f);
		return r;
	}
	return JPKI_OK;
fail:
	face_clear(f);
	if (r == JPKI_ERR_NOMEM)
		return nomem();
	return jpki_fail(JPKI_ERR_INPUT, "card-face EF 0002 is not FF 20 { "
	    "DF 21 header, DF 22 birth, DF 23 sex, DF 24 key, DF 25 name, "
	    "DF 26 address, DF 27 photo, DF 28 signature, DF 29 expiry, "
	    "DF 2A code }");
}

/* ---- the card issuer's key in DF 24 ------------------------------------- */

static int
put_bn(struct jbuf *b, unsigned tag, EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[CARD_RSA_MODULUS_MAX];
	int n;

	if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "card issuer key: not RSA");
	n = BN_num_bytes(bn);
	if (n <= 0 || n > (int)sizeof(buf)) {
		BN_free(bn);
		return jpki_fail(JPKI_ERR_CRYPTO, "card issuer key: too large");
	}
	BN_bn2bin(bn, buf);
	BN_free(bn);
	return card_tlv_put(b, tag, buf, (size_t)n);
}

int
card_face_encode_public_key(EVP_PKEY *issuer, struct jbuf *out)
{
	int r;

	/* e then n, in the order AokiApp's decodePublicKey reads them, as
	 * in card-info EF 0004. */
	if ((r = put_bn(out, KEY_TAG_EXPONENT, issuer,
	    OSSL_PKEY_PARAM_RSA_E)) != JPKI_OK)
		return r;
	return put_bn(out, KEY_TAG_MODULUS, issuer, OSSL_PKEY_PARAM_RSA_N);
}

static int
key_of(const struct jbuf *pk, EVP_PKEY **out)
{
	static const char what[] = "card-face DF 24 is not an RSA public key "
	    "{ 82 e, 81 n }";
	struct cursor c, e, n;

	*out = NULL;
	cursor_init(&c, pk->data, pk->len);
	if (take(&c, KEY_TAG_EXPONENT, &e) != JPKI_OK ||
	    take(&c, KEY_TAG_MODULUS, &n) != JPKI_OK || cursor_left(&c) != 0)
		return jpki_fail(JPKI_ERR_INPUT, "%s", what);
	return card_rsa_from(&n, &e, what, out);
}

int
card_face_verify(const struct card_face *f, EVP_PKEY *trusted,
    EVP_PKEY **issuer)
{
	struct jbuf content;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	int r, ok;

	if (issuer != NULL)
		*issuer = NULL;
	jbuf_init(&content);
	if ((r = key_of(&f->public_key, &key)) != JPKI_OK)
		return r;
	if (trusted != NULL && EVP_PKEY_eq(key, trusted) != 1) {
		r = jpki_fail(JPKI_ERR_VERIFY, "card-face DF 24: not the "
		    "trusted card issuer key");
		goto out;
	}
	if (f->signature.len == 0) {
		r = jpki_fail(JPKI_ERR_VERIFY, "card face: not signed");
		goto out;
	}
	/* The header as read is what the signature covers: every byte of
	 * the EF but the signature's is signed. */
	if ((r = card_face_signed_content(f, f->signature.len, &content)) !=
	    JPKI_OK)
		goto out;
	ok = (md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, f->signature.data, f->signature.len,
	    content.data, content.len) == 1;
	ERR_clear_error();
	if (!ok) {
		r = jpki_fail(JPKI_ERR_VERIFY, "card face: the card issuer's "
		    "signature (DF 28) does not verify over the card face as "
		    "read");
		goto out;
	}
	r = JPKI_OK;
	if (issuer != NULL) {
		*issuer = key;
		key = NULL;
	}
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	wipe_free(&content);
	return r;
}

/* ---- the emulated chip's own copy (the counter's) ----------------------- */

int
card_face_outdated(const struct card *c)
{
	const struct jbuf *ef = &c->ef[SEF_FACE_ENTRIES];
	struct card_face f;
	int outdated;

	card_face_init(&f);
	outdated = !c->pin[CARD_SLOT_MATCH(CARD_FACE_MATCH_A)].set ||
	    !c->pin[CARD_SLOT_MATCH(CARD_FACE_MATCH_B)].set ||
	    card_face_parse(ef->data, ef->len, &f) != JPKI_OK;
	jpki_errclear();
	card_face_free(&f);
	return outdated;
}

int
card_face_photo_of(const struct card *c, struct jbuf *out)
{
	const struct jbuf *ef = &c->ef[SEF_FACE_ENTRIES];
	struct card_face f;
	int r;

	card_face_init(&f);
	if (card_face_parse(ef->data, ef->len, &f) != JPKI_OK) {
		jpki_errclear();
		r = jpki_fail(JPKI_ERR_NOTFOUND, "card %s has no card-face "
		    "photo", c->serial_hex);
	} else {
		r = jbuf_put(out, f.photo.data, f.photo.len) ? nomem() :
		    JPKI_OK;
	}
	card_face_free(&f);
	return r;
}
