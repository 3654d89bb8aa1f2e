/*
 * pki_facts.c: the holder's four facts (seed R4) in the signing
 * certificate: checking them, writing them as subjectAltName otherNames,
 * and reading them back.
 *
 * Each fact is an otherName under 1.2.392.200149.8.5.5 whose value is
 * [0] EXPLICIT UTF8String, in the order real certificates use: name (.1),
 * birth (.4), gender (.3), address (.5), name flags (.2), address flags
 * (.6).  The authentication certificate carries none of them (R5).
 */
#include "pki_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest otherName value we read back: an address of 200 characters of
 * up to 4 bytes each, with room to spare. */
#define FACT_VALUE_MAX 1024

enum fact {
	FACT_NAME, FACT_NAME_FLAGS, FACT_GENDER, FACT_BIRTH, FACT_ADDRESS,
	FACT_ADDRESS_FLAGS, FACT__COUNT
};

static const char *const fact_oid[FACT__COUNT] = {
	[FACT_NAME] = PKI_OID_FACT_NAME,
	[FACT_NAME_FLAGS] = PKI_OID_FACT_NAME_FLAGS,
	[FACT_GENDER] = PKI_OID_FACT_GENDER,
	[FACT_BIRTH] = PKI_OID_FACT_BIRTH,
	[FACT_ADDRESS] = PKI_OID_FACT_ADDRESS,
	[FACT_ADDRESS_FLAGS] = PKI_OID_FACT_ADDRESS_FLAGS,
};

/* The last arc of each OID, for writing the OIDs as DER directly. */
static const int fact_arc[FACT__COUNT] = {
	[FACT_NAME] = 1,
	[FACT_NAME_FLAGS] = 2,
	[FACT_GENDER] = 3,
	[FACT_BIRTH] = 4,
	[FACT_ADDRESS] = 5,
	[FACT_ADDRESS_FLAGS] = 6,
};

_Static_assert(FACT__COUNT == PKI_FACTS, "six facts");

/* The order observed in real signing certificates. */
static const enum fact fact_order[FACT__COUNT] = {
	FACT_NAME, FACT_BIRTH, FACT_GENDER, FACT_ADDRESS, FACT_NAME_FLAGS,
	FACT_ADDRESS_FLAGS,
};

/* "0"/"1" for each character of value (R4 substitution flags). */
static int
flags_check(const char *flags, const char *value, const char *field)
{
	size_t n, chars;

	if (flags == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "%s: missing", field);
	n = strlen(flags);
	for (size_t i = 0; i < n; i++)
		if (flags[i] != '0' && flags[i] != '1')
			return jpki_fail(JPKI_ERR_INPUT,
			    "%s: only '0' and '1' allowed", field);
	chars = utf8_count(value, strlen(value));
	if (n != chars)
		return jpki_fail(JPKI_ERR_INPUT,
		    "%s: %zu flags for %zu characters; R4 needs one flag per "
		    "character", field, n, chars);
	return JPKI_OK;
}

static int
birth_check(const char *b)
{
	struct jdate d;

	if (b == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "facts.birth: missing");
	if (strlen(b) != 9 || strspn(b, "0123456789") != 9)
		return jpki_fail(JPKI_ERR_INPUT,
		    "facts.birth: must be the era digit and YYYYMMDD, 9 digits");
	/* Era 0 is "unknown": the date may be partly unknown too. */
	if (b[0] == '0')
		return JPKI_OK;
	d.y = (b[1] - '0') * 1000 + (b[2] - '0') * 100 + (b[3] - '0') * 10 +
	    (b[4] - '0');
	d.m = (b[5] - '0') * 10 + (b[6] - '0');
	d.d = (b[7] - '0') * 10 + (b[8] - '0');
	if (!jdate_valid(d))
		return jpki_fail(JPKI_ERR_INPUT,
		    "facts.birth: %.8s is not a date", b + 1);
	/* The era digit must be the era of the date (rules owns the era
	 * boundaries). */
	if (rules_era_digit(d) != b[0] - '0')
		return jpki_fail(JPKI_ERR_INPUT,
		    "facts.birth: %.8s does not fall in era %c (it is era %d)",
		    b + 1, b[0], rules_era_digit(d));
	return JPKI_OK;
}

