/*
 * kiosk.c: the municipality's side of a convenience-store kiosk (R5,
 * 住民票の写し等のコンビニ交付): POST /kiosk/residence.
 *
 * The body is a login token (login.c: a nonce from /kiosk/challenge or
 * /rp/challenge signed with the authentication key over the origin), so
 * each issuance is paid for by a fresh, single-use proof that the card
 * and its PIN are at the kiosk.  Then:
 *
 *   1. the login check (login.c): nonce, origin, signature, the
 *      authentication certificate's chain, key usage, policy, validity
 *      and status now;
 *   2. the certificate's link to the register: the store knows which
 *      resident each certificate it issued belongs to (certificates.
 *      resident_id), so no personal fact crosses the wire;
 *   3. the register: a deceased or moved-away (転出) resident, or one of
 *      another municipality, gets no residence certificate here;
 *   4. the document (counter/residence_pdf.c) signed by the municipality
 *      (PAdES, ca/municipality.c through the key seam), laid out and
 *      signed before the write;
 *   5. one transaction: the receipt with its fee line (the config's
 *      [fees] kiosk_residence) and the audit entry; only after its commit
 *      does the document leave.
 */
#include "rp/rp_int.h"
#include "ca/ca.h"
#include "counter/counter.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kiosk_error_names[RP_KIOSK_ERROR_N] = {
	[RP_KIOSK_OK] = "ok",
	[RP_KIOSK_LOGIN] = "login",
	[RP_KIOSK_NOT_REGISTERED] = "not-registered",
	[RP_KIOSK_DECEASED] = "deceased",
	[RP_KIOSK_MOVED_AWAY] = "moved-away",
	[RP_KIOSK_OTHER_MUNICIPALITY] = "other-municipality",
};

const char *
rp_kiosk_error_name(enum rp_kiosk_error e)
{
	return (unsigned)e < RP_KIOSK_ERROR_N ? kiosk_error_names[e] :
	    "refused";
}

static int
sign_digest(void *arg, const uint8_t hash[32], uint8_t *sig, size_t *sig_len)
{
	return ca_municipality_sign_digest(arg, hash, sig, sig_len);
}

static int
refuse(struct rp_kiosk_result *out, enum rp_kiosk_error e, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
static int
refuse(struct rp_kiosk_result *out, enum rp_kiosk_error e, const char *fmt,
    ...)
{
	va_list ap;

	out->error = e;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return JPKI_OK;
}

/* 交付番号: the date and 8 random hex digits, "20261129-1A2B3C4D". */
static int
document_number(int64_t now, char out[40])
{
	struct jdate d = jst_date_of(now);
	uint8_t rnd[4];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "no random bytes");
	snprintf(out, 40, "%04d%02d%02d-%02X%02X%02X%02X", d.y, d.m, d.d,
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	return JPKI_OK;
}

/* The receipt, its fee line and the audit entry, in one transaction. */
static int
record(struct store *s, const struct rp_kiosk_request *k,
    const struct cert_record *c, const struct resident *res,
    struct rp_kiosk_result *out)
{
	struct receipt_record rc;
	char subject[40], hash_hex[65];
	json_t *detail;
	int r;

	for (size_t i = 0; i < 32; i++)
		snprintf(hash_hex + 2 * i, 3, "%02x", out->document_sha256[i]);
	memset(&rc, 0, sizeof(rc));
	rc.at = out->issued_at;
	snprintf(rc.clerk, sizeof(rc.clerk), "kiosk");
	snprintf(rc.procedure, sizeof(rc.procedure), "kiosk_residence");
	rc.resident_id = res->id;
	rc.card_id = c->card_id;
	rc.total_yen = out->fee_yen;
	snprintf(rc.form, sizeof(rc.form), "%s", out->number);
	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = store_receipt_insert(s, &rc)) != JPKI_OK ||
	    (r = store_receipt_line_add(s, rc.id, 1, rules_fee_item_name(
	    FEE_KIOSK_RESIDENCE), out->fee_yen)) != JPKI_OK)
		goto fail;
	detail = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s}", "document",
	    "residence", "number", out->number, "receipt", (json_int_t)rc.id,
	    "fee_yen", (json_int_t)out->fee_yen, "certificate", c->serial,
	    "sha256", hash_hex);
	snprintf(subject, sizeof(subject), "resident:%lld",
	    (long long)res->id);
	if ((r = store_audit_json(s, k->actor, "kiosk.residence", subject,
	    detail)) != JPKI_OK)
		goto fail;
	if ((r = store_commit(s)) != JPKI_OK)
		return r;
	out->receipt = rc.id;
	return JPKI_OK;
