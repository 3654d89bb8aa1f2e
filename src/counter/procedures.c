/*
 * procedures.c: the counter's procedures (issue 4, items 1-5 and 8).
 *
 * Each runs the same course: check the clerk's input; open the card (its
 * image loaded, locked and copied into a memory-only chip, cardops.c);
 * read the register and the card record and check every rule (so a
 * refusal changes nothing and costs nothing); do the slow work on the chip
 * -- its new keys, 0.2-0.5 s each -- with no store lock held, so other
 * clerks' procedures commit meanwhile; then begin one store transaction,
 * read the register and the card record again and check every rule again
 * (a change made meanwhile by a register change, a loss report or another
 * clerk is refused here, never half-applied), issue and revoke through
 * the CA, write the rest onto the chip (certificates, PINs, card-info:
 * memory only, fast), record the receipt, links and audit entry, stage the
 * new image, commit, and put the image in place.  Any failure rolls the
 * store back and drops the memory chip, so the image file is as it was.
 *
 * A card in a PC/SC reader (v->reader) is driven over APDUs instead
 * (cardreader.c): its keys before the transaction, its PINs and collation
 * numbers inside it, and the rest recorded with the commit and applied
 * after it; the procedures read the card through the session (its serial
 * and kind, counter_card_outdated(), counter_card_photo()), which works
 * for both.
 */
#include "counter/counter_int.h"

#include <fcntl.h>
#include <limits.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDEOGRAPHIC_SPACE "\xE3\x80\x80"

/* One procedure in progress. */
struct visit {
	struct ca *ca;
	struct store *s;
	const struct counter_visit *v;
	struct counter_receipt *rcpt;
	int64_t now;
	struct resident res;
	struct card_record card;
	struct card_session cs;
	int have_cs, in_tx, card_written;
	json_t *audit;            /* detail of the counter.* audit entry */
	/* Recorded with the receipt number once the receipt exists. */
	struct {
		char old_serial[SERIAL_HEX_MAX], new_serial[SERIAL_HEX_MAX];
		const char *kind;
	} links[COUNTER_RECEIPT_CERTS_MAX];
	int nlinks;
	int pin_reset;            /* enum pin_kind reset, or 0 */
	/* The public keys the chip generated before the transaction, by
	 * enum cert_type, waiting for their certificates (load_cert). */
	struct jbuf card_key[3];
	int have_card_key[3];
};

/* 新旧紐付け: old -> new, for relying parties. */
static int
link_later(struct visit *w, const char *old_serial, const char *new_serial,
    const char *kind)
{
	if (w->nlinks >= COUNTER_RECEIPT_CERTS_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "too many links");
	snprintf(w->links[w->nlinks].old_serial, SERIAL_HEX_MAX, "%s",
	    old_serial);
	snprintf(w->links[w->nlinks].new_serial, SERIAL_HEX_MAX, "%s",
	    new_serial);
	w->links[w->nlinks++].kind = kind;
	return JPKI_OK;
}

static int
visit_start(struct visit *w, struct ca *ca, const struct counter_visit *v,
    enum procedure proc, struct counter_receipt *rcpt)
{
	int r;

	memset(w, 0, sizeof(*w));
	memset(rcpt, 0, sizeof(*rcpt));
	w->ca = ca;
	w->s = datadir_store(ca_datadir(ca));
	w->v = v;
	w->rcpt = rcpt;
	rcpt->proc = proc;
	if ((r = jpki_now_checked(&w->now)) != JPKI_OK)
		return r;
	rcpt->at = w->now;
	if ((r = counter_visit_check(v)) != JPKI_OK)
		return r;
	snprintf(rcpt->clerk, sizeof(rcpt->clerk), "%s", v->clerk);
	if ((w->audit = json_object()) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	return JPKI_OK;
}

/* The write transaction: the store's lock from here to the commit.  What
 * a procedure decided before it is read and decided again inside it. */
static int
visit_begin(struct visit *w)
{
	int r;

	if ((r = store_begin(w->s)) == JPKI_OK)
		w->in_tx = 1;
	return r;
}

static void
visit_end(struct visit *w)
{
	if (w->in_tx)
		store_rollback(w->s);
	w->in_tx = 0;
	if (w->have_cs)
		counter_card_close(&w->cs);
	w->have_cs = 0;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(w->card_key); i++)
		if (w->have_card_key[i])
			jbuf_free(&w->card_key[i]);
	memset(w->have_card_key, 0, sizeof(w->have_card_key));
	json_decref(w->audit);
	w->audit = NULL;
}

/* ---- reading the register and the card --------------------------------- */

static void note(struct visit *w, const char *text);

/* Open the card, its image or the card in the reader: before the
 * transaction, so the card's lock is taken first; what the chip is (R1)
 * is judged with the rest. */
static int
open_card(struct visit *w, const char *path)
{
	const char *reader = w->v->reader;
	int r;

	if (reader != NULL && path != NULL)
		return jpki_fail(JPKI_ERR_USAGE, "the card is an image or in a "
		    "reader, not both");
	if (reader != NULL) {
		/* What was committed for the card and not yet applied is
		 * applied first (cardreader.c). */
		if ((r = counter_card_open_reader(w->ca, reader, 1,
		    w->v->clerk, &w->cs)) != JPKI_OK)
			return r;
		path = reader;
	} else if (path == NULL || *path == '\0')
		return jpki_fail(JPKI_ERR_USAGE, "the card's image is "
		    "required");
	else if ((r = counter_card_open(w->ca, path, &w->cs)) != JPKI_OK)
		return r;
	w->have_cs = 1;
	if (w->cs.rolled)
		note(w, w->cs.rolled_note);
	snprintf(w->rcpt->card_serial, sizeof(w->rcpt->card_serial), "%s",
	    w->cs.serial);
	snprintf(w->rcpt->card_path, sizeof(w->rcpt->card_path), "%s", path);
	return JPKI_OK;
}

