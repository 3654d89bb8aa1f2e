/*
 * receipt_pdf.c: the receipt as paper (手数料領収書兼受付票): one A4 page
 * with the procedure, the holder, the card, who came (the holder or a
 * proxy) and the fee lines (R7) with their total, drawn from the receipt
 * as the store keeps it, so the PDF of a receipt printed today or a year
 * later says the same.  Drawn and written as the notices are (pdf.c).  The
 * individual number and the identity documents' numbers are not printed:
 * the paper goes home with the holder.
 */
#include "counter/counter.h"
#include "counter/pdf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* More fee lines than any procedure makes (RULES_FEE_LINES_MAX), for
 * receipts recorded under a later fee table. */
#define RECEIPT_PDF_LINES_MAX 8

struct receipt_doc {
	struct receipt_record rc;
	struct resident holder;
	struct municipality muni;
	int have_muni;
	char card[SERIAL_HEX_MAX];
	struct {
		char item[64];
		long yen;
	} lines[RECEIPT_PDF_LINES_MAX];
	int nlines;
};

static int
line_one(void *arg, int line, const char *item, long yen)
{
	struct receipt_doc *d = arg;

	(void)line;
	if (d->nlines == RECEIPT_PDF_LINES_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "receipt %lld has more "
		    "than %d fee lines", (long long)d->rc.id, RECEIPT_PDF_LINES_MAX);
	snprintf(d->lines[d->nlines].item, sizeof(d->lines[0].item), "%s",
	    item);
	d->lines[d->nlines++].yen = yen;
	return 0;
}

static int
receipt_doc_read(struct datadir *dd, int64_t id, struct receipt_doc *d)
{
	struct store *s = datadir_store(dd);
	struct card_record card;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = store_receipt_get(s, id, &d->rc)) != JPKI_OK ||
	    (r = store_receipt_lines(s, id, line_one, d)) != JPKI_OK ||
	    (r = store_resident_get(s, d->rc.resident_id, &d->holder)))
		return r;
	if (d->rc.card_id != 0) {
		if ((r = store_card_get(s, d->rc.card_id, &card)) != JPKI_OK)
			return r;
		snprintf(d->card, sizeof(d->card), "%s", card.serial);
	}
	/* A municipality code the table lost leaves the sender unnamed. */
	if (store_municipality_get(s, d->holder.municipality, &d->muni) ==
	    JPKI_OK)
		d->have_muni = 1;
	jpki_errclear();
	return JPKI_OK;
}

static const char *
procedure_ja(const char *name)
{
	for (int p = PROC_DELIVER; p <= PROC_UPDATE_CARD; p++)
		if (strcmp(rules_procedure_name((enum procedure)p), name) == 0)
			return rules_procedure_label_ja((enum procedure)p);
	return name;
}

static const char *
fee_ja(const char *item)
{
	for (int i = 0; i < FEE__COUNT; i++)
		if (strcmp(rules_fee_item_name((enum fee_item)i), item) == 0)
			return rules_fee_item_label_ja((enum fee_item)i);
	return item;
}

/* "1,000円" */
static void
yen_ja(long yen, char buf[32])
{
	char digits[24];
	int n, o = 0;

	if (yen < 0) {
		buf[o++] = '-';
		yen = -yen;
	}
	n = snprintf(digits, sizeof(digits), "%ld", yen);
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	snprintf(buf + o, 32 - (size_t)o, "円");
}

static const char *
identity_ja(const char *doc_type)
{
	if (strcmp(doc_type, "mynumber-card") == 0)
		return "マイナンバーカード";
	if (strcmp(doc_type, "driving-licence") == 0)
		return "運転免許証";
	if (strcmp(doc_type, "passport") == 0)
		return "旅券";
	return doc_type;
}

