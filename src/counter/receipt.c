/*
 * receipt.c: what the holder takes home.  A receipt names the procedure,
 * the clerk, the card, the certificates issued and revoked, and the fees
 * (R7) line by line with their total; it is recorded in the store in the
 * procedure's transaction, with the identity checks made (the holder's, and
 * the proxy's when someone came for the holder), and printed as text or
 * JSON.
 */
#include "counter/counter_int.h"

#include <stdio.h>
#include <string.h>

int
counter_types_parse(const char *s, int *mask)
{
	if (s != NULL && strcmp(s, "sign") == 0)
		*mask = COUNTER_SIGN;
	else if (s != NULL && strcmp(s, "auth") == 0)
		*mask = COUNTER_AUTH;
	else if (s != NULL && strcmp(s, "both") == 0)
		*mask = COUNTER_BOTH;
	else
		return jpki_fail(JPKI_ERR_USAGE, "certificates: sign, auth or "
		    "both (got '%.20s')", s ? s : "");
	return JPKI_OK;
}

static void
copy_field(char *dst, size_t cap, const char *v)
{
	snprintf(dst, cap, "%s", v != NULL ? v : "");
}

int
counter_receipt_record(struct ca *ca, const struct counter_visit *v,
    int64_t card_id, struct counter_receipt *rcpt)
{
	struct store *s = datadir_store(ca_datadir(ca));
	struct receipt_record rec;
	const struct counter_proxy *px = v->proxy;
	int r;

	memset(&rec, 0, sizeof(rec));
	rec.at = rcpt->at;
	copy_field(rec.clerk, sizeof(rec.clerk), v->clerk);
	copy_field(rec.procedure, sizeof(rec.procedure),
	    rules_procedure_name(rcpt->proc));
	rec.resident_id = rcpt->resident_id;
	rec.card_id = card_id;
	rec.total_yen = rcpt->total_yen = rules_fees_total(rcpt->fees,
	    rcpt->nfees);
	/* R2, R11: who the clerk saw.  Without a document named, the holder
	 * showed the My Number card itself (photo card, face to face). */
	copy_field(rec.holder_doc_type, sizeof(rec.holder_doc_type),
	    v->holder_id.doc_type ? v->holder_id.doc_type : "mynumber-card");
	copy_field(rec.holder_doc_number, sizeof(rec.holder_doc_number),
	    v->holder_id.doc_type ? v->holder_id.doc_number : rcpt->card_serial);
	if (px != NULL) {
		copy_field(rec.proxy_name, sizeof(rec.proxy_name), px->name);
		copy_field(rec.proxy_doc_type, sizeof(rec.proxy_doc_type),
		    px->id.doc_type);
		copy_field(rec.proxy_doc_number, sizeof(rec.proxy_doc_number),
		    px->id.doc_number);
		copy_field(rec.form, sizeof(rec.form), px->form);
		copy_field(rcpt->proxy_name, sizeof(rcpt->proxy_name),
		    px->name);
		copy_field(rcpt->form, sizeof(rcpt->form), px->form);
	}
	if ((r = store_receipt_insert(s, &rec)) != JPKI_OK)
		return r;
	rcpt->number = rec.id;
	for (size_t i = 0; i < rcpt->nfees; i++)
		if ((r = store_receipt_line_add(s, rec.id, (int)i + 1,
		    rules_fee_item_name(rcpt->fees[i].item),
		    rcpt->fees[i].yen)) != JPKI_OK)
			return r;
	return JPKI_OK;
}

static json_t *
cert_lines_json(const struct counter_cert_line *l, int n, int issued)
{
	json_t *a = json_array();
	char na[26];

	for (int i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "serial", l[i].serial,
		    "type", rules_cert_type_name(l[i].type));

		if (issued) {
			iso8601_format_jst(l[i].not_after, na);
			json_object_set_new(o, "not_after", json_string(na));
			json_object_set_new(o, "replaces", l[i].replaces[0] ?
			    json_string(l[i].replaces) : json_null());
		} else {
			json_object_set_new(o, "reason", json_string(
			    store_revocation_reason_name(l[i].reason)));
		}
		json_array_append_new(a, o);
	}
	return a;
}

