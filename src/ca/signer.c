/*
 * signer.c: the key seam's one policy and dispatch (signer.h).  Every
 * request passes here before an implementation sees it: the op must suit
 * the role of the key, the type must be one of the two CAs, the input must
 * have the op's shape.
 */
#include "ca/signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ca_signer {
	const struct ca_signer_impl *impl;
	void *state;
};

struct ca_signer_session {
	struct ca_signer *signer;
	void *sess;
	/* A TBSCertList being streamed (ca_signer_crl_*). */
	int crl_open;
	struct ca_key_id crl_id;
	uint64_t crl_total, crl_got;
	EVP_MD_CTX *crl_md;     /* when the seam hashes it */
};

int
ca_signer_new(const struct ca_signer_impl *impl, void *state,
    struct ca_signer **out)
{
	struct ca_signer *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		impl->close(state);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	s->impl = impl;
	s->state = state;
	*out = s;
	return JPKI_OK;
}

void
ca_signer_close(struct ca_signer **sp)
{
	struct ca_signer *s = *sp;

	if (s == NULL)
		return;
	s->impl->close(s->state);
	free(s);
	*sp = NULL;
}

static int
key_id_check(struct ca_key_id id)
{
	if ((id.role == CA_KEY_CARD_ISSUER || id.role == CA_KEY_MUNICIPALITY ||
	    id.role == CA_KEY_AUDIT) && id.type == 0 && id.gen == 0)
		return JPKI_OK;
	if ((id.type != CERT_SIGN && id.type != CERT_AUTH) ||
	    (id.role != CA_KEY_CA && id.role != CA_KEY_OCSP) ||
	    id.gen < 1 || id.gen > CA_GEN_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: no key %d/%d "
		    "generation %d", (int)id.type, (int)id.role, id.gen);
	return JPKI_OK;
}

int
ca_signer_public_key(struct ca_signer *s, struct ca_key_id id,
    EVP_PKEY **pub)
{
	int r;

	*pub = NULL;
	if ((r = key_id_check(id)) != JPKI_OK)
		return r;
	return s->impl->public_key(s->state, id, pub);
}

int
ca_signer_session_open(struct ca_signer *s, struct ca_signer_session **out)
{
	struct ca_signer_session *ss;
	int r;

	*out = NULL;
	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	ss->signer = s;
	if ((r = s->impl->session_open(s->state, &ss->sess)) != JPKI_OK) {
		free(ss);
		return r;
	}
	*out = ss;
	return JPKI_OK;
}

void
ca_signer_session_close(struct ca_signer_session **ssp)
{
	struct ca_signer_session *ss = *ssp;

	if (ss == NULL)
		return;
	ss->signer->impl->session_close(ss->sess);
	EVP_MD_CTX_free(ss->crl_md);
	free(ss);
	*ssp = NULL;
}