/* Every rule of the procedure, judged on the store as it is now and the
 * card brought (decide.c, as counter_check() judges it for the page);
 * what was read is kept for the procedure.  Called before the slow work
 * and again inside the transaction, where its answer counts. */
static int
decide(struct visit *w, struct counter_plan *p)
{
	int r;

	p->now = w->now;
	if (w->have_cs && !w->cs.is_new) {
		p->card_serial = w->cs.serial;
		p->card_kind = w->cs.kind;
	}
	r = counter_plan_decide(w->s, p);
	if (p->have_res) {
		w->res = p->res;
		w->rcpt->resident_id = w->res.id;
	}
	if (p->have_card) {
		w->card = p->card;
		w->rcpt->card_expiry = w->card.expiry;
		snprintf(w->rcpt->card_serial, sizeof(w->rcpt->card_serial),
		    "%s", w->card.serial);
		json_object_set_new(w->audit, "card",
		    json_string(w->card.serial));
	}
	return r;
}

static void
plan_init(struct counter_plan *p, enum procedure proc, int types,
    int64_t resident_id)
{
	memset(p, 0, sizeof(*p));
	p->proc = proc;
	p->types = types;
	p->resident_id = resident_id;
}

/* ---- PINs -------------------------------------------------------------- */

static const char *
pin_for(const struct counter_pins *pins, enum pin_kind k)
{
	if (pins == NULL)
		return NULL;
	return k == PIN_SIGN ? pins->sign : k == PIN_AUTH ? pins->auth :
	    pins->cardinfo;
}

static const char *
pin_noun(enum pin_kind k)
{
	return k == PIN_SIGN ? "signing password" : k == PIN_AUTH ?
	    "authentication PIN" : "card-info PIN";
}

/* A PIN the holder chose: present and well-formed (checked before any
 * change, never echoed). */
static int
pin_check(const char *value, enum pin_kind k)
{
	char buf[RULES_PIN_MAX + 2];
	size_t n;
	int r;

	if (value == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "%s: needed (the holder "
		    "chooses it)", pin_noun(k));
	if ((n = strlen(value)) >= sizeof(buf))
		return jpki_fail(JPKI_ERR_INPUT, "%s: too long", pin_noun(k));
	memcpy(buf, value, n + 1);
	rules_pin_normalise(k, buf);
	r = rules_pin_check(k, buf);
	jpki_wipe(buf, sizeof(buf));
	return r;
}

/* Set a PIN on the chip (the signing password upper-cased, as clients
 * do before VERIFY). */
static int
pin_set(struct visit *w, enum pin_kind k, const char *value)
{
	char buf[RULES_PIN_MAX + 2];
	int r;

	snprintf(buf, sizeof(buf), "%s", value);
	rules_pin_normalise(k, buf);
	r = card_client_set_pin(w->cs.t, k, buf);
	jpki_wipe(buf, sizeof(buf));
	if (r == JPKI_OK && w->rcpt->npins_set < CARD_PIN_COUNT)
		w->rcpt->pins_set[w->rcpt->npins_set++] = k;
	return r;
}

/* ---- what goes onto the chip ------------------------------------------- */

/* The card issuer's signature over the facts (EF 0003), the certificate
 * that verifies it (EF 0004) and the AP info (EF 0005), signed behind the
 * key seam. */
static int
write_card_signature(struct visit *w, const struct card_info *info)
{
	uint8_t digests[2 * CARD_INFO_DIGEST_LEN];
	uint8_t sig[CARD_INFO_SIG_MAX], cert_sig[CARD_INFO_SIG_MAX];
	size_t sig_len = sizeof(sig), cert_sig_len = sizeof(cert_sig);
	struct jbuf ef3, body, ef4, ef5;
	EVP_PKEY *issuer = NULL;
	int r;

	jbuf_init(&ef3);
	jbuf_init(&body);
	jbuf_init(&ef4);
	jbuf_init(&ef5);
	if ((r = card_info_digests(info, digests)) != JPKI_OK ||
	    (r = ca_card_issuer_sign(w->cs.ca, CA_SIGN_CARD_FACTS, digests,
	    sizeof(digests), sig, &sig_len)) != JPKI_OK ||
	    (r = ca_card_issuer_public_key(w->cs.ca, &issuer)) != JPKI_OK ||
	    (r = card_info_encode_signature(digests, sig, sig_len, &ef3)) ||
	    (r = card_info_encode_cert_body(issuer, &body)) != JPKI_OK ||
	    (r = ca_card_issuer_sign(w->cs.ca, CA_SIGN_CARD_CERT, body.data,
	    body.len, cert_sig, &cert_sig_len)) != JPKI_OK ||
	    (r = card_info_encode_cert(&body, cert_sig, cert_sig_len, &ef4)) ||
	    (r = card_info_encode_apinfo(issuer, &ef5)) != JPKI_OK)
		goto fail;
	r = counter_card_write_info_signature(&w->cs, &ef3, &ef4, &ef5);
fail:
	EVP_PKEY_free(issuer);
	jbuf_free(&ef3);
	jbuf_free(&body);
	jbuf_free(&ef4);
	jbuf_free(&ef5);
	return r;
}

