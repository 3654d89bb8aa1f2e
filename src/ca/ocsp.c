/*
 * ocsp.c: the OCSP responders of the two CAs (RFC 6960), answering from
 * the store: good, revoked (with time and reason) or unknown for each
 * certificate asked about, signed by the CA's delegated responder
 * (id-kp-OCSPSigning, ocsp-nocheck), the nonce echoed.
 *
 * The request's CertIDs name the issuer by hashes of its name and key
 * (SHA-1 or SHA-256); they pick the CA and its generation (every
 * generation of a CA has the same name and its own key, and answers for
 * the certificates it issued with its own responder).  A request about
 * another issuer, or about two of ours at once (no one responder may sign
 * for both), gets
 * `unauthorized`; a malformed one `malformedRequest`.  Every answer is a
 * response to send: the function fails only when none can be made.
 */
#include "ca/ca_impl.h"

#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(((struct ca_ocsp_answer *)0)->cert) /
    sizeof(struct ca_ocsp_cert) >= PKI_OCSP_CERTS_MAX,
    "an answer has room for every CertID a request may hold");

/* Which of our CA generations issued what id names: *out is it, or NULL. */
static int
issuer_of(struct ca *ca, const struct pki_ocsp_certid *id,
    struct ca_side **out)
{
	size_t hl = id->hash == PKI_OCSP_SHA1 ? 20 : 32;
	int h = id->hash == PKI_OCSP_SHA1 ? 0 : 1;

	*out = NULL;
	for (int t = CERT_SIGN; t <= CERT_AUTH; t++) {
		for (int g = 1; g <= ca->ngen[t]; g++) {
			struct ca_side *sd = &ca->side[t][g];
			int r;

			if (!sd->ocsp_hashed[h]) {
				if ((r = pki_ocsp_issuer_hashes(sd->cert,
				    id->hash, sd->ocsp_name_hash[h],
				    sd->ocsp_key_hash[h])))
					return r;
				sd->ocsp_hashed[h] = 1;
			}
			if (memcmp(id->name_hash, sd->ocsp_name_hash[h], hl) ==
			    0 && memcmp(id->key_hash, sd->ocsp_key_hash[h], hl) ==
			    0) {
				*out = sd;
				return JPKI_OK;
			}
		}
	}
	return JPKI_OK;
}

/* The responder key of one CA signs a ResponseData through the seam. */
struct responder_sign {
	struct ca *ca;
	enum cert_type type;
	int gen;
};

static int
responder_sign(void *arg, const uint8_t *data, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	struct responder_sign *rs = arg;
	struct ca_signer_session *ss;
	int r;

	if ((r = ca_session(rs->ca, &ss)) != JPKI_OK)
		return r;
	return ca_signer_sign(ss, (struct ca_key_id){rs->type, CA_KEY_OCSP,
	    rs->gen}, CA_SIGN_OCSP, data, len, sig, sig_len);
}

static int
error_response(enum pki_ocsp_status status, struct jbuf *out,
    struct ca_ocsp_answer *ans)
{
	ans->status = status;
	return pki_ocsp_error_response(status, out);
}

int
ca_ocsp_respond(struct ca *ca, const uint8_t *der, size_t len,
    struct jbuf *out, struct ca_ocsp_answer *ans)
{
	struct pki_ocsp_request req;
	struct pki_ocsp_single single[PKI_OCSP_CERTS_MAX];
	struct ca_side *sd = NULL;
	char why[300];
	int64_t now;
	int type = 0, r;

	memset(ans, 0, sizeof(*ans));
	if (!(ca->keys & CA_KEYS_OCSP))
		return jpki_fail(JPKI_ERR_REFUSED, "OCSP: the CAs were opened "
		    "without their responder keys");
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	if ((r = pki_ocsp_request_parse(der, len, &req)) != JPKI_OK) {
		snprintf(why, sizeof(why), "%s", jpki_errmsg());
		if ((r = error_response(PKI_OCSP_MALFORMED, out, ans)))
			return r;
		snprintf(ans->why, sizeof(ans->why), "%s", why);
		return JPKI_OK;
	}
	for (size_t i = 0; i < req.n; i++) {
		struct ca_side *t;

		if ((r = issuer_of(ca, &req.id[i], &t)) != JPKI_OK)
			return r;
		if (t == NULL || (sd != NULL && t != sd)) {
			if ((r = error_response(PKI_OCSP_UNAUTHORIZED, out, ans)))
				return r;
			snprintf(ans->why, sizeof(ans->why), "certificate %zu: %s",
			    i, t == NULL ? "not issued by any of this "
			    "deployment's CAs" : "one request may not ask both "
			    "CAs, or two generations of one (each has its own "
			    "responder)");
			return JPKI_OK;
		}
		sd = t;
	}
	/* req.n >= 1 (the parser refuses an empty list). */
	type = (int)sd->type;
	if (!sd->ocsp_ready) {
		if ((r = pki_ocsp_responder_init(&sd->ocsp, sd->ocsp_cert)))
			return r;
		sd->ocsp_ready = 1;
	}
	ans->type = (enum cert_type)type;
	ans->n = req.n;
	for (size_t i = 0; i < req.n; i++) {
		struct ca_ocsp_cert *a = &ans->cert[i];
		struct cert_record rec;

		memset(&single[i], 0, sizeof(single[i]));
		single[i].id = &req.id[i];
		single[i].this_update = now;
		single[i].next_update = now + CA_OCSP_VALIDITY_SECONDS;
		if ((r = pki_serial_hex(req.id[i].serial, req.id[i].serial_len,
		    a->serial, sizeof(a->serial))) != JPKI_OK)
			return r;
		single[i].status = PKI_OCSP_UNKNOWN;
		r = store_cert_get(ca->store, a->serial, &rec);
		if (r == JPKI_OK) {
			if ((int)rec.ca == type && rec.gen == sd->gen) {
				single[i].status = rec.status ==
				    CERT_STATUS_REVOKED ? PKI_OCSP_REVOKED :
				    PKI_OCSP_GOOD;
				single[i].revoked_at = rec.revoked_at;
				single[i].reason = rec.status ==
				    CERT_STATUS_REVOKED ? rec.reason : 0;
			}
			store_cert_free(&rec);
		} else if (r != JPKI_ERR_NOTFOUND) {
			return r;
		}
		a->status = single[i].status;
		a->reason = single[i].reason;
		a->revoked_at = single[i].revoked_at;
	}
	if ((r = pki_ocsp_response(&sd->ocsp, single, req.n, &req, now,
	    &(struct pki_sign_with){responder_sign,
	    &(struct responder_sign){ca, (enum cert_type)type, sd->gen}},
	    out)))
		return r;
	ans->status = PKI_OCSP_SUCCESSFUL;
	ans->this_update = now;
	ans->next_update = now + CA_OCSP_VALIDITY_SECONDS;
	return JPKI_OK;
}