fail:
	store_rollback(s);
	return r;
}

int
rp_kiosk_residence(const struct rp_kiosk_request *k, const uint8_t *body,
    size_t n, int64_t now, struct rp_kiosk_result *out)
{
	struct store *s = k->store;
	struct counter_residence_doc doc;
	struct rp_sign_params p;
	struct cert_record c;
	struct resident res;
	struct municipality mu;
	struct jbuf pdf;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	jbuf_init(&pdf);
	jbuf_init(&out->document);
	if ((r = rp_login_check(k->verifier, s, k->origin, body, n, now,
	    &out->login)) != JPKI_OK)
		return r;
	if (out->login.error != RP_LOGIN_OK)
		return refuse(out, RP_KIOSK_LOGIN, "%s: %s",
		    rp_login_error_name(out->login.error), out->login.why);
	/* The login checked the authentication certificate; the store links
	 * what it issued to the register. */
	if ((r = store_cert_get(s, out->login.cert.serial, &c)) ==
	    JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		return refuse(out, RP_KIOSK_NOT_REGISTERED, "certificate %s "
		    "was not issued here: no resident of this register holds "
		    "it", out->login.cert.serial);
	}
	if (r != JPKI_OK)
		return r;
	if (c.ca != CERT_AUTH) {
		r = refuse(out, RP_KIOSK_NOT_REGISTERED, "certificate %s is "
		    "not an authentication certificate of this register",
		    c.serial);
		goto done;
	}
	if ((r = store_resident_get(s, c.resident_id, &res)) != JPKI_OK)
		goto done;
	if (res.status == RESIDENT_DECEASED) {
		r = refuse(out, RP_KIOSK_DECEASED, "the register records the "
		    "holder as deceased; no residence certificate is issued");
		goto done;
	}
	if (res.status == RESIDENT_MOVED_AWAY) {
		r = refuse(out, RP_KIOSK_MOVED_AWAY, "the register records the "
		    "holder as moved away (転出); the municipality moved to "
		    "issues the residence certificate");
		goto done;
	}
	if (strcmp(res.municipality, k->municipality) != 0) {
		r = refuse(out, RP_KIOSK_OTHER_MUNICIPALITY, "the holder is "
		    "registered in municipality %s, not here (%s)",
		    res.municipality, k->municipality);
		goto done;
	}
	if ((r = store_municipality_get(s, res.municipality, &mu)) != JPKI_OK)
		goto done;
	out->issued_at = now;
	out->fee_yen = k->fees->yen[FEE_KIOSK_RESIDENCE];
	snprintf(out->municipality, sizeof(out->municipality), "%s%s",
	    mu.pref_ja, mu.name_ja);
	if ((r = document_number(now, out->number)) != JPKI_OK)
		goto done;
	memset(&doc, 0, sizeof(doc));
	doc.res = &res;
	doc.muni = &mu;
	doc.issued_at = now;
	doc.fee_yen = out->fee_yen;
	snprintf(doc.number, sizeof(doc.number), "%s", out->number);
	memset(&p, 0, sizeof(p));
	p.cert = ca_municipality_cert(k->municipality_key);
	p.signing_time = now;
	p.sign = sign_digest;
	p.arg = k->municipality_key;
	if ((r = counter_residence_pdf(&doc, &pdf)) != JPKI_OK ||
	    (r = rp_pades_sign(pdf.data, pdf.len, &p, "住民票の写し",
	    &out->document)) != JPKI_OK)
		goto done;
	if (EVP_Digest(out->document.data, out->document.len,
	    out->document_sha256, NULL, EVP_sha256(), NULL) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "SHA-256 failed");
		goto done;
	}
	r = record(s, k, &c, &res, out);
done:
	if (r != JPKI_OK || out->error != RP_KIOSK_OK)
		jbuf_free(&out->document);
	store_cert_free(&c);
	jbuf_free(&pdf);
	return r;
}

void
rp_kiosk_result_free(struct rp_kiosk_result *k)
{
	rp_login_free(&k->login);
	jbuf_free(&k->document);
}
