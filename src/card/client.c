/*
 * client.c: the card client.  What the CLI and the counter do with a card,
 * as APDU sequences over any struct card_transport, so the same code drives
 * the emulator in-process, through vpcd, and a real card through PC/SC.
 *
 * The client never trusts the card's answers any more than a network
 * peer's: lengths are checked against named limits before anything is
 * copied, and an unexpected status word becomes one clear error line.
 */
#include "card/apdu.h"
#include "card/card_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

/* Rounds of 61xx chaining we follow before calling the card broken. */
#define CHAIN_MAX 64
/* Most the client gathers into one buffer, over the exchanges of one
 * read: the largest EF (the card-face EF). */
#define EXCHANGE_MAX CARD_FACE_EF_MAX
/* Update chunk size for writing EFs. */
#define WRITE_CHUNK 240

enum client_app { APP_NONE, APP_JPKI, APP_CARDINFO, APP_CARDFACE };

static const uint8_t sha256_digestinfo[19] = {0x30, 0x31, 0x30, 0x0d, 0x06,
    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0x04, 0x20};

/* Build a short APDU; le < 0 for none, 256 for Le = 00. */
static size_t
build(uint8_t *buf, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
    const void *data, size_t lc, int le)
{
	size_t n = 0;

	buf[n++] = cla;
	buf[n++] = ins;
	buf[n++] = p1;
	buf[n++] = p2;
	if (lc > 0) {
		buf[n++] = (uint8_t)lc;
		memcpy(buf + n, data, lc);
		n += lc;
	}
	if (le >= 0)
		buf[n++] = (uint8_t)(le == 256 ? 0 : le);
	return n;
}

static int
sw_fail(const char *what, uint16_t sw)
{
	switch (sw) {
	case SW_SECURITY:
		return jpki_fail(JPKI_ERR_REFUSED,
		    "%s: the card refused it (6982: security status not "
		    "satisfied)", what);
	case SW_NOT_FOUND:
		return jpki_fail(JPKI_ERR_NOTFOUND,
		    "%s: the card has no such file or application (6A82)",
		    what);
	default:
		return jpki_fail(JPKI_ERR_IO, "%s: the card answered %04X",
		    what, sw);
	}
}

int
card_client_exchange(struct card_transport *t, const uint8_t *cmd, size_t n,
    struct jbuf *out, uint16_t *sw)
{
	uint8_t resp[APDU_RESP_MAX], again[APDU_MAX];
	size_t rlen;
	int r;

	if (n > APDU_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "APDU too long");
	memcpy(again, cmd, n);
	for (int round = 0; round < CHAIN_MAX; round++) {
		if ((r = t->transmit(t, again, n, resp, &rlen)) != JPKI_OK)
			return r;
		if (rlen < 2 || rlen > APDU_RESP_MAX)
			return jpki_fail(JPKI_ERR_IO, "card: malformed response");
		*sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
		if (out != NULL && rlen > 2) {
			if (rlen - 2 > EXCHANGE_MAX - out->len)
				return jpki_fail(JPKI_ERR_IO,
				    "card: answer longer than %d bytes",
				    EXCHANGE_MAX);
			if (jbuf_put(out, resp, rlen - 2) != JPKI_OK)
				return jpki_fail(JPKI_ERR_NOMEM,
				    "out of memory");
		}
		if ((*sw & 0xFF00) == 0x6100) {
			/* More data: GET RESPONSE. */
			n = build(again, 0x00, 0xC0, 0, 0, NULL, 0,
			    (*sw & 0xFF) == 0 ? 256 : (*sw & 0xFF));
		} else if ((*sw & 0xFF00) == 0x6C00 && n >= 5) {
			/* Wrong Le: send again with the one it names. */
			again[n - 1] = (uint8_t)*sw;
		} else {
			jpki_wipe(again, sizeof(again));
			return JPKI_OK;
		}
	}
	return jpki_fail(JPKI_ERR_IO, "card: endless response chaining");
}

/* Exchange and insist on 9000. */
static int
exchange_ok(struct card_transport *t, const char *what, const uint8_t *cmd,
    size_t n, struct jbuf *out)
{
	uint16_t sw;
	int r;

	if ((r = card_client_exchange(t, cmd, n, out, &sw)) != JPKI_OK)
		return r;
	return sw == SW_OK ? JPKI_OK : sw_fail(what, sw);
}

static int
select_app(struct card_transport *t, enum client_app app)
{
	uint8_t cmd[APDU_MAX];
	const uint8_t *aid = app == APP_JPKI ? card_aid_jpki :
	    app == APP_CARDINFO ? card_aid_cardinfo : card_aid_cardface;
	size_t n;
	int r;

	if (t->client_app == (int)app)
		return JPKI_OK;
	n = build(cmd, 0x00, 0xA4, 0x04, 0x0C, aid, 10, -1);
	r = exchange_ok(t, app == APP_JPKI ? "SELECT JPKI-AP" :
	    app == APP_CARDINFO ? "SELECT card-info AP" :
	    "SELECT card-face AP", cmd, n, NULL);
	t->client_app = r == JPKI_OK ? (int)app : APP_NONE;
	return r;
}