/* The address rule is the register's (rules_address_check, R4); say that
 * it was the certificate's facts that broke it. */
static int
address_check(const char *address)
{
	char msg[256];
	int r;

	if (address == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "facts.address: missing");
	if ((r = rules_address_check(address)) == JPKI_OK)
		return JPKI_OK;
	snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
	return jpki_fail(r, "facts.%s", msg);
}

int
pki_holder_facts_check(const struct pki_holder_facts *f)
{
	int r;

	if (f == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "facts: missing");
	if ((r = pki_text_check(f->name, PKI_NAME_MAX_CHARS, "facts.name")) ||
	    (r = flags_check(f->name_flags, f->name, "facts.name_flags")))
		return r;
	if (f->gender < 1 || f->gender > 3)
		return jpki_fail(JPKI_ERR_INPUT,
		    "facts.gender: %d is not 1 (male), 2 (female) or "
		    "3 (unknown)", f->gender);
	if ((r = birth_check(f->birth)) ||
	    (r = address_check(f->address)) ||
	    (r = flags_check(f->address_flags, f->address,
	    "facts.address_flags")))
		return r;
	return JPKI_OK;
}

static const char *
fact_value(const struct pki_holder_facts *f, enum fact which,
    char gender[2])
{
	switch (which) {
	case FACT_NAME:
		return f->name;
	case FACT_NAME_FLAGS:
		return f->name_flags;
	case FACT_GENDER:
		gender[0] = (char)('0' + f->gender);
		gender[1] = '\0';
		return gender;
	case FACT_BIRTH:
		return f->birth;
	case FACT_ADDRESS:
		return f->address;
	case FACT_ADDRESS_FLAGS:
	default:
		return f->address_flags;
	}
}

/* One otherName: type-id oid, value [0] EXPLICIT UTF8String. */
static int
other_name_push(GENERAL_NAMES *gens, const char *oid, const char *value)
{
	GENERAL_NAME *gen = NULL;
	ASN1_OBJECT *obj = NULL;
	ASN1_TYPE *type = NULL;
	ASN1_UTF8STRING *s = NULL;

	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (obj = OBJ_txt2obj(oid, 1)) == NULL ||
	    (type = ASN1_TYPE_new()) == NULL ||
	    (s = ASN1_UTF8STRING_new()) == NULL ||
	    !ASN1_STRING_set(s, value, -1))
		goto fail;
	ASN1_TYPE_set(type, V_ASN1_UTF8STRING, s);
	s = NULL;
	if (!GENERAL_NAME_set0_othername(gen, obj, type))
		goto fail;
	obj = NULL;
	type = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto fail;
	return JPKI_OK;
fail:
	ASN1_UTF8STRING_free(s);
	ASN1_TYPE_free(type);
	ASN1_OBJECT_free(obj);
	GENERAL_NAME_free(gen);
	return pki_crypto_fail("building a subjectAltName otherName");
}

void
pki_facts_in_order(const struct pki_holder_facts *f, char gender[2],
    struct pki_fact_item out[PKI_FACTS])
{
	for (size_t i = 0; i < FACT__COUNT; i++) {
		out[i].arc = fact_arc[fact_order[i]];
		out[i].oid = fact_oid[fact_order[i]];
		out[i].value = fact_value(f, fact_order[i], gender);
	}
}

int
pki_ext_holder_facts(X509 *x, const struct pki_holder_facts *f)
{
	struct pki_fact_item items[PKI_FACTS];
	GENERAL_NAMES *gens;
	char gender[2];
	int r = JPKI_OK;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return pki_crypto_fail("allocating subjectAltName");
	pki_facts_in_order(f, gender, items);
	for (size_t i = 0; i < PKI_FACTS && r == JPKI_OK; i++)
		r = other_name_push(gens, items[i].oid, items[i].value);
	if (r == JPKI_OK)
		r = pki_ext_add(x, NID_subject_alt_name, gens, 0,
		    "adding SubjectAltName");
	GENERAL_NAMES_free(gens);
	return r;
}

/* ---- reading back ------------------------------------------------------- */

static int
fact_of(const ASN1_OBJECT *obj)
{
	char oid[64];

	if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
		return -1;
	for (int i = 0; i < FACT__COUNT; i++)
		if (strcmp(oid, fact_oid[i]) == 0)
			return i;
	return -1;
}

