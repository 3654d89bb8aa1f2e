/*
 * counter: what happens at the municipal counter.  The resident register
 * (register.c): adding residents one by one or from CSV, and register
 * changes, whose consequences for certificates (R6) are applied in the same
 * transaction as the change.  The procedures (procedures.c, cardops.c,
 * receipt.c): card delivery, issuance onto a card, renewal, loss and
 * reissue, PIN reset, card update after a register change; each one
 * store transaction with its certificates, card writes, fees, receipt and
 * audit entries.  docs/counter.md describes them.
 */
#ifndef JPKI_COUNTER_H
#define JPKI_COUNTER_H

#include "ca/ca.h"
#include "card/card.h"
#include "datadir/datadir.h"

#include <jansson.h>
#include <stdio.h>

/* A resident as typed at the counter or read from a CSV row: text fields,
 * validated by counter_register_parse(). NULL = not given. */
struct counter_register_input {
	const char *number;       /* 12 digits with check digit */
	const char *name;         /* "SURNAME GIVEN" (ASCII or U+3000 space) */
	const char *kana;         /* optional */
	/* Substitution flags (OIDs .2 and .6): one 0/1 per character of
	 * "SURNAME<U+3000>GIVEN" and of the address; 1 = an external
	 * character was replaced by a substitute.  NULL = all 0. */
	const char *name_flags;
	const char *address_flags;
	const char *address;
	const char *birth;        /* YYYY-MM-DD */
	const char *gender;       /* male | female | unknown */
	const char *municipality; /* 6-digit code; NULL: the deployment's */
};

/* Validate and fill a resident (no store access but the municipality).
 * JPKI_ERR_INPUT naming the field. */
int counter_register_parse(struct datadir *dd,
    const struct counter_register_input *in, struct resident *out);
/* Add one resident with its audit entry; sets r->id. */
int counter_register_add(struct datadir *dd, struct resident *r,
    const char *actor);
/* Import a CSV file with a header line naming the columns number, name,
 * address, birth, gender and optionally kana, municipality.  Every row is
 * checked first (its fields; its number neither twice in the file nor
 * registered already): a bad row is named, the first one, and nothing is
 * stored.  The rows are then added REGISTER_IMPORT_BATCH to a transaction,
 * with a pause between batches, so other clerks' procedures wait at most
 * about one batch for the store, not the whole import.  Should adding still fail part way (a disk error, or
 * another clerk registering one of the numbers since the check), the
 * batches before stay added: the message names the row, and *added says
 * how many residents were added (also on success). */
#define REGISTER_IMPORT_BATCH 10000
int counter_register_import_csv(struct datadir *dd, const void *data,
    size_t len, const char *actor, long *added);

/* A register change (R6): facts given (non-NULL) replace the current ones.
 * A change of name, address, birth date or gender revokes the holder's
 * valid signing certificates (affiliationChanged) in the same
 * transaction; the authentication certificate stays valid.  deceased = 1
 * records death and revokes both (cessationOfOperation).  *revoked gets
 * how many certificates were revoked. */
struct counter_register_change {
	const char *name, *kana, *address, *birth, *gender;
	int deceased;
	int moved_away;     /* 転出: the entry is closed, nothing revoked */
};
int counter_register_change(struct ca *ca, int64_t id,
    const struct counter_register_change *ch, const char *actor, int *revoked);

/* ---- the kiosk's residence certificate (residence_pdf.c) -----------------
 *
 * 住民票の写し as a one-page PDF (name, kana, birth date in its era,
 * gender, address, date of issue, the municipality's certification), in
 * memory for the caller to sign; the relying party's kiosk route issues
 * it (src/rp/kiosk.c). */
struct counter_residence_doc {
	const struct resident *res;
	const struct municipality *muni;
	int64_t issued_at;
	long fee_yen;
	char number[40];            /* 交付番号 */
};
/* The PDF appended to out. */
int counter_residence_pdf(const struct counter_residence_doc *d,
    struct jbuf *out);