int
card_client_select_jpki(struct card_transport *t)
{
	return select_app(t, APP_JPKI);
}

int
card_client_select_cardinfo(struct card_transport *t)
{
	return select_app(t, APP_CARDINFO);
}

static int
select_ef(struct card_transport *t, uint16_t fid, uint16_t *sw)
{
	uint8_t cmd[8], id[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	size_t n = build(cmd, 0x00, 0xA4, 0x02, 0x0C, id, 2, -1);

	return card_client_exchange(t, cmd, n, NULL, sw);
}

static int
select_ef_ok(struct card_transport *t, uint16_t fid)
{
	char what[32];
	uint16_t sw;
	int r;

	if ((r = select_ef(t, fid, &sw)) != JPKI_OK)
		return r;
	snprintf(what, sizeof(what), "SELECT EF %04X", fid);
	return sw == SW_OK ? JPKI_OK : sw_fail(what, sw);
}

static int
read_binary(struct card_transport *t, size_t off, size_t le, struct jbuf *out,
    uint16_t *sw)
{
	uint8_t cmd[5];
	size_t n = build(cmd, 0x00, 0xB0, (uint8_t)(off >> 8), (uint8_t)off,
	    NULL, 0, (int)le);

	return card_client_exchange(t, cmd, n, out, sw);
}

/* ---- PINs -------------------------------------------------------------- */

static enum client_app
pin_app(enum pin_kind pin)
{
	return pin == PIN_CARDINFO ? APP_CARDINFO : APP_JPKI;
}

static uint16_t
pin_ef(enum pin_kind pin)
{
	switch (pin) {
	case PIN_AUTH:
		return CARD_EF_AUTH_PIN;
	case PIN_SIGN:
		return CARD_EF_SIGN_PIN;
	default:
		return CARD_EF_INFO_PIN;
	}
}

static const char *
pin_label(enum pin_kind pin)
{
	switch (pin) {
	case PIN_AUTH:
		return "authentication PIN";
	case PIN_SIGN:
		return "signing password";
	default:
		return "card-info PIN";
	}
}

/* A secret a VERIFY names: one of the PINs, or a collation number of the
 * card-info AP. */
struct secret {
	enum client_app app;
	uint16_t fid;
	const char *label;
	int tries; /* full tries */
};

static struct secret
secret_pin(enum pin_kind pin)
{
	struct secret s = {pin_app(pin), pin_ef(pin), pin_label(pin),
	    rules_pin_tries(pin)};

	return s;
}

static struct secret
secret_match(enum card_match m)
{
	static const struct secret table[CARD_MATCH_COUNT] = {
	    {APP_CARDINFO, CARD_EF_INFO_MATCH_A, "collation number A",
		CARD_MATCH_TRIES},
	    {APP_CARDINFO, CARD_EF_INFO_MATCH_B, "collation number B",
		CARD_MATCH_TRIES},
	    {APP_CARDFACE, CARD_EF_FACE_MATCH_A, "card-face collation number "
		"A", CARD_MATCH_TRIES},
	    {APP_CARDFACE, CARD_EF_FACE_MATCH_B, "card-face collation number "
		"B", CARD_MATCH_TRIES},
	};
	struct secret none = {APP_NONE, 0, "collation number", 0};

	return (unsigned)m < CARD_MATCH_COUNT ? table[m] : none;
}

static int
select_secret(struct card_transport *t, const struct secret *s)
{
	int r;

	if (s->tries == 0)
		return jpki_fail(JPKI_ERR_USAGE, "unknown PIN kind");
	if ((r = select_app(t, s->app)) != JPKI_OK)
		return r;
	return select_ef_ok(t, s->fid);
}

static int
select_pin(struct card_transport *t, enum pin_kind pin)
{
	struct secret s = secret_pin(pin);

	return select_secret(t, &s);
}

static int
secret_status(struct card_transport *t, const struct secret *s,
    struct card_pin_status *ps)
{
	uint8_t cmd[4];
	uint16_t sw;
	int r;

	memset(ps, 0, sizeof(*ps));
	if ((r = select_secret(t, s)) != JPKI_OK)
		return r;
	build(cmd, 0x00, 0x20, 0x00, 0x80, NULL, 0, -1);
	if ((r = card_client_exchange(t, cmd, 4, NULL, &sw)) != JPKI_OK)
		return r;
	if ((sw & 0xFFF0) == 0x63C0) {
		ps->initialised = 1;
		ps->tries_left = sw & 0x0F;
		ps->locked = ps->tries_left == 0;
		return JPKI_OK;
	}
	if (sw == SW_BLOCKED) {
		/* This card says 6984 to an empty VERIFY only for a PIN the
		 * counter never set; other cards may mean blocked. */
		return JPKI_OK;
	}
	if (sw == SW_OK) {
		/* Some cards say 9000 when the PIN is verified already. */
		ps->initialised = 1;
		ps->tries_left = s->tries;
		return JPKI_OK;
	}
	return sw_fail("VERIFY (tries left)", sw);
}

static int
pin_status(struct card_transport *t, enum pin_kind pin,
    struct card_pin_status *ps)
{
	struct secret s = secret_pin(pin);

	return secret_status(t, &s, ps);
}

static int
verify_answer(const struct secret *s, uint16_t sw, int *tries_left)
{
	if (sw == SW_OK) {
		if (tries_left != NULL)
			*tries_left = s->tries;
		return JPKI_OK;
	}
	if ((sw & 0xFFF0) == 0x63C0) {
		int left = sw & 0x0F;

		if (tries_left != NULL)
			*tries_left = left;
		if (left == 0)
			return jpki_fail(JPKI_ERR_LOCKED,
			    "wrong %s: 0 tries left, it is now locked; only "
			    "the counter can reset it (R2)", s->label);
		return jpki_fail(JPKI_ERR_PIN, "wrong %s: %d %s left",
		    s->label, left, left == 1 ? "try" : "tries");
	}
	if (sw == SW_BLOCKED) {
		if (tries_left != NULL)
			*tries_left = 0;
		return jpki_fail(JPKI_ERR_LOCKED,
		    "the %s is locked (or was never set); only the counter "
		    "can reset it (R2)", s->label);
	}
	return sw_fail("VERIFY", sw);
}

/* Normalise and check a PIN's format into buf, before any try is spent. */
static int
prepare_pin(enum pin_kind pin, const char *value, char buf[CARD_PIN_MAX + 1])
{
	size_t n = strnlen(value, CARD_PIN_MAX + 1);

	if (n > CARD_PIN_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "%s too long", pin_label(pin));
	memcpy(buf, value, n);
	buf[n] = '\0';
	rules_pin_normalise(pin, buf);
	return rules_pin_check(pin, buf);
}

/* VERIFY a secret whose format was checked. */
static int
verify_secret(struct card_transport *t, const struct secret *s,
    const char *value, int *tries_left)
{
	uint8_t cmd[APDU_MAX];
	uint16_t sw;
	size_t n;
	int r;

	if ((r = select_secret(t, s)) != JPKI_OK)
		return r;
	n = build(cmd, 0x00, 0x20, 0x00, 0x80, value, strlen(value), -1);
	r = card_client_exchange(t, cmd, n, NULL, &sw);
	jpki_wipe(cmd, sizeof(cmd));
	if (r == JPKI_OK)
		r = verify_answer(s, sw, tries_left);
	return r;
}

int
card_client_verify(struct card_transport *t, enum pin_kind pin,
    const char *value, int *tries_left)
{
	struct secret s = secret_pin(pin);
	char buf[CARD_PIN_MAX + 1];
	int r;

	if ((r = prepare_pin(pin, value, buf)) != JPKI_OK)
		goto fail;
	r = verify_secret(t, &s, buf, tries_left);
fail:
	jpki_wipe(buf, sizeof(buf));
	return r;
}

/* A collation number's format: 12 (A) or 14 (B) digits. */
static int
prepare_match(enum card_match m, const char *value,
    char buf[CARD_PIN_MAX + 1])
{
	size_t want = CARD_MATCH_IS_A(m) ? CARD_MATCH_A_LEN : CARD_MATCH_B_LEN;
	size_t n = strnlen(value, CARD_PIN_MAX + 1);

	if ((unsigned)m >= CARD_MATCH_COUNT)
		return jpki_fail(JPKI_ERR_USAGE, "unknown collation number");
	if (n != want || strspn(value, "0123456789") != want)
		return jpki_fail(JPKI_ERR_INPUT, "collation number %c must be "
		    "exactly %zu digits", CARD_MATCH_IS_A(m) ? 'A' : 'B', want);
	memcpy(buf, value, n + 1);
	return JPKI_OK;
}

int
card_client_verify_match(struct card_transport *t, enum card_match m,
    const char *value, int *tries_left)
{
	struct secret s = secret_match(m);
	char buf[CARD_PIN_MAX + 1];
	int r;

	if ((r = prepare_match(m, value, buf)) == JPKI_OK)
		r = verify_secret(t, &s, buf, tries_left);
	jpki_wipe(buf, sizeof(buf));
	return r;
}

int
card_client_change_pin(struct card_transport *t, enum pin_kind pin,
    const char *old_value, const char *new_value, int *tries_left)
{
	char buf[CARD_PIN_MAX + 1];
	uint8_t cmd[APDU_MAX];
	uint16_t sw;
	size_t n;
	int r;

	/* The new PIN's format first: a typo there must not cost a try. */
	if ((r = prepare_pin(pin, new_value, buf)) != JPKI_OK)
		goto fail;
	if ((r = card_client_verify(t, pin, old_value, tries_left)) !=
	    JPKI_OK)
		goto fail;
	n = build(cmd, 0x00, 0x24, 0x01, 0x80, buf, strlen(buf), -1);
	r = card_client_exchange(t, cmd, n, NULL, &sw);
	jpki_wipe(cmd, sizeof(cmd));
	if (r == JPKI_OK && sw != SW_OK)
		r = sw_fail("CHANGE REFERENCE DATA", sw);
fail:
	jpki_wipe(buf, sizeof(buf));
	return r;
}

/* ---- reading ------------------------------------------------------------ */

static int
read_token_serial(struct card_transport *t, char serial[CARD_SERIAL_HEX])
{
	struct jbuf ti;
	uint16_t sw;
	int r;

	jbuf_init(&ti);
	if ((r = select_app(t, APP_JPKI)) != JPKI_OK ||
	    (r = select_ef_ok(t, CARD_EF_TOKEN_INFO)) != JPKI_OK ||
	    (r = read_binary(t, 0, 256, &ti, &sw)) != JPKI_OK)
		goto fail;
	if (sw != SW_OK) {
		r = sw_fail("READ BINARY token info", sw);
		goto fail;
	}
	/* CK_TOKEN_INFO: label 32, manufacturer 32, model 16, serial 16. */
	memset(serial, 0, CARD_SERIAL_HEX);
	if (ti.len >= 96) {
		memcpy(serial, ti.data + 80, CARD_SERIAL_HEX - 1);
		for (int i = CARD_SERIAL_HEX - 2; i >= 0 && serial[i] == ' ';
		    i--)
			serial[i] = '\0';
	}
fail:
	jbuf_free(&ti);
	return r;
}

/* 1 if the EF holds anything (first byte readable), 0 if empty. */
static int
ef_present(struct card_transport *t, uint16_t fid, int *present)
{
	uint16_t sw;
	int r;

	if ((r = select_ef_ok(t, fid)) != JPKI_OK ||
	    (r = read_binary(t, 0, 1, NULL, &sw)) != JPKI_OK)
		return r;
	if (sw != SW_OK && sw != SW_WRONG_OFFSET && sw != SW_SECURITY)
		return sw_fail("READ BINARY", sw);
	*present = sw == SW_OK;
	return JPKI_OK;
}

int
card_client_status(struct card_transport *t, struct card_status *st)
{
	struct jbuf status;
	uint16_t sw;
	int r;

	memset(st, 0, sizeof(*st));
	jbuf_init(&status);
	if ((r = read_token_serial(t, st->serial)) != JPKI_OK)
		goto fail;
	if ((r = select_ef_ok(t, CARD_EF_STATUS)) != JPKI_OK ||
	    (r = read_binary(t, 0, 3, &status, &sw)) != JPKI_OK)
		goto fail;
	if (sw != SW_OK || status.len < 2) {
		r = sw_fail("READ BINARY EF 0008", sw);
		goto fail;
	}
	st->sign_cert = status.data[0] != 0x00;
	st->auth_cert = status.data[1] != 0x00;
	if ((r = ef_present(t, CARD_EF_SIGN_CA, &st->sign_ca)) != JPKI_OK ||
	    (r = ef_present(t, CARD_EF_AUTH_CA, &st->auth_ca)) != JPKI_OK)
		goto fail;
	for (int k = PIN_AUTH; k <= PIN_CARDINFO; k++)
		if ((r = pin_status(t, (enum pin_kind)k, &st->pin[k])) !=
		    JPKI_OK)
			goto fail;
	/* A JPKI without a card-info or card-face AP (a smartphone's) or a
	 * card without collation numbers: shown as not set, the rest still
	 * answers. */
	for (int m = 0; m < CARD_MATCH_COUNT; m++) {
		struct secret s = secret_match((enum card_match)m);

		r = secret_status(t, &s, &st->match[m]);
		if (r == JPKI_ERR_NOTFOUND) {
			jpki_errclear();
			r = JPKI_OK;
		} else if (r != JPKI_OK) {
			goto fail;
		}
	}
fail:
	jbuf_free(&status);
	return r;
}

enum card_cert
card_cert_for(enum cert_type type, int whose)
{
	if (type != CERT_SIGN && type != CERT_AUTH)
		return (enum card_cert)0;
	if (whose == CARD_CERT_OWN)
		return (enum card_cert)type;
	return type == CERT_SIGN ? CARD_CERT_SIGN_CA : CARD_CERT_AUTH_CA;
}

static uint16_t
cert_ef(enum card_cert which)
{
	switch (which) {
	case CARD_CERT_SIGN:
		return CARD_EF_SIGN_CERT;
	case CARD_CERT_AUTH:
		return CARD_EF_AUTH_CERT;
	case CARD_CERT_SIGN_CA:
		return CARD_EF_SIGN_CA;
	case CARD_CERT_AUTH_CA:
		return CARD_EF_AUTH_CA;
	}
	return 0;
}

int
card_client_read_cert(struct card_transport *t, enum card_cert which,
    struct jbuf *out)
{
	struct jbuf head;
	uint16_t sw, fid = cert_ef(which);
	size_t total;
	int r;

	jbuf_init(out);
	jbuf_init(&head);
	if (fid == 0)
		return jpki_fail(JPKI_ERR_USAGE, "unknown certificate EF");
	if ((r = select_app(t, APP_JPKI)) != JPKI_OK ||
	    (r = select_ef_ok(t, fid)) != JPKI_OK ||
	    (r = read_binary(t, 0, 4, &head, &sw)) != JPKI_OK)
		goto fail;
	if (sw == SW_WRONG_OFFSET) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "the card holds no certificate in EF %04X", fid);
		goto fail;
	}
	if (sw == SW_SECURITY && which == CARD_CERT_SIGN) {
		r = jpki_fail(JPKI_ERR_REFUSED, "the signing certificate is "
		    "readable only after the signing password");
		goto fail;
	}
	if (sw != SW_OK) {
		r = sw_fail("READ BINARY certificate", sw);
		goto fail;
	}
	/* A certificate EF starts 30 82 HH LL (OpenSC sizes it that way). */
	if (head.len != 4 || head.data[0] != 0x30 || head.data[1] != 0x82) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "EF %04X does not start with a DER certificate", fid);
		goto fail;
	}
	total = 4 + ((size_t)head.data[2] << 8 | head.data[3]);
	if (total > CARD_EF_MAX) {
		r = jpki_fail(JPKI_ERR_INPUT, "EF %04X: certificate longer "
		    "than %d bytes", fid, CARD_EF_MAX);
		goto fail;
	}
	while (out->len < total) {
		size_t before = out->len, want = total - out->len;

		if ((r = read_binary(t, out->len, want > 256 ? 256 : want,
		    out, &sw)) != JPKI_OK)
			goto fail;
		if (sw != SW_OK || out->len == before) {
			r = jpki_fail(JPKI_ERR_INPUT,
			    "EF %04X: certificate shorter than its header "
			    "says", fid);
			goto fail;
		}
	}
	out->len = total;
