/*
 * residence_pdf.c: the residence certificate (住民票の写し) a kiosk issues,
 * one A4 page drawn like the notices (notice_pdf.c: Pango, Noto Sans CJK
 * JP, cairo's PDF surface, the fonts' subsets embedded), into memory: the
 * caller signs it (PAdES) before it leaves.
 *
 * What it shows is what a convenience-store print shows by default: name,
 * address, date of birth (in its era, and the Gregorian date), gender,
 * the date of issue and the municipality's certification under its
 * mayor's name; the individual number and the resident code are left out
 * (マイナンバー法: only on request, and never at a kiosk here).
 */
#include "counter/counter_int.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <string.h>

#define PAGE_W 595.276            /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 56.0
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define LABEL_W 110.0
#define ROW_PAD 8.0

static const char *
gender_ja(enum gender g)
{
	switch (g) {
	case GENDER_MALE: return "男";
	case GENDER_FEMALE: return "女";
	default: return "不明";
	}
}

/* "昭和55年5月15日", "令和元年5月1日"; "" when the era is unknown. */
static void
era_date_ja(struct jdate d, char *buf, size_t n)
{
	int digit = rules_era_digit(d), y = rules_era_year(d);

	if (digit == 0 || y == 0)
		snprintf(buf, n, "%d年%d月%d日", d.y, d.m, d.d);
	else if (y == 1)
		snprintf(buf, n, "%s元年%d月%d日", rules_era_name(digit, 1),
		    d.m, d.d);
	else
		snprintf(buf, n, "%s%d年%d月%d日", rules_era_name(digit, 1), y,
		    d.m, d.d);
}

/* One row of the table: its label and value; the y below it. */
static double
row(cairo_t *cr, double y, const char *label, const char *value)
{
	double h1, h2, h;

	h1 = counter_pdf_text(cr, MARGIN + 8, y + ROW_PAD, LABEL_W - 16, 11, 0,
	    0, label);
	h2 = counter_pdf_text(cr, MARGIN + LABEL_W + 8, y + ROW_PAD,
	    TEXT_W - LABEL_W - 16, 12, 0, 0, value);
	h = (h1 > h2 ? h1 : h2) + 2 * ROW_PAD;
	cairo_set_line_width(cr, 0.6);
	cairo_rectangle(cr, MARGIN, y, LABEL_W, h);
	cairo_rectangle(cr, MARGIN + LABEL_W, y, TEXT_W - LABEL_W, h);
	cairo_stroke(cr);
	return y + h;
}

static void
page(cairo_t *cr, const struct counter_residence_doc *d)
{
	char name[2 * RESIDENT_NAME_MAX + 8], birth[96], born[64], issued[64],
	    mayor[128], line[256];
	struct jdate today = jst_date_of(d->issued_at);
	double y = MARGIN;

	era_date_ja(d->res->birth, born, sizeof(born));
	snprintf(birth, sizeof(birth), "%s（%d年%d月%d日）", born,
	    d->res->birth.y, d->res->birth.m, d->res->birth.d);
	snprintf(name, sizeof(name), "%s　%s", d->res->surname, d->res->given);
	era_date_ja(today, issued, sizeof(issued));
	snprintf(mayor, sizeof(mayor), "%s%s長", d->muni->pref_ja,
	    d->muni->name_ja);

	snprintf(line, sizeof(line), "交付番号 %s", d->number);
	counter_pdf_text(cr, MARGIN, y, TEXT_W, 9, 0, 1, line);
	y += 24;
	y += counter_pdf_text(cr, MARGIN, y, 0, 22, 1, 0, "住民票の写し") + 6;
	y += counter_pdf_text(cr, MARGIN, y, TEXT_W, 9, 0, 0,
	    "（コンビニエンスストア等における証明書等の自動交付）") + 18;
	y = row(cr, y, "氏名", name);
	if (d->res->name_kana[0] != '\0')
		y = row(cr, y, "フリガナ", d->res->name_kana);
	y = row(cr, y, "生年月日", birth);
	y = row(cr, y, "性別", gender_ja(d->res->gender));
	y = row(cr, y, "住所", d->res->address);
	y = row(cr, y, "個人番号", "記載省略");
	y = row(cr, y, "住民票コード", "記載省略");
	y += 28;
	y += counter_pdf_text(cr, MARGIN, y, TEXT_W, 11, 0, 0,
	    "この写しは、住民票の原本と相違ないことを証明する。") + 14;
	snprintf(line, sizeof(line), "交付日　%s", issued);
	y += counter_pdf_text(cr, MARGIN, y, TEXT_W, 11, 0, 1, line) + 6;
	y += counter_pdf_text(cr, MARGIN, y, TEXT_W, 14, 1, 1, mayor) + 28;
	snprintf(line, sizeof(line), "手数料　%ld円（領収済）", d->fee_yen);
	y += counter_pdf_text(cr, MARGIN, y, TEXT_W, 9, 0, 0, line) + 4;
	counter_pdf_text(cr, MARGIN, y, TEXT_W, 9, 0, 0,
	    "この証明書には市区町村長の電子署名（PAdES）が付されています。"
	    "改ざんの有無は署名の検証で確認できます。");
}

static cairo_status_t
write_jbuf(void *closure, const unsigned char *data, unsigned int length)
{
	return jbuf_put(closure, data, length) == JPKI_OK ?
	    CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int
counter_residence_pdf(const struct counter_residence_doc *d,
    struct jbuf *out)
{
	cairo_surface_t *surface;
	cairo_t *cr;
	int r = JPKI_OK;

	surface = cairo_pdf_surface_create_for_stream(write_jbuf, out, PAGE_W,
	    PAGE_H);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
	    "住民票の写し");
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR,
	    "openjpki");
	cr = cairo_create(surface);
	cairo_set_source_rgb(cr, 0, 0, 0);
	page(cr, d);
	cairo_show_page(cr);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
		r = jpki_fail(JPKI_ERR_IO, "residence certificate: cairo: %s",
		    cairo_status_to_string(cairo_status(cr)));
	cairo_destroy(cr);
	cairo_surface_finish(surface);
	if (r == JPKI_OK && cairo_surface_status(surface) !=
	    CAIRO_STATUS_SUCCESS)
		r = jpki_fail(JPKI_ERR_IO, "residence certificate: cairo: %s",
		    cairo_status_to_string(cairo_surface_status(surface)));
	cairo_surface_destroy(surface);
	return r;
}