/* The card-face AP (券面AP): what the face shows, as images, signed by the
 * card issuer behind the key seam; its collation numbers are the
 * card-info AP's (the number; birth, expiry year, security code). */
static int
write_card_face(struct visit *w, const struct card_info *info,
    const char *match_b)
{
	struct card_face f;
	struct jbuf keep, content, ef;
	uint8_t sig[CARD_INFO_SIG_MAX];
	size_t sig_len = sizeof(sig);
	char expiry[11];
	EVP_PKEY *issuer = NULL;
	int r;

	card_face_init(&f);
	jbuf_init(&keep);
	jbuf_init(&content);
	jbuf_init(&ef);
	snprintf(f.birth, sizeof(f.birth), "%s", info->birth);
	snprintf(f.sex, sizeof(f.sex), "%s", info->sex);
	jdate_format(w->card.expiry, expiry);
	snprintf(f.expiry, sizeof(f.expiry), "%.4s%.2s%.2s", expiry,
	    expiry + 5, expiry + 8);
	/* update-card keeps the photo the card has, unless a new one came */
	if (w->v->photo == NULL && !w->cs.is_new &&
	    counter_card_photo(&w->cs, info->number, &keep) != JPKI_OK)
		jpki_errclear();
	if ((r = counter_face_images(info->name, info->address,
	    w->rcpt->security_code, w->v->photo, &keep, &f)) != JPKI_OK ||
	    (r = ca_card_issuer_public_key(w->cs.ca, &issuer)) != JPKI_OK ||
	    (r = card_face_encode_public_key(issuer, &f.public_key)) ||
	    (r = card_face_signed_content(&f, (size_t)EVP_PKEY_get_size(issuer),
	    &content)) != JPKI_OK ||
	    (r = ca_card_issuer_sign(w->cs.ca, CA_SIGN_CARD_FACE, content.data,
	    content.len, sig, &sig_len)) != JPKI_OK)
		goto fail;
	if (jbuf_put(&f.signature, sig, sig_len)) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((r = card_face_encode(&f, &ef)) != JPKI_OK ||
	    (r = counter_card_write_face(&w->cs, &ef)) != JPKI_OK ||
	    (r = card_client_set_match(w->cs.t, CARD_FACE_MATCH_A,
	    info->number)) != JPKI_OK)
		goto fail;
	r = card_client_set_match(w->cs.t, CARD_FACE_MATCH_B, match_b);
fail:
	EVP_PKEY_free(issuer);
	card_face_free(&f);
	jbuf_free(&keep);
	jbuf_free(&content);
	jbuf_free(&ef);
	return r;
}

/* The card-info AP: the individual number and the four facts, signed by
 * the card issuer, and the collation numbers made of them (A the number; B birth YYMMDD, the
 * card's expiry year, its security code, which the receipt shows as a
 * real card's face does). */
static int
write_card_info(struct visit *w)
{
	struct card_info info;
	char birth[11], match_b[CARD_MATCH_B_LEN + 1];
	int r;

	memset(&info, 0, sizeof(info));
	snprintf(info.number, sizeof(info.number), "%s", w->res.number);
	snprintf(info.name, sizeof(info.name), "%s" IDEOGRAPHIC_SPACE "%s",
	    w->res.surname, w->res.given);
	snprintf(info.address, sizeof(info.address), "%s", w->res.address);
	jdate_format(w->res.birth, birth);
	snprintf(info.birth, sizeof(info.birth), "%.4s%.2s%.2s", birth,
	    birth + 5, birth + 8);
	info.sex[0] = card_info_sex_of(w->res.gender);
	if ((r = counter_card_write_info(&w->cs, &info)) != JPKI_OK ||
	    (r = write_card_signature(w, &info)) != JPKI_OK ||
	    (r = counter_card_security_code(w->cs.ca, &w->cs,
	    w->rcpt->security_code)) != JPKI_OK ||
	    (r = card_match_b(info.birth, w->card.expiry.y,
	    w->rcpt->security_code, match_b)) != JPKI_OK ||
	    (r = card_client_set_match(w->cs.t, CARD_MATCH_A,
	    info.number)) != JPKI_OK ||
	    (r = card_client_set_match(w->cs.t, CARD_MATCH_B, match_b)))
		goto fail;
	r = write_card_face(w, &info, match_b);
fail:
	jpki_wipe(match_b, sizeof(match_b));
	jpki_wipe(&info, sizeof(info));
	return r;
}

/* The CA certificate of type on the card: the issuing generation's. */
static int
write_ca_cert(struct visit *w, enum cert_type type)
{
	unsigned char *der = NULL;
	int n = i2d_X509(ca_cert(w->ca, type), &der), r;

	if (n <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "CA certificate: cannot encode");
	r = counter_card_write_cert(&w->cs, card_cert_for(type, CARD_CERT_CA),
	    der, (size_t)n);
	OPENSSL_free(der);
	return r;
}

static int
write_ca_certs(struct visit *w)
{
	int r;

	if ((r = write_ca_cert(w, CERT_SIGN)) != JPKI_OK)
		return r;
	return write_ca_cert(w, CERT_AUTH);
}

static void
note(struct visit *w, const char *text)
{
	size_t n = strlen(w->rcpt->note);

	snprintf(w->rcpt->note + n, sizeof(w->rcpt->note) - n, "%s%s",
	    n ? "; " : "", text);
}

