/*
 * pdf.h: private to the counter's paper (notice_pdf.c, receipt_pdf.c).
 * One way of drawing A4 pages: text laid out by Pango in Noto Sans CJK JP
 * (fonts-noto-cjk), embedded by cairo, boxes and rules; and one way of
 * writing the PDF out, to a new file with an exact mode or to memory.
 */
#ifndef JPKI_COUNTER_PDF_H
#define JPKI_COUNTER_PDF_H

#include "base/base.h"

#include <cairo.h>
#include <pango/pangocairo.h>
#include <sys/types.h>

#define PDF_PAGE_W 595.276        /* A4 in points */
#define PDF_PAGE_H 841.890
#define PDF_MARGIN 56.0
#define PDF_TEXT_W (PDF_PAGE_W - 2 * PDF_MARGIN)
#define PDF_TEXT_MAX 2048         /* one paragraph, formatted */

enum pdf_style { PDF_PLAIN = 0, PDF_BOLD = 1, PDF_MONO = 2 };

/* Draw text at (x, y) within width w (0: no wrapping); returns its
 * height. */
double pdf_text(cairo_t *cr, double x, double y, double w, double size,
    enum pdf_style style, PangoAlignment align, const char *text);
double pdf_textf(cairo_t *cr, double x, double y, double w, double size,
    enum pdf_style style, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void pdf_box(cairo_t *cr, double x, double y, double w, double h,
    double line);
/* A full-width rule at y. */
void pdf_rule(cairo_t *cr, double y);
/* One row of a two-column table: a shaded label, the value beside it;
 * returns its height. */
double pdf_row(cairo_t *cr, double y, const char *label, const char *value);
/* "2026年11月29日" */
void pdf_date_ja(struct jdate d, char buf[32]);

/* Draws every page (ending each with cairo_show_page). */
typedef void (*pdf_pages_fn)(cairo_t *cr, const void *arg);

/* The PDF titled `title` as a new file at path, fsync'd, with exactly
 * `mode` (the umask may not widen or narrow it); a file already at path
 * (a killed run's temporary) is replaced, never written through; nothing
 * is left at path on failure. */
int pdf_write_file(const char *path, mode_t mode, const char *title,
    pdf_pages_fn pages, const void *arg);
/* The same into out (appended). */
int pdf_write_mem(struct jbuf *out, const char *title, pdf_pages_fn pages,
    const void *arg);

#endif