/* ---- procedures ----------------------------------------------------------
 *
 * Every procedure is one transaction: it completes, with its certificates,
 * card writes, fees, receipt and audit entries, or it changes nothing (the
 * store, the card image and the audit chain are as before).  A card is
 * named by its image file; the image is locked and read, driven in memory,
 * and the new image is staged next to it (<card>.staging, fsync, renamed to
 * <card>.pending) before the store commits and renamed over it after; what
 * a crash at any step leaves is settled at the card's next visit by what
 * the store committed (counter_card_recover(), docs/counter.md).
 *
 * A card in a PC/SC reader (counter_visit.reader, the card path NULL)
 * cannot be staged: the store commits first, with the card writes the
 * procedure made (card_writes, never a PIN), and they are applied over
 * APDUs after the commit; every open of the card applies first what was
 * committed for it and not yet applied (counter_card_recover_reader(),
 * docs/counter.md, "A card in a reader").
 *
 * Clerks do not wait on each other for the slow part: the card's key
 * pairs are generated (and a proxy form's PDF laid out) before the
 * transaction, with no store lock held; inside it the register and the
 * card record are read again and every rule checked again, and what is
 * written comes from that reading, so a change made in between by
 * another clerk is refused by its rule, never half-applied.
 */

/* Which certificates a procedure loads (bit mask). */
#define COUNTER_SIGN 0x1
#define COUNTER_AUTH 0x2
#define COUNTER_BOTH (COUNTER_SIGN | COUNTER_AUTH)
/* "sign" | "auth" | "both" -> mask; JPKI_ERR_USAGE otherwise. */
int counter_types_parse(const char *s, int *mask);

/* PINs chosen by the holder (typed at the counter, or written on the
 * proxy's inquiry/response form).  NULL = not given.  Owned by the caller,
 * who wipes them. */
struct counter_pins {
	const char *sign;       /* signing password, 6-16 A-Z 0-9 */
	const char *auth;       /* authentication PIN, 4 digits */
	const char *cardinfo;   /* card-info AP PIN, 4 digits */
};

/* The identity document the clerk checked (R2, R11, R13).  NULL doc_type
 * in the holder's check means "the holder's own My Number card, face to
 * face" ("mynumber-card"). */
struct counter_identity {
	const char *doc_type;   /* e.g. mynumber-card, passport, driving-licence */
	const char *doc_number; /* may be NULL */
};

struct counter_receipt;

/* Someone acting for the holder (R12-R14): passed by the proxy procedures
 * (forms.c), NULL when the holder comes in person.  The proxy's identity
 * check and the form number are recorded on the receipt.  in_tx, if set,
 * runs inside the procedure's transaction after everything else is
 * recorded and before the commit: that is where the proxy procedure checks
 * and consumes its form; a non-OK return rolls the whole procedure back. */
struct counter_proxy {
	const char *name;
	struct counter_identity id;
	const char *form;       /* inquiry/response form number, or NULL */
	int (*in_tx)(void *arg, struct ca *ca,
	    const struct counter_receipt *receipt);
	void *arg;
};

/* Who ran it and on whose word: every procedure takes one of these. */
struct counter_visit {
	const char *clerk;                 /* required */
	struct counter_identity holder_id; /* the holder's identity check */
	const struct counter_proxy *proxy; /* NULL: the holder in person */
	/* The holder's photo for the card face (PNG or JPEG 2000), taken by
	 * the clerk: delivery, reissue and update-card put it on the card.
	 * NULL: update-card keeps the card's photo, a new card gets a drawn
	 * placeholder. */
	const char *photo;
	/* The card is in this PC/SC reader (docs/counter.md, "A card in a
	 * reader"): the procedures on a card then take no image path (NULL),
	 * deliver and reissue no output path and write the blank card in it. */
	const char *reader;
};

/* What the receipt keeps of each (bytes of UTF-8). */
#define COUNTER_CLERK_MAX 63
#define COUNTER_DOC_MAX (RECEIPT_TEXT_MAX - 1)
#define COUNTER_PROXY_NAME_MAX (RECEIPT_TEXT_MAX - 1)

/* The one check of who is at the counter, made first by every procedure,
 * the proxy application and the notice run (visit.c): the clerk is named
 * (R10); the holder's identity document, when one is named instead of the
 * My Number card itself, has a type and at most COUNTER_DOC_MAX bytes each
 * of type and number (R11); a proxy gives a name and the type and number of
 * their own identity document (R13, R14).  Each field is one line of
 * UTF-8.  JPKI_OK; JPKI_ERR_USAGE for something missing, JPKI_ERR_INPUT for
 * something malformed, with one line naming the rule and the field.
 * Changes nothing.  Which documents are acceptable is the clerk's
 * judgement: the type is recorded as given. */
int counter_visit_check(const struct counter_visit *v);

/* A receipt's procedure is rules' enum procedure (PROC_DELIVER to
 * PROC_UPDATE_CARD), named by rules_procedure_name() and
 * rules_procedure_label_ja(). */