/* The slow part of a procedure, done before its transaction: the issuer
 * key proven to the chip, and a new key pair generated on the chip for
 * each certificate to be loaded.  The keys live only in the memory chip
 * until the commit; a refusal in the transaction drops them with it. */
static int
make_card_keys(struct visit *w, int sign, int auth)
{
	static const enum cert_type order[] = {CERT_SIGN, CERT_AUTH};
	int r;

	if ((r = counter_card_issuer_auth(w->ca, &w->cs)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(order); i++) {
		enum cert_type t = order[i];

		/* A new card in a reader may carry what a delivery that never
		 * committed left: a key pair (and whatever certificate EF
		 * named it).  A type this one does not load is erased, key
		 * and certificate, so the card holds no key the store does
		 * not know.  (An image's new card is a blank made here; the
		 * CA certificates are written onto every new card.) */
		if (!(t == CERT_SIGN ? sign : auth) && w->cs.is_new &&
		    w->cs.in_reader &&
		    (r = card_client_erase_key(w->cs.t, t)) != JPKI_OK)
			return r;
		if (!(t == CERT_SIGN ? sign : auth))
			continue;
		jbuf_init(&w->card_key[t]);
		w->have_card_key[t] = 1;
		if ((r = card_client_generate_key(w->cs.t, t,
		    &w->card_key[t])) != JPKI_OK)
			return r;
	}
	counter_test_pause();
	return JPKI_OK;
}

/* The chip's new key (make_card_keys), its certificate from the CA (in
 * the open transaction), the certificate on the chip, the holder's PIN
 * for it. */
static int
load_cert(struct visit *w, enum cert_type type, const char *pin,
    const char *replaces)
{
	struct ca_issue_request req;
	struct ca_issued out;
	struct counter_cert_line *line;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int r;

	memset(&out, 0, sizeof(out));
	if (w->rcpt->nissued >= COUNTER_RECEIPT_CERTS_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "receipt: too many "
		    "certificates");
	if (!w->have_card_key[type])
		return jpki_fail(JPKI_ERR_INTERNAL, "card: no %s key was "
		    "generated", rules_cert_type_name(type));
	p = w->card_key[type].data;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)w->card_key[type].len)) ==
	    NULL) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "card: its public key does not "
		    "parse");
		goto fail;
	}
	memset(&req, 0, sizeof(req));
	req.resident_id = w->res.id;
	req.type = type;
	req.pub = pub;
	req.card_expiry = w->card.expiry;
	req.card_id = w->card.id;
	req.replaces = replaces;
	req.actor = w->v->clerk;
	if ((r = ca_issue_in_tx(w->ca, &req, &out)) != JPKI_OK)
		goto fail;
	if ((r = counter_card_write_cert(&w->cs, card_cert_for(type,
	    CARD_CERT_OWN), out.der, out.der_len)) != JPKI_OK)
		goto fail;
	/* Beside it, the CA certificate that issued it: a card delivered
	 * before a rollover holds the old generation's (ca rollover). */
	if ((r = write_ca_cert(w, type)) != JPKI_OK)
		goto fail;
	if ((r = pin_set(w, type == CERT_SIGN ? PIN_SIGN : PIN_AUTH, pin)))
		goto fail;
	line = &w->rcpt->issued[w->rcpt->nissued++];
	snprintf(line->serial, sizeof(line->serial), "%s", out.serial);
	line->type = type;
	line->not_after = out.not_after;
	snprintf(line->replaces, sizeof(line->replaces), "%s",
	    replaces ? replaces : "");
	w->card_written = 1;
fail:
	ca_issued_free(&out);
	EVP_PKEY_free(pub);
	return r;
}

static int
revoke_cert(struct visit *w, const struct cert_record *c, int reason)
{
	struct counter_cert_line *line;
	int r;

	if (w->rcpt->nrevoked >= COUNTER_RECEIPT_CERTS_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "receipt: too many "
		    "certificates");
	if ((r = ca_revoke_in_tx(w->ca, c->serial, reason, w->v->clerk)))
		return r;
	line = &w->rcpt->revoked[w->rcpt->nrevoked++];
	snprintf(line->serial, sizeof(line->serial), "%s", c->serial);
	line->type = c->ca;
	line->reason = reason;
	return JPKI_OK;
}

/* ---- finishing --------------------------------------------------------- */

#ifdef JPKI_TEST_HOOKS
/* Test-only hook: JPKI_COUNTER_PAUSE=FILE makes the first procedure of
 * the process, once its slow work is done (the card's keys made, a proxy
 * form's PDF laid out) and before its transaction, create FILE and wait
 * until somebody removes it (a minute at most), so that a test can act in
 * between; were the slow work done under the store's lock, the test's
 * other clerk would wait (tests/integration/test_counter_concurrent.sh).
 * Never set it otherwise. */
void
counter_test_pause(void)
{
	static int paused;
	const char *path = getenv("JPKI_COUNTER_PAUSE");
	int fd;

	if (paused || path == NULL || *path == '\0' ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	paused = 1;
	close(fd);
	for (int i = 0; i < 6000 && access(path, F_OK) == 0; i++)
		usleep(10000);
}
#endif

static json_t *
serials_json(const struct counter_cert_line *l, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(l[i].serial));
	return a;
}

/* Fees (R7, by the receipt's procedure), receipt, audit entry, the proxy's
 * hook, the staged image; commit; the image in place. */
