/*
 * forms.h: private to the counter's proxy forms and notices (forms.c,
 * notice.c, notice_pdf.c).  The PDF of an expiry notice or of a mailed
 * inquiry/response form is described by a struct notice_doc and written
 * by counter_notice_pdf_write(); nothing here touches the store.
 */
#ifndef JPKI_COUNTER_FORMS_H
#define JPKI_COUNTER_FORMS_H

#include "counter/counter.h"

enum notice_kind {
	NOTICE_EXPIRY = 1,        /* 有効期限のお知らせ, form on the back */
	NOTICE_MAILED_FORM = 2    /* cover letter of a form mailed for R14 */
};

struct notice_cert {
	enum cert_type type;
	char serial[SERIAL_HEX_MAX];
	int64_t not_after;
};

struct notice_doc {
	enum notice_kind kind;
	const struct resident *holder;
	const struct municipality *muni;
	const struct inquiry_form *form;
	const char *code;             /* the check code, printed inside */
	struct notice_cert certs[FORM_CERTS_MAX];
	int ncerts;
	const char *proxy_name;       /* NOTICE_MAILED_FORM: who applied */
	struct jdate today;
};

/* Draw a new check code: fills f's salt and hash, marks it unused, and
 * writes the code (for the paper only) into code.  No store access: the
 * notices print a form before the transaction that records it. */
int counter_form_prepare(struct inquiry_form *f, char code[FORM_CODE_BUF]);

/* Write the two-page PDF (page 1: notice or cover letter addressed to the
 * holder; page 2: the inquiry/response form) to path, fsync'd, as a new
 * file with exactly `mode` (the config's document_mode: it carries the
 * check code and personal data); a file already at path (a killed run's
 * temporary) is replaced, never written through.  Japanese text is laid
 * out by Pango in Noto Sans CJK JP and embedded by cairo. */
int counter_notice_pdf_write(const char *path, const struct notice_doc *d,
    mode_t mode);


#endif
