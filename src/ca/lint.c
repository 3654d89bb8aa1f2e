/*
 * lint.c: what a CA key signs is checked against the JPKI profile before
 * it is signed (ca.h, "the profile check"), as Boulder lints every
 * certificate before issuance.  `jpki signer` runs these on every request;
 * they need no key, only the CA certificates and the config.
 *
 * A TBSCertificate is walked in its DER with a bounded cursor, in strict
 * DER (definite lengths in the fewest octets, the fields in their order,
 * INTEGERs minimal, BOOLEAN TRUE as FF and a DEFAULT never encoded,
 * nothing after the end), decoding only what the checks need: the
 * version, serial, signature algorithm, issuer, validity, subject, the
 * subject key, and the values of the profile's extensions.  Where the
 * JPKI profile has one form of a thing (a single-valued RDN, a URI as a
 * distribution point, an otherName for a holder's fact), that form only
 * is accepted, so that nothing can hide in what is not decoded.
 */
#include "ca/ca_impl.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <string.h>

/* producedAt and thisUpdate of an OCSP answer may differ from the
 * signer's clock by this much (two machines' clocks). */
#define LINT_CLOCK_SKEW 3600
/* notBefore of a certificate likewise. */
#define LINT_NOT_BEFORE_SKEW (24 * 3600)

/*
 * Limits of the TBSCertificate walk.  It is not recursive, so it needs no
 * depth limit: each level it enters is one that RFC 5280 or the profile
 * fixes (the deepest is a holder's fact: TBSCertificate, [3], Extensions,
 * Extension, extnValue's GeneralNames, otherName, [0], UTF8String), and
 * what it does not decode (an extension it only counts, an algorithm's
 * parameters) it passes over as one TLV.  The size: PKI_TBS_MAX.
 */
#define LINT_EXTS_MAX 16        /* extensions in one certificate */
#define LINT_RDNS_MAX 16        /* RDNs in a subject */
#define LINT_NAMES_MAX 16       /* GeneralNames in a SAN or a fullName */
#define LINT_DPS_MAX 4          /* CRL distribution points */
#define LINT_QUALIFIERS_MAX 4   /* qualifiers of the one policy */
#define LINT_OID_MAX 32         /* content octets of an OBJECT IDENTIFIER */
#define LINT_FACT_MAX 1024      /* octets of one holder's fact */

static int
refuse(const char *what, const char *fmt, const char *detail)
{
	return jpki_fail(JPKI_ERR_REFUSED, "profile: %s: %s%s%s", what, fmt,
	    detail ? " " : "", detail ? detail : "");
}

/* sha256WithRSAEncryption with NULL parameters: what every CA here signs
 * with (pki_cert_tbs). */
static const uint8_t alg_sha256_rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};

/* One extension of an end-entity certificate: its NID and OID (content
 * octets), criticality, and whether each type carries it (1 required, 0
 * absent, 2 optional). */
struct ext_rule {
	int nid;
	uint8_t oid[8];
	size_t oid_len;
	int critical;
	int sign, auth;
};
enum {
	EXT_KU, EXT_SAN, EXT_CP, EXT_IAN, EXT_CDP, EXT_AKI, EXT_SKI, EXT_AIA
};
static const struct ext_rule ee_exts[] = {
    [EXT_KU] = {NID_key_usage, {0x55, 0x1d, 0x0f}, 3, 1, 1, 1},
    /* the holder's facts */
    [EXT_SAN] = {NID_subject_alt_name, {0x55, 0x1d, 0x11}, 3, 0, 1, 0},
    [EXT_CP] = {NID_certificate_policies, {0x55, 0x1d, 0x20}, 3, 1, 1, 1},
    [EXT_IAN] = {NID_issuer_alt_name, {0x55, 0x1d, 0x12}, 3, 0, 1, 1},
    [EXT_CDP] = {NID_crl_distribution_points, {0x55, 0x1d, 0x1f}, 3, 0, 1,
	1},
    [EXT_AKI] = {NID_authority_key_identifier, {0x55, 0x1d, 0x23}, 3, 0, 1,
	1},
    [EXT_SKI] = {NID_subject_key_identifier, {0x55, 0x1d, 0x0e}, 3, 0, 1,
	1},
    [EXT_AIA] = {NID_info_access, {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01,
	0x01}, 8, 0, 2, 2},
};
/* basicConstraints and extKeyUsage: a CA's or a responder's. */
static const uint8_t oid_bc[] = {0x55, 0x1d, 0x13};
static const uint8_t oid_eku[] = {0x55, 0x1d, 0x25};

/* One DER TLV with a one-byte tag from c: its tag, the whole TLV (at
 * *tlv, *tlv_len) and its content (sub-cursor), all inside c.  Lengths in
 * short or long form of at most 4 octets. */
static int
der_tlv(struct cursor *c, uint8_t *tag, const uint8_t **tlv, size_t *tlv_len,
    struct cursor *content, size_t *declared)
{
	const uint8_t *start = c->p;
	size_t left = cursor_left(c), len = 0;
	uint8_t b, n;

	if (cursor_get_u8(c, tag) || cursor_get_u8(c, &b))
		return JPKI_ERR_INPUT;
	if (b < 0x80) {
		len = b;
	} else {
		n = b & 0x7F;
		if (n == 0 || n > 4)
			return JPKI_ERR_INPUT;
		for (uint8_t i = 0; i < n; i++) {
			if (cursor_get_u8(c, &b))
				return JPKI_ERR_INPUT;
			len = len << 8 | b;
		}
	}
	if (declared != NULL)
		*declared = len;
	*tlv = start;
	if (content == NULL)
		return JPKI_OK;
	if (cursor_sub(c, content, len))
		return JPKI_ERR_INPUT;
	*tlv_len = left - cursor_left(c);
	return JPKI_OK;
}

static int
der_time(const uint8_t *tlv, size_t len, int64_t *out)
{
	const uint8_t *p = tlv;
	ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, (long)len);
	struct tm tm;
	int ok = t != NULL && p == tlv + len && ASN1_TIME_to_tm(t, &tm);

	ASN1_TIME_free(t);
	ERR_clear_error();
	if (!ok)
		return JPKI_ERR_INPUT;
	*out = (int64_t)timegm(&tm);
	return JPKI_OK;
}


