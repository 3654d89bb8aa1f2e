/*
 * notice_pdf.c: the paper the counter sends — an expiry notice
 * (有効期限のお知らせ) or the cover letter of a form mailed after a proxy's
 * first visit, with the inquiry/response form (照会書兼回答書) on the back —
 * drawn as a two-page A4 PDF.
 *
 * Drawn and written as all the counter's paper is (pdf.c).  The
 * check code is the one secret on the paper; it is drawn once, in the
 * sealed part of the form, and the buffers that held it are the caller's.
 */
#include "counter/counter_int.h"
#include "counter/forms.h"
#include "counter/pdf.h"

#include <stdio.h>
#include <string.h>

#define MARGIN PDF_MARGIN
#define TEXT_W PDF_TEXT_W
#define PAGE_W PDF_PAGE_W
#define PAGE_H PDF_PAGE_H
#define TEXT_MAX PDF_TEXT_MAX
#define PLAIN PDF_PLAIN
#define BOLD PDF_BOLD
#define MONO PDF_MONO

static const char *
purpose_ja(enum form_purpose p)
{
	switch (p) {
	case FORM_ISSUE: return "新規発行";
	case FORM_RENEW: return "更新";
	case FORM_PIN_RESET: return "暗証番号の再設定（ロック解除・初期化）";
	}
	return "";
}

static const char *
cert_ja(enum cert_type t)
{
	return t == CERT_SIGN ? "署名用電子証明書" : "利用者証明用電子証明書";
}

static const char *
pin_ja(int kind)
{
	switch (kind) {
	case PIN_SIGN: return "署名用電子証明書の暗証番号（英数字6〜16文字）";
	case PIN_AUTH: return "利用者証明用電子証明書の暗証番号（数字4桁）";
	case PIN_CARDINFO: return "券面事項入力補助用の暗証番号（数字4桁）";
	}
	return "";
}

/* "更新（署名用電子証明書・利用者証明用電子証明書）" */
static void
request_ja(const struct inquiry_form *f, char *buf, size_t n)
{
	if (f->purpose == FORM_PIN_RESET) {
		snprintf(buf, n, "%s（%s）", purpose_ja(f->purpose),
		    f->pin_kind == PIN_SIGN ? "署名用電子証明書" :
		    f->pin_kind == PIN_AUTH ? "利用者証明用電子証明書" :
		    "券面事項入力補助用");
		return;
	}
	snprintf(buf, n, "%s（%s%s%s）", purpose_ja(f->purpose),
	    f->cert_types & COUNTER_SIGN ? cert_ja(CERT_SIGN) : "",
	    (f->cert_types & COUNTER_BOTH) == COUNTER_BOTH ? "・" : "",
	    f->cert_types & COUNTER_AUTH ? cert_ja(CERT_AUTH) : "");
}

/* The sender: "埼玉県草加市長" */
static void
sender_ja(const struct municipality *m, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s長", m->pref_ja, m->name_ja);
}

/* Address block and sender at the top of page 1; returns the y below. */
static double
letter_head(cairo_t *cr, const struct notice_doc *d)
{
	char today[32], sender[160];
	double y = MARGIN;

	pdf_date_ja(d->today, today);
	sender_ja(d->muni, sender, sizeof(sender));
	pdf_text(cr, MARGIN, y, TEXT_W, 10, PLAIN, PANGO_ALIGN_RIGHT, today);
	pdf_text(cr, MARGIN, y + 14, TEXT_W, 10, PLAIN, PANGO_ALIGN_RIGHT,
	    sender);
	/* The window of a window envelope: the registered address. */
	y += 40;
	pdf_box(cr, MARGIN - 6, y - 6, 300, 92, 0.4);
	y += pdf_textf(cr, MARGIN, y, 288, 11, PLAIN, "%s",
	    d->holder->address) + 8;
	pdf_textf(cr, MARGIN, y, 288, 16, BOLD, "%s　%s　様",
	    d->holder->surname, d->holder->given);
	return MARGIN + 40 + 110;
}