fail:
	jbuf_free(&head);
	if (r != JPKI_OK)
		jbuf_free(out);
	return r;
}

int
card_client_sign_digestinfo(struct card_transport *t, enum cert_type key,
    const uint8_t *di, size_t di_len, uint8_t sig[CARD_SIG_LEN])
{
	uint8_t cmd[APDU_MAX];
	struct jbuf out;
	uint16_t sw;
	size_t n;
	int r;

	jbuf_init(&out);
	if (di_len == 0 || di_len > CARD_SIG_LEN - 11)
		return jpki_fail(JPKI_ERR_INPUT, "a DigestInfo of %zu bytes "
		    "does not fit PKCS#1 v1.5 with RSA-2048", di_len);
	if ((r = select_app(t, APP_JPKI)) != JPKI_OK ||
	    (r = select_ef_ok(t, key == CERT_SIGN ? CARD_EF_SIGN_KEY :
	    CARD_EF_AUTH_KEY)) != JPKI_OK)
		goto fail;
	n = build(cmd, 0x80, 0x2A, 0x00, 0x80, di, di_len, 256);
	if ((r = card_client_exchange(t, cmd, n, &out, &sw)) != JPKI_OK)
		goto fail;
	if (sw == SW_SECURITY) {
		r = jpki_fail(JPKI_ERR_REFUSED, "the card will not sign "
		    "before the %s is verified", key == CERT_SIGN ?
		    "signing password" : "authentication PIN");
		goto fail;
	}
	if (sw != SW_OK) {
		r = sw_fail("COMPUTE DIGITAL SIGNATURE", sw);
		goto fail;
	}
	if (out.len != CARD_SIG_LEN) {
		r = jpki_fail(JPKI_ERR_IO, "signature of %zu bytes, not %d",
		    out.len, CARD_SIG_LEN);
		goto fail;
	}
	memcpy(sig, out.data, CARD_SIG_LEN);
fail:
	jbuf_free(&out);
	return r;
}