#define COUNTER_RECEIPT_CERTS_MAX 8
#define COUNTER_NOTE_MAX 256

/* What a procedure did, as printed on the receipt. */
struct counter_receipt {
	int64_t number;                 /* receipt number (store id) */
	enum procedure proc;            /* rules.h */
	int64_t at;
	char clerk[64];
	int64_t resident_id;
	char card_serial[33];     /* the card worked on / made (hex) */
	char old_card_serial[33]; /* reissue: the lost card */
	char card_path[JPKI_PATH_MAX];
	struct jdate card_expiry;
	struct fee_line fees[RULES_FEE_LINES_MAX];
	size_t nfees;
	long total_yen;
	struct counter_cert_line {
		char serial[SERIAL_HEX_MAX];
		enum cert_type type;
		int64_t not_after;      /* issued */
		int reason;             /* revoked */
		char replaces[SERIAL_HEX_MAX]; /* issued: old -> new link */
	} issued[COUNTER_RECEIPT_CERTS_MAX], revoked[COUNTER_RECEIPT_CERTS_MAX];
	int nissued, nrevoked;
	enum pin_kind pins_set[CARD_PIN_COUNT];
	int npins_set;
	int pin_was_locked;             /* reset-pin: the PIN was blocked */
	/* delivery, update-card: the card's security code, part of its
	 * collation number B, shown as a real card's face shows it */
	char security_code[CARD_SECURITY_CODE_LEN + 1];
	char note[COUNTER_NOTE_MAX];    /* e.g. why a certificate was skipped */
	char proxy_name[128], form[64];
};

/* 1. Card delivery: a new My Number card at out_path for the resident,
 * its card-info AP written, both CA certificates, and the certificates in
 * `types` with keys generated on the card and the holder's PINs (R8a, b).
 * A signing certificate requested for a holder under 15 is left out with a
 * note (R8e).  The card-info PIN is always set; the auth PIN and signing
 * password when their certificate is loaded.  Refuses a resident who
 * already holds an active card, and an existing out_path. */
int counter_deliver(struct ca *ca, int64_t resident_id, const char *out_path,
    int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt);

/* 2. Issuance onto an existing card (R8a-e): each certificate in `types`
 * gets a new key on the card, its PIN (from pins, required) and the
 * certificate.  Refused (nothing changed) for a Juki card (R1), a card not
 * registered here, lost, expired or with facts not current (R11), a
 * deceased holder, a valid certificate of the type already on the card
 * (R8), under 15 for signing (R8e). */
int counter_issue(struct ca *ca, const char *card_path, int types,
    const struct counter_pins *pins, const struct counter_visit *v,
    struct counter_receipt *rcpt);

/* 3. Renewal (R9): from 3 months before the certificate's expiry; a new
 * key on the card and a new certificate; the old one revoked as superseded
 * and the link old -> new recorded, in the same transaction.  The PIN for
 * each renewed certificate comes from pins. */
int counter_renew(struct ca *ca, const char *card_path, int types,
    const struct counter_pins *pins, const struct counter_visit *v,
    struct counter_receipt *rcpt);

/* 4a. Loss: the card (by image path, or the resident's active card when
 * card_path is NULL) is marked lost and its valid certificates revoked
 * (keyCompromise) at once.  The image file is not touched. */
int counter_report_lost(struct ca *ca, const char *card_path,
    int64_t resident_id, const struct counter_visit *v,
    struct counter_receipt *rcpt);

/* 4b. Reissue after loss (R7): a new card as counter_deliver() makes it,
 * for a resident whose card was reported lost; charges the card fee and
 * the certificate fee; links each certificate revoked with the lost card to
 * its successor. */
int counter_reissue(struct ca *ca, int64_t resident_id, const char *out_path,
    int types, const struct counter_pins *pins,
    const struct counter_visit *v, struct counter_receipt *rcpt);

/* 5. PIN reset (R2): the holder present with the card; the issuer key
 * resets the PIN's tries and sets new_pin; the identity check is recorded. */
int counter_reset_pin(struct ca *ca, const char *card_path,
    enum pin_kind pin, const char *new_pin, const struct counter_visit *v,
    struct counter_receipt *rcpt);

/* 8. Card update after a register change: the card-info AP gets the
 * register's current facts and the card record their version, so the card
 * is current again for R11.  Refused (JPKI_ERR_CONFLICT) when the card is
 * already current. */