static double
bullets(cairo_t *cr, double y, const char *const *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y += pdf_textf(cr, MARGIN + 12, y, TEXT_W - 12, 10, PLAIN,
		    "・%s", lines[i]) + 3;
	return y;
}

/* What a proxy brings (R13, and R14's second visit). */
static const char *const proxy_brings[] = {
    ("裏面の照会書兼回答書（ご本人が暗証番号等を記入し、代理人に見えないよう"
    "封入したもの）"),
    "ご本人のマイナンバーカード",
    "代理人の本人確認書類（マイナンバーカード、運転免許証等）",
};

static void
page_expiry_notice(cairo_t *cr, const struct notice_doc *d)
{
	static const char *const in_person[] = {
	    "マイナンバーカード（暗証番号の入力が必要です）",
	};
	double y = letter_head(cr, d), col[4];
	char buf[32], opens[32];

	y += pdf_text(cr, MARGIN, y, TEXT_W, 17, BOLD, PANGO_ALIGN_CENTER,
	    "マイナンバーカード電子証明書　有効期限のお知らせ") + 18;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 10.5, PLAIN, PANGO_ALIGN_LEFT,
	    "あなたのマイナンバーカードに搭載されている電子証明書の有効期限が"
	    "近づいています。電子証明書は有効期限の3か月前から更新の手続きが"
	    "できます。有効期限を過ぎると、e-Taxなどの電子申請、マイナポータ"
	    "ルへのログイン、コンビニ交付サービスなどが利用できなくなります。")
	    + 16;

	col[0] = MARGIN;
	col[1] = MARGIN + 120;
	col[2] = MARGIN + 300;
	col[3] = MARGIN + 385;
	cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
	cairo_rectangle(cr, MARGIN, y - 3, TEXT_W, 18);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	pdf_text(cr, col[0] + 4, y, 0, 10, BOLD, PANGO_ALIGN_LEFT, "種類");
	pdf_text(cr, col[1], y, 0, 10, BOLD, PANGO_ALIGN_LEFT, "シリアル番号");
	pdf_text(cr, col[2], y, 0, 10, BOLD, PANGO_ALIGN_LEFT, "有効期限");
	pdf_text(cr, col[3], y, 0, 10, BOLD, PANGO_ALIGN_LEFT,
	    "更新できる日");
	y += 20;
	for (int i = 0; i < d->ncerts; i++) {
		pdf_date_ja(jst_date_of(d->certs[i].not_after), buf);
		pdf_date_ja(rules_renewal_opens_on(d->certs[i].not_after),
		    opens);
		pdf_text(cr, col[0] + 4, y, 115, 9, PLAIN, PANGO_ALIGN_LEFT,
		    cert_ja(d->certs[i].type));
		pdf_text(cr, col[1], y + 1, 205, 7, MONO, PANGO_ALIGN_LEFT,
		    d->certs[i].serial);
		pdf_text(cr, col[2], y, 0, 9, PLAIN, PANGO_ALIGN_LEFT, buf);
		pdf_textf(cr, col[3], y, 0, 9, PLAIN, "%sから", opens);
		y += 16;
		cairo_set_line_width(cr, 0.3);
		cairo_move_to(cr, MARGIN, y - 2);
		cairo_line_to(cr, PAGE_W - MARGIN, y - 2);
		cairo_stroke(cr);
	}
	y += 16;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 12, BOLD, PANGO_ALIGN_LEFT,
	    "更新の手続きに必要なもの") + 6;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 10.5, BOLD, PANGO_ALIGN_LEFT,
	    "ご本人が来庁する場合") + 3;
	y = bullets(cr, y, in_person, JPKI_ARRAY_LEN(in_person)) + 6;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 10.5, BOLD, PANGO_ALIGN_LEFT,
	    "代理人が来庁する場合（即日交付）") + 3;
	y = bullets(cr, y, proxy_brings, JPKI_ARRAY_LEN(proxy_brings)) + 6;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 9.5, PLAIN, PANGO_ALIGN_LEFT,
	    "※代理人の場合、一旦マイナンバーカードをお預かりし、職員が照会書"
	    "兼回答書に記載された暗証番号を入力します。電子証明書を搭載したの"
	    "ちに、マイナンバーカードを代理人へ返却します。") + 12;
	pdf_rule(cr, PAGE_H - MARGIN - 24);
	pdf_textf(cr, MARGIN, PAGE_H - MARGIN - 18, TEXT_W, 9, PLAIN,
	    "照会書番号 %lld ／ お問い合わせ: %s%s 電子証明書窓口",
	    (long long)d->form->number, d->muni->pref_ja, d->muni->name_ja);
}

