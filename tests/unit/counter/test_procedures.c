/*
 * test_procedures.c: the counter procedures through the library, the way
 * the proxy procedures and the web UI call them: a procedure and the
 * proxy's in-transaction hook commit together or not at all (a refusing
 * hook leaves the store, the audit chain and the card image exactly as they
 * were); the receipt the hook sees is the one recorded; the PINs and the
 * clerk are checked before anything is touched; the store keeps receipts,
 * fee lines and old -> new links.
 */
#include "support/open_ca.h"
#include "test.h"
#include "counter/counter.h"
#include "card/cardinfo_der.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static int
read_all(const char *path, struct jbuf *out)
{
	uint8_t chunk[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	jbuf_init(out);
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		jbuf_put(out, chunk, n);
	fclose(f);
	return 0;
}

static int
same_file(const char *path, const struct jbuf *before)
{
	struct jbuf now;
	int same;

	if (read_all(path, &now) != 0)
		return 0;
	same = now.len == before->len &&
	    memcmp(now.data, before->data, now.len) == 0;
	jbuf_free(&now);
	return same;
}

static void
test_types_parse_table(void)
{
	static const struct {
		const char *in;
		int rc, mask;
	} cases[] = {
	    {"sign", JPKI_OK, COUNTER_SIGN}, {"auth", JPKI_OK, COUNTER_AUTH},
	    {"both", JPKI_OK, COUNTER_BOTH}, {"Sign", JPKI_ERR_USAGE, 0},
	    {"", JPKI_ERR_USAGE, 0}, {NULL, JPKI_ERR_USAGE, 0},
	    {"cardinfo", JPKI_ERR_USAGE, 0},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cases); i++) {
		int mask = 0;

		CHECK_INT(counter_types_parse(cases[i].in, &mask), cases[i].rc);
		if (cases[i].rc == JPKI_OK)
			CHECK_INT(mask, cases[i].mask);
	}
	CHECK_STR(rules_procedure_name(PROC_REISSUE), "reissue");
	CHECK_STR(rules_procedure_name(PROC_PIN_RESET), "reset-pin");
	CHECK(rules_procedure_name((enum procedure)99) == NULL);
}

struct hook_seen {
	int calls;
	int64_t receipt;
	int nissued;
	int refuse;
};

static int
proxy_hook(void *arg, struct ca *ca, const struct counter_receipt *rc)
{
	struct hook_seen *h = arg;

	(void)ca;
	h->calls++;
	h->receipt = rc->number;
	h->nissued = rc->nissued;
	if (h->refuse)
		return jpki_fail(JPKI_ERR_REFUSED, "R13: form already used");
	return JPKI_OK;
}

static void
test_proxy_hook_is_all_or_nothing(struct ca *ca, int64_t holder,
    const char *card)
{
	struct counter_pins pins = {"PROXY123", NULL, NULL};
	struct hook_seen seen = {0, 0, 0, 1};
	struct counter_proxy px = {"代理 太郎", {"passport", "TZ0000001"},
	    "42", proxy_hook, &seen};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, &px, NULL, NULL};
	struct counter_receipt rc;
	struct receipt_record rec;
	struct jbuf before;
	long certs0, audit0, certs1, audit1;

	read_all(card, &before);
	store_cert_count(datadir_store(ca_datadir(ca)), &certs0);
	store_audit_count(datadir_store(ca_datadir(ca)), &audit0);
	CHECK_INT(counter_issue(ca, card, COUNTER_SIGN, &pins, &v, &rc),
	    JPKI_ERR_REFUSED);
	CHECK_STR(jpki_errmsg(), "R13: form already used");
	CHECK_INT(seen.calls, 1);
	CHECK(seen.receipt > 0);
	CHECK_INT(seen.nissued, 1);
	store_cert_count(datadir_store(ca_datadir(ca)), &certs1);
	store_audit_count(datadir_store(ca_datadir(ca)), &audit1);
	CHECK_INT(certs1, certs0);
	CHECK_INT(audit1, audit0);
	CHECK(same_file(card, &before));
	CHECK(store_receipt_get(datadir_store(ca_datadir(ca)), seen.receipt, &rec) ==
	    JPKI_ERR_NOTFOUND);

	/* The same visit with a hook that agrees: everything lands. */
	seen.refuse = 0;
	CHECK_INT(counter_issue(ca, card, COUNTER_SIGN, &pins, &v, &rc),
	    JPKI_OK);
	CHECK_INT(seen.calls, 2);
	CHECK_INT(rc.number, seen.receipt);
	CHECK_STR(rc.proxy_name, "代理 太郎");
	CHECK_STR(rc.form, "42");
	CHECK_INT(store_receipt_get(datadir_store(ca_datadir(ca)), rc.number, &rec), JPKI_OK);
	CHECK_STR(rec.proxy_name, "代理 太郎");
	CHECK_STR(rec.proxy_doc_type, "passport");
	CHECK_STR(rec.procedure, "issue");
	CHECK_INT(rec.resident_id, holder);
	CHECK(!same_file(card, &before));
	jbuf_free(&before);
}