static int
fact_copy(const ASN1_TYPE *value, const char *oid, char **out)
{
	const ASN1_STRING *s;
	const unsigned char *p;
	int len;

	if (value == NULL || value->type != V_ASN1_UTF8STRING)
		return jpki_fail(JPKI_ERR_INPUT,
		    "subjectAltName %s: not a UTF8String", oid);
	s = value->value.utf8string;
	p = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (len <= 0 || len > FACT_VALUE_MAX)
		return jpki_fail(JPKI_ERR_INPUT,
		    "subjectAltName %s: empty or longer than %d bytes", oid,
		    FACT_VALUE_MAX);
	if (!utf8_valid_line((const char *)p, (size_t)len))
		return jpki_fail(JPKI_ERR_INPUT,
		    "subjectAltName %s: not a single line of UTF-8", oid);
	if ((*out = malloc((size_t)len + 1)) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "reading %s", oid);
	memcpy(*out, p, (size_t)len);
	(*out)[len] = '\0';
	return JPKI_OK;
}

int
pki_cert_facts_read(X509 *x, struct pki_cert_facts *out)
{
	GENERAL_NAMES *gens = NULL;
	char *values[FACT__COUNT] = {0};
	int crit = -1, found = 0, r;

	if (out == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "facts: no output");
	memset(out, 0, sizeof(*out));
	if (x == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "facts: no certificate");
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		if (crit == -1)
			return jpki_fail(JPKI_ERR_NOTFOUND,
			    "the certificate carries no holder facts (R5: an "
			    "authentication certificate has none)");
		return jpki_fail(JPKI_ERR_INPUT,
		    "subjectAltName: malformed or present twice "
		    "(RFC 5280 4.2)");
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gen = sk_GENERAL_NAME_value(gens, i);
		int which;

		if (gen->type != GEN_OTHERNAME ||
		    (which = fact_of(gen->d.otherName->type_id)) < 0)
			continue;
		if (values[which] != NULL) {
			r = jpki_fail(JPKI_ERR_INPUT,
			    "subjectAltName %s: present twice",
			    fact_oid[which]);
			goto fail;
		}
		if ((r = fact_copy(gen->d.otherName->value, fact_oid[which],
		    &values[which])))
			goto fail;
		found++;
	}
	if (found == 0) {
		r = jpki_fail(JPKI_ERR_NOTFOUND,
		    "the certificate carries no holder facts");
		goto fail;
	}
	for (int i = 0; i < FACT__COUNT; i++)
		if (values[i] == NULL) {
			r = jpki_fail(JPKI_ERR_INPUT,
			    "subjectAltName: %s missing; a signing certificate "
			    "carries all six facts", fact_oid[i]);
			goto fail;
		}
	if (strlen(values[FACT_GENDER]) != 1 ||
	    values[FACT_GENDER][0] < '0' || values[FACT_GENDER][0] > '9') {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "subjectAltName %s: gender is not one digit",
		    PKI_OID_FACT_GENDER);
		goto fail;
	}
	out->gender = values[FACT_GENDER][0] - '0';
	out->name = values[FACT_NAME];
	out->name_flags = values[FACT_NAME_FLAGS];
	out->birth = values[FACT_BIRTH];
	out->address = values[FACT_ADDRESS];
	out->address_flags = values[FACT_ADDRESS_FLAGS];
	free(values[FACT_GENDER]);
	GENERAL_NAMES_free(gens);
	return JPKI_OK;
fail:
	for (int i = 0; i < FACT__COUNT; i++)
		free(values[i]);
	GENERAL_NAMES_free(gens);
	return r;
}

void
pki_cert_facts_free(struct pki_cert_facts *f)
{
	if (f == NULL)
		return;
	/* Personal data: wipe before giving the memory back. */
	char **fields[] = {&f->name, &f->name_flags, &f->birth, &f->address,
	    &f->address_flags};
	for (size_t i = 0; i < JPKI_ARRAY_LEN(fields); i++) {
		if (*fields[i]) {
			jpki_wipe(*fields[i], strlen(*fields[i]));
			free(*fields[i]);
		}
		*fields[i] = NULL;
	}
	f->gender = 0;
}