/* ---- strict DER --------------------------------------------------------
 * These return 0, or -1 for bytes that are not what is asked for. */

/* One TLV in strict DER from c: a one-octet tag (low tag numbers only), a
 * definite length in the fewest octets (at most 3: PKI_TBS_MAX), its
 * content inside c. */
struct der {
	uint8_t tag;
	const uint8_t *tlv;     /* the whole TLV */
	size_t tlv_len;
	struct cursor body;     /* its content */
};

static int
der_get(struct cursor *c, struct der *d)
{
	const uint8_t *start = c->p;
	size_t left = cursor_left(c), len;
	uint8_t b, n;

	if (cursor_get_u8(c, &d->tag) || (d->tag & 0x1F) == 0x1F ||
	    cursor_get_u8(c, &b))
		return -1;
	if (b < 0x80) {
		len = b;
	} else {
		n = b & 0x7F;
		if (n == 0 || n > 3 || cursor_get_u8(c, &b) || b == 0)
			return -1;
		len = b;
		for (uint8_t i = 1; i < n; i++) {
			if (cursor_get_u8(c, &b))
				return -1;
			len = len << 8 | b;
		}
		if (len < 0x80)
			return -1;
	}
	if (cursor_sub(c, &d->body, len))
		return -1;
	d->tlv = start;
	d->tlv_len = left - cursor_left(c);
	return 0;
}

static int
der_expect(struct cursor *c, uint8_t tag, struct der *d)
{
	return der_get(c, d) || d->tag != tag ? -1 : 0;
}

/* The tag of the next TLV in c, or -1 at its end. */
static int
der_peek(const struct cursor *c)
{
	return cursor_left(c) > 0 ? c->p[0] : -1;
}

/* An INTEGER's content: at least one octet, in the fewest. */
static int
der_int_ok(const struct cursor *v)
{
	const uint8_t *p = v->p;
	size_t n = cursor_left(v);

	if (n == 0 || (n > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) ||
	    (p[0] == 0xFF && (p[1] & 0x80)))))
		return -1;
	return 0;
}

/* An INTEGER above zero: its content, then its magnitude at *mag. */
static int
der_int_positive(const struct cursor *v, const uint8_t **mag, size_t *n)
{
	const uint8_t *p = v->p;
	size_t len = cursor_left(v);

	if (der_int_ok(v) || (p[0] & 0x80))
		return -1;
	if (p[0] == 0x00) {
		if (len == 1)
			return -1;              /* zero */
		p++;
		len--;
	}
	*mag = p;
	*n = len;
	return 0;
}

/* An OBJECT IDENTIFIER's content: no subidentifier begins with 0x80, the
 * last one ends. */
static int
der_oid_ok(const struct cursor *v)
{
	const uint8_t *p = v->p;
	size_t n = cursor_left(v);

	if (n == 0 || n > LINT_OID_MAX || (p[n - 1] & 0x80))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i] == 0x80 && (i == 0 || !(p[i - 1] & 0x80)))
			return -1;
	return 0;
}

/* 1 if v holds exactly the len bytes at b. */
static int
der_bytes_is(const struct cursor *v, const uint8_t *b, size_t len)
{
	return cursor_left(v) == len && memcmp(v->p, b, len) == 0;
}

/* A checked OID's content as dotted text into buf. */
static void
der_oid_text(const struct cursor *v, char *buf, size_t size)
{
	uint64_t arc = 0;
	size_t used = 0;
	int first = 1, n;

	buf[0] = '\0';
	for (size_t i = 0; i < cursor_left(v); i++) {
		if (arc >> 56)
			return;                 /* no such arc in the profile */
		arc = arc << 7 | (v->p[i] & 0x7F);
		if (v->p[i] & 0x80)
			continue;
		if (first)
			n = snprintf(buf, size, "%d.%llu", arc < 40 ? 0 :
			    arc < 80 ? 1 : 2, (unsigned long long)(arc < 80 ?
			    arc % 40 : arc - 80));
		else
			n = snprintf(buf + used, size - used, ".%llu",
			    (unsigned long long)arc);
		if (n < 0 || (size_t)n >= size - used) {
			buf[0] = '\0';
			return;
		}
		used += (size_t)n;
		first = 0;
		arc = 0;
	}
}

/* What a message names an OID by: OpenSSL's long name, or dotted. */
static void
oid_name(const struct cursor *v, char *buf, size_t size)
{
	ASN1_OBJECT *o;
	const uint8_t *p;
	uint8_t der[2 + LINT_OID_MAX];

	buf[0] = '\0';
	der[0] = 0x06;
	der[1] = (uint8_t)cursor_left(v);
	memcpy(der + 2, v->p, cursor_left(v));
	p = der;
	if ((o = d2i_ASN1_OBJECT(NULL, &p, (long)(2 + cursor_left(v)))) !=
	    NULL)
		OBJ_obj2txt(buf, (int)size, o, 0);
	ASN1_OBJECT_free(o);
	ERR_clear_error();
	if (buf[0] == '\0')
		der_oid_text(v, buf, size);
}

/* PrintableString's letters (X.680 41.4). */
static int
printable(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr(" '()+,-./:=?", ch) != NULL);
}

/* A string of a subject name, not empty: PrintableString of its letters,
 * UTF8String of one line, IA5String of printable ASCII. */
static int
der_string_ok(const struct der *d)
{
	const uint8_t *p = d->body.p;
	size_t n = cursor_left(&d->body);

	if (n == 0)
		return -1;
	switch (d->tag) {
	case 0x13:
		for (size_t i = 0; i < n; i++)
			if (!printable(p[i]))
				return -1;
		return 0;
	case 0x0C:
		return utf8_valid_line((const char *)p, n) ? 0 : -1;
	case 0x16:
		for (size_t i = 0; i < n; i++)
			if (p[i] < 0x20 || p[i] > 0x7E)
				return -1;
		return 0;
	default:
		return -1;
	}
}