static void
test_refused_before_anything(struct ca *ca, const char *card)
{
	struct counter_pins bad = {"short", "12345", NULL};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, NULL, NULL, NULL};
	struct counter_visit noclerk = {"", {NULL, NULL}, NULL, NULL, NULL};
	struct counter_receipt rc;
	struct jbuf before;
	long audit0, audit1;

	read_all(card, &before);
	store_audit_count(datadir_store(ca_datadir(ca)), &audit0);
	/* A signing password of 5 characters; an auth PIN of 5 digits. */
	CHECK_INT(counter_renew(ca, card, COUNTER_AUTH, &bad, &v, &rc),
	    JPKI_ERR_REFUSED); /* R9 first: not in the window */
	CHECK_INT(counter_reset_pin(ca, card, PIN_SIGN, bad.sign, &v, &rc),
	    JPKI_ERR_INPUT);
	CHECK_INT(counter_reset_pin(ca, card, PIN_AUTH, bad.auth, &v, &rc),
	    JPKI_ERR_INPUT);
	CHECK_INT(counter_reset_pin(ca, card, PIN_AUTH, NULL, &v, &rc),
	    JPKI_ERR_USAGE);
	CHECK_INT(counter_update_card(ca, card, &noclerk, &rc),
	    JPKI_ERR_USAGE);
	CHECK_INT(counter_update_card(ca, card, NULL, &rc), JPKI_ERR_USAGE);
	CHECK_INT(counter_update_card(ca, card, &v, &rc), JPKI_ERR_CONFLICT);
	CHECK_INT(counter_issue(ca, card, 0x4, &bad, &v, &rc),
	    JPKI_ERR_USAGE);
	store_audit_count(datadir_store(ca_datadir(ca)), &audit1);
	CHECK_INT(audit1, audit0);
	CHECK(same_file(card, &before));
	jbuf_free(&before);
}

static int
count_link(void *arg, const char *old_serial, const char *new_serial,
    const char *kind, int64_t at)
{
	(void)old_serial;
	(void)new_serial;
	(void)at;
	if (strcmp(kind, "renewal") == 0)
		(*(int *)arg)++;
	return 0;
}

static void
test_renewal_links_and_receipt(struct ca *ca, const char *card)
{
	struct counter_pins pins = {NULL, "2468", NULL};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, NULL, NULL, NULL};
	struct counter_receipt rc;
	json_t *j;
	int links = 0;

	/* Two months before the 5th birthday (2030-05-05). */
	setenv("JPKI_NOW", "2030-03-05T10:00:00+09:00", 1);
	CHECK_INT(counter_renew(ca, card, COUNTER_AUTH, &pins, &v, &rc),
	    JPKI_OK);
	CHECK_INT(rc.nissued, 1);
	CHECK_INT(rc.nrevoked, 1);
	CHECK_INT(rc.revoked[0].reason, REASON_SUPERSEDED);
	CHECK_STR(rc.issued[0].replaces, rc.revoked[0].serial);
	CHECK_INT(store_cert_links(datadir_store(ca_datadir(ca)), rc.revoked[0].serial,
	    count_link, &links), JPKI_OK);
	CHECK_INT(links, 1);
	j = counter_receipt_json(&rc);
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "fees"), 0), "item")), "cert_renew");
	CHECK_INT(json_integer_value(json_object_get(j, "total_yen")), 0);
	CHECK_STR(json_string_value(json_object_get(j, "procedure")), "renew");
	json_decref(j);
}