static int
visit_finish(struct visit *w)
{
	struct counter_receipt *rc = w->rcpt;
	const struct counter_proxy *px = w->v->proxy;
	uint8_t sha[32];
	char subject[64], action[48];
	int r;

	rc->nfees = rules_fees_for(&datadir_config(ca_datadir(w->ca))->fees,
	    rc->proc, rc->nissued, rc->fees, RULES_FEE_LINES_MAX);
	if (rc->nfees > RULES_FEE_LINES_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "fees: too many lines");
	if ((r = counter_receipt_record(w->ca, w->v, w->card.id, rc)) != JPKI_OK)
		return r;
	for (int i = 0; i < w->nlinks; i++)
		if ((r = store_cert_link_add(w->s, w->links[i].old_serial,
		    w->links[i].new_serial, w->links[i].kind, w->now,
		    rc->number)) != JPKI_OK)
			return r;
	if (w->pin_reset != 0 && (r = store_pin_reset_add(w->s, rc->number,
	    w->card.id, w->pin_reset, rc->pin_was_locked)) != JPKI_OK)
		return r;
	json_object_set_new(w->audit, "receipt", json_integer(rc->number));
	json_object_set_new(w->audit, "resident",
	    json_integer(rc->resident_id));
	json_object_set_new(w->audit, "issued", serials_json(rc->issued,
	    rc->nissued));
	json_object_set_new(w->audit, "revoked", serials_json(rc->revoked,
	    rc->nrevoked));
	json_object_set_new(w->audit, "total_yen",
	    json_integer(rc->total_yen));
	if (px != NULL)
		json_object_set_new(w->audit, "proxy", json_pack("{s:s?, s:s?}",
		    "name", px->name, "form", px->form));
	if (w->card.serial[0])
		snprintf(subject, sizeof(subject), "card:%s", w->card.serial);
	else
		snprintf(subject, sizeof(subject), "resident:%lld",
		    (long long)rc->resident_id);
	snprintf(action, sizeof(action), "counter.%s",
	    rules_procedure_name(rc->proc));
	r = store_audit_json(w->s, w->v->clerk, action, subject,
	    json_incref(w->audit));
	if (r != JPKI_OK)
		return r;
	if (px != NULL && px->in_tx != NULL &&
	    (r = px->in_tx(px->arg, w->ca, rc)) != JPKI_OK)
		return r;
	if (w->card_written && w->cs.in_reader) {
		/* A card in a reader: its writes, for after the commit. */
		if ((r = counter_card_record_writes(&w->cs, w->s, rc->number,
		    w->now)) != JPKI_OK)
			return r;
	} else if (w->card_written) {
		if ((r = counter_card_stage(&w->cs, sha)) != JPKI_OK ||
		    (r = store_card_image_set(w->s, w->card.id, sha, rc->number,
		    w->now)) != JPKI_OK)
			return r;
	}
	if (w->card_written)
		counter_crash_point("after-stage");
	w->in_tx = 0;
	if ((r = store_commit(w->s)) != JPKI_OK)
		return r;
	if (w->card_written)
		counter_crash_point("after-commit");
	/* Committed: from here on the procedure happened.  A failure to put
	 * the image in place, or to apply the writes to the card in a reader,
	 * is repaired at the card's next visit. */
	if (w->card_written)
		return w->cs.in_reader ? counter_card_apply_recorded(&w->cs) :
		    counter_card_finish(&w->cs);
	return JPKI_OK;
}

/* ---- 1 and 4b: a new card ---------------------------------------------- */

/* The absolute path of the image, as the card record keeps it. */
static void
absolute_path(const char *path, char *out, size_t n)
{
	char cwd[PATH_MAX];
	size_t c, p = strlen(path);

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL ||
	    (c = strlen(cwd)) + p + 2 > n) {
		snprintf(out, n, "%s", path);
		return;
	}
	memcpy(out, cwd, c);
	out[c] = '/';
	memcpy(out + c + 1, path, p + 1);
}

/* Certificates revoked with the lost card (keyCompromise), to link each
 * to its successor on the new card. */
struct lost_certs {
	int64_t card_id;
	char serial[3][SERIAL_HEX_MAX];  /* by enum cert_type */
};

static int
scan_lost_certs(void *arg, const struct cert_record *c)
{
	struct lost_certs *l = arg;

	if (c->card_id == l->card_id && c->status == CERT_STATUS_REVOKED &&
	    c->reason == REASON_KEY_COMPROMISE &&
	    (c->ca == CERT_SIGN || c->ca == CERT_AUTH))
		snprintf(l->serial[c->ca], SERIAL_HEX_MAX, "%s", c->serial);
	return 0;
}

/* Inside the transaction, as the plan made there says: the expired card
 * returned, and the new card's record, its facts those the register
 * holds now. */