/* A URI (IA5String content) of printable ASCII, no longer than ours. */
static int
der_uri_ok(const struct cursor *v)
{
	size_t n = cursor_left(v);

	if (n == 0 || n >= PKI_URI_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v->p[i] <= 0x20 || v->p[i] > 0x7E)
			return -1;
	return 0;
}

static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
digits(const uint8_t *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* A Time of RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ for 1950 through
 * 2049, GeneralizedTime YYYYMMDDHHMMSSZ from 2050; seconds since the
 * epoch.  -2: a GeneralizedTime before 2050. */
static int
der_time_5280(const struct der *d, int64_t *out)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	const uint8_t *p = d->body.p;
	size_t n = cursor_left(&d->body), yl = d->tag == 0x17 ? 2 : 4;
	int y, mo, dd, h, mi, s;

	if ((d->tag != 0x17 && d->tag != 0x18) || n != yl + 11 ||
	    p[n - 1] != 'Z')
		return -1;
	y = digits(p, yl);
	mo = digits(p + yl, 2);
	dd = digits(p + yl + 2, 2);
	h = digits(p + yl + 4, 2);
	mi = digits(p + yl + 6, 2);
	s = digits(p + yl + 8, 2);
	if (y < 0 || mo < 1 || mo > 12 || dd < 1 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || s < 0 || s > 59)
		return -1;
	if (d->tag == 0x17)
		y += y < 50 ? 2000 : 1900;
	else if (y < 2050)
		return -2;
	if (dd > mdays[mo - 1] + (mo == 2 && y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, mo, dd) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

/* ---- the TBSCertificate ------------------------------------------------ */

struct tbs_ext {
	struct cursor oid;      /* content octets */
	int critical;
	struct cursor value;    /* extnValue's content */
};

/* What the checks read of a TBSCertificate; every part points into it. */
struct tbs {
	int version;                    /* 1, 2, 3; 0 for any other */
	const uint8_t *serial;          /* its magnitude, NULL if not > 0 */
	size_t serial_len;
	struct der sigalg, issuer, spki;
	int64_t not_before, not_after;  /* seconds since the epoch */
	int rsa_bits;                   /* 0: not an RSA key */
	size_t n_ext;
	struct tbs_ext ext[LINT_EXTS_MAX];
};

/* A subject name's content: single-valued RDNs of strings. */
static int
name_ok(struct cursor c)
{
	struct der rdn, atv, oid, val;

	for (size_t n = 0; cursor_left(&c) > 0; n++)
		if (n == LINT_RDNS_MAX || der_expect(&c, 0x31, &rdn) ||
		    der_expect(&rdn.body, 0x30, &atv) ||
		    cursor_left(&rdn.body) != 0 ||
		    der_expect(&atv.body, 0x06, &oid) ||
		    der_oid_ok(&oid.body) || der_get(&atv.body, &val) ||
		    cursor_left(&atv.body) != 0 || der_string_ok(&val))
			return -1;
	return 0;
}

/* SubjectPublicKeyInfo; for rsaEncryption, RSAPublicKey { n, e } in
 * strict DER, and its size. */
static int
spki_read(struct tbs *t)
{
	static const uint8_t rsa[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
	    0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	struct cursor c = t->spki.body, bits;
	struct der alg, oid, param, key, n, e;
	const uint8_t *mag;
	size_t len;
	uint8_t unused;

	if (der_expect(&c, 0x30, &alg) || der_expect(&alg.body, 0x06, &oid) ||
	    der_oid_ok(&oid.body) || (cursor_left(&alg.body) > 0 &&
	    der_get(&alg.body, &param)) || cursor_left(&alg.body) != 0 ||
	    der_expect(&c, 0x03, &key) || cursor_left(&c) != 0)
		return -1;
	bits = key.body;
	if (cursor_get_u8(&bits, &unused) || unused > 7 || (unused > 0 &&
	    (cursor_left(&bits) == 0 || (bits.p[cursor_left(&bits) - 1] &
	    ((1u << unused) - 1)) != 0)))
		return -1;
	t->rsa_bits = 0;
	if (alg.tlv_len != sizeof(rsa) || memcmp(alg.tlv, rsa, sizeof(rsa)))
		return 0;
	if (unused != 0 || der_expect(&bits, 0x30, &key) ||
	    cursor_left(&bits) != 0 || der_expect(&key.body, 0x02, &n) ||
	    der_expect(&key.body, 0x02, &e) || cursor_left(&key.body) != 0 ||
	    der_int_positive(&n.body, &mag, &len) ||
	    der_int_positive(&e.body, &mag, &len))
		return -1;
	der_int_positive(&n.body, &mag, &len);
	t->rsa_bits = (int)(len - 1) * 8;
	for (uint8_t b = mag[0]; b != 0; b >>= 1)
		t->rsa_bits++;
	return 0;
}

/* The extensions' SEQUENCE content: each one OID once, critical only as
 * TRUE, its value. */
static int
extensions_read(struct cursor c, struct tbs *t, const char **why, char *name,
    size_t name_size)
{
	struct der ext, oid, crit, val;

	*why = "in the extensions";
	if (cursor_left(&c) == 0)
		return -1;                      /* SIZE (1..MAX) */
	for (t->n_ext = 0; cursor_left(&c) > 0; t->n_ext++) {
		struct tbs_ext *x = &t->ext[t->n_ext];

		if (t->n_ext == LINT_EXTS_MAX) {
			*why = "more extensions than any profile has";
			return -1;
		}
		if (der_expect(&c, 0x30, &ext) ||
		    der_expect(&ext.body, 0x06, &oid) || der_oid_ok(&oid.body))
			return -1;
		x->oid = oid.body;
		x->critical = 0;
		if (der_peek(&ext.body) == 0x01) {
			if (der_expect(&ext.body, 0x01, &crit) ||
			    cursor_left(&crit.body) != 1)
				return -1;
			if (crit.body.p[0] != 0xFF) {
				*why = crit.body.p[0] == 0 ? "critical FALSE "
				    "encoded (DER leaves a DEFAULT out)" :
				    "a BOOLEAN TRUE not encoded as FF";
				return -1;
			}
			x->critical = 1;
		}
		if (der_expect(&ext.body, 0x04, &val) ||
		    cursor_left(&ext.body) != 0)
			return -1;
		x->value = val.body;
		for (size_t i = 0; i < t->n_ext; i++)
			if (der_bytes_is(&t->ext[i].oid, x->oid.p,
			    cursor_left(&x->oid))) {
				oid_name(&x->oid, name, name_size);
				return -2;
			}
	}
	return 0;
}

/* The DER TBSCertificate into t, or the refusal that names what is
 * wrong with it. */
static int
tbs_read(const uint8_t *tbs, size_t len, struct tbs *t)
{
	struct cursor c;
	struct der seq, v, vi, serial, validity, nb, na, subject, ext, exts;
	const char *why = "not a SEQUENCE";
	char name[80];
	int r;

	memset(t, 0, sizeof(*t));
	if (len == 0 || len > PKI_TBS_MAX)
		return refuse("TBSCertificate", "empty or too long", NULL);
	cursor_init(&c, tbs, len);
	if (der_expect(&c, 0x30, &seq))
		goto bad;
	why = "bytes after its end";
	if (cursor_left(&c) != 0)
		goto bad;
	/* version [0] EXPLICIT INTEGER DEFAULT v1 */
	why = "at version";
	t->version = 1;
	if (der_peek(&seq.body) == 0xA0) {
		if (der_expect(&seq.body, 0xA0, &v) ||
		    der_expect(&v.body, 0x02, &vi) ||
		    cursor_left(&v.body) != 0 || der_int_ok(&vi.body))
			goto bad;
		t->version = cursor_left(&vi.body) == 1 && vi.body.p[0] < 3 ?
		    vi.body.p[0] + 1 : 0;
		if (t->version == 1)
			goto bad;               /* the DEFAULT, encoded */
	}
	why = "at serialNumber";
	if (der_expect(&seq.body, 0x02, &serial) || der_int_ok(&serial.body))
		goto bad;
	if (der_int_positive(&serial.body, &t->serial, &t->serial_len))
		t->serial = NULL;
	why = "at signature";
	if (der_expect(&seq.body, 0x30, &t->sigalg))
		goto bad;
	why = "at issuer";
	if (der_expect(&seq.body, 0x30, &t->issuer))
		goto bad;
	why = "at validity";
	if (der_expect(&seq.body, 0x30, &validity) ||
	    der_get(&validity.body, &nb) || der_get(&validity.body, &na) ||
	    cursor_left(&validity.body) != 0)
		goto bad;
	if ((r = der_time_5280(&nb, &t->not_before)) != 0)
		return refuse("validity", r == -2 ? "notBefore before 2050 "
		    "as a GeneralizedTime (RFC 5280 4.1.2.5)" :
		    "unreadable notBefore", NULL);
	if ((r = der_time_5280(&na, &t->not_after)) != 0)
		return refuse("validity", r == -2 ? "notAfter before 2050 "
		    "as a GeneralizedTime (RFC 5280 4.1.2.5)" :
		    "unreadable notAfter", NULL);
	why = "at subject";
	if (der_expect(&seq.body, 0x30, &subject) || name_ok(subject.body))
		goto bad;
	why = "at subjectPublicKeyInfo";
	if (der_expect(&seq.body, 0x30, &t->spki) || spki_read(t))
		goto bad;
	if (der_peek(&seq.body) == 0x81 || der_peek(&seq.body) == 0x82)
		return refuse("TBSCertificate", "issuerUniqueID and "
		    "subjectUniqueID are not in the profile", NULL);
	if (der_peek(&seq.body) == 0xA3) {
		why = "in the extensions";
		if (der_expect(&seq.body, 0xA3, &ext) ||
		    der_expect(&ext.body, 0x30, &exts) ||
		    cursor_left(&ext.body) != 0)
			goto bad;
		if ((r = extensions_read(exts.body, t, &why, name,
		    sizeof(name))) == -2)
			return refuse("extensions", "given twice:", name);
		if (r != 0)
			goto bad;
	}
	why = "bytes after its last field";
	if (cursor_left(&seq.body) != 0)
		goto bad;
	return JPKI_OK;
bad:
	return refuse("TBSCertificate", "not a DER TBSCertificate:", why);
}

/* The extension of the profile's rule k in t, or NULL. */
static const struct tbs_ext *
ext_of(const struct tbs *t, size_t k)
{
	for (size_t i = 0; i < t->n_ext; i++)
		if (der_bytes_is(&t->ext[i].oid, ee_exts[k].oid,
		    ee_exts[k].oid_len))
			return &t->ext[i];
	return NULL;
}

static int
has_ext(const struct tbs *t, const uint8_t *oid, size_t len)
{
	for (size_t i = 0; i < t->n_ext; i++)
		if (der_bytes_is(&t->ext[i].oid, oid, len))
			return 1;
	return 0;
}

static int
extensions_check(const struct tbs *x, enum cert_type t)
{
	int seen[JPKI_ARRAY_LEN(ee_exts)] = {0};
	char name[80];

	for (size_t i = 0; i < x->n_ext; i++) {
		const struct tbs_ext *e = &x->ext[i];
		size_t k;

		for (k = 0; k < JPKI_ARRAY_LEN(ee_exts); k++)
			if (der_bytes_is(&e->oid, ee_exts[k].oid,
			    ee_exts[k].oid_len))
				break;
		if (k == JPKI_ARRAY_LEN(ee_exts) ||
		    (t == CERT_SIGN ? ee_exts[k].sign : ee_exts[k].auth) == 0) {
			if (k == EXT_SAN)
				return refuse("extensions", "the holder's facts "
				    "(SubjectAltName) belong on signing "
				    "certificates only, not on an "
				    "authentication certificate", NULL);
			oid_name(&e->oid, name, sizeof(name));
			return refuse("extensions", "not in the profile of "
			    "this CA's certificates:", name);
		}
		seen[k]++;       /* once: tbs_read refused a second */
		if (e->critical != ee_exts[k].critical)
			return refuse("extensions", ee_exts[k].critical ?
			    "must be critical:" : "must not be critical:",
			    OBJ_nid2ln(ee_exts[k].nid));
	}
	for (size_t k = 0; k < JPKI_ARRAY_LEN(ee_exts); k++)
		if ((t == CERT_SIGN ? ee_exts[k].sign : ee_exts[k].auth) == 1 &&
		    !seen[k])
			return refuse("extensions", "missing:",
			    OBJ_nid2ln(ee_exts[k].nid));
	return JPKI_OK;
}

/* digitalSignature (0), and nonRepudiation (1) for signing; no other bit:
 * the one DER BIT STRING of each. */
static int
key_usage_check(const struct tbs *x, enum cert_type t)
{
	static const uint8_t sign[] = {0x03, 0x02, 0x06, 0xC0},
	    auth[] = {0x03, 0x02, 0x07, 0x80};
	const struct tbs_ext *e = ext_of(x, EXT_KU);

	if (e == NULL || !(t == CERT_SIGN ? der_bytes_is(&e->value, sign,
	    sizeof(sign)) : der_bytes_is(&e->value, auth, sizeof(auth))))
		return refuse("KeyUsage", t == CERT_SIGN ? "must be "
		    "digitalSignature and nonRepudiation" :
		    "must be digitalSignature only", NULL);
	return JPKI_OK;
}

/* certificatePolicies: one PolicyInformation, this CA's policy, with CPS
 * qualifiers (id-qt-cps, IA5String) only. */
static int
policy_check(struct ca *ca, const struct tbs *x, enum cert_type t)
{
	static const uint8_t qt_cps[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	    0x02, 0x01};
	const char *want = t == CERT_SIGN ? (ca->config.test_policy ?
	    PKI_OID_POLICY_SIGN_TEST : PKI_OID_POLICY_SIGN) :
	    (ca->config.test_policy ? PKI_OID_POLICY_AUTH_TEST :
	    PKI_OID_POLICY_AUTH);
	const struct tbs_ext *e = ext_of(x, EXT_CP);
	struct cursor c;
	struct der seq, pi, oid, qs, q, qid, cps;
	char text[80];
	int ok = 0;

	if (e == NULL)
		goto out;
	c = e->value;
	if (der_expect(&c, 0x30, &seq) || cursor_left(&c) != 0 ||
	    der_expect(&seq.body, 0x30, &pi) || cursor_left(&seq.body) != 0 ||
	    der_expect(&pi.body, 0x06, &oid) || der_oid_ok(&oid.body))
		goto out;
	if (cursor_left(&pi.body) > 0) {
		if (der_expect(&pi.body, 0x30, &qs) || cursor_left(&pi.body) ||
		    cursor_left(&qs.body) == 0)
			goto out;
		for (size_t n = 0; cursor_left(&qs.body) > 0; n++)
			if (n == LINT_QUALIFIERS_MAX ||
			    der_expect(&qs.body, 0x30, &q) ||
			    der_expect(&q.body, 0x06, &qid) ||
			    !der_bytes_is(&qid.body, qt_cps, sizeof(qt_cps)) ||
			    der_expect(&q.body, 0x16, &cps) ||
			    cursor_left(&q.body) != 0 || der_uri_ok(&cps.body))
				goto out;
	}
	der_oid_text(&oid.body, text, sizeof(text));
	ok = strcmp(text, want) == 0;
out:
	if (!ok)
		return refuse("certificatePolicies", "must be this CA's one "
		    "policy", want);
	return JPKI_OK;
}

/* AuthorityKeyIdentifier: the keyIdentifier alone, the CA's SKI. */
static int
aki_check(const struct tbs *x, X509 *ca_cert)
{
	const struct tbs_ext *e = ext_of(x, EXT_AKI);
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca_cert);
	struct cursor c;
	struct der seq, id;
	int ok = 0;

	if (e != NULL && ski != NULL) {
		c = e->value;
		ok = der_expect(&c, 0x30, &seq) == 0 && cursor_left(&c) == 0 &&
		    der_expect(&seq.body, 0x80, &id) == 0 &&
		    cursor_left(&seq.body) == 0 && der_bytes_is(&id.body,
		    ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
	}
	if (!ok)
		return refuse("AuthorityKeyIdentifier", "is not the CA's "
		    "SubjectKeyIdentifier", NULL);
	return JPKI_OK;
}

/* CRLDistributionPoints: distribution points of full names that are
 * URIs, one of them of this CA generation's shards. */
static int
cdp_check(struct ca *ca, const struct tbs *x, enum cert_type t, int gen)
{
	const struct tbs_ext *e = ext_of(x, EXT_CDP);
	char prefix[PKI_URI_MAX], name[32];
	struct cursor c;
	struct der seq, dp, dpn, full, uri;
	size_t plen;
	int ok = 0;

	/* The shards of this generation: crl/sign/ for generation 1,
	 * crl/sign.gen2/ after (ca_crl_uri). */
	ca_gen_name(t, gen, name, sizeof(name));
	snprintf(prefix, sizeof(prefix), "%s/crl/%s/", ca->config.base_url,
	    name);
	plen = strlen(prefix);
	if (e == NULL)
		goto out;
	c = e->value;
	if (der_expect(&c, 0x30, &seq) || cursor_left(&c) != 0 ||
	    cursor_left(&seq.body) == 0)
		goto bad;
	for (size_t n = 0; cursor_left(&seq.body) > 0; n++) {
		if (n == LINT_DPS_MAX || der_expect(&seq.body, 0x30, &dp) ||
		    der_expect(&dp.body, 0xA0, &dpn) ||
		    cursor_left(&dp.body) != 0 ||
		    der_expect(&dpn.body, 0xA0, &full) ||
		    cursor_left(&dpn.body) != 0 || cursor_left(&full.body) == 0)
			goto bad;
		for (size_t m = 0; cursor_left(&full.body) > 0; m++) {
			if (m == LINT_NAMES_MAX ||
			    der_expect(&full.body, 0x86, &uri) ||
			    der_uri_ok(&uri.body))
				goto bad;
			if (cursor_left(&uri.body) >= plen &&
			    memcmp(uri.body.p, prefix, plen) == 0)
				ok = 1;
		}
	}
	goto out;
bad:
	ok = 0;
out:
	if (!ok)
		return refuse("CRLDistributionPoints", "no URI of this CA's "
		    "CRL shards", prefix);
	return JPKI_OK;
}

static int
subject_key_check(const struct tbs *x)
{
	if (x->rsa_bits < 2048)
		return refuse("subjectPublicKeyInfo", "an RSA key of 2048 bits "
		    "or more is needed", NULL);
	return JPKI_OK;
}

/* The holder's six facts in a signing certificate's SubjectAltName, as
 * pki_facts.c writes them: otherNames only, each fact once, its value
 * [0] EXPLICIT UTF8String of one line, the gender one digit; the birth
 * date (era digit and YYYYMMDD) into birth, "" if it is not 9 long. */
static int
facts_birth(const struct tbs *x, char birth[10])
{
	/* 1.2.392.200149.8.5.5: the facts' arc; .1 to .6 each fact. */
	static const uint8_t arc[] = {0x2a, 0x83, 0x08, 0x8c, 0x9b, 0x55,
	    0x08, 0x05, 0x05};
	const struct tbs_ext *e = ext_of(x, EXT_SAN);
	struct cursor c;
	struct der seq, gn, oid, v, s;
	unsigned seen = 0, which;

	birth[0] = '\0';
	if (e == NULL)
		return -1;
	c = e->value;
	if (der_expect(&c, 0x30, &seq) || cursor_left(&c) != 0)
		return -1;
	for (size_t n = 0; cursor_left(&seq.body) > 0; n++) {
		if (n == LINT_NAMES_MAX || der_expect(&seq.body, 0xA0, &gn) ||
		    der_expect(&gn.body, 0x06, &oid) ||
		    der_expect(&gn.body, 0xA0, &v) ||
		    cursor_left(&gn.body) != 0 ||
		    der_expect(&v.body, 0x0C, &s) || cursor_left(&v.body) != 0 ||
		    cursor_left(&oid.body) != sizeof(arc) + 1 ||
		    memcmp(oid.body.p, arc, sizeof(arc)) != 0)
			return -1;
		which = oid.body.p[sizeof(arc)];
		if (which < 1 || which > 6 || (seen & 1u << which) ||
		    cursor_left(&s.body) == 0 ||
		    cursor_left(&s.body) > LINT_FACT_MAX ||
		    !utf8_valid_line((const char *)s.body.p,
		    cursor_left(&s.body)))
			return -1;
		seen |= 1u << which;
		if (which == 3 && (cursor_left(&s.body) != 1 ||
		    s.body.p[0] < '0' || s.body.p[0] > '9'))
			return -1;
		if (which == 4 && cursor_left(&s.body) == 9) {
			memcpy(birth, s.body.p, 9);
			birth[9] = '\0';
		}
	}
	return seen == 0x7E ? 0 : -1;
}

/* notBefore near now, inside the CA's validity, and no later than a card
 * issued on that day and the certificate's own rule allow (R6): for a
 * signing certificate, from the birth date it carries, exactly; for an
 * authentication certificate, which carries none, five years. */
static int
validity_check(const struct tbs *x, X509 *ca_cert, enum cert_type t,
    int64_t now)
{
	int64_t not_before, not_after, ca_nb, ca_na, limit;
	struct tm tm;
	struct jdate birth;
	char b[10], ymd[11];

	not_before = x->not_before;
	not_after = x->not_after;
	if (not_after <= not_before)
		return refuse("validity", "notAfter is not after notBefore",
		    NULL);
	if (not_before < now - LINT_NOT_BEFORE_SKEW ||
	    not_before > now + LINT_NOT_BEFORE_SKEW)
		return refuse("validity", "notBefore is not today", NULL);
	if (!ASN1_TIME_to_tm(X509_get0_notBefore(ca_cert), &tm))
		return jpki_fail(JPKI_ERR_CRYPTO, "profile: the CA's notBefore");
	ca_nb = (int64_t)timegm(&tm);
	if (!ASN1_TIME_to_tm(X509_get0_notAfter(ca_cert), &tm))
		return jpki_fail(JPKI_ERR_CRYPTO, "profile: the CA's notAfter");
	ca_na = (int64_t)timegm(&tm);
	if (not_before < ca_nb || not_after > ca_na)
		return refuse("validity", "not inside the CA certificate's",
		    NULL);
	if (t == CERT_SIGN) {
		if (facts_birth(x, b) != 0)
			return refuse("SubjectAltName", "a signing certificate "
			    "carries the holder's facts", NULL);
		snprintf(ymd, sizeof(ymd), "%.4s-%.2s-%.2s", b[0] ? b + 1 : "",
		    b[0] ? b + 5 : "", b[0] ? b + 7 : "");
		if (jdate_parse(ymd, &birth) != JPKI_OK) {
			jpki_errclear();
			return refuse("SubjectAltName", "no birth date", NULL);
		}
		limit = rules_cert_not_after(birth, not_before,
		    rules_card_expiry(birth, jst_date_of(not_before)));
	} else {
		limit = jst_end_of_day(jdate_add_months(jst_date_of(not_before),
		    12 * RULES_CERT_BIRTHDAYS));
	}
	if (not_after > limit)
		return refuse("validity", t == CERT_SIGN ? "notAfter is past "
		    "the 5th birthday or the expiry of a card issued that day "
		    "(R6)" : "notAfter is more than five years on, past any "
		    "card issued that day (R6)", NULL);
	return JPKI_OK;
}

/* A certificate the CA makes of one of its own keys (its self-signed
 * certificate, its responder's): its subject key must be that key, which
 * ca_open checked against these certificates. */
static int
own_key(struct ca *ca, const struct tbs *x, enum cert_type t, int gen)
{
	X509 *own[] = {ca_gen_cert(ca, t, gen), ca_gen_ocsp_cert(ca, t, gen)};
	int yes = 0;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(own) && !yes; i++) {
		uint8_t *der = NULL;
		int n = own[i] != NULL ? i2d_X509_PUBKEY(
		    X509_get_X509_PUBKEY(own[i]), &der) : 0;

		yes = n > 0 && (size_t)n == x->spki.tlv_len &&
		    memcmp(der, x->spki.tlv, x->spki.tlv_len) == 0;
		OPENSSL_free(der);
	}
	return yes;
}

int
ca_lint_tbs_cert(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *tbs, size_t len, int64_t now, char serial[SERIAL_HEX_MAX])
{
	X509 *cacert = ca_gen_cert(ca, t, gen);
	const uint8_t *name;
	size_t name_len;
	struct tbs x;
	int r;

	serial[0] = '\0';
	if (cacert == NULL)
		return jpki_fail(JPKI_ERR_NOTFOUND, "profile: the %s CA has no "
		    "generation %d", rules_cert_type_name(t), gen);
	if ((r = tbs_read(tbs, len, &x)) != JPKI_OK)
		return r;
	if (x.version != 3 || x.serial == NULL || x.serial_len >
	    PKI_SERIAL_MAX)
		return refuse("TBSCertificate", "not a v3 certificate with a "
		    "positive serial of at most 20 octets", NULL);
	pki_serial_hex(x.serial, x.serial_len, serial, SERIAL_HEX_MAX);
	if (x.sigalg.tlv_len != sizeof(alg_sha256_rsa) ||
	    memcmp(x.sigalg.tlv, alg_sha256_rsa, sizeof(alg_sha256_rsa)) != 0)
		return refuse("TBSCertificate", "not signed with "
		    "sha256WithRSAEncryption, as this CA signs", NULL);
	if (!X509_NAME_get0_der(X509_get_subject_name(cacert), &name,
	    &name_len) || x.issuer.tlv_len != name_len ||
	    memcmp(x.issuer.tlv, name, name_len) != 0)
		return refuse("issuer", "is not this CA", NULL);
	/* The CA's own certificates: of its own keys only. */
	if (own_key(ca, &x, t, gen))
		return JPKI_OK;
	if (has_ext(&x, oid_bc, sizeof(oid_bc)) ||
	    has_ext(&x, oid_eku, sizeof(oid_eku)))
		return refuse("TBSCertificate", "a CA or responder certificate "
		    "for a key that is not this CA's own", NULL);
	/* A holder's certificate comes from the generation that issues (the
	 * newest); an older one only answers for what it issued. */
	if (gen != ca_generation_count(ca, t)) {
		char why[64];

		snprintf(why, sizeof(why), "generation %d issues",
		    ca_generation_count(ca, t));
		return refuse("TBSCertificate", "a holder's certificate from a "
		    "generation that no longer issues:", why);
	}
	if ((r = extensions_check(&x, t)) || (r = key_usage_check(&x, t)) ||
	    (r = policy_check(ca, &x, t)) || (r = aki_check(&x, cacert)) ||
	    (r = cdp_check(ca, &x, t, gen)) || (r = subject_key_check(&x)) ||
	    (r = validity_check(&x, cacert, t, now)))
		return r;
	return JPKI_OK;
}

/* BasicOCSPResponse ::= SEQUENCE { tbsResponseData, sha256WithRSA,
 * BIT STRING (empty) }, so OpenSSL reads the ResponseData for us. */
static int
ocsp_wrap(const uint8_t *rd, size_t len, struct jbuf *out)
{
	static const uint8_t alg_sig[] = {
	    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x0b, 0x05, 0x00, 0x03, 0x01, 0x00};
	size_t body = len + sizeof(alg_sig);
	int r;

	if ((r = jbuf_put_u8(out, 0x30)) != JPKI_OK)
		return r;
	if (body < 0x80)
		r = jbuf_put_u8(out, (uint8_t)body);
	else if (body <= 0xFFFF)
		r = jbuf_put_u8(out, 0x82) || jbuf_put_u16be(out,
		    (uint16_t)body);
	else
		r = jbuf_put_u8(out, 0x83) || jbuf_put_u8(out,
		    (uint8_t)(body >> 16)) || jbuf_put_u16be(out,
		    (uint16_t)body);
	if (r || jbuf_put(out, rd, len) || jbuf_put(out, alg_sig,
	    sizeof(alg_sig)))
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	return JPKI_OK;
}

int
ca_lint_ocsp_data(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *rd, size_t len, int64_t now)
{
	X509 *cacert = ca_gen_cert(ca, t, gen),
	    *rcert = ca_gen_ocsp_cert(ca, t, gen);
	/* A live answer is valid a day; a pre-signed one, as long as the
	 * config's ocsp_validity_seconds (ocsp_presign.c). */
	int64_t validity = ca->config.ocsp_validity_seconds >
	    CA_OCSP_VALIDITY_SECONDS ? ca->config.ocsp_validity_seconds :
	    CA_OCSP_VALIDITY_SECONDS;
	const ASN1_OCTET_STRING *keyid = NULL;
	const X509_NAME *name = NULL;
	OCSP_BASICRESP *bs = NULL;
	const uint8_t *p;
	struct jbuf b;
	uint8_t nh[32], kh[32], want[SHA_DIGEST_LENGTH];
	struct tm tm;
	int r = JPKI_OK, n;

	jbuf_init(&b);
	if (cacert == NULL || rcert == NULL)
		return jpki_fail(JPKI_ERR_INTERNAL, "profile: no CA %d",
		    (int)t);
	if (len == 0 || len > PKI_TBS_MAX / 2)
		return refuse("ResponseData", "empty or too long", NULL);
	if ((r = ocsp_wrap(rd, len, &b)) != JPKI_OK)
		return r;
	p = b.data;
	bs = d2i_OCSP_BASICRESP(NULL, &p, (long)b.len);
	if (bs == NULL || p != b.data + b.len) {
		r = refuse("ResponseData", "not a DER ResponseData", NULL);
		goto out;
	}
	/* Named by its responder: by key (SHA-1 of the key) or by name. */
	if (!OCSP_resp_get0_id(bs, &keyid, &name)) {
		r = refuse("ResponseData", "no responderID", NULL);
		goto out;
	}
	if (keyid != NULL) {
		if (!X509_pubkey_digest(rcert, EVP_sha1(), want, NULL) ||
		    ASN1_STRING_length(keyid) != SHA_DIGEST_LENGTH ||
		    memcmp(ASN1_STRING_get0_data(keyid), want,
		    SHA_DIGEST_LENGTH) != 0) {
			r = refuse("ResponseData", "responderID is not this "
			    "CA's responder", NULL);
			goto out;
		}
	} else if (name == NULL || X509_NAME_cmp(name,
	    X509_get_subject_name(rcert)) != 0) {
		r = refuse("ResponseData", "responderID is not this CA's "
		    "responder", NULL);
		goto out;
	}
	if (!ASN1_TIME_to_tm(OCSP_resp_get0_produced_at(bs), &tm) ||
	    (int64_t)timegm(&tm) < now - LINT_CLOCK_SKEW ||
	    (int64_t)timegm(&tm) > now + LINT_CLOCK_SKEW) {
		r = refuse("ResponseData", "producedAt is not now", NULL);
		goto out;
	}
	n = OCSP_resp_count(bs);
	if (n < 1 || n > PKI_OCSP_CERTS_MAX) {
		r = refuse("ResponseData", "not 1 to 8 responses", NULL);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		OCSP_SINGLERESP *s = OCSP_resp_get0(bs, i);
		ASN1_OBJECT *md = NULL;
		ASN1_OCTET_STRING *key = NULL;
		ASN1_GENERALIZEDTIME *tu = NULL, *nu = NULL;
		int status, reason, h;
		int64_t this_u, next_u;

		OCSP_id_get0_info(NULL, &md, &key, NULL,
		    (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(s));
		h = OBJ_obj2nid(md) == NID_sha1 ? PKI_OCSP_SHA1 :
		    OBJ_obj2nid(md) == NID_sha256 ? PKI_OCSP_SHA256 : 0;
		if (h == 0 || key == NULL || pki_ocsp_issuer_hashes(cacert,
		    (enum pki_ocsp_hash)h, nh, kh) != JPKI_OK ||
		    ASN1_STRING_length(key) != (h == PKI_OCSP_SHA1 ? 20 : 32) ||
		    memcmp(ASN1_STRING_get0_data(key), kh,
		    (size_t)ASN1_STRING_length(key)) != 0) {
			jpki_errclear();
			r = refuse("ResponseData", "answers for a certificate "
			    "of another issuer", NULL);
			goto out;
		}
		status = OCSP_single_get0_status(s, &reason, NULL, &tu, &nu);
		if (status < 0 || tu == NULL || nu == NULL ||
		    !ASN1_TIME_to_tm(tu, &tm)) {
			r = refuse("ResponseData", "a response without "
			    "thisUpdate and nextUpdate", NULL);
			goto out;
		}
		this_u = (int64_t)timegm(&tm);
		if (!ASN1_TIME_to_tm(nu, &tm)) {
			r = refuse("ResponseData", "unreadable nextUpdate",
			    NULL);
			goto out;
		}
		next_u = (int64_t)timegm(&tm);
		if (this_u < now - LINT_CLOCK_SKEW - validity ||
		    this_u > now + LINT_CLOCK_SKEW || next_u < this_u ||
		    next_u - this_u > validity) {
			r = refuse("ResponseData", "thisUpdate/nextUpdate "
			    "outside a response's validity from now", NULL);
			goto out;
		}
	}
out:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	jbuf_free(&b);
	return r;
}

int
ca_lint_crl_head(struct ca *ca, enum cert_type t, int gen,
    const uint8_t *head, size_t len, uint64_t total, int64_t now)
{
	static const uint8_t v2[] = {0x02, 0x01, 0x01};
	static const uint8_t alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
	X509 *cacert = ca_gen_cert(ca, t, gen);
	struct cursor c, body, sub;
	const uint8_t *tlv;
	uint8_t *name = NULL, tag;
	size_t tlv_len, declared, hdr;
	int64_t this_u, next_u;
	int name_len, r = JPKI_OK;

	if (cacert == NULL)
		return jpki_fail(JPKI_ERR_INTERNAL, "profile: no CA %d",
		    (int)t);
	cursor_init(&c, head, len);
	/* TBSCertList ::= SEQUENCE, exactly the bytes streamed. */
	if (der_tlv(&c, &tag, &tlv, &tlv_len, NULL, &declared) || tag != 0x30)
		return refuse("TBSCertList", "not a DER SEQUENCE", NULL);
	hdr = len - cursor_left(&c);
	if ((uint64_t)hdr + declared != total)
		return refuse("TBSCertList", "its length is not the length "
		    "streamed", NULL);
	body = c;
	/* version v2, sha256WithRSAEncryption, issuer this CA. */
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != sizeof(v2) || memcmp(tlv, v2, sizeof(v2)) != 0)
		return refuse("TBSCertList", "not a version 2 CRL", NULL);
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != sizeof(alg) || memcmp(tlv, alg, sizeof(alg)) != 0)
		return refuse("TBSCertList", "not signed with "
		    "sha256WithRSAEncryption", NULL);
	if ((name_len = i2d_X509_NAME(X509_get_subject_name(cacert), &name)) <=
	    0)
		return jpki_fail(JPKI_ERR_CRYPTO, "profile: the CA's name");
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    tlv_len != (size_t)name_len || memcmp(tlv, name, tlv_len) != 0)
		r = refuse("TBSCertList", "issuer is not this CA", NULL);
	OPENSSL_free(name);
	if (r != JPKI_OK)
		return r;
	/* thisUpdate now, nextUpdate at most a CRL's validity on. */
	if (der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    der_time(tlv, tlv_len, &this_u) ||
	    der_tlv(&body, &tag, &tlv, &tlv_len, &sub, NULL) ||
	    der_time(tlv, tlv_len, &next_u))
		return refuse("TBSCertList", "no thisUpdate and nextUpdate",
		    NULL);
	if (this_u < now - LINT_CLOCK_SKEW || this_u > now + LINT_CLOCK_SKEW)
		return refuse("TBSCertList", "thisUpdate is not now", NULL);
	if (next_u <= this_u || next_u - this_u > CA_CRL_VALIDITY_SECONDS)
		return refuse("TBSCertList", "nextUpdate is not within a CRL's "
		    "validity of thisUpdate", NULL);
	return JPKI_OK;
}