/* The policy: what each key may sign, and the shape of each input. */
static int
request_check(struct ca_key_id id, enum ca_sign_op op, const uint8_t *in,
    size_t len)
{
	/* The card issuer's key signs the card-info AP's facts, its own
	 * certificate and card faces, and nothing else; no other key signs
	 * those. */
	if ((id.role == CA_KEY_CARD_ISSUER) != (op == CA_SIGN_CARD_FACTS ||
	    op == CA_SIGN_CARD_CERT || op == CA_SIGN_CARD_FACE))
		return jpki_fail(JPKI_ERR_REFUSED, "signer: %s",
		    id.role == CA_KEY_CARD_ISSUER ? "the card issuer key signs "
		    "only a card's facts, its card face and its own "
		    "certificate" : "a card's facts and face are signed by the "
		    "card issuer key only");
	/* The audit key signs checkpoints of the audit chain, and nothing
	 * else; no other key signs those. */
	if ((id.role == CA_KEY_AUDIT) != (op == CA_SIGN_CHECKPOINT))
		return jpki_fail(JPKI_ERR_REFUSED, "signer: %s",
		    id.role == CA_KEY_AUDIT ? "the audit key signs only audit "
		    "checkpoints" : "audit checkpoints are signed by the "
		    "audit key only");
	/* The municipality's key signs residence certificates (by the digest
	 * of their CMS signed attributes) and its own certificate, nothing
	 * else; no other key signs those. */
	if ((id.role == CA_KEY_MUNICIPALITY) != (op ==
	    CA_SIGN_MUNICIPALITY_CERT || op == CA_SIGN_DOCUMENT_DIGEST))
		return jpki_fail(JPKI_ERR_REFUSED, "signer: %s",
		    id.role == CA_KEY_MUNICIPALITY ? "the municipality key "
		    "signs only documents and its own certificate" :
		    "documents are signed by the municipality key only");
	switch (op) {
	case CA_SIGN_CHECKPOINT:
		if (len != CA_CHECKPOINT_BODY_LEN ||
		    memcmp(in, CA_CHECKPOINT_MAGIC,
		    sizeof(CA_CHECKPOINT_MAGIC)) != 0)
			return jpki_fail(JPKI_ERR_INPUT, "signer: not an audit "
			    "checkpoint body");
		return JPKI_OK;
	case CA_SIGN_DOCUMENT_DIGEST:
		if (len != 32)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a document "
			    "is signed by the SHA-256 of its signed attributes "
			    "(32 bytes)");
		return JPKI_OK;
	case CA_SIGN_MUNICIPALITY_CERT:
		/* A TBSCertificate is far longer than 32 bytes: never the
		 * input of the other op. */
		if (len <= 32 || len > CA_SIGN_INPUT_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a "
			    "TBSCertificate of %zu bytes (33 to %d)", len,
			    CA_SIGN_INPUT_MAX);
		return JPKI_OK;
	case CA_SIGN_CARD_FACTS:
		if (len != CA_SIGN_CARD_FACTS_LEN)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a card's "
			    "facts are signed by the SHA-256 of EF 0001 and of "
			    "EF 0002 (%d bytes)", CA_SIGN_CARD_FACTS_LEN);
		return JPKI_OK;
	case CA_SIGN_CARD_FACE:
		/* It starts with the face's header element (DF 21) and is
		 * longer than the facts' 64 bytes, so it is never the input
		 * of the other two card ops (exactly 64 bytes; 5F 4E ...). */
		if (len <= CA_SIGN_CARD_FACTS_LEN ||
		    len > CA_SIGN_CARD_FACE_MAX || in[0] != 0xDF ||
		    in[1] != 0x21)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a card face "
			    "is signed over its elements from DF 21 on (%d "
			    "to %d bytes)", CA_SIGN_CARD_FACTS_LEN + 1,
			    CA_SIGN_CARD_FACE_MAX);
		return JPKI_OK;
	case CA_SIGN_CARD_CERT:
		if (len == 0 || len > CA_SIGN_CARD_CERT_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a card "
			    "issuer certificate body of %zu bytes (1 to %d)",
			    len, CA_SIGN_CARD_CERT_MAX);
		return JPKI_OK;
	case CA_SIGN_CERT:
	case CA_SIGN_CRL_DIGEST:
		if (id.role != CA_KEY_CA)
			return jpki_fail(JPKI_ERR_REFUSED, "signer: %s "
			    "responder key: signs OCSP responses only",
			    rules_cert_type_name(id.type));
		if (op == CA_SIGN_CRL_DIGEST && len != 32)
			return jpki_fail(JPKI_ERR_INPUT, "signer: a CRL is "
			    "signed by its SHA-256 digest (32 bytes)");
		break;
	case CA_SIGN_OCSP:
		if (id.role != CA_KEY_OCSP)
			return jpki_fail(JPKI_ERR_REFUSED, "signer: %s CA key: "
			    "OCSP responses are signed by the delegated "
			    "responder (RFC 6960 4.2.2.2)",
			    rules_cert_type_name(id.type));
		break;
	default:
		return jpki_fail(JPKI_ERR_REFUSED, "signer: no operation %d",
		    (int)op);
	}
	if (len == 0 || len > CA_SIGN_INPUT_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "signer: input of %zu bytes "
		    "(1 to %d)", len, CA_SIGN_INPUT_MAX);
	return JPKI_OK;
}

