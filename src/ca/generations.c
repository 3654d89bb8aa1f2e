/*
 * generations.c: CA generations and rollover.
 *
 * A CA certificate lives 10 years and an end-entity certificate up to 5,
 * never past its CA's; so a CA must hand issuing over to a new key with a
 * new certificate under the same name before its last 5 years begin, as
 * J-LIS did in 2023 with the CAs of 2015.  Each such key is a generation
 * (1, 2, ...), recorded in the store; the newest issues.  An older one
 * keeps its key for the certificates it issued: it publishes their CRLs
 * (under <sign|auth>.gen<N>/, the CDP its certificates carry) and its
 * responder answers OCSP for them, until the last of them expires.
 *
 * A rollover makes, besides the new CA certificate, the two link
 * certificates of RFC 4210 4.4 between the generations: OldWithNew (the
 * old public key signed by the new key) lets a relying party that
 * trusts only the new generation verify certificates of the old, and
 * NewWithOld (the new key signed by the old one) the other way round.
 * Both carry the CA's name as subject and issuer; their AKI (the signing
 * key's SKI) and SKI (the subject key's) are what a path builder matches
 * an end-entity certificate's AKI against, so it picks the link
 * certificate over the self-signed one of the same name.
 *
 * A rollover writes its keys and files first and records the generation
 * last, in one transaction with its audit entry: killed before that, it
 * never happened, and the next rollover removes what it left (under the
 * CA directory's lock, so two rollovers cannot meet).
 */
#include "ca/ca_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <jansson.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int
ca_generation_count(struct ca *ca, enum cert_type t)
{
	return t == CERT_SIGN || t == CERT_AUTH ? ca->ngen[t] : 0;
}

X509 *
ca_gen_cert(struct ca *ca, enum cert_type t, int gen)
{
	struct ca_side *sd = ca_side_of(ca, t, gen);

	return sd != NULL ? sd->cert : NULL;
}

X509 *
ca_gen_ocsp_cert(struct ca *ca, enum cert_type t, int gen)
{
	struct ca_side *sd = ca_side_of(ca, t, gen);

	return sd != NULL ? sd->ocsp_cert : NULL;
}

X509 *
ca_gen_old_with_new(struct ca *ca, enum cert_type t, int gen)
{
	struct ca_side *sd = ca_side_of(ca, t, gen);

	return sd != NULL ? sd->old_with_new : NULL;
}

X509 *
ca_gen_new_with_old(struct ca *ca, enum cert_type t, int gen)
{
	struct ca_side *sd = ca_side_of(ca, t, gen);

	return sd != NULL ? sd->new_with_old : NULL;
}

static void
key_id_hex(X509 *x, char out[41])
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	int n = ski != NULL ? ASN1_STRING_length(ski) : 0;
	const unsigned char *p = ski != NULL ? ASN1_STRING_get0_data(ski) :
	    NULL;

	out[0] = '\0';
	for (int i = 0; i < n && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02X", p[i]);
}

int
ca_generation_status(struct ca *ca, enum cert_type t, int gen, int64_t now,
    struct ca_generation_status *out)
{
	struct ca_side *sd = ca_side_of(ca, t, gen);
	struct jdate last_day;
	int r;

	memset(out, 0, sizeof(*out));
	if (sd == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "generation: the %s CA has no "
		    "generation %d", rules_cert_type_name(t), gen);
	out->type = t;
	out->gen = gen;
	out->issuing = gen == ca->ngen[t];
	key_id_hex(sd->cert, out->key_id);
	if ((r = pki_asn1_time_get(X509_get0_notBefore(sd->cert),
	    &out->not_before)) ||
	    (r = pki_asn1_time_get(X509_get0_notAfter(sd->cert),
	    &out->not_after)) ||
	    (r = pki_asn1_time_get(X509_get0_notAfter(sd->ocsp_cert),
	    &out->responder_not_after)) ||
	    (r = store_ca_generation_stats(ca->store, t, gen, now, &out->live,
	    &out->last_not_after)))
		return r;
	out->in_service = out->issuing || out->last_not_after >= now;
	/* A certificate issued on day d lives at most until the end of d
	 * plus CA_CERT_LIFETIME_MONTHS (a birthday on d itself is not
	 * counted, R6): it fits if that day is not after the CA's last. */
	last_day = jdate_add_months(jst_date_of(out->not_after),
	    -CA_CERT_LIFETIME_MONTHS);
	out->roll_over_by = jst_end_of_day(last_day);
	if (out->issuing) {
		out->cut_short = now > out->roll_over_by;
		out->rollover_due = now > out->roll_over_by -
		    (int64_t)CA_ROLLOVER_NOTICE_DAYS * 86400;
	}
	return JPKI_OK;
}