static int
new_card_record(struct visit *w, enum procedure proc,
    const struct counter_plan *p, const char *out_path)
{
	struct counter_receipt *rcpt = w->rcpt;
	struct jdate today = jst_date_of(w->now);
	int r;

	if (p->return_expired) {
		struct card_record old = p->cards.active;
		char day[11], text[96];

		old.status = CARD_RETURNED;
		if ((r = store_card_update(w->s, &old)) != JPKI_OK)
			return r;
		jdate_format(old.expiry, day);
		snprintf(text, sizeof(text), "card %s (expired %s) returned",
		    old.serial, day);
		note(w, text);
		snprintf(rcpt->old_card_serial, sizeof(rcpt->old_card_serial),
		    "%s", old.serial);
	}
	if (p->note[0])
		note(w, p->note);
	memset(&w->card, 0, sizeof(w->card));
	snprintf(w->card.serial, sizeof(w->card.serial), "%s", w->cs.serial);
	w->card.resident_id = w->res.id;
	w->card.kind = CARD_MYNUMBER;
	w->card.status = CARD_ACTIVE;
	w->card.issued_on = today;
	w->card.expiry = rules_card_expiry(w->res.birth, today);
	w->card.facts_version = w->res.facts_version;
	/* A card in a reader has no image. */
	if (!w->cs.in_reader)
		absolute_path(out_path, w->card.image_path,
		    sizeof(w->card.image_path));
	if ((r = store_card_insert(w->s, &w->card)) != JPKI_OK)
		return r;
	snprintf(rcpt->card_serial, sizeof(rcpt->card_serial), "%s",
	    w->card.serial);
	snprintf(rcpt->card_path, sizeof(rcpt->card_path), "%s", out_path ?
	    out_path : w->v->reader);
	rcpt->card_expiry = w->card.expiry;
	json_object_set_new(w->audit, "card", json_string(w->card.serial));
	if (proc == PROC_REISSUE) {
		snprintf(rcpt->old_card_serial, sizeof(rcpt->old_card_serial),
		    "%s", p->cards.lost.serial);
		json_object_set_new(w->audit, "old_card",
		    json_string(p->cards.lost.serial));
	}
	return JPKI_OK;
}

/* 新旧紐付け: each certificate lost with the old card is followed by the
 * new one of its type. */
static int
link_reissued(struct visit *w, const struct card_record *lost_card)
{
	struct lost_certs lost;
	int r;

	memset(&lost, 0, sizeof(lost));
	lost.card_id = lost_card->id;
	if ((r = store_cert_list(w->s, w->res.id, scan_lost_certs, &lost)))
		return r;
	for (int i = 0; i < w->rcpt->nissued; i++) {
		const char *old = lost.serial[w->rcpt->issued[i].type];

		if (old[0] && (r = link_later(w, old, w->rcpt->issued[i].serial,
		    "reissue")) != JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

static int
new_card(struct ca *ca, enum procedure proc, int64_t resident_id,
    const char *out_path, int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	struct visit w;
	struct counter_plan plan, now;
	int r;

	if ((r = visit_start(&w, ca, v, proc, rcpt)) != JPKI_OK)
		goto fail;
	if (types & ~COUNTER_BOTH) {
		r = jpki_fail(JPKI_ERR_USAGE, "certificates: sign, auth or "
		    "both");
		goto fail;
	}
	if (v->reader != NULL && out_path != NULL) {
		r = jpki_fail(JPKI_ERR_USAGE, "the new card is an image or "
		    "in a reader, not both");
		goto fail;
	}
	if (v->reader == NULL && (out_path == NULL || *out_path == '\0')) {
		r = jpki_fail(JPKI_ERR_USAGE, "the new card's image path is "
		    "required");
		goto fail;
	}
	/* Everything is checked before the blank chip is made. */
	plan_init(&plan, proc, types, resident_id);
	now = plan;
	if ((r = decide(&w, &plan)) != JPKI_OK ||
	    (r = pin_check(pin_for(pins, PIN_CARDINFO), PIN_CARDINFO)) ||
	    (plan.auth && (r = pin_check(pin_for(pins, PIN_AUTH), PIN_AUTH))) ||
	    (plan.sign && (r = pin_check(pin_for(pins, PIN_SIGN), PIN_SIGN))))
		goto fail;
	if (v->reader != NULL)
		r = counter_card_new_reader(ca, v->reader, v->clerk, &w.cs);
	else
		r = counter_card_new(ca, out_path, &w.cs);
	if (r != JPKI_OK)
		goto fail;
	w.have_cs = 1;
	if (w.cs.rolled)
		note(&w, w.cs.rolled_note);
	if ((r = make_card_keys(&w, plan.sign, plan.auth)) != JPKI_OK)
		goto fail;

	/* The register as it is now decides. */
	if ((r = visit_begin(&w)) != JPKI_OK ||
	    (r = decide(&w, &now)) != JPKI_OK)
		goto fail;
	/* Another clerk's delivery to the same file may have got there since
	 * counter_card_new() looked: its image, or its pending one, is there
	 * from its stage on, and its stage was under the lock held now. */
	if (!w.cs.in_reader && (access(out_path, F_OK) == 0 ||
	    access(w.cs.n.pending, F_OK) == 0)) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", out_path);
		goto fail;
	}
	if (now.sign != plan.sign) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "resident %lld: the register "
		    "changed while the card's keys were generated (R8e: the "
		    "signing certificate is %s now); nothing was changed, run "
		    "the procedure again", (long long)w.res.id, now.sign ?
		    "allowed" : "not allowed");
		goto fail;
	}
	if ((r = new_card_record(&w, proc, &now, out_path)) != JPKI_OK)
		goto fail;
	w.card_written = 1;
	if ((r = write_card_info(&w)) != JPKI_OK ||
	    (r = pin_set(&w, PIN_CARDINFO, pin_for(pins, PIN_CARDINFO))) ||
	    (r = write_ca_certs(&w)) != JPKI_OK)
		goto fail;
	if (now.sign && (r = load_cert(&w, CERT_SIGN, pin_for(pins, PIN_SIGN),
	    NULL)) != JPKI_OK)
		goto fail;
	if (now.auth && (r = load_cert(&w, CERT_AUTH, pin_for(pins, PIN_AUTH),
	    NULL)) != JPKI_OK)
		goto fail;
	if (!now.sign && !now.auth)
		note(&w, "no certificates loaded (opted out, R8a/b: they can "
		    "be issued later within the card's validity)");
	if (proc == PROC_REISSUE &&
	    (r = link_reissued(&w, &now.cards.lost)) != JPKI_OK)
		goto fail;
	r = visit_finish(&w);
fail:
	visit_end(&w);
	return r;
}