static void
page_mailed_cover(cairo_t *cr, const struct notice_doc *d)
{
	char req[256], made[32], until[32];
	double y = letter_head(cr, d);

	request_ja(d->form, req, sizeof(req));
	pdf_date_ja(d->form->issued_on, made);
	pdf_date_ja(d->form->expiry, until);
	y += pdf_text(cr, MARGIN, y, TEXT_W, 16, BOLD, PANGO_ALIGN_CENTER,
	    "電子証明書の代理人申請に係る照会書兼回答書の送付について") + 18;
	y += pdf_textf(cr, MARGIN, y, TEXT_W, 10.5, PLAIN,
	    "%s、代理人（%s 様）から、あなたの電子証明書の%sの申請がありま"
	    "した。ご本人の意思による申請であることを確認するため、照会書兼"
	    "回答書をお送りします。", made, d->proxy_name, req) + 10;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 10.5, PLAIN, PANGO_ALIGN_LEFT,
	    "申請に心当たりがある場合は、裏面の照会書兼回答書に暗証番号等を"
	    "記入し、代理人に見えないよう封入して代理人にお渡しください。心当"
	    "たりがない場合は、照会書兼回答書を使用せず、窓口までご連絡くださ"
	    "い。") + 10;
	y += pdf_textf(cr, MARGIN, y, TEXT_W, 11, BOLD,
	    "この照会書兼回答書の有効期限: %sまで（1回限り有効）", until) + 16;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 12, BOLD, PANGO_ALIGN_LEFT,
	    "代理人が2回目に来庁する際に必要なもの") + 6;
	y = bullets(cr, y, proxy_brings, JPKI_ARRAY_LEN(proxy_brings));
	pdf_rule(cr, PAGE_H - MARGIN - 24);
	pdf_textf(cr, MARGIN, PAGE_H - MARGIN - 18, TEXT_W, 9, PLAIN,
	    "照会書番号 %lld ／ お問い合わせ: %s%s 電子証明書窓口",
	    (long long)d->form->number, d->muni->pref_ja, d->muni->name_ja);
}

/* n empty boxes for one PIN written by hand. */
static double
pin_boxes(cairo_t *cr, double y, const char *label, int n)
{
	double side = 20;

	y += pdf_text(cr, MARGIN, y, TEXT_W, 10, PLAIN, PANGO_ALIGN_LEFT,
	    label) + 4;
	for (int i = 0; i < n; i++)
		pdf_box(cr, MARGIN + i * (side + 2), y, side, side, 0.6);
	return y + side + 10;
}