/* ---- rollover ----------------------------------------------------------- */

/* The files of generation gen of t, in the order a rollover writes them. */
static const char *const gen_files[] = {
	"ca", "link-old-with-new", "link-new-with-old", "ocsp",
};

/* What an interrupted rollover to generation gen left: its certificate
 * files and keys (never recorded, so nothing it signed was published). */
static int
discard_unrecorded(struct ca *ca, enum cert_type t, int gen)
{
	char path[JPKI_PATH_MAX];
	int r;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(gen_files); i++) {
		if ((r = ca_gen_path(ca->dd, t, gen, gen_files[i], path,
		    sizeof(path))) != JPKI_OK)
			return r;
		if (unlink(path) != 0 && errno != ENOENT)
			return jpki_fail(JPKI_ERR_IO, "%s: %s", path,
			    strerror(errno));
	}
	if ((r = ca_signer_discard_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_CA, gen})) ||
	    (r = ca_signer_discard_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_OCSP, gen})))
		return r;
	return JPKI_OK;
}

/* One rollover at a time per data directory; *fd holds the lock. */
static int
lock_ca_dir(struct ca *ca, int *fd)
{
	char dir[JPKI_PATH_MAX];
	int r;

	if ((r = datadir_path(ca->dd, DATADIR_CA_DIR, NULL, dir,
	    sizeof(dir))) != JPKI_OK)
		return r;
	if ((*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(*fd, LOCK_EX) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", dir, strerror(errno));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return r;
	}
	return JPKI_OK;
}

/* The newest generation of t the store records now. */
struct newest {
	enum cert_type type;
	int gen;
};

static int
newest_row(void *arg, enum cert_type t, int gen, int64_t at)
{
	struct newest *n = arg;

	(void)at;
	if (t == n->type && gen > n->gen)
		n->gen = gen;
	return 0;
}

/* The certificates of a new generation, before they are recorded. */
struct new_gen {
	X509 *cert, *ocsp_cert, *old_with_new, *new_with_old;
};

static void
new_gen_free(struct new_gen *ng)
{
	X509_free(ng->cert);
	X509_free(ng->ocsp_cert);
	X509_free(ng->old_with_new);
	X509_free(ng->new_with_old);
	memset(ng, 0, sizeof(*ng));
}

/* Build and sign the new generation's certificates. */
static int
certify_new(struct ca *ca, enum cert_type t, struct ca_side *old, int gen,
    EVP_PKEY *pub, EVP_PKEY *opub, int64_t now, struct new_gen *ng)
{
	uint8_t serial[CA_SERIAL_LEN];
	int64_t old_nb, old_na;
	X509 *x = NULL;
	int r;

	if ((r = pki_asn1_time_get(X509_get0_notBefore(old->cert), &old_nb)) ||
	    (r = pki_asn1_time_get(X509_get0_notAfter(old->cert), &old_na)))
		return r;
	/* NewWithNew: the self-signed certificate of the new key. */
	if ((r = ca_serial_random(serial)) ||
	    (r = pki_ca_cert_build(t, &ca->names, pub, serial, sizeof(serial),
	    now, ca_validity_end(now, CA_VALIDITY_MONTHS), &x)) ||
	    (r = ca_sign_x509(ca, t, gen, x, &ng->cert)))
		goto out;
	X509_free(x);
	x = NULL;
	/* OldWithNew: the old key, signed by the new one, for as long as
	 * the old key's own certificate (RFC 4210 4.4.1). */
	if ((r = ca_serial_random(serial)) ||
	    (r = pki_ca_link_cert_build(t, &ca->names,
	    X509_get0_pubkey(old->cert), ng->cert, serial, sizeof(serial),
	    old_nb, old_na, &x)) ||
	    (r = ca_sign_x509(ca, t, gen, x, &ng->old_with_new)))
		goto out;
	X509_free(x);
	x = NULL;
	/* NewWithOld: the new key, signed by the old one, from now until the
	 * old key's certificate ends (it cannot vouch longer). */
	if ((r = ca_serial_random(serial)) ||
	    (r = pki_ca_link_cert_build(t, &ca->names, pub, old->cert, serial,
	    sizeof(serial), now, old_na, &x)) ||
	    (r = ca_sign_x509(ca, t, old->gen, x, &ng->new_with_old)))
		goto out;
	r = ca_responder_certify(ca, t, gen, ng->cert, opub, now,
	    &ng->ocsp_cert);
out:
	X509_free(x);
	return r;
}

static int
write_new(struct ca *ca, enum cert_type t, int gen, struct new_gen *ng,
    struct ca_rollover_result *res)
{
	X509 *certs[] = {ng->cert, ng->old_with_new, ng->new_with_old,
	    ng->ocsp_cert};
	char *paths[] = {res->ca_path, res->old_with_new_path,
	    res->new_with_old_path, res->ocsp_path};
	int r;

	_Static_assert(JPKI_ARRAY_LEN(certs) == JPKI_ARRAY_LEN(gen_files),
	    "one file per certificate");
	for (size_t i = 0; i < JPKI_ARRAY_LEN(certs); i++)
		if ((r = ca_gen_path(ca->dd, t, gen, gen_files[i], paths[i],
		    JPKI_PATH_MAX)) ||
		    (r = ca_cert_write(paths[i], certs[i])))
			return r;
	return JPKI_OK;
}

#ifdef JPKI_TEST_HOOKS
/* Test builds only: JPKI_ROLLOVER_CRASH=before-record kills the process
 * with the new generation's files written and nothing recorded. */
static void
rollover_crash_point(const char *point)
{
	const char *v = getenv("JPKI_ROLLOVER_CRASH");

	if (v != NULL && strcmp(v, point) == 0) {
		fprintf(stderr, "jpki: test hook: killed at %s\n", point);
		raise(SIGKILL);
	}
}
#else
#define rollover_crash_point(point) ((void)0)
#endif

/* The generation and its audit entry, in one transaction. */
static int
record_new(struct ca *ca, enum cert_type t, int gen, struct new_gen *ng,
    int64_t now, const char *actor)
{
	char key_id[41], na[26];
	int64_t not_after;
	int r;

	key_id_hex(ng->cert, key_id);
	if ((r = pki_asn1_time_get(X509_get0_notAfter(ng->cert), &not_after)))
		return r;
	iso8601_format_jst(not_after, na);
	if ((r = store_begin(ca->store)) != JPKI_OK)
		return r;
	if ((r = store_ca_generation_add(ca->store, t, gen, now)) ||
	    (r = store_audit_json(ca->store, actor, "ca.rollover",
	    rules_cert_type_name(t), json_pack("{s:i, s:i, s:s, s:s}",
	    "generation", gen, "previous", gen - 1, "key_id", key_id,
	    "not_after", na)))) {
		store_rollback(ca->store);
		return r;
	}
	return store_commit(ca->store);
}

int
ca_rollover(struct ca *ca, enum cert_type t, const char *actor,
    struct ca_rollover_result *res)
{
	struct new_gen ng = {0};
	struct newest newest = {t, 0};
	struct ca_side *old, *sd;
	EVP_PKEY *pub = NULL, *opub = NULL;
	int64_t now;
	int gen, lock_fd = -1, r;

	memset(res, 0, sizeof(*res));
	if (t != CERT_SIGN && t != CERT_AUTH)
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	if ((r = ca_signing_key_check(ca, t)) != JPKI_OK ||
	    (r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	/* `jpki signer` signs; it makes no keys (its request table is
	 * narrow).  The new keys are made where it keeps its keys, by the
	 * key ceremony on its machine (docs/ca-operations.md). */
	if (!ca->local && ca->config.signer[0] != '\0')
		return jpki_fail(JPKI_ERR_REFUSED, "%s CA: a rollover makes "
		    "keys where the signer (%s) keeps them: run `jpki ca "
		    "rollover --keys DIR` (or --local for the data directory's "
		    "own keys) on its machine, then restart it",
		    rules_cert_type_name(t), ca->config.signer);
	old = ca_issuing(ca, t);
	gen = old->gen + 1;
	if (gen > CA_GEN_MAX)
		return jpki_fail(JPKI_ERR_REFUSED, "%s CA: %d generations is "
		    "the most a data directory holds",
		    rules_cert_type_name(t), CA_GEN_MAX);
	if ((r = lock_ca_dir(ca, &lock_fd)) != JPKI_OK)
		return r;
	/* Opened before another process rolled over: its view is stale. */
	if ((r = store_ca_generation_list(ca->store, newest_row, &newest)))
		goto out;
	if (newest.gen != old->gen) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s CA: generation %d was "
		    "made since this command started", rules_cert_type_name(t),
		    newest.gen);
		goto out;
	}
	if ((r = discard_unrecorded(ca, t, gen)) ||
	    (r = ca_signer_create_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_CA, gen}, ca->config.key_bits, &pub)) ||
	    (r = ca_signer_create_key(ca->signer, (struct ca_key_id){t,
	    CA_KEY_OCSP, gen}, 2048, &opub)) ||
	    (r = certify_new(ca, t, old, gen, pub, opub, now, &ng)) ||
	    (r = write_new(ca, t, gen, &ng, res)))
		goto out;
	rollover_crash_point("before-record");
	if ((r = record_new(ca, t, gen, &ng, now, actor)) != JPKI_OK)
		goto out;
	/* Recorded: from now on the new generation issues. */
	sd = &ca->side[t][gen];
	memset(sd, 0, sizeof(*sd));
	sd->type = t;
	sd->gen = gen;
	sd->created_at = now;
	sd->cert = ng.cert;
	sd->ocsp_cert = ng.ocsp_cert;
	sd->old_with_new = ng.old_with_new;
	sd->new_with_old = ng.new_with_old;
	memset(&ng, 0, sizeof(ng));
	ca->ngen[t] = gen;
	res->type = t;
	res->old_gen = gen - 1;
	res->new_gen = gen;