/* The card issuer certificate body is 5F 4E { ids, 82 e, 81 n } with n the
 * signing key's own modulus, last (card/cardinfo_sig.c): so the key that
 * signs card facts cannot be made to sign a chosen 64-byte digest, or any
 * other blob, under the name of its certificate. */
static int
card_cert_is_own(struct ca_signer *s, struct ca_key_id id, const uint8_t *in,
    size_t len)
{
	uint8_t n[CA_SIGN_CARD_CERT_MAX];
	size_t hdr, body, nlen, tail;
	EVP_PKEY *pub = NULL;
	BIGNUM *bn = NULL;
	int r, ok = 0;

	if ((r = s->impl->public_key(s->state, id, &pub)) != JPKI_OK)
		return r;
	if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &bn) &&
	    BN_num_bytes(bn) > 0 && (size_t)BN_num_bytes(bn) <= sizeof(n)) {
		nlen = (size_t)BN_bn2bin(bn, n);
		/* 5F 4E, then a length of 1, 2 or 3 bytes covering the rest. */
		hdr = len >= 4 && in[2] < 0x80 ? 3 : len >= 4 && in[2] == 0x81 ?
		    4 : len >= 5 && in[2] == 0x82 ? 5 : 0;
		body = hdr == 3 ? in[2] : hdr == 4 ? in[3] :
		    hdr == 5 ? ((size_t)in[3] << 8 | in[4]) : 0;
		tail = 1 + (nlen < 0x80 ? 1 : nlen <= 0xFF ? 2 : 3) + nlen;
		ok = hdr != 0 && in[0] == 0x5F && in[1] == 0x4E &&
		    hdr + body == len && body >= tail &&
		    in[len - tail] == 0x81 &&
		    memcmp(in + len - nlen, n, nlen) == 0;
	}
	BN_free(bn);
	EVP_PKEY_free(pub);
	if (!ok)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: the card issuer "
		    "key signs only its own certificate (a body that ends "
		    "with its own modulus)");
	return JPKI_OK;
}

/* The municipality key's own certificate carries its own public key (the
 * DER SubjectPublicKeyInfo inside the TBSCertificate): it cannot be made
 * to sign a certificate for another key. */
static int
municipality_cert_is_own(struct ca_signer *s, struct ca_key_id id,
    const uint8_t *in, size_t len)
{
	EVP_PKEY *pub = NULL;
	uint8_t *spki = NULL;
	int r, n, ok = 0;

	if ((r = s->impl->public_key(s->state, id, &pub)) != JPKI_OK)
		return r;
	if ((n = i2d_PUBKEY(pub, &spki)) > 0 && (size_t)n < len)
		ok = memmem(in, len, spki, (size_t)n) != NULL;
	OPENSSL_free(spki);
	EVP_PKEY_free(pub);
	if (!ok)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: the municipality "
		    "key signs only its own certificate (one that carries its "
		    "own public key)");
	return JPKI_OK;
}

/* The seam's own checks of one request, before any implementation sees
 * it. */
static int
sign_check(struct ca_signer_session *ss, struct ca_key_id id,
    enum ca_sign_op op, const uint8_t *in, size_t len)
{
	int r;

	if ((r = key_id_check(id)) != JPKI_OK ||
	    (r = request_check(id, op, in, len)) != JPKI_OK)
		return r;
	if (op == CA_SIGN_CARD_CERT &&
	    (r = card_cert_is_own(ss->signer, id, in, len)) != JPKI_OK)
		return r;
	if (op == CA_SIGN_MUNICIPALITY_CERT &&
	    (r = municipality_cert_is_own(ss->signer, id, in, len)) !=
	    JPKI_OK)
		return r;
	return JPKI_OK;
}

