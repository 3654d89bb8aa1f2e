/*
 * audit_json.c: audit details as JSON objects (store_audit_json), so that
 * every module writes them one way and no value is spliced into JSON text
 * by hand.
 */
#include "store/store.h"

#include <stdlib.h>

int
store_audit_json(struct store *s, const char *actor, const char *action,
    const char *subject, json_t *detail)
{
	char *text;
	int r;

	if (detail == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "audit: cannot make the detail "
		    "of %s", action);
	text = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	if (text == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	r = store_audit_append(s, actor != NULL ? actor : "operator", action,
	    subject, text);
	free(text);
	return r;
}
