/*
 * visit.c: who is at the counter, checked in one place.
 *
 * Every procedure (procedures.c), the proxy's application and completion
 * (forms.c) and the notice run (notice.c) start with counter_visit_check():
 * the clerk who runs it is named (R10: no clerk, no procedure), the holder's
 * identity document is one the receipt can record (R2, R11), and a proxy
 * names themselves and the identity document they showed (R13, R14).  The
 * limits are what the receipt and the proxy's record keep, so nothing the
 * clerk typed is cut short on the way into the store.
 *
 * What it deliberately does not check: which documents are acceptable.  The
 * municipal page lists them as "マイナンバーカード、運転免許証等" (and so
 * on): the clerk judges the document, the type is recorded as given.
 */
#include "counter/counter_int.h"

#include <string.h>

enum presence { OPTIONAL, REQUIRED };

/* One field typed at the counter: NULL is "not given" (refused when
 * required); given, it is one line of UTF-8 of 1 to max bytes. */
static int
field_check(const char *rule, const char *field, const char *v, size_t max,
    enum presence presence)
{
	size_t n;

	if (v == NULL || (presence == REQUIRED && v[0] == '\0')) {
		if (presence == OPTIONAL)
			return JPKI_OK;
		return jpki_fail(JPKI_ERR_USAGE, "%s: %s is required", rule,
		    field);
	}
	n = strlen(v);
	if (n == 0 || n > max || !utf8_valid_line(v, n))
		return jpki_fail(JPKI_ERR_INPUT, "%s: %s: one line of UTF-8, "
		    "1 to %zu bytes", rule, field, max);
	return JPKI_OK;
}

int
counter_visit_check(const struct counter_visit *v)
{
	const struct counter_proxy *px;
	int r;

	if ((r = field_check("R10", "the clerk who runs the procedure",
	    v != NULL ? v->clerk : NULL, COUNTER_CLERK_MAX, REQUIRED)))
		return r;
	/* No document named: the holder showed the My Number card itself,
	 * face to face, and its serial is recorded as the number. */
	if ((r = field_check("R11", "the holder's identity document type",
	    v->holder_id.doc_type, COUNTER_DOC_MAX, OPTIONAL)) != JPKI_OK ||
	    (r = field_check("R11", "the holder's identity document number",
	    v->holder_id.doc_number, COUNTER_DOC_MAX, OPTIONAL)) != JPKI_OK)
		return r;
	if (v->holder_id.doc_type == NULL && v->holder_id.doc_number != NULL)
		return jpki_fail(JPKI_ERR_INPUT, "R11: the holder's identity "
		    "document number is given without the document's type");
	if ((px = v->proxy) == NULL)
		return JPKI_OK;
	if ((r = field_check("R13, R14", "the proxy's name", px->name,
	    COUNTER_PROXY_NAME_MAX, REQUIRED)) != JPKI_OK ||
	    (r = field_check("R13, R14", "the proxy's identity document type",
	    px->id.doc_type, PROXY_DOC_TYPE_MAX, REQUIRED)) != JPKI_OK ||
	    (r = field_check("R13, R14", "the proxy's identity document number",
	    px->id.doc_number, PROXY_DOC_NUMBER_MAX, REQUIRED)) != JPKI_OK)
		return r;
	return JPKI_OK;
}
