/*
 * csv.c: a bounded RFC 4180 reader for register imports.  Untrusted bytes:
 * every size has a named limit checked before it is used, and a record is
 * split into fields that point into a caller-owned copy of the line.  And
 * the writer of the exports' fields, which never hands a spreadsheet a
 * formula.
 */
#include "counter/csv.h"

#include <string.h>

void
counter_csv_init(struct csv *c, const void *data, size_t len)
{
	cursor_init(&c->in, data, len);
	c->row = 0;
}

/* Read one record into c->buf / c->field[]; 1 = got one, 0 = end. */
int
counter_csv_next(struct csv *c, int *got)
{
	size_t out = 0;
	int quoted = 0, at_field_start = 1;
	uint8_t ch;

	*got = 0;
	c->nfields = 0;
	if (cursor_left(&c->in) == 0)
		return JPKI_OK;
	c->row++;
	c->field[c->nfields++] = (char *)c->buf;
	for (;;) {
		if (cursor_get_u8(&c->in, &ch) != JPKI_OK) {
			if (quoted)
				return jpki_fail(JPKI_ERR_INPUT,
				    "row %ld: unterminated quoted field", c->row);
			break;
		}
		if (quoted) {
			if (ch == '"') {
				uint8_t next;

				if (cursor_left(&c->in) > 0 &&
				    c->in.p[0] == '"') {
					cursor_get_u8(&c->in, &next);
				} else {
					quoted = 0;
					continue;
				}
			}
		} else if (ch == '"' && at_field_start) {
			quoted = 1;
			at_field_start = 0;
			continue;
		} else if (ch == ',') {
			if (out + 1 > CSV_LINE_MAX)
				goto too_long;
			c->buf[out++] = '\0';
			if (c->nfields >= CSV_FIELDS_MAX)
				return jpki_fail(JPKI_ERR_INPUT, "row %ld: more "
				    "than %d fields", c->row, CSV_FIELDS_MAX);
			c->field[c->nfields++] = (char *)c->buf + out;
			at_field_start = 1;
			continue;
		} else if (ch == '\n') {
			break;
		} else if (ch == '\r') {
			continue;
		} else if (ch == '"') {
			return jpki_fail(JPKI_ERR_INPUT, "row %ld: stray quote "
			    "inside an unquoted field", c->row);
		}
		if (ch == '\0')
			return jpki_fail(JPKI_ERR_INPUT, "row %ld: NUL byte",
			    c->row);
		at_field_start = 0;
		if (out + 1 >= CSV_LINE_MAX)
			goto too_long;
		c->buf[out++] = ch;
	}
	c->buf[out] = '\0';
	*got = 1;
	return JPKI_OK;
too_long:
	return jpki_fail(JPKI_ERR_INPUT, "row %ld: longer than %d bytes",
	    c->row, CSV_LINE_MAX);
}

/* OWASP, CSV Injection: cells that begin with these are formulas to
 * Excel, LibreOffice and Google Sheets. */
static int
looks_like_formula(const char *v)
{
	return v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL;
}

int
counter_csv_put_field(struct jbuf *b, const char *v, int last)
{
	int formula = looks_like_formula(v), r;

	if (!formula && strpbrk(v, ",\"\r\n") == NULL) {
		r = jbuf_put(b, v, strlen(v));
	} else {
		r = jbuf_put(b, formula ? "\"'" : "\"", formula ? 2 : 1);
		for (; r == JPKI_OK && *v; v++)
			r = *v == '"' ? jbuf_put(b, "\"\"", 2) :
			    jbuf_put_u8(b, (uint8_t)*v);
		if (r == JPKI_OK)
			r = jbuf_put_u8(b, '"');
	}
	if (r == JPKI_OK)
		r = last ? jbuf_put(b, "\r\n", 2) : jbuf_put_u8(b, ',');
	return r;
}
