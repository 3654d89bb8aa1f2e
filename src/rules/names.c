/*
 * names.c: the stable short names of the rules' enums, as they appear on
 * the command line, in JSON and in the config, and their parsers.  Names
 * are exact and case-sensitive so that one spelling means one thing.
 */
#include "rules.h"

#include <string.h>

static const char *const cert_type_names[] = {
	[CERT_SIGN] = "sign",
	[CERT_AUTH] = "auth",
};

static const char *const card_kind_names[] = {
	[CARD_MYNUMBER] = "mynumber",
	[CARD_JUKI] = "juki",
};

static const char *const gender_names[] = {
	[GENDER_MALE] = "male",
	[GENDER_FEMALE] = "female",
	[GENDER_UNKNOWN] = "unknown",
};

static const char *const pin_kind_names[] = {
	[PIN_AUTH] = "auth",
	[PIN_SIGN] = "sign",
	[PIN_CARDINFO] = "cardinfo",
};

/* The one table of the counter's procedures. */
static const struct {
	const char *name, *label_ja;
} procedures[] = {
	[PROC_DELIVER] = {"deliver", "個人番号カード交付"},
	[PROC_ISSUE] = {"issue", "電子証明書発行"},
	[PROC_RENEW] = {"renew", "電子証明書更新"},
	[PROC_REPORT_LOST] = {"report-lost", "紛失届（電子証明書失効）"},
	[PROC_REISSUE] = {"reissue", "個人番号カード再交付"},
	[PROC_PIN_RESET] = {"reset-pin", "暗証番号初期化"},
	[PROC_UPDATE_CARD] = {"update-card", "券面事項変更"},
};

/* names[v] for v inside the table, else NULL (index 0 is unused). */
static const char *
name_of(const char *const *names, size_t n, int v)
{
	if (v < 1 || (size_t)v >= n)
		return NULL;
	return names[v];
}

/* The value whose name is s, or 0 if none. */
static int
value_of(const char *const *names, size_t n, const char *s)
{
	if (s == NULL)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return (int)i;
	return 0;
}

const char *
rules_cert_type_name(enum cert_type t)
{
	return name_of(cert_type_names, JPKI_ARRAY_LEN(cert_type_names), t);
}

int
rules_cert_type_parse(const char *s, enum cert_type *out)
{
	int v = value_of(cert_type_names, JPKI_ARRAY_LEN(cert_type_names), s);

	if (v == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "certificate type: expected sign or auth");
	*out = (enum cert_type)v;
	return JPKI_OK;
}

const char *
rules_card_kind_name(enum card_kind k)
{
	return name_of(card_kind_names, JPKI_ARRAY_LEN(card_kind_names), k);
}

int
rules_card_kind_parse(const char *s, enum card_kind *out)
{
	int v = value_of(card_kind_names, JPKI_ARRAY_LEN(card_kind_names), s);

	if (v == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "card kind: expected mynumber or juki");
	*out = (enum card_kind)v;
	return JPKI_OK;
}

const char *
rules_gender_name(enum gender g)
{
	return name_of(gender_names, JPKI_ARRAY_LEN(gender_names), g);
}

int
rules_gender_parse(const char *s, enum gender *out)
{
	int v = value_of(gender_names, JPKI_ARRAY_LEN(gender_names), s);

	if (v == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "gender: expected male, female or unknown");
	*out = (enum gender)v;
	return JPKI_OK;
}

const char *
rules_pin_kind_name(enum pin_kind k)
{
	return name_of(pin_kind_names, JPKI_ARRAY_LEN(pin_kind_names), k);
}

int
rules_pin_kind_parse(const char *s, enum pin_kind *out)
{
	int v = value_of(pin_kind_names, JPKI_ARRAY_LEN(pin_kind_names), s);

	if (v == 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "PIN kind: expected auth, sign or cardinfo");
	*out = (enum pin_kind)v;
	return JPKI_OK;
}

const char *
rules_procedure_name(enum procedure p)
{
	if ((int)p < 1 || (size_t)p >= JPKI_ARRAY_LEN(procedures))
		return NULL;
	return procedures[p].name;
}

const char *
rules_procedure_label_ja(enum procedure p)
{
	if ((int)p < 1 || (size_t)p >= JPKI_ARRAY_LEN(procedures))
		return NULL;
	return procedures[p].label_ja;
}
