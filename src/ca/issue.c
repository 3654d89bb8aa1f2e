/*
 * issue.c: issuing and revoking end-entity certificates.
 *
 * An issuance is: the rules allow it (R8e age, R11 card validity, a living
 * holder); a random serial; the certificate built in the JPKI profile and
 * signed; the certificate and its audit entry recorded in one transaction.
 * ca_issue_batch() signs on several threads (the RSA signature is nearly
 * all of the cost) and commits the whole batch at once, so a durable store
 * pays one fsync per batch, not per certificate.
 */
#include "ca/ca_impl.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUE_THREADS_MAX 64

void
ca_issued_free(struct ca_issued *i)
{
	free(i->der);
	i->der = NULL;
	i->der_len = 0;
}

const char *
ca_cert_status_name(const struct cert_record *c, int64_t now)
{
	if (c->status == CERT_STATUS_REVOKED)
		return "revoked";
	if (now > c->not_after)
		return "expired";
	return "valid";
}

int
ca_serial_normalise(const char *in, char out[SERIAL_HEX_MAX])
{
	size_t n = 0;
	const char *p = in;

	if (strncmp(p, "0x", 2) == 0 || strncmp(p, "0X", 2) == 0)
		p += 2;
	while (*p == '0' && p[1] != '\0' && p[1] != ':')
		p++;
	for (; *p; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n + 1 >= SERIAL_HEX_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "serial: '%s' is not a "
			    "certificate serial in hex", in);
		out[n++] = (char)toupper((unsigned char)*p);
	}
	if (n == 0)
		return jpki_fail(JPKI_ERR_INPUT, "serial: empty");
	out[n] = '\0';
	/* Stored serials are whole octets, as openssl prints them. */
	if (n % 2 == 1) {
		if (n + 1 >= SERIAL_HEX_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "serial: too long");
		memmove(out + 1, out, n + 1);
		out[0] = '0';
	}
	return JPKI_OK;
}

/* "Kiyose Shi" → "Kiyose-shi", as real signing certificates write it. */
static void
romaji_for_cert(const char *in, char *out, size_t n)
{
	const char *sp = strrchr(in, ' ');
	size_t i, j = 0;

	for (i = 0; in[i] != '\0' && j + 1 < n; i++) {
		if (sp != NULL && in + i == sp) {
			out[j++] = '-';
		} else if (sp != NULL && in + i > sp) {
			out[j++] = (char)tolower((unsigned char)in[i]);
		} else {
			out[j++] = in[i];
		}
	}
	out[j] = '\0';
}

/* Everything one issuance needs, prepared before signing. */
struct prepared {
	const struct ca_issue_request *req;
	struct cert_record rec;
	/* The profile inputs, owned here so that building can run on a
	 * signing thread without touching the store. */
	struct pki_ee_params ep;
	struct pki_holder_facts facts;
	uint8_t serial[CA_SERIAL_LEN];
	char name[2 * RESIDENT_NAME_MAX + 8], birth[16], pref[64], city[64];
	char name_flags[2 * RESIDENT_NAME_MAX + 2];
	char address[RESIDENT_ADDRESS_MAX + 1];
	char address_flags[RESIDENT_ADDRESS_MAX + 1];
	char crl_uri[512], ocsp_uri[512], issuers_uri[512];
	const struct pki_ee_template *tmpl;
	EVP_PKEY *ca_key;
	int r;
};

static int
card_expiry_for(const struct ca_issue_request *req, const struct resident *res,
    int64_t now, struct jdate *out)
{
	if (req->card_expiry.y != 0) {
		if (!jdate_valid(req->card_expiry))
			return jpki_fail(JPKI_ERR_INPUT, "card expiry: not a date");
		*out = req->card_expiry;
	} else {
		*out = rules_card_expiry(res->birth, jst_date_of(now));
	}
	return JPKI_OK;
}

static int
prepare(struct ca *ca, const struct ca_issue_request *req, int64_t now,
    struct prepared *p)
{
	struct resident res;
	struct municipality muni;
	struct eligibility el;
	struct pki_holder_facts *facts = &p->facts;
	struct pki_ee_params *ep = &p->ep;
	struct jdate card_expiry;
	int r;

