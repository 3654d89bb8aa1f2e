/*
 * issue.c: issuing and revoking end-entity certificates.
 *
 * An issuance is: the rules allow it (R8e age, R11 card validity, a living
 * holder); a random serial; the certificate built in the JPKI profile and
 * signed; the certificate and its audit entry recorded in one transaction.
 * ca_issue_stream() and ca_issue_batch() sign on several threads (the RSA
 * signature is nearly all of the cost) and commit many certificates at
 * once, so a durable store pays one fsync per group, not per certificate.
 */
#include "ca/ca_impl.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
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
	struct ca_signer *signer;
	int r;
	char why[320];      /* r's message: signed on another thread */
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

/* The holder's municipality, from the one-entry cache when it is the last
 * one looked up. */
static int
municipality_of(struct ca *ca, const char *code, struct municipality *out)
{
	int r;

	if (strcmp(ca->muni_cache.code, code) != 0) {
		if ((r = store_municipality_get(ca->store, code,
		    &ca->muni_cache)) != JPKI_OK)
			return r;
	}
	*out = ca->muni_cache;
	return JPKI_OK;
}

/* R9: a renewal replaces a valid certificate of the same type of the same
 * holder; R8 on the operator interface: one valid certificate of a type
 * per holder (counter procedures check it per card). */
static int
existing_certificate(struct ca *ca, const struct ca_issue_request *req,
    const struct resident *res, int64_t now, struct eligibility *el)
{
	char held[SERIAL_HEX_MAX];
	int64_t held_until;
	int r;

	if (req->replaces != NULL) {
		struct cert_record old;

		if ((r = store_cert_get(ca->store, req->replaces, &old)))
			return r;
		store_cert_free(&old);
		if (old.resident_id != res->id || old.ca != req->type)
			return jpki_fail(JPKI_ERR_INPUT, "replaces: certificate "
			    "%s is not this holder's %s certificate",
			    req->replaces, rules_cert_type_name(req->type));
		el->existing = old.status == CERT_STATUS_REVOKED ?
		    EXISTING_REVOKED : now > old.not_after ? EXISTING_EXPIRED :
		    EXISTING_VALID;
		el->existing_not_after = old.not_after;
		return JPKI_OK;
	}
	if (req->card_id != 0)
		return JPKI_OK;
	r = store_cert_valid_of(ca->store, res->id, req->type, now, held,
	    &held_until);
	if (r == JPKI_OK) {
		el->existing = EXISTING_VALID;
		el->existing_not_after = held_until;
	} else if (r != JPKI_ERR_NOTFOUND) {
		return r;
	}
	return JPKI_OK;
}

/* The rules (R8e age, R9, R11 card validity, a living holder) for this
 * request. */
static int
check_eligibility(struct ca *ca, const struct ca_issue_request *req,
    const struct resident *res, struct jdate card_expiry, int64_t now)
{
	struct eligibility el;
	int r;

	memset(&el, 0, sizeof(el));
	el.op = req->replaces ? CERT_OP_RENEW : CERT_OP_ISSUE;
	el.type = req->type;
	el.card_kind = CARD_MYNUMBER;
	el.card_usable = 1;
	el.card_expiry = card_expiry;
	el.birth = res->birth;
	el.holder_alive = res->status != RESIDENT_DECEASED;
	el.facts_current = 1;
	el.existing = EXISTING_NONE;
	el.now = now;
	if ((r = existing_certificate(ca, req, res, now, &el)) != JPKI_OK)
		return r;
	return rules_check_eligibility(&el);
}

/* The record: serial, validity, shard. */
static int
record_for(struct ca *ca, const struct ca_issue_request *req,
    const struct resident *res, struct jdate card_expiry, int64_t now,
    struct prepared *p)
{
	int r;

	p->rec.ca = req->type;
	p->rec.resident_id = res->id;
	p->rec.card_id = req->card_id;
	p->rec.status = CERT_STATUS_VALID;
	p->rec.not_before = now;
	p->rec.not_after = rules_cert_not_after(res->birth, now, card_expiry);
	p->rec.issued_at = now;
	/* The newest generation issues (ca rollover). */
	p->rec.gen = ca_issuing(ca, req->type)->gen;
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
	return JPKI_OK;
}

