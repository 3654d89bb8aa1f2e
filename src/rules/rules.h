/*
 * rules: the policy of the service as pure functions.
 *
 * Who may get which certificate and when (R1, R8, R9, R11 and the 15-year
 * rule), how long cards and certificates are valid (R6), when renewal opens
 * (R9), what each counter procedure costs (R7), what a PIN looks like, and
 * the check digits and encodings of register facts.  Nothing here does I/O,
 * allocates or reads the clock: callers pass "now" in, so every rule can be
 * tested with a table.  docs/rules.md states each rule and every choice made
 * where the sources are silent (a 29 February birthday, the era boundaries,
 * the order in which refusals are reported, how fees are itemised).
 *
 * Dates are JST calendar dates (struct jdate); instants are int64 seconds
 * since the Unix epoch.  Functions returning a status use base's idiom:
 * JPKI_OK, or a code with a one-line jpki_fail() message naming the rule.
 */
#ifndef JPKI_RULES_H
#define JPKI_RULES_H

#include "base/base.h"

#include <stddef.h>
#include <stdint.h>

/* ---- names -------------------------------------------------------------- */

enum cert_type { CERT_SIGN = 1, CERT_AUTH = 2 };
/* Juki = the old Basic Resident Register card (住基カード). */
enum card_kind { CARD_MYNUMBER = 1, CARD_JUKI = 2 };
/* The values are the digits written in the signing certificate (OID .3). */
enum gender { GENDER_MALE = 1, GENDER_FEMALE = 2, GENDER_UNKNOWN = 3 };

/* "sign" / "auth"; NULL for a value outside the enum. */
const char *rules_cert_type_name(enum cert_type t);
/* Exact, case-sensitive names; JPKI_ERR_INPUT (with message) otherwise. */
int rules_cert_type_parse(const char *s, enum cert_type *out);
/* "mynumber" / "juki". */
const char *rules_card_kind_name(enum card_kind k);
int rules_card_kind_parse(const char *s, enum card_kind *out);
/* "male" / "female" / "unknown". */
const char *rules_gender_name(enum gender g);
int rules_gender_parse(const char *s, enum gender *out);

/* ---- birthdays, validity, renewal (R6, R9) ------------------------------ */

#define RULES_SIGN_MIN_AGE 15     /* no signing certificate under 15 */
#define RULES_ADULT_AGE 18        /* 10-year card from this age at issuance */
#define RULES_CERT_BIRTHDAYS 5    /* certificate: until the 5th birthday */
#define RULES_CARD_BIRTHDAYS_ADULT 10
#define RULES_CARD_BIRTHDAYS_MINOR 5
#define RULES_RENEWAL_MONTHS 3    /* R9: renewal opens 3 months before */

/* The birthday in `year`.  Someone born on 29 February has the birthday on
 * 28 February in a common year (docs/rules.md: Civil Code art. 143(2)). */
struct jdate rules_birthday_in(struct jdate birth, int year);
/* Whole years of age on date `on` (the age goes up on the birthday); 0 if
 * `on` is before the birth. */
int rules_age_on(struct jdate birth, struct jdate on);
/* The n-th birthday strictly after date `after` (n >= 1).  Civil Code art.
 * 140: the day itself is not counted, so for an issuance on a birthday the
 * count starts with the next one.  {0,0,0} (not a valid date) if n < 1. */
struct jdate rules_nth_birthday_after(struct jdate birth, struct jdate after,
    int n);
/* The card's expiry date: the 10th birthday after issuance if the holder is
 * 18 or over on the issuance date, the 5th if under 18. */
struct jdate rules_card_expiry(struct jdate birth, struct jdate issued_on);
/* A certificate's notAfter (R6): 23:59:59 JST on the 5th birthday after the
 * JST date of issued_at, and never later than 23:59:59 JST on the card's
 * expiry date (a certificate never outlives its card).  An invalid
 * card_expiry (e.g. {0,0,0}) means "no cap". */
int64_t rules_cert_not_after(struct jdate birth, int64_t issued_at,
    struct jdate card_expiry);
/* R9: the first JST date on which renewal is allowed: 3 months before the
 * JST date of not_after, the day clamped to the end of a shorter month. */
struct jdate rules_renewal_opens_on(int64_t not_after);