int
card_client_sign_sha256(struct card_transport *t, enum cert_type key,
    const uint8_t hash[32], uint8_t sig[CARD_SIG_LEN])
{
	uint8_t di[sizeof(sha256_digestinfo) + 32];

	memcpy(di, sha256_digestinfo, sizeof(sha256_digestinfo));
	memcpy(di + sizeof(sha256_digestinfo), hash, 32);
	return card_client_sign_digestinfo(t, key, di, sizeof(di), sig);
}

/* ---- card-info AP ------------------------------------------------------- */

/* Read a TLV-shaped EF as real clients do (myna): the first
 * TLV_PEEK_LEN bytes, the TLV's length from them, then exactly the rest,
 * so a card's answer past the end of the file is never relied on.  At
 * most max bytes. */
#define TLV_PEEK_LEN 7
static int
read_tlv_ef(struct card_transport *t, uint16_t fid, size_t max,
    struct jbuf *out)
{
	size_t total;
	uint16_t sw;
	int r;

	if ((r = select_ef_ok(t, fid)) != JPKI_OK)
		return r;
	while (out->len < TLV_PEEK_LEN) {
		size_t before = out->len;

		if ((r = read_binary(t, out->len, TLV_PEEK_LEN - out->len, out,
		    &sw)) != JPKI_OK)
			return r;
		if (sw == SW_WRONG_OFFSET)
			break; /* a file shorter than the peek */
		if (sw == SW_SECURITY)
			return jpki_fail(JPKI_ERR_REFUSED, "the card-info AP "
			    "is readable only after its PIN");
		if (sw != SW_OK)
			return sw_fail("READ BINARY", sw);
		if (out->len == before)
			break;
	}
	if (out->len == 0)
		return JPKI_OK; /* never written */
	if (card_tlv_header_len(out->data, out->len, &total) != JPKI_OK)
		return jpki_fail(JPKI_ERR_INPUT, "EF %04X does not start with "
		    "a BER-TLV", fid);
	if (total > max)
		return jpki_fail(JPKI_ERR_INPUT, "EF %04X holds %zu bytes, "
		    "more than %zu", fid, total, max);
	while (out->len < total) {
		size_t before = out->len, want = total - out->len;

		if ((r = read_binary(t, out->len, want < 256 ? want : 256, out,
		    &sw)) != JPKI_OK)
			return r;
		if (sw != SW_OK)
			return sw_fail("READ BINARY", sw);
		if (out->len == before)
			return jpki_fail(JPKI_ERR_INPUT, "EF %04X ends before "
			    "its TLV", fid);
	}
	if (out->len > total)
		out->len = total;
	return JPKI_OK;
}