static void
page_form(cairo_t *cr, const struct notice_doc *d)
{
	const struct inquiry_form *f = d->form;
	char buf[TEXT_MAX], made[32], until[32];
	double y = MARGIN, sealed_top;

	y += pdf_text(cr, MARGIN, y, TEXT_W, 14, BOLD, PANGO_ALIGN_CENTER,
	    "署名用電子証明書・利用者証明用電子証明書\n"
	    "新規発行／更新　照会書兼回答書") + 14;
	pdf_date_ja(f->issued_on, made);
	pdf_date_ja(f->expiry, until);
	snprintf(buf, sizeof(buf), "%lld", (long long)f->number);
	y += pdf_row(cr, y, "照会書番号", buf);
	y += pdf_row(cr, y, "発行日", made);
	snprintf(buf, sizeof(buf), "%sまで（1回限り有効）", until);
	y += pdf_row(cr, y, "有効期限", buf);
	snprintf(buf, sizeof(buf), "%s　%s", d->holder->surname,
	    d->holder->given);
	y += pdf_row(cr, y, "ご本人氏名", buf);
	y += pdf_row(cr, y, "ご本人住所", d->holder->address);
	request_ja(f, buf, sizeof(buf));
	y += pdf_row(cr, y, "申請内容", buf) + 14;

	/* The sealed part: the check code and the PINs. */
	sealed_top = y - 6;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 9.5, BOLD, PANGO_ALIGN_LEFT,
	    "ここから下は代理人に見えないよう封入してください") + 8;
	pdf_text(cr, MARGIN, y + 6, 0, 10.5, BOLD, PANGO_ALIGN_LEFT,
	    "照合番号");
	pdf_box(cr, MARGIN + 70, y, 230, 30, 1.2);
	pdf_text(cr, MARGIN + 80, y + 4, 0, 17, MONO, PANGO_ALIGN_LEFT,
	    d->code);
	pdf_text(cr, MARGIN + 310, y + 2, TEXT_W - 310, 8.5, PLAIN,
	    PANGO_ALIGN_LEFT, "窓口で照合します。\n代理人に見せないでください。");
	y += 42;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 11, BOLD, PANGO_ALIGN_LEFT,
	    "回答欄（ご本人が記入してください）") + 6;
	if (f->purpose == FORM_PIN_RESET) {
		y = pin_boxes(cr, y, pin_ja(f->pin_kind), f->pin_kind ==
		    PIN_SIGN ? RULES_SIGN_PIN_MAX : RULES_DIGIT_PIN_LEN);
	} else {
		if (f->cert_types & COUNTER_SIGN)
			y = pin_boxes(cr, y, pin_ja(PIN_SIGN),
			    RULES_SIGN_PIN_MAX);
		if (f->cert_types & COUNTER_AUTH)
			y = pin_boxes(cr, y, pin_ja(PIN_AUTH),
			    RULES_DIGIT_PIN_LEN);
	}
	y += 4;
	y += pdf_text(cr, MARGIN, y, TEXT_W, 10, PLAIN, PANGO_ALIGN_LEFT,
	    "上記の申請内容について、私は下記の者を代理人と定め、手続きを委任"
	    "します。") + 10;
	pdf_text(cr, MARGIN, y, 0, 10, PLAIN, PANGO_ALIGN_LEFT,
	    "代理人氏名");
	pdf_rule(cr, y + 16);
	y += 30;
	pdf_text(cr, MARGIN, y, 0, 10, PLAIN, PANGO_ALIGN_LEFT,
	    "ご本人署名");
	pdf_text(cr, MARGIN + 300, y, 0, 10, PLAIN, PANGO_ALIGN_LEFT,
	    "記入日　　　　年　　月　　日");
	pdf_rule(cr, y + 16);
	cairo_set_dash(cr, (const double[]){4, 3}, 2, 0);
	pdf_box(cr, MARGIN - 6, sealed_top, TEXT_W + 12, y + 28 - sealed_top,
	    0.8);
	cairo_set_dash(cr, NULL, 0, 0);
	y = PAGE_H - MARGIN - 40;
	pdf_text(cr, MARGIN, y, TEXT_W, 8.5, PLAIN, PANGO_ALIGN_LEFT,
	    "※記入後は代理人に見えないよう封筒に入れて封をし、代理人にお渡し"
	    "ください。職員が暗証番号を入力し、電子証明書を搭載したのちにマイ"
	    "ナンバーカードを代理人へ返却します。この照会書兼回答書は有効期限"
	    "まで1回限り使用できます。");
}

static void
notice_pages(cairo_t *cr, const void *arg)
{
	const struct notice_doc *d = arg;

	if (d->kind == NOTICE_EXPIRY)
		page_expiry_notice(cr, d);
	else
		page_mailed_cover(cr, d);
	cairo_show_page(cr);
	page_form(cr, d);
	cairo_show_page(cr);
}

int
counter_notice_pdf_write(const char *path, const struct notice_doc *d,
    mode_t mode)
{
	return pdf_write_file(path, mode, d->kind == NOTICE_EXPIRY ?
	    "有効期限のお知らせ" : "照会書兼回答書の送付について",
	    notice_pages, d);
}