/* What delivery wrote into the card-info AP, read as real clients read
 * it and parsed strictly, is the store's resident: the number, the name
 * as surname, ideographic space, given name, the address, the birth date
 * as YYYYMMDD and the sex as an ISO 5218 digit. */
static void
test_delivery_writes_cardinfo_as_real_cards_hold_it(struct ca *ca,
    const char *card, const struct resident *r,
    const struct counter_receipt *rc)
{
	struct card_info_files f;
	EVP_PKEY *issuer = NULL;
	struct card_transport *t = NULL;
	struct card_info info;
	char name[2 * RESIDENT_NAME_MAX + 8], birth[11], want_birth[9];
	char match_b[32];
	uint8_t atr[CARD_ATR_MAX];
	size_t atr_len;

	CHECK_INT(card_transport_image(card, &t), JPKI_OK);
	if (t == NULL)
		return;
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_PIN, "5678"), SW_OK);
	CHECK_INT(der_read_cardinfo(t, &info), 0);
	snprintf(name, sizeof(name), "%s" "\xE3\x80\x80" "%s", r->surname, r->given);
	jdate_format(r->birth, birth);
	snprintf(want_birth, sizeof(want_birth), "%.4s%.2s%.2s", birth,
	    birth + 5, birth + 8);
	CHECK_STR(info.number, r->number);
	CHECK_STR(info.name, name);
	CHECK_STR(info.address, r->address);
	CHECK_STR(info.birth, want_birth);
	CHECK_STR(info.sex, r->gender == GENDER_MALE ? "1" :
	    r->gender == GENDER_FEMALE ? "2" : "9");

	/* Collation numbers: A the number, B birth YYMMDD, the card's
	 * expiry year and the security code on the receipt. */
	CHECK_INT(strlen(rc->security_code), 4);
	snprintf(match_b, sizeof(match_b), "%.2s%.2s%.2s%04d%s", birth + 2,
	    birth + 5, birth + 8, rc->card_expiry.y, rc->security_code);
	t->reset(t, atr, &atr_len);
	CHECK_INT(der_select_cardinfo(t), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, NULL), SW_TRIES(10));
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_A, r->number), SW_OK);
	CHECK_INT(der_verify(t, CARD_EF_INFO_MATCH_B, match_b), SW_OK);
	CHECK_INT(der_read_cardinfo(t, &info), 0);
	CHECK_STR(info.number, r->number);

	/* A relying party: the facts read with the PIN are the ones the card
	 * issuer's key (behind the key seam) signed. */
	card_info_files_init(&f);
	CHECK_INT(card_client_read_info_files(t, &f), JPKI_OK);
	CHECK_INT(ca_card_issuer_public_key(ca, &issuer), JPKI_OK);
	CHECK_INT(card_info_verify(&f, issuer, NULL), JPKI_OK);
	if (f.facts.len > 20) {
		f.facts.data[20] ^= 0x01;
		CHECK_INT(card_info_verify(&f, issuer, NULL), JPKI_ERR_VERIFY);
	}
	EVP_PKEY_free(issuer);
	card_info_files_free(&f);
	card_transport_free(&t);
}

/* update-card rewrites the card-info AP, its signature and the
 * collation numbers: the new address verifies under the card issuer's
 * key, and the security code is the card's own, as before. */