/* ---- eligibility (R1, R8a-e, R9, R11, the 15-year rule) ------------------ */

enum cert_op { CERT_OP_ISSUE = 1, CERT_OP_RENEW = 2 };
/* The state of the card's existing certificate of the same type. */
enum existing_cert {
	EXISTING_NONE = 0,
	EXISTING_VALID,
	EXISTING_REVOKED,
	EXISTING_EXPIRED
};

struct eligibility {
	enum cert_op op;
	enum cert_type type;
	enum card_kind card_kind;
	int card_usable;             /* card not lost, revoked or returned */
	struct jdate card_expiry;
	struct jdate birth;
	int holder_alive;
	int facts_current;           /* card-info / card face match the register */
	/* The card's certificate of the same type.  CERT_OP_RENEW needs
	 * EXISTING_VALID with its notAfter (R9 measures the window from it);
	 * CERT_OP_ISSUE is refused while one is valid (R8). */
	enum existing_cert existing;
	int64_t existing_not_after;  /* read when existing == EXISTING_VALID */
	int64_t now;
};

/* JPKI_OK if the operation may go ahead now; JPKI_ERR_REFUSED with a message
 * naming the rule (and, where the refusal is about time, the date it opens),
 * e.g. "R9: renewal opens 2027-02-05 (3 months before expiry 2027-05-05)";
 * JPKI_ERR_INPUT for a malformed request (unknown op/type, invalid dates).
 * Checks run in the order documented in docs/rules.md; the first refusal is
 * reported. */
int rules_check_eligibility(const struct eligibility *e);

/* ---- fees (R7) ------------------------------------------------------------ */

enum fee_item {
	FEE_CARD_REISSUE,           /* 800 yen: the card reissued after loss */
	FEE_CERTS_ON_REISSUED_CARD, /* 200 yen: certificates on that card */
	FEE_CARD_DELIVERY,
	FEE_CERT_ISSUE,
	FEE_CERT_RENEW,
	FEE_PIN_RESET,
	FEE_KIOSK_RESIDENCE,        /* 200 yen: a residence certificate from
	                               the kiosk (住民票の写し, コンビニ交付) */
	FEE__COUNT
};

#define RULES_FEE_MAX_YEN 1000000L  /* a configured fee above this is a typo */
#define RULES_FEE_LINES_MAX 2       /* lines any one procedure can produce */

struct fee_table {
	int yen[FEE__COUNT];
};

/* R7 defaults: card_reissue 800, certs_on_reissued_card 200, others 0. */
void rules_fee_defaults(struct fee_table *t);
/* Config key: "card_reissue", "certs_on_reissued_card", "card_delivery",
 * "cert_issue", "cert_renew", "pin_reset"; NULL outside the enum. */
const char *rules_fee_item_name(enum fee_item item);
/* Receipt label in Japanese (UTF-8), e.g. "個人番号カード再交付手数料". */
const char *rules_fee_item_label_ja(enum fee_item item);
/* Set one fee by its config key; JPKI_ERR_INPUT (table unchanged) for an
 * unknown name or a yen amount outside 0..RULES_FEE_MAX_YEN. */
int rules_fee_set(struct fee_table *t, const char *name, long yen);

/* The counter's procedures (docs/counter.md): what a receipt, the audit
 * log and the fee table name.  The values are not stored anywhere (the
 * store keeps rules_procedure_name()). */
enum procedure {
	PROC_DELIVER = 1,         /* card handed over (certificates loaded) */
	PROC_ISSUE,               /* certificates issued onto a card (R8) */
	PROC_RENEW,               /* certificates renewed (R9) */
	PROC_REPORT_LOST,         /* card lost, its certificates revoked */
	PROC_REISSUE,             /* new card after loss, with certificates */
	PROC_PIN_RESET,           /* R2 */
	PROC_UPDATE_CARD,         /* card facts after a register change (R11) */
};
/* "deliver", "issue", "renew", "report-lost", "reissue", "reset-pin",
 * "update-card"; NULL outside the enum. */
const char *rules_procedure_name(enum procedure p);
/* Receipt label in Japanese (UTF-8), e.g. "個人番号カード再交付"; NULL
 * outside the enum. */
const char *rules_procedure_label_ja(enum procedure p);

struct fee_line {
	enum fee_item item;
	int yen;
};