json_t *
counter_receipt_json(const struct counter_receipt *rc)
{
	json_t *o, *fees = json_array(), *pins = json_array();
	char at[26], expiry[11];

	iso8601_format_jst(rc->at, at);
	for (size_t i = 0; i < rc->nfees; i++)
		json_array_append_new(fees, json_pack("{s:s, s:s, s:i}",
		    "item", rules_fee_item_name(rc->fees[i].item),
		    "label", rules_fee_item_label_ja(rc->fees[i].item),
		    "yen", rc->fees[i].yen));
	for (int i = 0; i < rc->npins_set; i++)
		json_array_append_new(pins,
		    json_string(rules_pin_kind_name(rc->pins_set[i])));
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:I}",
	    "number", (json_int_t)rc->number,
	    "procedure", rules_procedure_name(rc->proc),
	    "label", rules_procedure_label_ja(rc->proc), "at", at,
	    "clerk", rc->clerk, "resident", (json_int_t)rc->resident_id,
	    "fees", fees, "total_yen", (json_int_t)rc->total_yen);
	json_object_set_new(o, "card", rc->card_serial[0] ?
	    json_string(rc->card_serial) : json_null());
	if (rc->old_card_serial[0])
		json_object_set_new(o, "old_card",
		    json_string(rc->old_card_serial));
	if (rc->card_expiry.y != 0) {
		jdate_format(rc->card_expiry, expiry);
		json_object_set_new(o, "card_expiry", json_string(expiry));
	}
	json_object_set_new(o, "issued", cert_lines_json(rc->issued,
	    rc->nissued, 1));
	json_object_set_new(o, "revoked", cert_lines_json(rc->revoked,
	    rc->nrevoked, 0));
	json_object_set_new(o, "pins_set", pins);
	if (rc->proc == PROC_PIN_RESET)
		json_object_set_new(o, "pin_was_locked",
		    json_boolean(rc->pin_was_locked));
	if (rc->security_code[0])
		json_object_set_new(o, "security_code",
		    json_string(rc->security_code));
	if (rc->note[0])
		json_object_set_new(o, "note", json_string(rc->note));
	if (rc->proxy_name[0])
		json_object_set_new(o, "proxy", json_pack("{s:s, s:s?}",
		    "name", rc->proxy_name, "form",
		    rc->form[0] ? rc->form : NULL));
	return o;
}

void
counter_receipt_print(FILE *f, const struct counter_receipt *rc)
{
	char at[26], day[11];

	iso8601_format_jst(rc->at, at);
	fprintf(f, "受付番号 receipt %lld   %s\n", (long long)rc->number, at);
	fprintf(f, "  %s (%s)   clerk %s\n", rules_procedure_label_ja(rc->proc),
	    rules_procedure_name(rc->proc), rc->clerk);
	fprintf(f, "  resident %lld", (long long)rc->resident_id);
	if (rc->card_serial[0])
		fprintf(f, "   card %s", rc->card_serial);
	if (rc->card_expiry.y != 0) {
		jdate_format(rc->card_expiry, day);
		fprintf(f, " (valid through %s)", day);
	}
	if (rc->old_card_serial[0])
		fprintf(f, "   replaces %s card %s", rc->proc ==
		    PROC_REISSUE ? "lost" : "expired",
		    rc->old_card_serial);
	fputc('\n', f);
	if (rc->proxy_name[0])
		fprintf(f, "  proxy %s%s%s\n", rc->proxy_name,
		    rc->form[0] ? ", form " : "", rc->form);
	for (int i = 0; i < rc->nissued; i++) {
		jdate_format(jst_date_of(rc->issued[i].not_after), day);
		fprintf(f, "  issued   %-4s %s valid through %s%s%s\n",
		    rules_cert_type_name(rc->issued[i].type),
		    rc->issued[i].serial, day,
		    rc->issued[i].replaces[0] ? ", replaces " : "",
		    rc->issued[i].replaces);
	}
	for (int i = 0; i < rc->nrevoked; i++)
		fprintf(f, "  revoked  %-4s %s (%s)\n",
		    rules_cert_type_name(rc->revoked[i].type),
		    rc->revoked[i].serial,
		    store_revocation_reason_name(rc->revoked[i].reason));
	for (int i = 0; i < rc->npins_set; i++)
		fprintf(f, "  PIN set  %s%s\n", rules_pin_kind_name(
		    rc->pins_set[i]), rc->proc == PROC_PIN_RESET &&
		    rc->pin_was_locked ? " (was locked)" : "");
	if (rc->security_code[0])
		fprintf(f, "  セキュリティコード security code %s (collation "
		    "number B: birth YYMMDD, expiry year, this code)\n",
		    rc->security_code);
	if (rc->note[0])
		fprintf(f, "  note     %s\n", rc->note);
	fprintf(f, "  fees\n");
	for (size_t i = 0; i < rc->nfees; i++)
		fprintf(f, "    %s (%s)  %d yen\n",
		    rules_fee_item_label_ja(rc->fees[i].item),
		    rules_fee_item_name(rc->fees[i].item), rc->fees[i].yen);
	fprintf(f, "    合計 total  %ld yen\n", rc->total_yen);
}
