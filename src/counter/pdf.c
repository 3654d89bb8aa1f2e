/*
 * pdf.c: the counter's paper, drawn and written (pdf.h).  Text is laid
 * out by Pango in Noto Sans CJK JP (fonts-noto-cjk) and cairo embeds the
 * subset it uses, so a PDF prints the same anywhere.
 */
#include "counter/pdf.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FONT_FAMILY "Noto Sans CJK JP"
#define MONO_FAMILY "Noto Sans Mono CJK JP"
#define BOLD_OFFSET 0.035         /* of the size: overprint for emphasis */

double
pdf_text(cairo_t *cr, double x, double y, double w, double size,
    enum pdf_style style, PangoAlignment align, const char *text)
{
	PangoLayout *l = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_new();
	int h = 0;

	pango_font_description_set_family(fd, style == PDF_MONO ? MONO_FAMILY :
	    FONT_FAMILY);
	pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
	pango_layout_set_font_description(l, fd);
	if (w > 0) {
		pango_layout_set_width(l, (int)(w * PANGO_SCALE));
		pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	}
	pango_layout_set_alignment(l, align);
	pango_layout_set_text(l, text, -1);
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, l);
	if (style == PDF_BOLD) {
		/* Emphasis by overprinting a hair to the right: the Bold face
		 * of Noto Sans CJK costs ~800 KB a PDF even subset (its CFF
		 * subroutines come along), the overprint nothing, and text
		 * extraction drops the duplicate glyphs. */
		cairo_move_to(cr, x + BOLD_OFFSET * size, y);
		pango_cairo_show_layout(cr, l);
	}
	pango_layout_get_size(l, NULL, &h);
	pango_font_description_free(fd);
	g_object_unref(l);
	return (double)h / PANGO_SCALE;
}

double
pdf_textf(cairo_t *cr, double x, double y, double w, double size,
    enum pdf_style style, const char *fmt, ...)
{
	char buf[PDF_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return pdf_text(cr, x, y, w, size, style, PANGO_ALIGN_LEFT, buf);
}

void
pdf_box(cairo_t *cr, double x, double y, double w, double h, double line)
{
	cairo_set_line_width(cr, line);
	cairo_rectangle(cr, x, y, w, h);
	cairo_stroke(cr);
}

void
pdf_rule(cairo_t *cr, double y)
{
	cairo_set_line_width(cr, 0.8);
	cairo_move_to(cr, PDF_MARGIN, y);
	cairo_line_to(cr, PDF_PAGE_W - PDF_MARGIN, y);
	cairo_stroke(cr);
}

double
pdf_row(cairo_t *cr, double y, const char *label, const char *value)
{
	double h;

	h = pdf_text(cr, PDF_MARGIN + 130, y + 5, PDF_TEXT_W - 140, 10.5,
	    PDF_PLAIN, PANGO_ALIGN_LEFT, value) + 10;
	if (h < 24)
		h = 24;
	cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
	cairo_rectangle(cr, PDF_MARGIN, y, 124, h);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	pdf_text(cr, PDF_MARGIN + 6, y + 5, 116, 10, PDF_BOLD, PANGO_ALIGN_LEFT,
	    label);
	pdf_box(cr, PDF_MARGIN, y, PDF_TEXT_W, h, 0.6);
	return h;
}

void
pdf_date_ja(struct jdate d, char buf[32])
{
	snprintf(buf, 32, "%d年%d月%d日", d.y, d.m, d.d);
}

/* ---- writing ---- */

static cairo_status_t
write_stream(void *closure, const unsigned char *data, unsigned int length)
{
	FILE *f = closure;

	return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS :
	    CAIRO_STATUS_WRITE_ERROR;
}

static cairo_status_t
write_jbuf(void *closure, const unsigned char *data, unsigned int length)
{
	return jbuf_put(closure, data, length) == JPKI_OK ?
	    CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Draw the pages onto a PDF surface writing through fn; `what` names the
 * output in an error. */
static int
render(cairo_write_func_t fn, void *closure, const char *what,
    const char *title, pdf_pages_fn pages, const void *arg)
{
	cairo_surface_t *surface;
	cairo_t *cr;
	int r = JPKI_OK;

	surface = cairo_pdf_surface_create_for_stream(fn, closure, PDF_PAGE_W,
	    PDF_PAGE_H);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
	    title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR,
	    "openjpki");
	cr = cairo_create(surface);
	cairo_set_source_rgb(cr, 0, 0, 0);
	pages(cr, arg);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		r = jpki_fail(JPKI_ERR_IO, "%s: cairo: %s", what,
		    cairo_status_to_string(cairo_status(cr)));
	cairo_destroy(cr);
	cairo_surface_finish(surface);
	if (r == JPKI_OK && cairo_surface_status(surface) !=
	    CAIRO_STATUS_SUCCESS)
		r = jpki_fail(JPKI_ERR_IO, "%s: cairo: %s", what,
		    cairo_status_to_string(cairo_surface_status(surface)));
	cairo_surface_destroy(surface);
	return r;
}

int
pdf_write_file(const char *path, mode_t mode, const char *title,
    pdf_pages_fn pages, const void *arg)
{
	FILE *f = NULL;
	int r, fd;

	/* The umask may not widen or narrow the mode: fchmod sets it. */
	if ((unlink(path) != 0 && errno != ENOENT) ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    mode)) < 0)
		return jpki_fail(JPKI_ERR_IO, "cannot create %s: %s", path,
		    strerror(errno));
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "wb")) == NULL) {
		r = jpki_fail(JPKI_ERR_IO, "cannot create %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return r;
	}
	r = render(write_stream, f, path, title, pages, arg);
	if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && r == JPKI_OK)
		r = jpki_fail(JPKI_ERR_IO, "cannot write %s", path);
	if (fclose(f) != 0 && r == JPKI_OK)
		r = jpki_fail(JPKI_ERR_IO, "cannot write %s", path);
	if (r != JPKI_OK)
		unlink(path);
	return r;
}

int
pdf_write_mem(struct jbuf *out, const char *title, pdf_pages_fn pages,
    const void *arg)
{
	return render(write_jbuf, out, "PDF", title, pages, arg);
}