int
card_client_read_info(struct card_transport *t, struct card_info *info)
{
	struct jbuf num, facts;
	int r;

	memset(info, 0, sizeof(*info));
	jbuf_init(&num);
	jbuf_init(&facts);
	if ((r = select_app(t, APP_CARDINFO)) != JPKI_OK ||
	    (r = read_tlv_ef(t, CARD_EF_INFO_NUMBER, CARD_INFO_NUMBER_EF_LEN,
	    &num)) != JPKI_OK ||
	    (r = read_tlv_ef(t, CARD_EF_INFO_FACTS, CARD_EF_MAX, &facts)) !=
	    JPKI_OK)
		goto fail;
	if (num.len == 0 && facts.len == 0) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "the card-info AP has not been written");
		goto fail;
	}
	if ((r = card_info_parse_number(num.data, num.len, info)) !=
	    JPKI_OK ||
	    (r = card_info_parse_facts(facts.data, facts.len, info)) !=
	    JPKI_OK)
		goto fail;
fail:
	jbuf_free(&num);
	jbuf_free(&facts);
	return r;
}

/* One card-info EF as read_tlv_ef reads it, but an EF the security state
 * keeps closed is left empty. */
static int
read_info_ef(struct card_transport *t, uint16_t fid, size_t max,
    struct jbuf *out)
{
	int r = read_tlv_ef(t, fid, max, out);