/* The four facts (R4) as the signing certificate carries them. */
static void
facts_for(const struct resident *res, struct prepared *p)
{
	struct pki_holder_facts *facts = &p->facts;

	snprintf(p->name, sizeof(p->name), "%s\xE3\x80\x80%s", res->surname,
	    res->given);
	memcpy(p->name_flags, res->name_flags, sizeof(p->name_flags));
	memcpy(p->address, res->address, sizeof(p->address));
	memcpy(p->address_flags, res->address_flags, sizeof(p->address_flags));
	rules_birth_for_cert(res->birth, p->birth);
	facts->name = p->name;
	facts->name_flags = p->name_flags;
	facts->gender = (int)res->gender;
	facts->birth = p->birth;
	facts->address = p->address;
	facts->address_flags = p->address_flags;
}

/* The profile's inputs: names, URIs, validity, key, facts. */
static int
profile_for(struct ca *ca, const struct ca_issue_request *req,
    const struct municipality *muni, struct prepared *p)
{
	struct pki_ee_params *ep = &p->ep;
	char gen_name[32];
	int r;

	romaji_for_cert(muni->pref_romaji, p->pref, sizeof(p->pref));
	romaji_for_cert(muni->name_romaji, p->city, sizeof(p->city));
	if ((r = ca_crl_uri(ca, req->type, p->rec.gen, p->rec.crl_shard,
	    p->crl_uri, sizeof(p->crl_uri))) != JPKI_OK)
		return r;
	/* One responder URL per CA: the CertID's issuer hashes pick the
	 * generation.  The CA certificate and CRLs are the generation's. */
	snprintf(p->ocsp_uri, sizeof(p->ocsp_uri), "%s/ocsp/%s",
	    ca->config.base_url, rules_cert_type_name(req->type));
	ca_gen_name(req->type, p->rec.gen, gen_name, sizeof(gen_name));
	snprintf(p->issuers_uri, sizeof(p->issuers_uri), "%s/ca/%s.der",
	    ca->config.base_url, gen_name);
	ep->type = req->type;
	ep->serial = p->serial;
	ep->serial_len = sizeof(p->serial);
	ep->not_before = p->rec.not_before;
	ep->not_after = p->rec.not_after;
	ep->subject_pub = req->pub;
	ep->ca_cert = ca_issuing(ca, req->type)->cert;
	ep->names = &ca->names;
	ep->pref_romaji = p->pref;
	ep->city_romaji = p->city;
	ep->cn = p->rec.serial;
	ep->facts = req->type == CERT_SIGN ? &p->facts : NULL;
	ep->test_policy = ca->config.test_policy;
	ep->cps_uri = ca->config.cps_uri;
	ep->crl_uri = p->crl_uri;
	ep->ocsp_uri = p->ocsp_uri;
	ep->ca_issuers_uri = p->issuers_uri;
	/* Refuse bad facts now, inside the transaction, not on a thread. */
	if (ep->facts != NULL && (r = pki_holder_facts_check(&p->facts)))
		return r;
	return JPKI_OK;
}

/* Everything about one request that needs the store or may refuse it, on
 * the calling thread, inside the transaction: what a signing thread then
 * does can no longer fail for a rule. */
static int
prepare(struct ca *ca, const struct ca_issue_request *req, int64_t now,
    struct prepared *p)
{
	struct resident res;
	struct municipality muni;
	struct jdate card_expiry;
	int r;

