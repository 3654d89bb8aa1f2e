/*
 * csv.h: the bounded CSV reader (RFC 4180: quoted fields, doubled quotes,
 * CRLF or LF) used by register imports.  Private to the counter module and
 * its fuzz target.
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

#endif