	if (r == JPKI_ERR_REFUSED) {
		jpki_errclear();
		out->len = 0;
		return JPKI_OK;
	}
	return r;
}

int
card_client_read_info_files(struct card_transport *t,
    struct card_info_files *f)
{
	int r;

	if ((r = select_app(t, APP_CARDINFO)) != JPKI_OK ||
	    (r = read_info_ef(t, CARD_EF_INFO_NUMBER, CARD_INFO_NUMBER_EF_LEN,
	    &f->number)) != JPKI_OK ||
	    (r = read_info_ef(t, CARD_EF_INFO_FACTS, CARD_EF_MAX,
	    &f->facts)) != JPKI_OK ||
	    (r = read_info_ef(t, CARD_EF_INFO_SIGNATURE,
	    CARD_INFO_SIGNATURE_EF_MAX, &f->signature)) != JPKI_OK ||
	    (r = read_info_ef(t, CARD_EF_INFO_CERT, CARD_INFO_CERT_EF_MAX,
	    &f->cert)) != JPKI_OK)
		return r;
	return read_info_ef(t, CARD_EF_INFO_APINFO, CARD_INFO_APINFO_EF_LEN,
	    &f->apinfo);
}

/* ---- issuer operations ------------------------------------------------- */

static int
hex_serial(const char *hex, uint8_t serial[CARD_SERIAL_LEN])
{
	for (int i = 0; i < CARD_SERIAL_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2X", &v) != 1)
			return JPKI_ERR_INPUT;
		serial[i] = (uint8_t)v;
	}
	return strlen(hex) == 2 * CARD_SERIAL_LEN ? JPKI_OK : JPKI_ERR_INPUT;
}