	memset(p, 0, sizeof(*p));
	p->req = req;
	if (req->type != CERT_SIGN && req->type != CERT_AUTH)
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	if (req->pub == NULL || EVP_PKEY_get_base_id(req->pub) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(req->pub) < 2048)
		return jpki_fail(JPKI_ERR_INPUT,
		    "public key: an RSA key of at least 2048 bits is needed");
	if ((r = store_resident_get(ca->store, req->resident_id, &res)))
		return r;
	if (strcmp(ca->muni_cache.code, res.municipality) == 0) {
		muni = ca->muni_cache;
	} else {
		if ((r = store_municipality_get(ca->store, res.municipality,
		    &muni)) != JPKI_OK)
			return r;
		ca->muni_cache = muni;
	}
	if ((r = card_expiry_for(req, &res, now, &card_expiry)) != JPKI_OK)
		return r;

	memset(&el, 0, sizeof(el));
	el.op = req->replaces ? CERT_OP_RENEW : CERT_OP_ISSUE;
	el.type = req->type;
	el.card_kind = CARD_MYNUMBER;
	el.card_usable = 1;
	el.card_expiry = card_expiry;
	el.birth = res.birth;
	el.holder_alive = res.status != RESIDENT_DECEASED;
	el.facts_current = 1;
	el.existing = EXISTING_NONE;
	el.now = now;
	if (req->replaces != NULL) {
		struct cert_record old;

		/* R9: a renewal replaces a valid certificate of the same type
		 * and opens 3 months before that one's expiry. */
		if ((r = store_cert_get(ca->store, req->replaces, &old)))
			return r;
		store_cert_free(&old);
		if (old.resident_id != res.id || old.ca != req->type)
			return jpki_fail(JPKI_ERR_INPUT, "replaces: certificate "
			    "%s is not this holder's %s certificate",
			    req->replaces, rules_cert_type_name(req->type));
		el.existing = old.status == CERT_STATUS_REVOKED ?
		    EXISTING_REVOKED : now > old.not_after ? EXISTING_EXPIRED :
		    EXISTING_VALID;
		el.existing_not_after = old.not_after;
	} else if (req->card_id == 0) {
		char held[SERIAL_HEX_MAX];
		int64_t held_until;

		/* R8 on the operator interface: one valid certificate of a
		 * type per holder.  (Counter procedures check it per card.) */
		r = store_cert_valid_of(ca->store, res.id, req->type, now, held,
		    &held_until);
		if (r == JPKI_OK) {
			el.existing = EXISTING_VALID;
			el.existing_not_after = held_until;
		} else if (r != JPKI_ERR_NOTFOUND) {
			return r;
		}
	}
	if ((r = rules_check_eligibility(&el)) != JPKI_OK)
		return r;

	p->rec.ca = req->type;
	p->rec.resident_id = res.id;
	p->rec.card_id = req->card_id;
	p->rec.status = CERT_STATUS_VALID;
	p->rec.not_before = now;
	p->rec.not_after = rules_cert_not_after(res.birth, now, card_expiry);
	p->rec.issued_at = now;
	if (req->replaces != NULL)
		snprintf(p->rec.replaces, sizeof(p->rec.replaces), "%s",
		    req->replaces);
	if ((r = ca_serial_random(p->serial)) != JPKI_OK ||
	    (r = pki_serial_hex(p->serial, sizeof(p->serial), p->rec.serial,
	    sizeof(p->rec.serial))) != JPKI_OK)
		return r;
	/* The shard is fixed at issuance from the serial (design.md). */
	p->rec.crl_shard = (int)(((unsigned)p->serial[1] << 8 | p->serial[2]) %
	    (unsigned)ca->config.crl_shards);

	snprintf(p->name, sizeof(p->name), "%s\xE3\x80\x80%s", res.surname,
	    res.given);
	memcpy(p->name_flags, res.name_flags, sizeof(p->name_flags));
	memcpy(p->address, res.address, sizeof(p->address));
	memcpy(p->address_flags, res.address_flags, sizeof(p->address_flags));
	rules_birth_for_cert(res.birth, p->birth);
	facts->name = p->name;
	facts->name_flags = p->name_flags;
	facts->gender = (int)res.gender;
	facts->birth = p->birth;
	facts->address = p->address;
	facts->address_flags = p->address_flags;
	romaji_for_cert(muni.pref_romaji, p->pref, sizeof(p->pref));
	romaji_for_cert(muni.name_romaji, p->city, sizeof(p->city));
	snprintf(p->crl_uri, sizeof(p->crl_uri), "%s/crl/%s/%d.crl",
	    ca->config.base_url, rules_cert_type_name(req->type),
	    p->rec.crl_shard);
	snprintf(p->ocsp_uri, sizeof(p->ocsp_uri), "%s/ocsp/%s",
	    ca->config.base_url, rules_cert_type_name(req->type));
	snprintf(p->issuers_uri, sizeof(p->issuers_uri), "%s/ca/%s.der",
	    ca->config.base_url, rules_cert_type_name(req->type));