int
ca_signer_sign(struct ca_signer_session *ss, struct ca_key_id id,
    enum ca_sign_op op, const uint8_t *in, size_t len, uint8_t *sig,
    size_t *sig_len)
{
	int r;

	if ((r = sign_check(ss, id, op, in, len)) != JPKI_OK)
		return r;
	return ss->signer->impl->sign(ss->sess, id, op, in, len, sig,
	    sig_len);
}

static void
item_fail(struct ca_sign_item *it, int r)
{
	it->r = r;
	snprintf(it->why, sizeof(it->why), "%s", jpki_errmsg());
}

int
ca_signer_sign_many(struct ca_signer_session *ss,
    struct ca_sign_item *items, size_t n)
{
	size_t asked = 0;
	int r = JPKI_OK;

	for (size_t i = 0; i < n; i++) {
		if (items[i].r != JPKI_OK)
			continue;
		if ((items[i].r = sign_check(ss, items[i].id, items[i].op,
		    items[i].in, items[i].len)) != JPKI_OK)
			item_fail(&items[i], items[i].r);
		else
			asked++;
	}
	if (asked == 0)
		return JPKI_OK;
	if (ss->signer->impl->sign_many != NULL) {
		/* What the failure stopped is not signed as far as we know. */
		if ((r = ss->signer->impl->sign_many(ss->sess, items, n)) !=
		    JPKI_OK)
			for (size_t i = 0; i < n; i++)
				if (items[i].r == JPKI_OK)
					item_fail(&items[i], r);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].r != JPKI_OK)
			continue;
		if ((r = ss->signer->impl->sign(ss->sess, items[i].id,
		    items[i].op, items[i].in, items[i].len, items[i].sig,
		    &items[i].sig_len)) != JPKI_OK)
			item_fail(&items[i], r);
	}
	return JPKI_OK;
}

int
ca_signer_create_key(struct ca_signer *s, struct ca_key_id id, int bits,
    EVP_PKEY **pub)
{
	int r;

	*pub = NULL;
	if ((r = key_id_check(id)) != JPKI_OK)
		return r;
	if (s->impl->create_key == NULL)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: keys are not made "
		    "through the %s signer", s->impl->name);
	return s->impl->create_key(s->state, id, bits, pub);
}

int
ca_signer_discard_key(struct ca_signer *s, struct ca_key_id id)
{
	int r;

	if ((r = key_id_check(id)) != JPKI_OK)
		return r;
	if (id.role == CA_KEY_CARD_ISSUER || id.role == CA_KEY_MUNICIPALITY ||
	    id.gen < 2)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: only a later "
		    "generation's key is discarded");
	if (s->impl->discard_key == NULL)
		return jpki_fail(JPKI_ERR_REFUSED, "signer: keys are not "
		    "removed through the %s signer", s->impl->name);
	return s->impl->discard_key(s->state, id);
}

int
ca_signer_locate(struct ca_signer *s, struct ca_key_id id, char *buf,
    size_t n)
{
	int r;

	if ((r = key_id_check(id)) != JPKI_OK)
		return r;
	return s->impl->locate(s->state, id, buf, n);
}

int
ca_key_name(struct ca_key_id id, char *buf, size_t n)
{
	int len;

	if (id.role == CA_KEY_CARD_ISSUER)
		len = snprintf(buf, n, "card-issuer");
	else if (id.role == CA_KEY_MUNICIPALITY)
		len = snprintf(buf, n, "municipality");
	else if (id.role == CA_KEY_AUDIT)
		len = snprintf(buf, n, "audit");
	else if (id.gen <= 1)   /* generation 1 keeps the names from before */
		len = snprintf(buf, n, "%s-%s", rules_cert_type_name(id.type),
		    id.role == CA_KEY_CA ? "ca" : "ocsp");
	else
		len = snprintf(buf, n, "%s-%s.gen%d",
		    rules_cert_type_name(id.type),
		    id.role == CA_KEY_CA ? "ca" : "ocsp", id.gen);
	if (len < 0 || (size_t)len >= n)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: key name too long");
	return JPKI_OK;
}