int
counter_deliver(struct ca *ca, int64_t resident_id, const char *out_path,
    int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	return new_card(ca, PROC_DELIVER, resident_id, out_path, types,
	    pins, v, rcpt);
}

int
counter_reissue(struct ca *ca, int64_t resident_id, const char *out_path,
    int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	return new_card(ca, PROC_REISSUE, resident_id, out_path,
	    types, pins, v, rcpt);
}

/* ---- 2 and 3: certificates onto an existing card ------------------------ */

/* Every rule for every requested certificate (decide.c), then the PINs
 * the holder chose for them; changes nothing. */
static int
certs_decide(struct visit *w, struct counter_plan *p,
    const struct counter_pins *pins)
{
	int r;

	if ((r = decide(w, p)) != JPKI_OK)
		return r;
	if ((p->types & COUNTER_SIGN) &&
	    (r = pin_check(pin_for(pins, PIN_SIGN), PIN_SIGN)) != JPKI_OK)
		return r;
	if ((p->types & COUNTER_AUTH) &&
	    (r = pin_check(pin_for(pins, PIN_AUTH), PIN_AUTH)) != JPKI_OK)
		return r;
	return JPKI_OK;
}

static int
certs_onto_card(struct ca *ca, enum procedure proc, const char *card_path,
    int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	static const enum cert_type order[] = {CERT_SIGN, CERT_AUTH};
	struct counter_plan plan;
	struct counter_existing *x = plan.x;
	struct visit w;
	int r, renew = proc == PROC_RENEW;

	if ((r = visit_start(&w, ca, v, proc, rcpt)) != JPKI_OK)
		goto fail;
	if (types == 0 || (types & ~COUNTER_BOTH)) {
		r = jpki_fail(JPKI_ERR_USAGE, "certificates: sign, auth or "
		    "both");
		goto fail;
	}
	plan_init(&plan, proc, types, 0);
	if ((r = open_card(&w, card_path)) != JPKI_OK ||
	    (r = certs_decide(&w, &plan, pins)) != JPKI_OK ||
	    (r = make_card_keys(&w, types & COUNTER_SIGN,
	    types & COUNTER_AUTH)) != JPKI_OK)
		goto fail;
	/* The card record and the register as they are now decide (a loss
	 * report, a register change or a revocation made meanwhile is
	 * refused here); the keys made above do not depend on them. */
	if ((r = visit_begin(&w)) != JPKI_OK ||
	    (r = certs_decide(&w, &plan, pins)) != JPKI_OK)
		goto fail;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(order); i++) {
		enum cert_type t = order[i];
		const char *pin = pin_for(pins, t == CERT_SIGN ? PIN_SIGN :
		    PIN_AUTH);
		const char *old;

		if (!(types & (t == CERT_SIGN ? COUNTER_SIGN : COUNTER_AUTH)))
			continue;
		old = renew ? x[t].valid.serial : NULL;
		if ((r = load_cert(&w, t, pin, old)) != JPKI_OK)
			goto fail;
		if (renew) {
			/* R9: the renewed certificate supersedes the old
			 * one, in the same transaction. */
			if ((r = revoke_cert(&w, &x[t].valid, REASON_SUPERSEDED)) ||
			    (r = link_later(&w, old,
			    rcpt->issued[rcpt->nissued - 1].serial, "renewal")))
				goto fail;
		} else if (x[t].found &&
		    x[t].last.status == CERT_STATUS_REVOKED &&
		    x[t].last.reason == REASON_AFFILIATION_CHANGED) {
			/* R8d: the successor of a certificate revoked by a
			 * register change. */
			if ((r = link_later(&w, x[t].last.serial,
			    rcpt->issued[rcpt->nissued - 1].serial, "change")))
				goto fail;
		}
	}
	r = visit_finish(&w);
fail:
	visit_end(&w);
	return r;
}

int
counter_issue(struct ca *ca, const char *card_path, int types,
    const struct counter_pins *pins, const struct counter_visit *v,
    struct counter_receipt *rcpt)
{
	return certs_onto_card(ca, PROC_ISSUE, card_path, types, pins,
	    v, rcpt);
}

int
counter_renew(struct ca *ca, const char *card_path, int types,
    const struct counter_pins *pins, const struct counter_visit *v,
    struct counter_receipt *rcpt)
{
	return certs_onto_card(ca, PROC_RENEW, card_path, types, pins,
	    v, rcpt);
}

/* ---- 4a: loss ------------------------------------------------------------ */

struct valid_on_card {
	int64_t card_id, now;
	struct cert_record c[COUNTER_RECEIPT_CERTS_MAX];
	int n;
};

static int
scan_valid_on_card(void *arg, const struct cert_record *c)
{
	struct valid_on_card *x = arg;

	if (c->card_id == x->card_id && c->status == CERT_STATUS_VALID &&
	    x->now <= c->not_after && x->n < COUNTER_RECEIPT_CERTS_MAX) {
		x->c[x->n] = *c;
		x->c[x->n++].der = NULL;
	}
	return 0;
}