	ep->type = req->type;
	ep->serial = p->serial;
	ep->serial_len = sizeof(p->serial);
	ep->not_before = p->rec.not_before;
	ep->not_after = p->rec.not_after;
	ep->subject_pub = req->pub;
	ep->ca_cert = ca->side[req->type].cert;
	ep->names = &ca->names;
	ep->pref_romaji = p->pref;
	ep->city_romaji = p->city;
	ep->cn = p->rec.serial;
	ep->facts = req->type == CERT_SIGN ? facts : NULL;
	ep->test_policy = ca->config.test_policy;
	ep->cps_uri = ca->config.cps_uri;
	ep->crl_uri = p->crl_uri;
	ep->ocsp_uri = p->ocsp_uri;
	ep->ca_issuers_uri = p->issuers_uri;
	p->ca_key = ca->side[req->type].key;
	/* Refuse bad facts now, inside the transaction, not on a thread. */
	if (ep->facts != NULL && (r = pki_holder_facts_check(facts)))
		return r;
	/* Made here, on the calling thread, before any signing thread can
	 * read it. */
	if (ca->side[req->type].ee_template == NULL &&
	    (r = pki_ee_template_new(ep, &ca->side[req->type].ee_template)))
		return r;
	p->tmpl = ca->side[req->type].ee_template;
	return JPKI_OK;
}

static void
prepared_free(struct prepared *p)
{
	if (p->rec.der != NULL)
		OPENSSL_free(p->rec.der);
	p->rec.der = NULL;
}

/* What a signing thread keeps between certificates: a signer per CA
 * (made on first use) and a buffer for the TBSCertificate. */
struct signing {
	struct pki_signer *signer[3];
	struct jbuf tbs;
};

static void
signing_init(struct signing *sg)
{
	memset(sg, 0, sizeof(*sg));
	jbuf_init(&sg->tbs);
}

static void
signing_free(struct signing *sg)
{
	for (size_t i = 0; i < JPKI_ARRAY_LEN(sg->signer); i++)
		pki_signer_free(&sg->signer[i]);
	jbuf_free(&sg->tbs);
}

/* Encode and sign one prepared certificate. */
static int
sign_one(struct prepared *p, struct signing *sg)
{
	struct pki_signer **signer = &sg->signer[p->rec.ca];
	int r;

	if (*signer == NULL && (r = pki_signer_new(p->ca_key, signer)))
		return r;
	sg->tbs.len = 0;
	if ((r = pki_ee_tbs_encode(p->tmpl, &p->ep, &sg->tbs)) != JPKI_OK)
		return r;
	return pki_signer_sign_tbs(*signer, sg->tbs.data, sg->tbs.len,
	    &p->rec.der, &p->rec.der_len);
}

/* Record a signed certificate and its audit entry (inside a transaction). */
static int
record(struct ca *ca, struct prepared *p, struct ca_issued *out)
{
	char na[26], detail[256];
	int r;

	if ((r = store_cert_insert(ca->store, &p->rec)) != JPKI_OK)
		return r;
	iso8601_format_jst(p->rec.not_after, na);
	snprintf(detail, sizeof(detail), "{\"type\": \"%s\", \"resident\": "
	    "%lld, \"not_after\": \"%s\", \"replaces\": \"%s\"}",
	    rules_cert_type_name(p->rec.ca), (long long)p->rec.resident_id, na,
	    p->rec.replaces);
	if ((r = store_audit_append(ca->store, p->req->actor ? p->req->actor :
	    "operator", "cert.issue", p->rec.serial, detail)) != JPKI_OK)
		return r;
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		memcpy(out->serial, p->rec.serial, sizeof(out->serial));
		out->not_before = p->rec.not_before;
		out->not_after = p->rec.not_after;
		out->crl_shard = p->rec.crl_shard;
		if ((out->der = malloc(p->rec.der_len)) == NULL)
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		memcpy(out->der, p->rec.der, p->rec.der_len);
		out->der_len = p->rec.der_len;
	}
	return JPKI_OK;
}