void
ca_key_label(struct ca_key_id id, char *buf, size_t n)
{
	if (id.role == CA_KEY_CARD_ISSUER)
		snprintf(buf, n, "card issuer");
	else if (id.role == CA_KEY_MUNICIPALITY)
		snprintf(buf, n, "municipality document");
	else if (id.role == CA_KEY_AUDIT)
		snprintf(buf, n, "audit checkpoint");
	else
		snprintf(buf, n, "%s %s generation %d",
		    rules_cert_type_name(id.type),
		    id.role == CA_KEY_CA ? "CA" : "OCSP responder", id.gen);
}

int
ca_signer_open(const struct datadir *dd, unsigned keys,
    struct ca_signer **out)
{
	if (ca_signer_pkcs11_used(dd))
		return ca_signer_open_pkcs11(dd, keys, out);
	return ca_signer_open_files(dd, keys, out);
}

int
ca_signer_crl_begin(struct ca_signer_session *ss, struct ca_key_id id,
    uint64_t total)
{
	static const uint8_t probe[32];
	const struct ca_signer_impl *impl = ss->signer->impl;
	int r;

	/* One left open by a failure is dropped. */
	ss->crl_open = 0;
	if ((r = key_id_check(id)) != JPKI_OK ||
	    (r = request_check(id, CA_SIGN_CRL_DIGEST, probe, sizeof(probe))))
		return r;
	if (total == 0)
		return jpki_fail(JPKI_ERR_INPUT, "signer: an empty CRL");
	if (impl->crl_begin != NULL)
		r = impl->crl_begin(ss->sess, id, total);
	else if (ss->crl_md == NULL && (ss->crl_md = EVP_MD_CTX_new()) == NULL)
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	else if (EVP_DigestInit_ex(ss->crl_md, EVP_sha256(), NULL) != 1)
		r = jpki_fail(JPKI_ERR_CRYPTO, "CRL: hashing");
	if (r != JPKI_OK)
		return r;
	ss->crl_open = 1;
	ss->crl_id = id;
	ss->crl_total = total;
	ss->crl_got = 0;
	return JPKI_OK;
}

int
ca_signer_crl_update(struct ca_signer_session *ss, const uint8_t *p,
    size_t n)
{
	const struct ca_signer_impl *impl = ss->signer->impl;

	if (!ss->crl_open)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: no CRL begun");
	if (n > ss->crl_total - ss->crl_got)
		return jpki_fail(JPKI_ERR_INPUT, "signer: a TBSCertList longer "
		    "than the %llu bytes announced",
		    (unsigned long long)ss->crl_total);
	ss->crl_got += n;
	if (impl->crl_update != NULL)
		return impl->crl_update(ss->sess, p, n);
	if (EVP_DigestUpdate(ss->crl_md, p, n) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "CRL: hashing");
	return JPKI_OK;
}

int
ca_signer_crl_finish(struct ca_signer_session *ss, uint8_t *sig,
    size_t *sig_len)
{
	const struct ca_signer_impl *impl = ss->signer->impl;
	uint8_t digest[32];
	unsigned int dlen = sizeof(digest);

	if (!ss->crl_open)
		return jpki_fail(JPKI_ERR_INTERNAL, "signer: no CRL begun");
	ss->crl_open = 0;
	if (ss->crl_got != ss->crl_total)
		return jpki_fail(JPKI_ERR_INPUT, "signer: a TBSCertList of %llu "
		    "bytes where %llu were announced",
		    (unsigned long long)ss->crl_got,
		    (unsigned long long)ss->crl_total);
	if (impl->crl_finish != NULL)
		return impl->crl_finish(ss->sess, sig, sig_len);
	if (EVP_DigestFinal_ex(ss->crl_md, digest, &dlen) != 1 || dlen != 32)
		return jpki_fail(JPKI_ERR_CRYPTO, "CRL: hashing");
	return impl->sign(ss->sess, ss->crl_id, CA_SIGN_CRL_DIGEST, digest,
	    sizeof(digest), sig, sig_len);
}
