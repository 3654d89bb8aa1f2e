/*
 * signer_probe: a small client of `jpki signer` that sends it crafted
 * requests through the key seam, as a compromised counter could, and
 * prints what the signer answers (tests/integration/test_signer*.sh).
 *
 * usage: signer_probe DATADIR CASE
 *   ok              a signing certificate in the profile (signed: exit 0)
 *   dup-serial      the same TBSCertificate twice (the second is refused)
 *   facts-on-auth   an authentication certificate carrying the holder's
 *                   facts (SubjectAltName)
 *   long-validity   an authentication certificate valid 8 years, past
 *                   any card issued that day
 *   wrong-issuer    a signing certificate's body sent to the auth CA key
 *   audit-raw       an audit checkpoint body the client made up
 *   crl-digest      a digest to sign as a CRL's (it could be anything's)
 *   crl-forged      a TBSCertificate streamed as if it were a TBSCertList
 *   old-gen         after a rollover: a signing certificate in the profile
 *                   of generation 1, sent to generation 1's key (which no
 *                   longer issues)
 * Certificates are built for, and sent to, the generation that issues
 * (the newest) unless the case says otherwise.
 * Exit 0 signed, 1 refused (the refusal on stderr), 3 anything else.
 */
#include "ca/ca_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *birth_facts = "319801231";  /* Showa: 3, then the date */

static int gen_of[3];   /* the generation each type builds for and sends to */

static int
build(struct ca *ca, enum cert_type t, EVP_PKEY *pub, int64_t nb,
    int64_t na, const uint8_t serial[16], X509 **out)
{
	static struct pki_holder_facts f = {
	    .name = "山田\xE3\x80\x80太郎", .name_flags = "00000",
	    .gender = 1, .address = "東京都清瀬市中里五丁目842番地",
	    .address_flags = "0000000000000000",
	};
	struct pki_ee_params ep = {0};
	char crl[PKI_URI_MAX];

	f.birth = birth_facts;
	if (ca_crl_uri(ca, t, gen_of[t], 0, crl, sizeof(crl)) != JPKI_OK)
		return 3;
	ep.type = t;
	ep.serial = serial;
	ep.serial_len = 16;
	ep.not_before = nb;
	ep.not_after = na;
	ep.subject_pub = pub;
	ep.ca_cert = ca_gen_cert(ca, t, gen_of[t]);
	ep.names = &ca->names;
	ep.pref_romaji = "Tokyo-to";
	ep.city_romaji = "Kiyose-shi";
	ep.cn = "PROBE";
	ep.facts = t == CERT_SIGN ? &f : NULL;
	ep.test_policy = ca->config.test_policy;
	ep.cps_uri = ca->config.cps_uri;
	ep.crl_uri = crl;
	return pki_ee_cert_build(&ep, out) == JPKI_OK ? 0 : 3;
}

static int
send_tbs(struct ca *ca, enum cert_type key, X509 *x)
{
	struct ca_signer_session *ss;
	uint8_t *tbs = NULL, sig[PKI_SIG_MAX];
	size_t len, sig_len = sizeof(sig);
	int r;

	if ((r = ca_session(ca, &ss)) != JPKI_OK ||
	    (r = pki_cert_tbs(x, &tbs, &len)) != JPKI_OK)
		return r;
	r = ca_signer_sign(ss, (struct ca_key_id){key, CA_KEY_CA,
	    gen_of[key]}, CA_SIGN_CERT, tbs, len, sig, &sig_len);
	OPENSSL_free(tbs);
	return r;
}