int
ca_issue_in_tx(struct ca *ca, const struct ca_issue_request *req,
    struct ca_issued *out)
{
	struct prepared p;
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	struct signing sg;

	signing_init(&sg);
	if ((r = prepare(ca, req, now, &p)) == JPKI_OK &&
	    (r = sign_one(&p, &sg)) == JPKI_OK)
		r = record(ca, &p, out);
	prepared_free(&p);
	signing_free(&sg);
	return r;
}

int
ca_issue(struct ca *ca, const struct ca_issue_request *req,
    struct ca_issued *out)
{
	int r;

	if ((r = store_begin(ca->store)) != JPKI_OK)
		return r;
	if ((r = ca_issue_in_tx(ca, req, out)) != JPKI_OK) {
		store_rollback(ca->store);
		if (out != NULL)
			ca_issued_free(out);
		return r;
	}
	if ((r = store_commit(ca->store)) != JPKI_OK && out != NULL)
		ca_issued_free(out);
	return r;
}

/*
 * The batch pipeline.  The calling thread prepares requests in order
 * (store reads, rules, serials) and publishes them; signing threads build
 * and sign whatever is published; the calling thread then records results
 * in order as they complete.  Store access stays on the calling thread,
 * and signing starts as soon as the first request is prepared.
 */
struct pipeline {
	struct prepared *items;
	size_t n;
	size_t published;   /* items[0..published) are prepared */
	size_t next;        /* next item for a signing thread */
	uint8_t *done;      /* done[i]: item i signed (or failed) */
	int abort;
	int idle;           /* signing threads waiting for work */
	int recorder_waiting;
	pthread_mutex_t lock;
	pthread_cond_t work, finished;
};

/* Items a signing thread takes at once: fewer wake-ups (a futex call is
 * dear under virtualisation) at little cost in balance. */
#define SIGN_CHUNK 4

static void *
signer_thread(void *arg)
{
	struct pipeline *pl = arg;
	struct signing sg;

	signing_init(&sg);
	pthread_mutex_lock(&pl->lock);
	for (;;) {
		size_t first, last;

		while (!pl->abort && pl->next >= pl->published &&
		    pl->next < pl->n) {
			pl->idle++;
			pthread_cond_wait(&pl->work, &pl->lock);
			pl->idle--;
		}
		if (pl->abort || pl->next >= pl->n)
			break;
		first = pl->next;
		last = first + SIGN_CHUNK < pl->published ? first + SIGN_CHUNK :
		    pl->published;
		pl->next = last;
		pthread_mutex_unlock(&pl->lock);
		for (size_t i = first; i < last; i++)
			pl->items[i].r = sign_one(&pl->items[i], &sg);
		pthread_mutex_lock(&pl->lock);
		for (size_t i = first; i < last; i++)
			pl->done[i] = 1;
		if (pl->recorder_waiting)
			pthread_cond_signal(&pl->finished);
	}
	pthread_mutex_unlock(&pl->lock);
	signing_free(&sg);
	return NULL;
}

/* R8 inside one batch: the store cannot see a certificate of the same
 * batch yet, so a second new certificate of a type for the same holder is
 * refused here. */
static int
batch_duplicate(const struct ca_issue_request *reqs, size_t i)
{
	if (reqs[i].card_id != 0 || reqs[i].replaces != NULL)
		return JPKI_OK;
	for (size_t j = 0; j < i; j++)
		if (reqs[j].resident_id == reqs[i].resident_id &&
		    reqs[j].type == reqs[i].type && reqs[j].card_id == 0 &&
		    reqs[j].replaces == NULL)
			return jpki_fail(JPKI_ERR_REFUSED, "R8: a %s certificate "
			    "for resident %lld is already in this batch",
			    rules_cert_type_name(reqs[i].type),
			    (long long)reqs[i].resident_id);
	return JPKI_OK;
}

static void
pipeline_stop(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
	pl->abort = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->lock);
}

int
ca_issue_batch(struct ca *ca, const struct ca_issue_request *reqs, size_t n,
    struct ca_issued *out, int threads)
{
	struct pipeline pl;
	struct signing own;
	pthread_t tid[ISSUE_THREADS_MAX];
	int64_t now;
	int r = JPKI_OK, started = 0, in_tx = 0;
	size_t i;