static void
receipt_page(cairo_t *cr, const void *arg)
{
	const struct receipt_doc *d = arg;
	char buf[PDF_TEXT_MAX], at[26], day[32], yen[32];
	double y = PDF_MARGIN, col;

	iso8601_format_jst(d->rc.at, at);
	pdf_date_ja(jst_date_of(d->rc.at), day);
	pdf_text(cr, PDF_MARGIN, y, PDF_TEXT_W, 10, PDF_PLAIN,
	    PANGO_ALIGN_RIGHT, day);
	if (d->have_muni) {
		snprintf(buf, sizeof(buf), "%s%s長", d->muni.pref_ja,
		    d->muni.name_ja);
		pdf_text(cr, PDF_MARGIN, y + 14, PDF_TEXT_W, 10, PDF_PLAIN,
		    PANGO_ALIGN_RIGHT, buf);
	}
	y += 44;
	y += pdf_text(cr, PDF_MARGIN, y, PDF_TEXT_W, 18, PDF_BOLD,
	    PANGO_ALIGN_CENTER, "手数料領収書 兼 受付票") + 6;
	y += pdf_textf(cr, PDF_MARGIN, y, PDF_TEXT_W, 11, PDF_PLAIN,
	    "%s（%s）", procedure_ja(d->rc.procedure), d->rc.procedure) + 16;

	snprintf(buf, sizeof(buf), "%lld", (long long)d->rc.id);
	y += pdf_row(cr, y, "受付番号", buf);
	snprintf(buf, sizeof(buf), "%s %.5s", day, at + 11);
	y += pdf_row(cr, y, "受付日時", buf);
	snprintf(buf, sizeof(buf), "%s　%s　様", d->holder.surname,
	    d->holder.given);
	y += pdf_row(cr, y, "お名前", buf);
	if (d->card[0])
		y += pdf_row(cr, y, "カード", d->card);
	if (d->rc.proxy_name[0]) {
		snprintf(buf, sizeof(buf), "%s 様（本人確認: %s）",
		    d->rc.proxy_name, identity_ja(d->rc.proxy_doc_type));
		y += pdf_row(cr, y, "代理人", buf);
		if (d->rc.form[0])
			y += pdf_row(cr, y, "照会書番号", d->rc.form);
	} else if (d->rc.holder_doc_type[0]) {
		y += pdf_row(cr, y, "本人確認書類",
		    identity_ja(d->rc.holder_doc_type));
	}
	y += pdf_row(cr, y, "担当", d->rc.clerk) + 24;

	/* The fees, line by line, and their total (R7). */
	col = PDF_PAGE_W - PDF_MARGIN - 110;
	cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
	cairo_rectangle(cr, PDF_MARGIN, y - 3, PDF_TEXT_W, 20);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	pdf_text(cr, PDF_MARGIN + 6, y, 0, 10.5, PDF_BOLD, PANGO_ALIGN_LEFT,
	    "手数料");
	pdf_text(cr, col, y, 104, 10.5, PDF_BOLD, PANGO_ALIGN_RIGHT, "金額");
	y += 24;
	for (int i = 0; i < d->nlines; i++) {
		yen_ja(d->lines[i].yen, yen);
		pdf_textf(cr, PDF_MARGIN + 6, y, col - PDF_MARGIN - 12, 10.5,
		    PDF_PLAIN, "%s（%s）", fee_ja(d->lines[i].item),
		    d->lines[i].item);
		pdf_text(cr, col, y, 104, 10.5, PDF_PLAIN, PANGO_ALIGN_RIGHT,
		    yen);
		y += 20;
		cairo_set_line_width(cr, 0.3);
		cairo_move_to(cr, PDF_MARGIN, y - 3);
		cairo_line_to(cr, PDF_PAGE_W - PDF_MARGIN, y - 3);
		cairo_stroke(cr);
	}
	yen_ja(d->rc.total_yen, yen);
	y += 4;
	pdf_text(cr, PDF_MARGIN + 6, y, 0, 12, PDF_BOLD, PANGO_ALIGN_LEFT,
	    "合計");
	pdf_text(cr, col, y, 104, 12, PDF_BOLD, PANGO_ALIGN_RIGHT, yen);
	y += 22;
	pdf_rule(cr, y);
	y += 14;
	pdf_text(cr, PDF_MARGIN, y, PDF_TEXT_W, 10.5, PDF_PLAIN,
	    PANGO_ALIGN_LEFT, d->rc.total_yen > 0 ? "上記の金額を領収しました。" :
	    "この手続きに手数料はかかりません。");

	pdf_rule(cr, PDF_PAGE_H - PDF_MARGIN - 24);
	pdf_textf(cr, PDF_MARGIN, PDF_PAGE_H - PDF_MARGIN - 18, PDF_TEXT_W, 9,
	    PDF_PLAIN, "受付番号 %lld ／ %s%s 電子証明書窓口",
	    (long long)d->rc.id, d->have_muni ? d->muni.pref_ja : "",
	    d->have_muni ? d->muni.name_ja : "");
	cairo_show_page(cr);
}

#define RECEIPT_PDF_TITLE "手数料領収書兼受付票"

int
counter_receipt_pdf(struct datadir *dd, int64_t id, struct jbuf *out)
{
	struct receipt_doc d;
	int r;

	if ((r = receipt_doc_read(dd, id, &d)) != JPKI_OK)
		return r;
	return pdf_write_mem(out, RECEIPT_PDF_TITLE, receipt_page, &d);
}

int
counter_receipt_pdf_write(struct datadir *dd, int64_t id, const char *path)
{
	mode_t mode = datadir_config(dd)->document_mode;
	char tmp[JPKI_PATH_MAX];
	struct jbuf pdf;
	int r;

	/* Drawn whole first, then put in place by one rename: a failure
	 * leaves a file already at path as it was. */
	jbuf_init(&pdf);
	if ((r = jpki_path(tmp, sizeof(tmp), "%s.tmp", path)) != JPKI_OK ||
	    (r = counter_receipt_pdf(dd, id, &pdf)) != JPKI_OK ||
	    (r = durable_write(tmp, pdf.data, pdf.len, mode)) != JPKI_OK)
		goto out;
	if (chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	r = durable_sync_dir_of(path);
out:
	jbuf_free(&pdf);
	return r;
}
