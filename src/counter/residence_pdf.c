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
#include "counter/pdf.h"

#include <stdio.h>
#include <string.h>

#define MARGIN PDF_MARGIN
#define TEXT_W PDF_TEXT_W
#define LABEL_W 110.0
#define ROW_PAD 8.0

/* A paragraph: bold or not, left or right aligned; its height. */
static double
residence_text(cairo_t *cr, double x, double y, double w, double size,
    int bold, int align_right, const char *text)
{
	return pdf_text(cr, x, y, w, size, bold ? PDF_BOLD : PDF_PLAIN,
	    align_right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT, text);
}

static const char *
gender_ja(enum gender g)
{
	switch (g) {
	case GENDER_MALE: return "男";
	case GENDER_FEMALE: return "女";
	default: return "不明";
	}
}

/* One row of the table: its label and value; the y below it. */
static double
row(cairo_t *cr, double y, const char *label, const char *value)
{
	double h1, h2, h;

	h1 = residence_text(cr, MARGIN + 8, y + ROW_PAD, LABEL_W - 16, 11, 0,
	    0, label);
	h2 = residence_text(cr, MARGIN + LABEL_W + 8, y + ROW_PAD,
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

	rules_era_date_ja(d->res->birth, born, sizeof(born));
	snprintf(birth, sizeof(birth), "%s（%d年%d月%d日）", born,
	    d->res->birth.y, d->res->birth.m, d->res->birth.d);
	snprintf(name, sizeof(name), "%s　%s", d->res->surname, d->res->given);
	rules_era_date_ja(today, issued, sizeof(issued));
	snprintf(mayor, sizeof(mayor), "%s%s長", d->muni->pref_ja,
	    d->muni->name_ja);

	snprintf(line, sizeof(line), "交付番号 %s", d->number);
	residence_text(cr, MARGIN, y, TEXT_W, 9, 0, 1, line);
	y += 24;
	y += residence_text(cr, MARGIN, y, 0, 22, 1, 0, "住民票の写し") + 6;
	y += residence_text(cr, MARGIN, y, TEXT_W, 9, 0, 0,
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
	y += residence_text(cr, MARGIN, y, TEXT_W, 11, 0, 0,
	    "この写しは、住民票の原本と相違ないことを証明する。") + 14;
	snprintf(line, sizeof(line), "交付日　%s", issued);
	y += residence_text(cr, MARGIN, y, TEXT_W, 11, 0, 1, line) + 6;
	y += residence_text(cr, MARGIN, y, TEXT_W, 14, 1, 1, mayor) + 28;
	snprintf(line, sizeof(line), "手数料　%ld円（領収済）", d->fee_yen);
	y += residence_text(cr, MARGIN, y, TEXT_W, 9, 0, 0, line) + 4;
	residence_text(cr, MARGIN, y, TEXT_W, 9, 0, 0,
	    "この証明書には市区町村長の電子署名（PAdES）が付されています。"
	    "改ざんの有無は署名の検証で確認できます。");
}

static void
pages(cairo_t *cr, const void *arg)
{
	page(cr, arg);
	cairo_show_page(cr);
}

int
counter_residence_pdf(const struct counter_residence_doc *d,
    struct jbuf *out)
{
	return pdf_write_mem(out, "住民票の写し", pages, d);
}
