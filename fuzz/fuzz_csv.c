/*
 * fuzz_csv: the register import's CSV reader on arbitrary bytes.  Every
 * field it returns must lie inside its record buffer and be NUL-terminated
 * within CSV_LINE_MAX.  And the exports' writer: every record read, written
 * back with counter_csv_put_field(), reads back the same, but for the
 * single quote before a cell a spreadsheet would have evaluated.
 */
#include "counter/csv.h"

#include <string.h>

static int
formula(const char *v)
{
	return v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL;
}

/* Write c's record, read it again, compare. */
static void
round_trip(const struct csv *c)
{
	static struct csv again;
	struct jbuf b;
	size_t total = 0;
	int got;

	for (int i = 0; i < c->nfields; i++)
		total += strlen(c->field[i]) + 2;
	if (total >= CSV_LINE_MAX - 1)
		return;         /* the quotes could make it too long to read */
	jbuf_init(&b);
	for (int i = 0; i < c->nfields; i++)
		if (counter_csv_put_field(&b, c->field[i], i == c->nfields - 1))
			__builtin_trap();
	counter_csv_init(&again, b.data, b.len);
	if (counter_csv_next(&again, &got) != JPKI_OK || !got ||
	    again.nfields != c->nfields)
		__builtin_trap();
	for (int i = 0; i < c->nfields; i++) {
		const char *w = again.field[i];

		if (formula(c->field[i]) && *w++ != '\'')
			__builtin_trap();
		if (strcmp(w, c->field[i]) != 0)
			__builtin_trap();
	}
	jbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct csv c;
	int got;

	counter_csv_init(&c, data, size);
	while (counter_csv_next(&c, &got) == JPKI_OK && got) {
		for (int i = 0; i < c.nfields; i++) {
			const uint8_t *f = (const uint8_t *)c.field[i];

			if (f < c.buf || f > c.buf + CSV_LINE_MAX ||
			    strlen(c.field[i]) > CSV_LINE_MAX)
				__builtin_trap();
		}
		round_trip(&c);
	}
	return 0;
}