int counter_update_card(struct ca *ca, const char *card_path,
    const struct counter_visit *v, struct counter_receipt *rcpt);

/* Finish or undo an interrupted card write, under the card's lock: if
 * <card_path>.pending exists, rename it over the image when the store
 * recorded its hash (the procedure committed), else delete it; a
 * <card_path>.staging and old <card_path>.blank.PID files are deleted.
 * *repaired (may be NULL) gets 1 if a pending image was installed or
 * deleted.  Every procedure on a card does this first. */
int counter_card_recover(struct datadir *dd, const char *card_path,
    int *repaired);
/* A card in the PC/SC reader `reader`: apply the writes committed for it
 * and not yet applied (docs/counter.md, "A card in a reader"), each with a
 * counter.roll-forward audit entry by actor; *applied (may be NULL) gets
 * how many procedures' writes were.  Every procedure on a reader card does
 * this first. */
int counter_card_recover_reader(struct ca *ca, const char *reader,
    const char *actor, int *applied);

/* The receipt as JSON ({"number", "procedure", ..., "fees": [{"item",
 * "label", "yen"}], "total_yen"}) and as text. */
json_t *counter_receipt_json(const struct counter_receipt *rcpt);
void counter_receipt_print(FILE *f, const struct counter_receipt *rcpt);

/* What the rules say of a procedure now, before the clerk commits: the
 * same judgement, from the same inputs read the same way (decide.c), as
 * the procedure makes before its slow work and again inside its
 * transaction, so the web UI's check cannot drift from what the procedure
 * enforces.  The card the holder brought is opened as the procedure opens
 * it (card_path; its lock is held only while it is read); the PINs the
 * holder will choose are not part of it (the procedure checks them).
 * Changes nothing.  Returns JPKI_OK when the rules allow the procedure,
 * else the refusal with the rule's words (jpki_errmsg()). */
struct counter_check_in {
	enum procedure proc;          /* PROC_DELIVER .. PROC_UPDATE_CARD */
	int64_t resident_id;          /* deliver, reissue, report-lost */
	const char *card_path;        /* the card brought (an image), or NULL */
	const char *reader;           /* or the PC/SC reader it is in */
	int types;                    /* COUNTER_*: deliver, reissue (0: none),
	                               * issue, renew */
	enum pin_kind pin_kind;       /* reset-pin: the PIN reset */
	int photo;                    /* update-card: a new photo is given */
};
struct counter_check_out {
	int64_t resident_id;          /* whose procedure (0 if unknown) */
	char card_serial[SERIAL_HEX_MAX];   /* the card concerned, or "" */
	int certs;                    /* certificates it would load (fees) */
	int sign_left_out;            /* R8e: the signing one is left out */
	char note[COUNTER_NOTE_MAX];  /* why (R8e's own words) */
	struct jdate renewal_opens[3];   /* renew: by enum cert_type */
	/* A card in a reader with committed card writes not yet on it:
	 * how many rows, their receipts ("12, 15").  The procedure applies
	 * them first (roll-forward); the check applies nothing and judges
	 * on the card as they leave it. */
	int writes_waiting;
	char waiting_receipts[96];
};
int counter_check(struct ca *ca, const struct counter_check_in *in,
    struct counter_check_out *out);

/* A stored receipt (any procedure's, by its number) as paper: one A4 PDF
 * page (手数料領収書兼受付票) with the procedure, the holder's name, the
 * card, who came and the fee lines with their total, as the store keeps
 * them (receipt_pdf.c).  Into out (appended), or to path with the
 * config's document_mode (a file there is replaced by one rename, and left
 * as it was if anything fails). */
int counter_receipt_pdf(struct datadir *dd, int64_t id, struct jbuf *out);
int counter_receipt_pdf_write(struct datadir *dd, int64_t id,
    const char *path);

/* ---- proxy forms and notices ----
 *
 * The inquiry/response form (照会書兼回答書, R12-R14) and the expiry notice
 * (有効期限のお知らせ) that carries one on its back (forms.c, notice*.c;
 * docs/forms.md).  A form has a number, the holder, the purpose, an issue
 * date, an expiry and a secret check code printed inside; only a salted
 * hash of the code is stored, and a form is used once.
 *
 * CLI: `jpki counter proxy-apply|proxy-complete|notices|form-show` live in
 * src/cli/cli_counter_forms.c, which exports
 *     int cli_counter_forms(int argc, char **argv);
 * returning -1 when argv[1] is not one of those; the `jpki counter`
 * dispatcher (cli_counter.c) calls it before reporting an unknown command.
 */
