/*
 * csv.h: the bounded CSV reader (RFC 4180: quoted fields, doubled quotes,
 * CRLF or LF) used by register imports, and the field writer of the
 * counter's CSV exports (notices.csv).  Private to the counter module, its
 * tests and its fuzz target.
 */
#ifndef JPKI_CSV_H
#define JPKI_CSV_H

#include "base/base.h"

#define CSV_LINE_MAX 4096     /* bytes in one record */
#define CSV_FIELDS_MAX 16     /* fields in one record */
#define CSV_INPUT_MAX (64L * 1024 * 1024)  /* one import file */

struct csv {
	struct cursor in;
	long row;                 /* 1-based number of the current record */
	int nfields;
	char *field[CSV_FIELDS_MAX];
	uint8_t buf[CSV_LINE_MAX + 1];
};

void counter_csv_init(struct csv *c, const void *data, size_t len);
int counter_csv_next(struct csv *c, int *got);

/* Append one field of a record to b: quoted (quotes doubled) when it holds
 * a comma, a quote, CR or LF, then a comma, or CRLF after the last field.
 * A value a spreadsheet would evaluate (one that begins with =, +, -, @,
 * tab or CR: OWASP's CSV injection rule) is written as text instead:
 * quoted, behind a single quote, so `=HYPERLINK(...)` reads back as
 * `'=HYPERLINK(...)`. */
int counter_csv_put_field(struct jbuf *b, const char *v, int last);

#endif