int
main(int argc, char **argv)
{
	struct datadir *dd = NULL;
	struct ca *ca = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL, *sx = NULL;
	uint8_t serial[16];
	int64_t now;
	const char *c;
	int r = JPKI_OK;

	if (argc != 3)
		return 3;
	c = argv[2];
	now = jpki_now();
	if (datadir_open(argv[1], DATADIR_READ_ONLY, &dd) != JPKI_OK ||
	    ca_open(dd, CA_KEYS_CA, &ca) != JPKI_OK ||
	    (pub = EVP_RSA_gen(2048)) == NULL ||
	    ca_serial_random(serial) != JPKI_OK) {
		fprintf(stderr, "signer_probe: %s\n", jpki_errmsg());
		return 3;
	}
	gen_of[CERT_SIGN] = ca_generation_count(ca, CERT_SIGN);
	gen_of[CERT_AUTH] = ca_generation_count(ca, CERT_AUTH);
	if (strcmp(c, "old-gen") == 0) {
		gen_of[CERT_SIGN] = 1;
		if (build(ca, CERT_SIGN, pub, now, now + 365 * 86400, serial,
		    &x))
			return 3;
		r = send_tbs(ca, CERT_SIGN, x);
	} else if (strcmp(c, "ok") == 0 || strcmp(c, "dup-serial") == 0 ||
	    strcmp(c, "wrong-issuer") == 0) {
		if (build(ca, CERT_SIGN, pub, now, now + 365 * 86400, serial, &x))
			return 3;
		r = send_tbs(ca, strcmp(c, "wrong-issuer") == 0 ? CERT_AUTH :
		    CERT_SIGN, x);
		if (r == JPKI_OK && strcmp(c, "dup-serial") == 0)
			r = send_tbs(ca, CERT_SIGN, x);
	} else if (strcmp(c, "facts-on-auth") == 0) {
		X509_EXTENSION *san;
		int i;

		if (build(ca, CERT_SIGN, pub, now, now + 365 * 86400, serial,
		    &sx) || ca_serial_random(serial) != JPKI_OK ||
		    build(ca, CERT_AUTH, pub, now, now + 365 * 86400, serial, &x))
			return 3;
		i = X509_get_ext_by_NID(sx, NID_subject_alt_name, -1);
		san = X509_get_ext(sx, i);
		if (i < 0 || !X509_add_ext(x, san, 1))
			return 3;
		r = send_tbs(ca, CERT_AUTH, x);
	} else if (strcmp(c, "long-validity") == 0) {
		if (build(ca, CERT_AUTH, pub, now, now + 8LL * 366 * 86400,
		    serial, &x))
			return 3;
		r = send_tbs(ca, CERT_AUTH, x);
	} else if (strcmp(c, "crl-digest") == 0) {
		uint8_t digest[32] = {1}, sig[PKI_SIG_MAX];
		size_t sig_len = sizeof(sig);
		struct ca_signer_session *ss;

		if ((r = ca_session(ca, &ss)) == JPKI_OK)
			r = ca_signer_sign(ss, (struct ca_key_id){CERT_SIGN,
			    CA_KEY_CA, gen_of[CERT_SIGN]}, CA_SIGN_CRL_DIGEST,
			    digest,
			    sizeof(digest), sig, &sig_len);
	} else if (strcmp(c, "crl-forged") == 0) {
		uint8_t *tbs = NULL, sig[PKI_SIG_MAX];
		size_t len = 0, sig_len = sizeof(sig);
		struct ca_signer_session *ss;
		struct ca_key_id id = {CERT_SIGN, CA_KEY_CA,
		    gen_of[CERT_SIGN]};

		if (build(ca, CERT_SIGN, pub, now, now + 365 * 86400, serial,
		    &x) || pki_cert_tbs(x, &tbs, &len) != JPKI_OK)
			return 3;
		if ((r = ca_session(ca, &ss)) == JPKI_OK &&
		    (r = ca_signer_crl_begin(ss, id, len)) == JPKI_OK &&
		    (r = ca_signer_crl_update(ss, tbs, len)) == JPKI_OK)
			r = ca_signer_crl_finish(ss, sig, &sig_len);
		OPENSSL_free(tbs);
	} else if (strcmp(c, "audit-raw") == 0) {
		uint8_t body[CA_CHECKPOINT_BODY_LEN] = {0}, sig[PKI_SIG_MAX];
		size_t sig_len = sizeof(sig);
		struct ca_signer_session *ss = NULL;
		struct ca_signer *s = NULL;

		/* Asking for the audit key, which the signer keeps to itself. */
		memcpy(body, CA_CHECKPOINT_MAGIC, sizeof(CA_CHECKPOINT_MAGIC));
		if ((r = ca_signer_open_remote(datadir_config(dd),
		    datadir_root(dd), CA_KEYS_AUDIT, &s)) == JPKI_OK &&
		    (r = ca_signer_session_open(s, &ss)) == JPKI_OK)
			r = ca_signer_sign(ss, CA_KEY_ID_AUDIT,
			    CA_SIGN_CHECKPOINT, body, sizeof(body), sig,
			    &sig_len);
		ca_signer_session_close(&ss);
		ca_signer_close(&s);
	} else {
		fprintf(stderr, "signer_probe: no case %s\n", c);
		return 3;
	}
	if (r == JPKI_OK)
		printf("signed\n");
	else
		fprintf(stderr, "%s\n", jpki_errmsg());
	X509_free(x);
	X509_free(sx);
	EVP_PKEY_free(pub);
	ca_close(&ca);
	datadir_close(&dd);
	return r == JPKI_OK ? 0 : r == JPKI_ERR_REFUSED ? 1 : 3;
}