#define FORM_CODE_LEN 12          /* check code symbols: 60 bits */
#define FORM_CODE_BUF 16          /* "XXXX-XXXX-XXXX" + NUL */
#define FORM_CODE_INPUT_MAX 64    /* longest check code input accepted */
#define FORM_MAIL_VALID_DAYS 90   /* a mailed form's validity (R14) */

/* "issue" | "renew" | "reset-pin"; JPKI_ERR_USAGE otherwise. */
const char *counter_form_purpose_name(enum form_purpose p);
int counter_form_purpose_parse(const char *s, enum form_purpose *out);

/* Make a new unused form inside the caller's transaction: fills number,
 * salt and hash, and writes the check code (printed once, on the form, and
 * never stored) into code.  The caller fills resident_id, purpose,
 * cert_types/pin_kind, origin, application_id, issued_on and expiry. */
int counter_form_create_in_tx(struct store *s, struct inquiry_form *f,
    char code[FORM_CODE_BUF]);
/* 1 if code (as written: any case, hyphens and spaces ignored) is the
 * form's check code, compared in constant time. */
int counter_form_code_matches(const struct inquiry_form *f, const char *code);
/* The checks of R13/R14 on a form presented at the counter, in this order:
 * check code, holder, purpose, unused, unexpired, and for a form mailed
 * after a proxy application not the day it was made (R14).  JPKI_OK or
 * JPKI_ERR_REFUSED / JPKI_ERR_VERIFY naming the rule; nothing changes. */
int counter_form_check(const struct inquiry_form *f, int64_t holder_id,
    enum form_purpose purpose, const char *code, int64_t now);

/* The person acting for the holder and the document that proved who they
 * are (R13: 代理人の本人確認書類). */
struct proxy_person {
	const char *name;
	const char *doc_type;     /* e.g. mynumber-card, driving-licence */
	const char *doc_number;
};

struct proxy_apply_result {
	int64_t application_id;
	int64_t form_number;
	struct jdate form_expiry;
	char pdf_path[JPKI_PATH_MAX];
};

/* Visit 1 of a proxy without the form (R14): records the application and
 * the proxy, makes the form and writes it, addressed to the holder's
 * registered address and ready to mail, as a PDF at pdf_path (refused if it
 * exists).  types: COUNTER_* mask for issue/renew; pin_kind for reset-pin.
 * One transaction with its audit entry. */
int counter_proxy_apply(struct ca *ca, int64_t resident_id,
    enum form_purpose purpose, int types, enum pin_kind pin_kind,
    const struct proxy_person *proxy, const char *clerk,
    const char *pdf_path, struct proxy_apply_result *out);

/* Completion with the form in hand (R13, or visit 2 of R14): the form is
 * checked (counter_form_check, against the card's holder), the proxy's identity
 * document recorded, the PINs written on the form entered through the
 * procedure the form is for (counter_issue, counter_renew or
 * counter_reset_pin), and the form consumed, all in that procedure's one
 * transaction.  purpose 0: the form's.  Without a form (form_number 0) it
 * is refused (R14: no same-day issuance without the form).  The card is
 * the image card_path or the card in the PC/SC reader `reader`, one of the
 * two. */
int counter_proxy_complete(struct ca *ca, int64_t form_number,
    enum form_purpose purpose, const char *card_path, const char *reader,
    const char *check_code,
    const struct counter_pins *pins, const struct proxy_person *proxy,
    const char *clerk, struct counter_receipt *rcpt);

/* Expiry notices (R12): for every valid certificate whose notAfter falls
 * between now and the end of `within_days` / `within_months` from today
 * (JST), one notice per holder, with a renewal form (on page 2) covering
 * the holder's certificates in the window, as DIR/notice-<form>.pdf, plus
 * DIR/notices.csv listing every certificate in the window.  A certificate
 * that already has a notice form gets no second one (status "already" in
 * the CSV).  progress (may be NULL) is told done/total after each holder. */
struct notice_run {
	const char *out_dir;
	int within_months, within_days;
	const char *clerk;
	void (*progress)(void *arg, size_t done, size_t total);
	void *progress_arg;
	/* results */
	long certificates;         /* expiring in the window */
	long notices_made;         /* new notices (= new forms) */
	long already;              /* certificates noticed by an earlier run */
	char csv_path[JPKI_PATH_MAX];
};
int counter_notices(struct datadir *dd, struct notice_run *run);

#endif