	memset(p, 0, sizeof(*p));
	p->req = req;
	if (req->type != CERT_SIGN && req->type != CERT_AUTH)
		return jpki_fail(JPKI_ERR_INPUT, "type: sign or auth");
	if ((r = ca_signing_key_check(ca, req->type)) != JPKI_OK)
		return r;
	if (req->pub == NULL || EVP_PKEY_get_base_id(req->pub) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(req->pub) < 2048)
		return jpki_fail(JPKI_ERR_INPUT,
		    "public key: an RSA key of at least 2048 bits is needed");
	if ((r = store_resident_get(ca->store, req->resident_id, &res)) ||
	    (r = municipality_of(ca, res.municipality, &muni)) ||
	    (r = card_expiry_for(req, &res, now, &card_expiry)) ||
	    (r = check_eligibility(ca, req, &res, card_expiry, now)) ||
	    (r = record_for(ca, req, &res, card_expiry, now, p)))
		return r;
	facts_for(&res, p);
	if ((r = profile_for(ca, req, &muni, p)) != JPKI_OK)
		return r;
	p->signer = ca->signer;
	/* Made here, on the calling thread, before any signing thread can
	 * read it. */
	if (ca_issuing(ca, req->type)->ee_template == NULL &&
	    (r = pki_ee_template_new(&p->ep,
	    &ca_issuing(ca, req->type)->ee_template)))
		return r;
	p->tmpl = ca_issuing(ca, req->type)->ee_template;
	return JPKI_OK;
}

static void
prepared_free(struct prepared *p)
{
	if (p->rec.der != NULL)
		OPENSSL_free(p->rec.der);
	p->rec.der = NULL;
}

/* Items a signing thread takes at once: fewer wake-ups (a futex call is
 * dear under virtualisation) at little cost in balance, and one round trip
 * to a separate signer for the lot (ca_signer_sign_many). */
#define SIGN_CHUNK 4

/* What a signing thread keeps between certificates: its session with the
 * signer (opened on first use), a buffer for each TBSCertificate of a
 * chunk. */
struct signing {
	struct ca_signer_session *session;
	struct jbuf tbs[SIGN_CHUNK];
};

static void
signing_init(struct signing *sg)
{
	memset(sg, 0, sizeof(*sg));
	for (size_t k = 0; k < SIGN_CHUNK; k++)
		jbuf_init(&sg->tbs[k]);
}

static void
signing_free(struct signing *sg)
{
	ca_signer_session_close(&sg->session);
	for (size_t k = 0; k < SIGN_CHUNK; k++)
		jbuf_free(&sg->tbs[k]);
}

/* Encode and sign prepared certificates, each with its outcome in p->r
 * (and p->why): one request to the signer for the lot. */
static void
sign_these(struct prepared **ps, size_t n, struct signing *sg)
{
	struct ca_sign_item items[SIGN_CHUNK];
	uint8_t sigs[SIGN_CHUNK][PKI_SIG_MAX];
	int r = JPKI_OK;

	if (sg->session == NULL)
		r = ca_signer_session_open(ps[0]->signer, &sg->session);
	for (size_t k = 0; k < n; k++) {
		struct prepared *p = ps[k];

		memset(&items[k], 0, sizeof(items[k]));
		items[k].id = (struct ca_key_id){p->rec.ca, CA_KEY_CA,
		    p->rec.gen};
		items[k].op = CA_SIGN_CERT;
		items[k].sig = sigs[k];
		items[k].sig_len = sizeof(sigs[k]);
		sg->tbs[k].len = 0;
		if ((items[k].r = r) == JPKI_OK)
			items[k].r = pki_ee_tbs_encode(p->tmpl, &p->ep,
			    &sg->tbs[k]);
		if (items[k].r != JPKI_OK)
			snprintf(items[k].why, sizeof(items[k].why), "%s",
			    jpki_errmsg());
		items[k].in = sg->tbs[k].data;
		items[k].len = sg->tbs[k].len;
	}
	if (r == JPKI_OK)
		(void)ca_signer_sign_many(sg->session, items, n);
	for (size_t k = 0; k < n; k++) {
		struct prepared *p = ps[k];

		if ((p->r = items[k].r) == JPKI_OK &&
		    (p->r = pki_cert_assemble(sg->tbs[k].data,
		    sg->tbs[k].len, items[k].sig, items[k].sig_len,
		    &p->rec.der, &p->rec.der_len)) != JPKI_OK)
			snprintf(items[k].why, sizeof(items[k].why), "%s",
			    jpki_errmsg());
		if (p->r != JPKI_OK)
			snprintf(p->why, sizeof(p->why), "%s", items[k].why);
	}
}