int
card_client_issuer_auth(struct card_transport *t,
    const uint8_t master[CARD_ISSUER_KEY_LEN])
{
	char hex[CARD_SERIAL_HEX];
	uint8_t serial[CARD_SERIAL_LEN], key[CARD_ISSUER_KEY_LEN], mac[32];
	uint8_t cmd[APDU_MAX];
	struct jbuf challenge;
	uint16_t sw;
	size_t n;
	int r;

	jbuf_init(&challenge);
	if ((r = read_token_serial(t, hex)) != JPKI_OK)
		goto fail;
	if (hex_serial(hex, serial) != JPKI_OK) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "this card has no emulator serial: not an openjpki card");
		goto fail;
	}
	n = build(cmd, 0x00, 0x84, 0, 0, NULL, 0, CARD_CHALLENGE_LEN);
	if ((r = exchange_ok(t, "GET CHALLENGE", cmd, n, &challenge)) !=
	    JPKI_OK)
		goto fail;
	if (challenge.len != CARD_CHALLENGE_LEN) {
		r = jpki_fail(JPKI_ERR_IO, "GET CHALLENGE: wrong length");
		goto fail;
	}
	if ((r = card_issuer_key_derive(master, serial, key)) != JPKI_OK ||
	    (r = card_issuer_response(key, serial, challenge.data, mac)) !=
	    JPKI_OK)
		goto fail;
	n = build(cmd, 0x00, 0x82, 0, 0, mac, sizeof(mac), -1);
	if ((r = card_client_exchange(t, cmd, n, NULL, &sw)) != JPKI_OK)
		goto fail;
	if (sw == SW_AUTH_FAILED)
		r = jpki_fail(JPKI_ERR_VERIFY, "card %s refused the issuer "
		    "key: it was made under another issuer master key", hex);
	else if (sw != SW_OK)
		r = sw_fail("EXTERNAL AUTHENTICATE", sw);
fail:
	jpki_wipe(key, sizeof(key));
	jpki_wipe(mac, sizeof(mac));
	jpki_wipe(cmd, sizeof(cmd));
	jbuf_free(&challenge);
	return r;
}