/* The lines charged for procedure p, in receipt order (none for a loss
 * report or a card update).  certs_loaded is the
 * number of certificates loaded in the procedure: a certificate fee is one
 * line per procedure when certs_loaded >= 1 (R7 prices the certificates of
 * one visit together, not each one), none when 0.  Zero-yen lines are
 * included so a receipt can list them.  Writes at most max lines (out may
 * be NULL when max is 0); returns the number of lines the procedure has
 * (like snprintf), 0 for an unknown procedure. */
size_t rules_fees_for(const struct fee_table *t, enum procedure p,
    int certs_loaded, struct fee_line *out, size_t max);
/* Sum of n lines in yen. */
long rules_fees_total(const struct fee_line *lines, size_t n);

/* ---- PINs ----------------------------------------------------------------- */

enum pin_kind { PIN_AUTH = 1, PIN_SIGN = 2, PIN_CARDINFO = 3 };

#define RULES_SIGN_PIN_MIN 6
#define RULES_SIGN_PIN_MAX 16
#define RULES_DIGIT_PIN_LEN 4
#define RULES_PIN_MAX RULES_SIGN_PIN_MAX /* longest PIN of any kind */

/* "auth" / "sign" / "cardinfo". */
const char *rules_pin_kind_name(enum pin_kind k);
int rules_pin_kind_parse(const char *s, enum pin_kind *out);
/* Tries before the PIN blocks: auth 3, sign 5, cardinfo 3; 0 if unknown. */
int rules_pin_tries(enum pin_kind k);
/* Clients upper-case the signing password: ASCII a-z become A-Z in place.
 * Other kinds are left alone (letters are invalid in them anyway). */
void rules_pin_normalise(enum pin_kind k, char *pin);
/* JPKI_OK, or JPKI_ERR_INPUT with a message that never echoes the PIN.
 * Signing password: 6-16 of A-Z 0-9 (normalise first); auth and card-info
 * PIN: exactly 4 ASCII digits. */
int rules_pin_check(enum pin_kind k, const char *pin);

/* ---- register facts ------------------------------------------------------- */

#define RULES_INDIVIDUAL_NUMBER_LEN 12
#define RULES_MUNICIPALITY_CODE_LEN 6
#define RULES_ADDRESS_MAX_CHARS 200
#define RULES_BIRTH_FOR_CERT_LEN 9   /* "E" + "YYYYMMDD" */

/* The check digit (0-9) of an individual number (My Number) from its first
 * 11 digits, or -1 if those are not 11 ASCII digits. */
int rules_individual_number_check_digit(const char *first11);
/* 1 if s is exactly 12 ASCII digits whose last is the check digit. */
int rules_individual_number_valid(const char *s);
/* The check digit (0-9) of a local government code from its first 5 digits,
 * or -1 if those are not 5 ASCII digits. */
int rules_municipality_check_digit(const char *first5);
/* 1 if s is exactly 6 ASCII digits whose last is the check digit. */
int rules_municipality_code_valid(const char *s);
/* The era of a birth date for the certificate: 1 Meiji, 2 Taisho, 3 Showa,
 * 4 Heisei, 5 Reiwa; 0 unknown (before Meiji, or not a valid date). */
int rules_era_digit(struct jdate d);
/* The year of d in its era (1 for its first year, 元年), 0 unknown; the
 * era's name, "Showa" or "昭和" (japanese), "unknown"/"不明" for 0. */
int rules_era_year(struct jdate d);
const char *rules_era_name(int digit, int japanese);
/* d in its era, "昭和55年5月15日", "令和元年5月1日"; the Gregorian
 * "1868年1月1日" before the eras the certificate knows. */
void rules_era_date_ja(struct jdate d, char *buf, size_t n);
/* The signing certificate's date of birth (OID .4): era digit + "YYYYMMDD"
 * (Gregorian), NUL-terminated, e.g. "319801231".  An invalid date gives
 * "000000000". */
void rules_birth_for_cert(struct jdate birth,
    char out[static RULES_BIRTH_FOR_CERT_LEN + 1]);
/* An address for the signing certificate (OID .5): one line of well-formed
 * UTF-8, 1 to 200 characters.  JPKI_OK or JPKI_ERR_INPUT with message. */
int rules_address_check(const char *s);

#endif