static void
test_update_card_rewrites_the_signed_facts(struct ca *ca, const char *card,
    int64_t id, const char *security_code)
{
	struct counter_register_change ch = {.address = "東京都清瀬市竹丘1-1-1"};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, NULL, NULL, NULL};
	struct counter_receipt rc;
	struct card_transport *t = NULL;
	struct card_info_files f;
	struct card_info info;
	EVP_PKEY *issuer = NULL;
	int revoked = -1;

	CHECK_INT(counter_register_change(ca, id, &ch, "unit", &revoked),
	    JPKI_OK);
	CHECK_INT(counter_update_card(ca, card, &v, &rc), JPKI_OK);
	CHECK_STR(rc.security_code, security_code);
	CHECK_INT(card_transport_image(card, &t), JPKI_OK);
	if (t == NULL)
		return;
	card_info_files_init(&f);
	CHECK_INT(card_client_verify(t, PIN_CARDINFO, "5678", NULL), JPKI_OK);
	CHECK_INT(card_client_read_info(t, &info), JPKI_OK);
	CHECK_STR(info.address, ch.address);
	CHECK_INT(card_client_read_info_files(t, &f), JPKI_OK);
	CHECK_INT(ca_card_issuer_public_key(ca, &issuer), JPKI_OK);
	CHECK_INT(card_info_verify(&f, issuer, NULL), JPKI_OK);
	EVP_PKEY_free(issuer);
	card_info_files_free(&f);
	card_transport_free(&t);
}

int
main(void)
{
	struct counter_register_input in = {.number = "123456789018",
	    .name = "Unit Taro", .address = "東京都清瀬市中里1-1",
	    .birth = "1990-05-05", .gender = "male"};
	struct counter_pins pins = {"HOLDER1", "1234", "5678"};
	struct counter_visit v = {"clerk-unit", {NULL, NULL}, NULL, NULL, NULL};
	struct counter_receipt rc;
	struct resident r;
	struct ca *ca = NULL;
	char data[80], card[96], security_code[CARD_SECURITY_CODE_LEN + 1];

	setenv("JPKI_NOW", "2026-04-01T10:00:00+09:00", 1);
	test_types_parse_table();
	snprintf(dir, sizeof(dir), "/tmp/test_procedures.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(card, sizeof(card), "%s/card.img", dir);
	CHECK_INT(support_ca_new(data, CA_KEYS_CA | CA_KEYS_OCSP, &ca),
	    JPKI_OK);
	if (ca == NULL)
		return test_summary();
	CHECK_INT(counter_register_parse(ca_datadir(ca), &in, &r), JPKI_OK);
	CHECK_INT(counter_register_add(ca_datadir(ca), &r, "unit"), JPKI_OK);
	/* A data directory from before the card issuer key: the first
	 * delivery makes it (0600). */
	{
		char key[128];
		struct stat st;

		snprintf(key, sizeof(key), "%s/ca/card-issuer.key", data);
		CHECK(access(key, F_OK) == 0);
		CHECK(unlink(key) == 0);
		CHECK_INT(counter_deliver(ca, r.id, card, COUNTER_AUTH, &pins,
		    &v, &rc), JPKI_OK);
		CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	CHECK_INT(rc.nissued, 1);
	CHECK_INT(rc.nfees, 2);
	CHECK_INT(rc.npins_set, 2);
	test_delivery_writes_cardinfo_as_real_cards_hold_it(ca, card, &r, &rc);
	snprintf(security_code, sizeof(security_code), "%s", rc.security_code);
	/* A second delivery while the card is active is refused. */
	CHECK_INT(counter_deliver(ca, r.id, card, COUNTER_AUTH, &pins, &v,
	    &rc), JPKI_ERR_REFUSED);

	test_update_card_rewrites_the_signed_facts(ca, card, r.id,
	    security_code);
	test_refused_before_anything(ca, card);
	test_proxy_hook_is_all_or_nothing(ca, r.id, card);
	test_renewal_links_and_receipt(ca, card);

	support_ca_close(&ca);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary();
}