	if (n == 0)
		return JPKI_OK;
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	if (threads < 1)
		threads = 1;
	if (threads > ISSUE_THREADS_MAX)
		threads = ISSUE_THREADS_MAX;
	memset(&pl, 0, sizeof(pl));
	signing_init(&own);
	pl.n = n;
	pl.items = calloc(n, sizeof(*pl.items));
	pl.done = calloc(n, 1);
	if (pl.items == NULL || pl.done == NULL) {
		free(pl.items);
		free(pl.done);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	if (out != NULL)
		memset(out, 0, n * sizeof(*out));
	pthread_mutex_init(&pl.lock, NULL);
	pthread_cond_init(&pl.work, NULL);
	pthread_cond_init(&pl.finished, NULL);

	/* Reads for all requests happen in the batch's transaction, so the
	 * rules see the same register the commit writes against. */
	if ((r = store_begin(ca->store)) != JPKI_OK)
		goto out;
	in_tx = 1;
	for (started = 0; started < threads; started++)
		if (pthread_create(&tid[started], NULL, signer_thread, &pl))
			break;
	if (started == 0) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "cannot start signing threads");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = batch_duplicate(reqs, i)) != JPKI_OK ||
		    (r = prepare(ca, &reqs[i], now, &pl.items[i])) != JPKI_OK) {
			char why[400];

			snprintf(why, sizeof(why), "%s", jpki_errmsg());
			r = jpki_fail(r, "request %zu: %s", i, why);
			pipeline_stop(&pl);
			goto join;
		}
		pthread_mutex_lock(&pl.lock);
		pl.published = i + 1;
		if (pl.idle > 0)
			pthread_cond_signal(&pl.work);
		pthread_mutex_unlock(&pl.lock);
	}
	for (i = 0; i < n && r == JPKI_OK; i++) {
		pthread_mutex_lock(&pl.lock);
		while (!pl.done[i]) {
			/* Rather than wait, the recording thread signs what no
			 * signing thread has taken yet. */
			if (pl.next < pl.published) {
				size_t first = pl.next, last = first + SIGN_CHUNK <
				    pl.published ? first + SIGN_CHUNK : pl.published;

				pl.next = last;
				pthread_mutex_unlock(&pl.lock);
				for (size_t k = first; k < last; k++)
					pl.items[k].r = sign_one(&pl.items[k],
					    &own);
				pthread_mutex_lock(&pl.lock);
				for (size_t k = first; k < last; k++)
					pl.done[k] = 1;
				continue;
			}
			pl.recorder_waiting = 1;
			pthread_cond_wait(&pl.finished, &pl.lock);
			pl.recorder_waiting = 0;
		}
		pthread_mutex_unlock(&pl.lock);
		if ((r = pl.items[i].r) == JPKI_OK)
			r = record(ca, &pl.items[i], out ? &out[i] : NULL);
	}
	if (r != JPKI_OK)
		pipeline_stop(&pl);
join:
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	if (r == JPKI_OK) {
		in_tx = 0;
		r = store_commit(ca->store);
	}
out:
	if (in_tx)
		store_rollback(ca->store);
	if (r != JPKI_OK && out != NULL)
		for (i = 0; i < n; i++)
			ca_issued_free(&out[i]);
	for (i = 0; i < n; i++)
		prepared_free(&pl.items[i]);
	signing_free(&own);
	free(pl.items);
	free(pl.done);
	pthread_mutex_destroy(&pl.lock);
	pthread_cond_destroy(&pl.work);
	pthread_cond_destroy(&pl.finished);
	return r;
}

int
ca_revoke_in_tx(struct ca *ca, const char *serial, int reason,
    const char *actor)
{
	char detail[128];
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	if (reason == REASON_REMOVE_FROM_CRL || reason < 0 || reason > 10 ||
	    reason == 7)
		return jpki_fail(JPKI_ERR_INPUT, "reason: not a CRLReason "
		    "for revocation (RFC 5280 5.3.1)");
	if ((r = store_cert_revoke(ca->store, serial, reason, now)) != JPKI_OK)
		return r;
	snprintf(detail, sizeof(detail), "{\"reason\": \"%s\"}",
	    revocation_reason_name(reason));
	return store_audit_append(ca->store, actor ? actor : "operator",
	    "cert.revoke", serial, detail);
}

int
ca_revoke(struct ca *ca, const char *serial, int reason, const char *actor)
{
	int r;

	if ((r = store_begin(ca->store)) != JPKI_OK)
		return r;
	if ((r = ca_revoke_in_tx(ca, serial, reason, actor)) != JPKI_OK) {
		store_rollback(ca->store);
		return r;
	}
	return store_commit(ca->store);
}