int
card_client_generate_key(struct card_transport *t, enum cert_type key,
    struct jbuf *spki)
{
	uint16_t fid = key == CERT_SIGN ? CARD_EF_SIGN_KEY : CARD_EF_AUTH_KEY;
	uint8_t cmd[8], id[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
	size_t n;
	int r;

	jbuf_init(spki);
	if ((r = select_app(t, APP_JPKI)) != JPKI_OK)
		return r;
	n = build(cmd, 0x00, 0x47, 0, 0, id, 2, 256);
	if ((r = exchange_ok(t, "GENERATE ASYMMETRIC KEY PAIR", cmd, n,
	    spki)) != JPKI_OK)
		jbuf_free(spki);
	return r;
}

int
card_client_erase_key(struct card_transport *t, enum cert_type key)
{
	uint16_t fid = key == CERT_SIGN ? CARD_EF_SIGN_KEY : CARD_EF_AUTH_KEY;
	uint8_t cmd[8];
	size_t n;
	int r;

	if ((r = select_app(t, APP_JPKI)) != JPKI_OK ||
	    (r = select_ef_ok(t, fid)) != JPKI_OK)
		return r;
	n = build(cmd, 0x00, 0x0E, 0, 0, NULL, 0, -1);
	return exchange_ok(t, "ERASE BINARY (key)", cmd, n, NULL);
}

/* Empty an EF, then write p[0..n) front to back. */
static int
write_ef_max(struct card_transport *t, uint16_t fid, const uint8_t *p,
    size_t n, size_t max)
{
	uint8_t cmd[APDU_MAX];
	size_t len;
	int r;

	if (n > max)
		return jpki_fail(JPKI_ERR_INPUT, "%zu bytes do not fit in EF "
		    "%04X (at most %zu)", n, fid, max);
	if ((r = select_ef_ok(t, fid)) != JPKI_OK)
		return r;
	len = build(cmd, 0x00, 0x0E, 0, 0, NULL, 0, -1);
	if ((r = exchange_ok(t, "ERASE BINARY", cmd, len, NULL)) != JPKI_OK)
		return r;
	for (size_t off = 0; off < n; off += WRITE_CHUNK) {
		size_t chunk = n - off < WRITE_CHUNK ? n - off : WRITE_CHUNK;

		len = build(cmd, 0x00, 0xD6, (uint8_t)(off >> 8), (uint8_t)off,
		    p + off, chunk, -1);
		if ((r = exchange_ok(t, "UPDATE BINARY", cmd, len, NULL)) !=
		    JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

static int
write_ef(struct card_transport *t, uint16_t fid, const uint8_t *p, size_t n)
{
	return write_ef_max(t, fid, p, n, CARD_EF_MAX);
}

int
card_client_write_cert(struct card_transport *t, enum card_cert which,
    const uint8_t *der, size_t n)
{
	uint16_t fid = cert_ef(which);
	int r;

	if (fid == 0)
		return jpki_fail(JPKI_ERR_USAGE, "unknown certificate EF");
	if (der != NULL && (n < 4 || der[0] != 0x30 || der[1] != 0x82))
		return jpki_fail(JPKI_ERR_INPUT, "a certificate EF takes a DER "
		    "certificate of 256 bytes or more (30 82 ...)");
	if ((r = select_app(t, APP_JPKI)) != JPKI_OK)
		return r;
	return write_ef(t, fid, der, der != NULL ? n : 0);
}

int
card_client_set_pin(struct card_transport *t, enum pin_kind pin,
    const char *value)
{
	char buf[CARD_PIN_MAX + 1];
	uint8_t cmd[APDU_MAX];
	size_t n;
	int r;

	if ((r = prepare_pin(pin, value, buf)) != JPKI_OK)
		goto fail;
	if ((r = select_pin(t, pin)) != JPKI_OK)
		goto fail;
	n = build(cmd, 0x00, 0x2C, 0x02, 0x80, buf, strlen(buf), -1);
	r = exchange_ok(t, "RESET RETRY COUNTER", cmd, n, NULL);
	jpki_wipe(cmd, sizeof(cmd));
fail:
	jpki_wipe(buf, sizeof(buf));
	return r;
}

int
card_client_write_info_signature(struct card_transport *t,
    const struct jbuf *signature, const struct jbuf *cert,
    const struct jbuf *apinfo)
{
	int r;

	if ((r = select_app(t, APP_CARDINFO)) != JPKI_OK ||
	    (r = write_ef(t, CARD_EF_INFO_SIGNATURE, signature->data,
	    signature->len)) != JPKI_OK ||
	    (r = write_ef(t, CARD_EF_INFO_CERT, cert->data, cert->len)) !=
	    JPKI_OK)
		return r;
	return write_ef(t, CARD_EF_INFO_APINFO, apinfo->data, apinfo->len);
}

int
card_client_set_match(struct card_transport *t, enum card_match m,
    const char *value)
{
	struct secret s = secret_match(m);
	char buf[CARD_PIN_MAX + 1];
	uint8_t cmd[APDU_MAX];
	size_t n;
	int r;

	if ((r = prepare_match(m, value, buf)) != JPKI_OK ||
	    (r = select_secret(t, &s)) != JPKI_OK)
		goto fail;
	n = build(cmd, 0x00, 0x2C, 0x02, 0x80, buf, strlen(buf), -1);
	r = exchange_ok(t, "RESET RETRY COUNTER", cmd, n, NULL);
	jpki_wipe(cmd, sizeof(cmd));
fail:
	jpki_wipe(buf, sizeof(buf));
	return r;
}

int
card_client_write_info(struct card_transport *t,
    const struct card_info *info)
{
	struct jbuf num, facts;
	int r;

	jbuf_init(&num);
	jbuf_init(&facts);
	if ((r = card_info_encode_number(info, &num)) != JPKI_OK ||
	    (r = card_info_encode_facts(info, &facts)) != JPKI_OK)
		goto fail;
	if ((r = select_app(t, APP_CARDINFO)) != JPKI_OK ||
	    (r = write_ef(t, CARD_EF_INFO_NUMBER, num.data, num.len)) ||
	    (r = write_ef(t, CARD_EF_INFO_FACTS, facts.data, facts.len)))
		goto fail;
fail:
	jbuf_free(&num);
	jbuf_free(&facts);
	return r;
}

/* ---- the card-face AP --------------------------------------------------- */

int
card_client_read_face(struct card_transport *t, struct jbuf *ef)
{
	int r;

	if ((r = select_app(t, APP_CARDFACE)) != JPKI_OK)
		return r;
	r = read_tlv_ef(t, CARD_EF_FACE_ENTRIES, CARD_FACE_EF_MAX, ef);
	if (r == JPKI_ERR_REFUSED)
		return jpki_fail(r, "the card-face AP is readable only after "
		    "its collation number A or B");
	if (r == JPKI_OK && ef->len == 0)
		return jpki_fail(JPKI_ERR_NOTFOUND, "the card-face AP has not "
		    "been written");
	return r;
}

int
card_client_write_face(struct card_transport *t, const struct jbuf *ef)
{
	int r;

	if ((r = select_app(t, APP_CARDFACE)) != JPKI_OK)
		return r;
	return write_ef_max(t, CARD_EF_FACE_ENTRIES, ef->data, ef->len,
	    CARD_FACE_EF_MAX);
}