/* Encode and sign one prepared certificate. */
static int
sign_one(struct prepared *p, struct signing *sg)
{
	sign_these(&p, 1, sg);
	if (p->r != JPKI_OK)
		return jpki_fail(p->r, "%s", p->why);
	return JPKI_OK;
}

/* Record a signed certificate and its audit entry (inside a transaction). */
static int
record(struct ca *ca, struct prepared *p, struct ca_issued *out)
{
	char na[26];
	int r;

	if ((r = store_cert_insert(ca->store, &p->rec)) != JPKI_OK)
		return r;
	iso8601_format_jst(p->rec.not_after, na);
	if ((r = store_audit_json(ca->store, p->req->actor, "cert.issue",
	    p->rec.serial, json_pack("{s:s, s:I, s:s, s:s}", "type",
	    rules_cert_type_name(p->rec.ca), "resident",
	    (json_int_t)p->rec.resident_id, "not_after", na, "replaces",
	    p->rec.replaces))) != JPKI_OK)
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
 * The issuance pipeline.  The calling thread prepares requests in order
 * (store reads, rules, serials) into a ring of `window` slots (by default
 * CA_STREAM_WINDOW: enough signing work to cover a commit on many cores) and
 * publishes them; signing threads encode and sign whatever is published;
 * the calling thread records results in order as they complete (signing
 * what no thread has taken rather than wait), and commits every `group`
 * certificates.  Store access stays on the calling thread.  Because the
 * window is kept full, the signing threads go on with the next
 * transaction's certificates while a commit waits for the disk.
 *
 * Those certificates were prepared from reads made in the transaction
 * before.  That is sound only if nobody else wrote in between: after each
 * BEGIN the data version is compared, and if another writer committed
 * (a register change, a revocation) every prepared certificate is drained,
 * prepared again from the new state and signed again.
 */

struct pipeline {
	struct prepared *slot;  /* ring: request i lives in slot[i % w] */
	uint8_t *done;          /* done[i % w]: request i signed (or failed) */
	size_t w;
	size_t published;       /* requests [0, published) are prepared */
	size_t next;            /* next request for a signing thread */
	int abort;
	int idle;               /* signing threads waiting for work */
	int recorder_waiting;
	pthread_mutex_t lock;
	pthread_cond_t work, finished;
};

/* Claim up to SIGN_CHUNK published requests; with the lock held. */
static int
claim(struct pipeline *pl, size_t *first, size_t *last)
{
	if (pl->next >= pl->published)
		return 0;
	*first = pl->next;
	*last = *first + SIGN_CHUNK < pl->published ? *first + SIGN_CHUNK :
	    pl->published;
	pl->next = *last;
	return 1;
}

/* Sign requests [first, last); called without the lock, returns with it. */
static void
sign_claimed(struct pipeline *pl, size_t first, size_t last,
    struct signing *sg)
{
	struct prepared *ps[SIGN_CHUNK];

