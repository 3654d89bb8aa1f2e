/*
 * test_visit.c: counter_visit_check(), the one check of who is at the
 * counter, as a table: the clerk (R10), the holder's identity document
 * (R11), the proxy and their identity document (R13, R14); what is
 * accepted, and what is refused with which code and which rule named.
 */
#include "test.h"
#include "counter/counter.h"

#include <string.h>

static char long_text[200];

/* A string of n bytes ("x" repeated) from long_text. */
static const char *
bytes(size_t n)
{
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	return long_text + (sizeof(long_text) - 1 - n);
}

static void
test_who_is_at_the_counter(void)
{
	/* Rows name the proxy by field; has_proxy 0 means the holder came. */
	const struct {
		const char *what;
		const char *clerk, *doc_type, *doc_number;
		int has_proxy;
		const char *proxy_name, *proxy_doc_type, *proxy_doc_number;
		int want;
		const char *says;
	} rows[] = {
	    {"the holder with the card, a clerk", "sato", NULL, NULL, 0,
		NULL, NULL, NULL, JPKI_OK, ""},
	    {"the holder with a passport", "sato", "passport", "TR1234567", 0,
		NULL, NULL, NULL, JPKI_OK, ""},
	    {"a document type without a number", "窓口 山田",
		"driving-licence", NULL, 0, NULL, NULL, NULL, JPKI_OK, ""},
	    {"no clerk", NULL, NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_USAGE, "R10: the clerk who runs the procedure is "
		"required"},
	    {"an empty clerk", "", NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_USAGE, "R10: the clerk who runs the procedure is "
		"required"},
	    {"a clerk of two lines", "a\nb", NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_INPUT, "R10: the clerk who runs the procedure: one "
		"line of UTF-8"},
	    {"a clerk with a tab", "a\tb", NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_INPUT, "R10: "},
	    {"a clerk in broken UTF-8", "\xE7\xAA", NULL, NULL, 0, NULL, NULL,
		NULL, JPKI_ERR_INPUT, "R10: "},
	    {"a clerk of 63 bytes", bytes(63), NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_OK, ""},
	    {"a clerk of 64 bytes", bytes(64), NULL, NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_INPUT, "1 to 63 bytes"},
	    {"an empty document type", "sato", "", NULL, 0, NULL, NULL, NULL,
		JPKI_ERR_INPUT, "R11: the holder's identity document type"},
	    {"an empty document number", "sato", "passport", "", 0, NULL,
		NULL, NULL, JPKI_ERR_INPUT, "R11: the holder's identity "
		"document number"},
	    {"a number without its document", "sato", NULL, "TR1234567", 0,
		NULL, NULL, NULL, JPKI_ERR_INPUT, "R11: the holder's identity "
		"document number is given without the document's type"},
	    {"a document type of 127 bytes", "sato", bytes(127), NULL, 0,
		NULL, NULL, NULL, JPKI_OK, ""},
	    {"a document type of 128 bytes", "sato", bytes(128), NULL, 0,
		NULL, NULL, NULL, JPKI_ERR_INPUT, "R11: "},
	    {"a document number of 128 bytes", "sato", "passport", bytes(128),
		0, NULL, NULL, NULL, JPKI_ERR_INPUT, "R11: "},
	    {"a document number over two lines", "sato", "passport", "1\n2",
		0, NULL, NULL, NULL, JPKI_ERR_INPUT, "R11: "},
	    {"a proxy with a driving licence", "sato", NULL, NULL, 1,
		"鈴木 一郎", "driving-licence", "301234567890", JPKI_OK, ""},
	    {"a proxy without a name", "sato", NULL, NULL, 1, NULL,
		"driving-licence", "301234567890", JPKI_ERR_USAGE,
		"R13, R14: the proxy's name is required"},
	    {"a proxy without a document", "sato", NULL, NULL, 1, "鈴木 一郎",
		NULL, NULL, JPKI_ERR_USAGE, "R13, R14: the proxy's identity "
		"document type is required"},
	    {"a proxy's document without its number", "sato", NULL, NULL, 1,
		"鈴木 一郎", "driving-licence", "", JPKI_ERR_USAGE,
		"R13, R14: the proxy's identity document number is required"},
	    {"a proxy's name of 127 bytes", "sato", NULL, NULL, 1, bytes(127),
		"passport", "TZ0000001", JPKI_OK, ""},
	    /* The receipt keeps 127 bytes of the proxy's name. */
	    {"a proxy's name of 128 bytes", "sato", NULL, NULL, 1, bytes(128),
		"passport", "TZ0000001", JPKI_ERR_INPUT, "R13, R14: the "
		"proxy's name: one line of UTF-8, 1 to 127 bytes"},
	    {"a proxy's document type of 33 bytes", "sato", NULL, NULL, 1,
		"鈴木 一郎", bytes(33), "TZ0000001", JPKI_ERR_INPUT,
		"R13, R14: the proxy's identity document type"},
	    {"a proxy's document number of 65 bytes", "sato", NULL, NULL, 1,
		"鈴木 一郎", "passport", bytes(65), JPKI_ERR_INPUT,
		"R13, R14: the proxy's identity document number"},
	    {"no clerk for a proxy either", NULL, NULL, NULL, 1, "鈴木 一郎",
		"passport", "TZ0000001", JPKI_ERR_USAGE, "R10: "},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(rows); i++) {
		struct counter_proxy px;
		struct counter_visit v;
		int r;

		memset(&px, 0, sizeof(px));
		px.name = rows[i].proxy_name;
		px.id.doc_type = rows[i].proxy_doc_type;
		px.id.doc_number = rows[i].proxy_doc_number;
		memset(&v, 0, sizeof(v));
		v.clerk = rows[i].clerk;
		v.holder_id.doc_type = rows[i].doc_type;
		v.holder_id.doc_number = rows[i].doc_number;
		v.proxy = rows[i].has_proxy ? &px : NULL;
		jpki_errclear();
		r = counter_visit_check(&v);
		if (r != rows[i].want ||
		    strstr(jpki_errmsg(), rows[i].says) == NULL)
			fprintf(stderr, "  row '%s': got %d '%s'\n",
			    rows[i].what, r, jpki_errmsg());
		CHECK_INT(r, rows[i].want);
		CHECK(strstr(jpki_errmsg(), rows[i].says) != NULL);
	}
	/* No visit at all: no clerk. */
	CHECK_INT(counter_visit_check(NULL), JPKI_ERR_USAGE);
}

int
main(void)
{
	test_who_is_at_the_counter();
	return test_summary();
}