out:
	new_gen_free(&ng);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(opub);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}

/* ---- responder certificates -------------------------------------------- */

int
ca_responder_renew(struct ca *ca, enum cert_type t, int gen, int64_t within,
    const char *actor, int *renewed)
{
	struct ca_generation_status st;
	struct ca_side *sd;
	char path[JPKI_PATH_MAX], na[26];
	X509 *x = NULL;
	int64_t now, x_na;
	int r;

	*renewed = 0;
	if ((r = ca_signing_key_check(ca, t)) != JPKI_OK ||
	    (r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = ca_generation_status(ca, t, gen, now, &st)) != JPKI_OK)
		return r;
	sd = ca_side_of(ca, t, gen);
	/* Nothing left to answer for, or a CA past its end: none needed. */
	if (!st.in_service || now > st.not_after ||
	    st.responder_not_after - now > within)
		return JPKI_OK;
	/* The same responder key: its certificate already holds it. */
	if ((r = ca_responder_certify(ca, t, gen, sd->cert,
	    X509_get0_pubkey(sd->ocsp_cert), now, &x)) ||
	    (r = pki_asn1_time_get(X509_get0_notAfter(x), &x_na)) ||
	    (r = ca_gen_path(ca->dd, t, gen, "ocsp", path, sizeof(path))) ||
	    (r = ca_cert_replace(path, x)))
		goto out;
	iso8601_format_jst(x_na, na);
	if ((r = store_begin(ca->store)) != JPKI_OK)
		goto out;
	if ((r = store_audit_json(ca->store, actor, "ca.responder-renew",
	    rules_cert_type_name(t), json_pack("{s:i, s:s}", "generation",
	    gen, "not_after", na))) != JPKI_OK) {
		store_rollback(ca->store);
		goto out;
	}
	if ((r = store_commit(ca->store)) != JPKI_OK)
		goto out;
	X509_free(sd->ocsp_cert);
	sd->ocsp_cert = x;
	x = NULL;
	if (sd->ocsp_ready) {
		pki_ocsp_responder_free(&sd->ocsp);
		sd->ocsp_ready = 0;
	}
	*renewed = 1;
out:
	X509_free(x);
	return r;
}