	for (size_t i = first; i < last; i++)
		ps[i - first] = &pl->slot[i % pl->w];
	sign_these(ps, last - first, sg);
	pthread_mutex_lock(&pl->lock);
	for (size_t i = first; i < last; i++)
		pl->done[i % pl->w] = 1;
}

static void *
signer_thread(void *arg)
{
	struct pipeline *pl = arg;
	struct signing sg;
	size_t first, last;

	signing_init(&sg);
	pthread_mutex_lock(&pl->lock);
	for (;;) {
		while (!pl->abort && pl->next >= pl->published) {
			pl->idle++;
			pthread_cond_wait(&pl->work, &pl->lock);
			pl->idle--;
		}
		if (pl->abort)
			break;
		claim(pl, &first, &last);
		pthread_mutex_unlock(&pl->lock);
		sign_claimed(pl, first, last, &sg);
		if (pl->recorder_waiting)
			pthread_cond_signal(&pl->finished);
	}
	pthread_mutex_unlock(&pl->lock);
	signing_free(&sg);
	return NULL;
}

/* Wait until request i is signed, signing unclaimed requests meanwhile
 * instead of waiting. */
static void
await_signed(struct pipeline *pl, size_t i, struct signing *own)
{
	size_t first, last;

	pthread_mutex_lock(&pl->lock);
	while (!pl->done[i % pl->w]) {
		if (claim(pl, &first, &last)) {
			pthread_mutex_unlock(&pl->lock);
			sign_claimed(pl, first, last, own);
			continue;
		}
		pl->recorder_waiting = 1;
		pthread_cond_wait(&pl->finished, &pl->lock);
		pl->recorder_waiting = 0;
	}
	pthread_mutex_unlock(&pl->lock);
}

static void
publish(struct pipeline *pl, size_t upto)
{
	pthread_mutex_lock(&pl->lock);
	pl->published = upto;
	if (pl->idle > 0)
		pthread_cond_signal(&pl->work);
	pthread_mutex_unlock(&pl->lock);
}

/*
 * R8 and R9 inside one issuance: the store cannot see a certificate of the
 * same stream until it is recorded, so the (holder, type) pairs of new
 * operator-interface certificates, and the serials being renewed, are kept
 * in hash sets: a second request for either is refused.
 */
struct holder_set {
	uint64_t *slot;         /* 0: empty; else resident_id * 4 + type + 1 */
	const char **renewed;   /* NULL: empty; else a request's `replaces` */
	size_t mask;
};

static int
holder_set_init(struct holder_set *h, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	h->mask = cap - 1;
	h->slot = calloc(cap, sizeof(*h->slot));
	h->renewed = calloc(cap, sizeof(*h->renewed));
	if (h->slot == NULL || h->renewed == NULL) {
		free(h->slot);
		free(h->renewed);
		h->slot = NULL;
		h->renewed = NULL;
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	return JPKI_OK;
}

static void
holder_set_free(struct holder_set *h)
{
	free(h->slot);
	free(h->renewed);
	h->slot = NULL;
	h->renewed = NULL;
}

/* R9: one renewal of a certificate per issuance. */
static int
renewal_add(struct holder_set *h, const char *serial)
{
	uint64_t hash = 14695981039346656037ULL;   /* FNV-1a */
	size_t i;

	for (const char *c = serial; *c; c++)
		hash = (hash ^ (unsigned char)*c) * 1099511628211ULL;
	for (i = (size_t)hash & h->mask; h->renewed[i] != NULL;
	    i = (i + 1) & h->mask)
		if (strcmp(h->renewed[i], serial) == 0)
			return jpki_fail(JPKI_ERR_REFUSED, "R9: certificate %s "
			    "is already renewed in this issuance", serial);
	h->renewed[i] = serial;
	return JPKI_OK;
}

/* Add the request's holder and type, or the certificate it renews;
 * JPKI_ERR_REFUSED if already there. */
static int
holder_set_add(struct holder_set *h, const struct ca_issue_request *req)
{
	uint64_t key = (uint64_t)req->resident_id * 4 + (uint64_t)req->type + 1;
	size_t i = (size_t)(key * 0x9E3779B97F4A7C15ULL >> 17) & h->mask;

	if (req->replaces != NULL)
		return renewal_add(h, req->replaces);
	if (req->card_id != 0)
		return JPKI_OK;
	while (h->slot[i] != 0) {
		if (h->slot[i] == key)
			return jpki_fail(JPKI_ERR_REFUSED, "R8: a %s certificate "
			    "for resident %lld is already in this issuance",
			    rules_cert_type_name(req->type),
			    (long long)req->resident_id);
		i = (i + 1) & h->mask;
	}
	h->slot[i] = key;
	return JPKI_OK;
}

/* Another writer committed between two of our transactions: prepare the
 * requests [from, to) again from what the store says now, and sign them
 * again.  The signing threads are drained first, so they are idle here. */
static int
prepare_again(struct ca *ca, const struct ca_issue_request *reqs,
    struct pipeline *pl, size_t from, size_t to, int64_t now,
    struct signing *own, size_t *failed_at)
{
	int r;

	for (size_t i = from; i < to; i++)
		await_signed(pl, i, own);
	for (size_t i = from; i < to; i++) {
		struct prepared *p = &pl->slot[i % pl->w];

		prepared_free(p);
		if ((r = prepare(ca, &reqs[i], now, p)) != JPKI_OK ||
		    (r = sign_one(p, own)) != JPKI_OK) {
			*failed_at = i;
			return r;
		}
	}
	return JPKI_OK;
}

/* "request I: why" as the error, keeping the code. */
static int
request_fail(int r, size_t i)
{
	char why[400];

	snprintf(why, sizeof(why), "%s", jpki_errmsg());
	return jpki_fail(r, "request %zu: %s", i, why);
}

/* The ring and its locks for n requests; the R8 set. */
static int
pipeline_open(struct pipeline *pl, struct holder_set *holders, size_t n,
    const struct ca_stream_options *opt)
{
	memset(pl, 0, sizeof(*pl));
	pl->w = opt != NULL && opt->window > 0 ? opt->window : CA_STREAM_WINDOW;
	pl->w = n < pl->w ? n : pl->w;
	pl->slot = calloc(pl->w, sizeof(*pl->slot));
	pl->done = calloc(pl->w, 1);
	if (pl->slot == NULL || pl->done == NULL ||
	    holder_set_init(holders, n) != JPKI_OK) {
		free(pl->slot);
		free(pl->done);
		holder_set_free(holders);
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->work, NULL);
	pthread_cond_init(&pl->finished, NULL);
	return JPKI_OK;
}

/* Stop and join the signing threads, free what the ring holds. */
static void
pipeline_close(struct pipeline *pl, struct holder_set *holders,
    pthread_t *tid, int started)
{
	pthread_mutex_lock(&pl->lock);
	pl->abort = 1;
	pthread_cond_broadcast(&pl->work);
	pthread_mutex_unlock(&pl->lock);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	for (size_t i = 0; i < pl->w; i++)
		prepared_free(&pl->slot[i]);
	free(pl->slot);
	free(pl->done);
	holder_set_free(holders);
	pthread_mutex_destroy(&pl->lock);
	pthread_cond_destroy(&pl->work);
	pthread_cond_destroy(&pl->finished);
}

/* Begin the next transaction; if another writer committed since the last
 * one (the data version moved), prepare and sign [rec, prep) again.
 * *refused_at names a request that is now refused (then the return is its
 * error, and *in_tx says whether a transaction is open). */
static int
next_transaction(struct ca *ca, const struct ca_issue_request *reqs,
    struct pipeline *pl, size_t rec, size_t prep, uint64_t *version,
    int64_t *now, struct signing *own, int *in_tx, size_t *refused_at)
{
	uint64_t v;
	int r;

	*refused_at = SIZE_MAX;
	if ((r = jpki_now_checked(now)) != JPKI_OK ||
	    (r = store_begin(ca->store)) != JPKI_OK)
		return r;
	*in_tx = 1;
	if ((r = store_data_version(ca->store, &v)) != JPKI_OK)
		return r;
	if (v == *version)
		return JPKI_OK;
	*version = v;
	return prepare_again(ca, reqs, pl, rec, prep, *now, own, refused_at);
}

int
ca_issue_stream(struct ca *ca, const struct ca_issue_request *reqs,
    size_t n, struct ca_issued *out, const struct ca_stream_options *opt,
    size_t *committed_out)
{
	struct pipeline pl;
	struct holder_set holders = {NULL, NULL, 0};
	struct signing own;
	pthread_t tid[ISSUE_THREADS_MAX];
	size_t group, rec = 0, prep = 0, tx_first = 0, limit = n, committed = 0;
	size_t failed_at = 0;
	uint64_t version = 0;
	int64_t now;
	int r = JPKI_OK, err = JPKI_OK, started = 0, in_tx = 0, threads;

	if (committed_out != NULL)
		*committed_out = 0;
	if (n == 0)
		return JPKI_OK;
	if (out != NULL)
		memset(out, 0, n * sizeof(*out));
	threads = opt != NULL ? opt->threads : 1;
	threads = threads < 1 ? 1 : threads > ISSUE_THREADS_MAX ?
	    ISSUE_THREADS_MAX : threads;
	group = opt != NULL && opt->group > 0 && opt->group < n ? opt->group : n;
	if ((r = pipeline_open(&pl, &holders, n, opt)) != JPKI_OK)
		return r;
	signing_init(&own);

	if ((r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = store_begin(ca->store)) != JPKI_OK)
		goto out;
	in_tx = 1;
	if ((r = store_data_version(ca->store, &version)) != JPKI_OK)
		goto out;
	for (started = 0; started < threads; started++)
		if (pthread_create(&tid[started], NULL, signer_thread, &pl))
			break;
	if (started == 0) {
		r = jpki_fail(JPKI_ERR_INTERNAL, "cannot start signing threads");
		goto out;
	}
	while (rec < limit) {
		struct prepared *p;

		/* Keep the window full. */
		if (prep < limit && prep - rec < pl.w) {
			p = &pl.slot[prep % pl.w];
			if ((r = holder_set_add(&holders, &reqs[prep])) ||
			    (r = prepare(ca, &reqs[prep], now, p))) {
				/* Refused: the transactions before this request's
				 * one may still commit. */
				err = request_fail(r, prep);
				limit = prep - prep % group;
				r = JPKI_OK;
				continue;
			}
			pl.done[prep % pl.w] = 0;
			publish(&pl, ++prep);
			continue;
		}
		await_signed(&pl, rec, &own);
		p = &pl.slot[rec % pl.w];
		if ((r = p->r) != JPKI_OK)
			jpki_fail(r, "%s", p->why);
		if (r != JPKI_OK ||
		    (r = record(ca, p, out ? &out[rec] : NULL)) != JPKI_OK) {
			err = request_fail(r, rec);
			r = JPKI_OK;
			break;  /* this transaction is rolled back */
		}
		prepared_free(p);
		rec++;
		if (rec - tx_first < group && rec < n)
			continue;
		in_tx = 0;
		if ((r = store_commit(ca->store)) != JPKI_OK)
			break;
		committed = rec;
		if (opt != NULL && opt->on_commit != NULL)
			opt->on_commit(opt->arg, committed);
		if (rec >= limit)
			break;
		tx_first = rec;
		if ((r = next_transaction(ca, reqs, &pl, rec, prep, &version,
		    &now, &own, &in_tx, &failed_at)) != JPKI_OK) {
			if (failed_at != SIZE_MAX) {
				err = request_fail(r, failed_at);
				r = JPKI_OK;
			}
			break;
		}
	}
out:
	pipeline_close(&pl, &holders, tid, started);
	if (in_tx)
		store_rollback(ca->store);
	/* A store failure outranks a refusal met while preparing ahead. */
	if (r == JPKI_OK)
		r = err;
	if (out != NULL)
		for (size_t i = committed; i < n; i++)
			ca_issued_free(&out[i]);
	signing_free(&own);
	if (committed_out != NULL)
		*committed_out = committed;
	return r;
}

int
ca_issue_batch(struct ca *ca, const struct ca_issue_request *reqs, size_t n,
    struct ca_issued *out, int threads)
{
	struct ca_stream_options o = {.threads = threads, .group = 0};

	return ca_issue_stream(ca, reqs, n, out, &o, NULL);
}

int
ca_revoke_in_tx(struct ca *ca, const char *serial, int reason,
    const char *actor)
{
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	/* Revoking needs no signature, but it is the CA's act: a responder
	 * or a reader does not do it. */
	if (!(ca->keys & CA_KEYS_CA))
		return jpki_fail(JPKI_ERR_REFUSED, "the CAs were opened without "
		    "their keys (a responder or reader): revoking is refused");
	if (reason == REASON_REMOVE_FROM_CRL || reason < 0 || reason > 10 ||
	    reason == 7)
		return jpki_fail(JPKI_ERR_INPUT, "reason: not a CRLReason "
		    "for revocation (RFC 5280 5.3.1)");
	if ((r = store_cert_revoke(ca->store, serial, reason, now)) != JPKI_OK)
		return r;
	return store_audit_json(ca->store, actor, "cert.revoke", serial,
	    json_pack("{s:s}", "reason", store_revocation_reason_name(reason)));
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