int
counter_report_lost(struct ca *ca, const char *card_path, int64_t resident_id,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	struct valid_on_card vc;
	struct counter_plan plan;
	struct visit w;
	int r;

	if ((r = visit_start(&w, ca, v, PROC_REPORT_LOST, rcpt)))
		goto fail;
	if ((card_path == NULL && v->reader == NULL) == (resident_id == 0)) {
		r = jpki_fail(JPKI_ERR_USAGE, "a loss report names the card's "
		    "image or the resident, one of the two");
		goto fail;
	}
	/* The image is only read for its serial. */
	plan_init(&plan, PROC_REPORT_LOST, 0, resident_id);
	if ((resident_id == 0 && (r = open_card(&w, card_path)) != JPKI_OK) ||
	    (r = visit_begin(&w)) != JPKI_OK ||
	    (r = decide(&w, &plan)) != JPKI_OK)
		goto fail;
	w.card.status = CARD_LOST;
	if ((r = store_card_update(w.s, &w.card)) != JPKI_OK)
		goto fail;
	/* A lost card's keys may be in anyone's hands: keyCompromise, for
	 * both certificates, at once (CPS 4.9.9). */
	memset(&vc, 0, sizeof(vc));
	vc.card_id = w.card.id;
	vc.now = w.now;
	if ((r = store_cert_list(w.s, w.res.id, scan_valid_on_card, &vc)))
		goto fail;
	for (int i = 0; i < vc.n; i++)
		if ((r = revoke_cert(&w, &vc.c[i], REASON_KEY_COMPROMISE)))
			goto fail;
	r = visit_finish(&w);
fail:
	visit_end(&w);
	return r;
}

/* ---- 5: PIN reset -------------------------------------------------------- */

int
counter_reset_pin(struct ca *ca, const char *card_path, enum pin_kind pin,
    const char *new_pin, const struct counter_visit *v,
    struct counter_receipt *rcpt)
{
	struct card_status st;
	struct counter_plan plan;
	struct visit w;
	int r;

	if ((r = visit_start(&w, ca, v, PROC_PIN_RESET, rcpt)))
		goto fail;
	if (rules_pin_kind_name(pin) == NULL) {
		r = jpki_fail(JPKI_ERR_USAGE, "the PIN to reset: sign, auth "
		    "or cardinfo");
		goto fail;
	}
	if ((r = pin_check(new_pin, pin)) != JPKI_OK)
		goto fail;
	/* R2: the holder comes with the card; the card answers for itself
	 * (whether the PIN was ever set). */
	plan_init(&plan, PROC_PIN_RESET, 0, 0);
	plan.pin_kind = pin;
	if ((r = open_card(&w, card_path)) != JPKI_OK ||
	    (r = card_client_status(w.cs.t, &st)) != JPKI_OK)
		goto fail;
	plan.pin_set = st.pin[pin].initialised;
	if ((r = visit_begin(&w)) != JPKI_OK ||
	    (r = decide(&w, &plan)) != JPKI_OK)
		goto fail;
	rcpt->pin_was_locked = st.pin[pin].locked;
	/* Only the issuer key resets a PIN (RESET RETRY COUNTER). */
	if ((r = counter_card_issuer_auth(ca, &w.cs)) != JPKI_OK ||
	    (r = pin_set(&w, pin, new_pin)) != JPKI_OK)
		goto fail;
	w.card_written = 1;
	json_object_set_new(w.audit, "pin", json_string(
	    rules_pin_kind_name(pin)));
	json_object_set_new(w.audit, "was_locked",
	    json_boolean(rcpt->pin_was_locked));
	json_object_set_new(w.audit, "identity", json_string(
	    v->holder_id.doc_type ? v->holder_id.doc_type : "mynumber-card"));
	w.pin_reset = pin;
	r = visit_finish(&w);
fail:
	visit_end(&w);
	return r;
}

/* ---- 8: the card after a register change -------------------------------- */

int
counter_update_card(struct ca *ca, const char *card_path,
    const struct counter_visit *v, struct counter_receipt *rcpt)
{
	struct counter_plan plan;
	struct visit w;
	int r;

	if ((r = visit_start(&w, ca, v, PROC_UPDATE_CARD, rcpt)))
		goto fail;
	plan_init(&plan, PROC_UPDATE_CARD, 0, 0);
	if ((r = open_card(&w, card_path)) != JPKI_OK)
		goto fail;
	/* An older layout of the card-info or the face, or a new photo, is
	 * rewritten even with the facts current (decide.c). */
	if ((r = counter_card_outdated(&w.cs, w.s, &plan.card_outdated)))
		goto fail;
	plan.card_outdated |= v->photo != NULL;
	if ((r = visit_begin(&w)) != JPKI_OK ||
	    (r = decide(&w, &plan)) != JPKI_OK)
		goto fail;
	json_object_set_new(w.audit, "facts_version", json_pack("{s:I, s:I}",
	    "from", (json_int_t)w.card.facts_version, "to",
	    (json_int_t)w.res.facts_version));
	if ((r = counter_card_issuer_auth(ca, &w.cs)) != JPKI_OK ||
	    (r = write_card_info(&w)) != JPKI_OK)
		goto fail;
	w.card_written = 1;
	w.card.facts_version = w.res.facts_version;
	if ((r = store_card_update(w.s, &w.card)) != JPKI_OK)
		goto fail;
	r = visit_finish(&w);
fail:
	visit_end(&w);
	return r;
}
