/*
 * test_forms.c: the inquiry/response form (R12-R14) without a card: the
 * check code (its shape, that only a salted hash is kept, that it matches
 * however the holder copies it), the checks a form must pass at the
 * counter, in their order, single use, and the PDF it is printed on.
 */
#include "test.h"
#include "counter/forms.h"

#include <cairo.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Cairo 1.16 with Pango keeps (and LeakSanitizer reports) a few hundred
 * bytes per PDF inside libcairo and fontconfig even in a ten-line program
 * that frees everything it made; those frames are not ours. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libcairo.so\nleak:libfontconfig.so\n";
}

const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static struct store *
fixture_store(char path[64], struct resident *holder)
{
	struct municipality m;
	struct store *s = NULL;
	int fd;

	snprintf(path, 64, "/tmp/test_forms.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return NULL;
	close(fd);
	unlink(path);
	if (store_open(path, &s) != JPKI_OK)
		return NULL;
	memset(&m, 0, sizeof(m));
	snprintf(m.code, sizeof(m.code), "112216");
	snprintf(m.name_ja, sizeof(m.name_ja), "草加市");
	snprintf(m.name_romaji, sizeof(m.name_romaji), "Soka-shi");
	snprintf(m.pref_ja, sizeof(m.pref_ja), "埼玉県");
	snprintf(m.pref_romaji, sizeof(m.pref_romaji), "Saitama");
	memset(holder, 0, sizeof(*holder));
	snprintf(holder->number, sizeof(holder->number), "123456789018");
	snprintf(holder->surname, sizeof(holder->surname), "草加");
	snprintf(holder->given, sizeof(holder->given), "花子");
	snprintf(holder->address, sizeof(holder->address),
	    "埼玉県草加市高砂1丁目1番1号");
	holder->birth = (struct jdate){1980, 5, 5};
	holder->gender = GENDER_FEMALE;
	snprintf(holder->municipality, sizeof(holder->municipality), "112216");
	holder->status = RESIDENT_ACTIVE;
	holder->facts_version = 1;
	if (store_municipality_put(s, &m) != JPKI_OK ||
	    store_resident_insert(s, holder) != JPKI_OK)
		store_close(&s);
	return s;
}

static int
new_form(struct store *s, int64_t resident, enum form_origin origin,
    struct jdate issued, struct inquiry_form *f, char code[FORM_CODE_BUF])
{
	int r;

	memset(f, 0, sizeof(*f));
	f->resident_id = resident;
	f->purpose = FORM_RENEW;
	f->cert_types = COUNTER_BOTH;
	f->origin = origin;
	f->issued_on = issued;
	f->expiry = jdate_add_days(issued, FORM_MAIL_VALID_DAYS);
	if ((r = store_begin(s)) != JPKI_OK)
		return r;
	if ((r = counter_form_create_in_tx(s, f, code)) != JPKI_OK) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

static void
test_check_code_has_twelve_symbols_in_three_groups(struct store *s,
    int64_t holder)
{
	struct inquiry_form f;
	char code[FORM_CODE_BUF];

	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	CHECK_INT(strlen(code), 14);
	CHECK(code[4] == '-' && code[9] == '-');
	for (int i = 0; i < 14; i++) {
		if (i == 4 || i == 9)
			continue;
		/* No 0/O or 1/I: a holder copies it by hand. */
		CHECK(strchr("23456789ABCDEFGHJKLMNPQRSTUVWXYZ", code[i]) &&
		    code[i] != '\0');
	}
	CHECK(f.number > 0);
	CHECK_INT(f.status, FORM_UNUSED);
}

static void
test_only_a_salted_hash_of_the_code_is_stored(struct store *s,
    int64_t holder)
{
	struct inquiry_form a, b, got;
	char ca[FORM_CODE_BUF], cb[FORM_CODE_BUF];

	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &a, ca), JPKI_OK);
	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &b, cb), JPKI_OK);
	CHECK(strcmp(ca, cb) != 0);
	CHECK(memcmp(a.check_salt, b.check_salt, FORM_SALT_LEN) != 0);
	CHECK_INT(store_form_get(s, a.number, &got), JPKI_OK);
	CHECK(memcmp(got.check_hash, a.check_hash, FORM_HASH_LEN) == 0);
	CHECK(memmem(&got, sizeof(got), ca, 4) == NULL);
	/* What was read back still recognises the code, and only it. */
	CHECK(counter_form_code_matches(&got, ca));
	CHECK(!counter_form_code_matches(&got, cb));
}

static void
test_code_matches_however_it_is_copied(struct store *s, int64_t holder)
{
	struct inquiry_form f;
	char code[FORM_CODE_BUF], v[64];
	size_t j = 0;

	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	CHECK(counter_form_code_matches(&f, code));
	for (size_t i = 0; code[i]; i++)
		if (code[i] != '-')
			v[j++] = (char)(code[i] >= 'A' && code[i] <= 'Z' ?
			    code[i] - 'A' + 'a' : code[i]);
	v[j] = '\0';
	CHECK(counter_form_code_matches(&f, v)); /* lower case, no hyphens */
	snprintf(v, sizeof(v), "%.4s %.4s %.4s", code, code + 5, code + 10);
	CHECK(counter_form_code_matches(&f, v)); /* spaces */
	snprintf(v, sizeof(v), "%s", code);
	v[0] = v[0] == '2' ? '3' : '2';
	CHECK(!counter_form_code_matches(&f, v)); /* one symbol wrong */
	snprintf(v, sizeof(v), "%.13s", code);
	CHECK(!counter_form_code_matches(&f, v)); /* one symbol short */
	snprintf(v, sizeof(v), "%sX", code);
	CHECK(!counter_form_code_matches(&f, v)); /* one symbol more */
	CHECK(!counter_form_code_matches(&f, ""));
	memset(v, 'A', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	CHECK(!counter_form_code_matches(&f, v)); /* over the input limit */
}

/* The checks of R13/R14 as a table: the form as made, then one thing
 * changed, and what the counter must say. */
static void
test_form_checks_in_order(struct store *s, int64_t holder)
{
	static const struct {
		const char *what;
		enum form_origin origin;
		const char *now;          /* JST date of the visit */
		int other_holder, other_purpose, used, wrong_code;
		int want;
		const char *says;
	} rows[] = {
	    {"notice form, same day (R13)", FORM_FROM_NOTICE, "2026-04-01",
		0, 0, 0, 0, JPKI_OK, ""},
	    {"mailed form, same day (R14)", FORM_FROM_APPLICATION, "2026-04-01",
		0, 0, 0, 0, JPKI_ERR_REFUSED, "R14"},
	    {"mailed form, next day", FORM_FROM_APPLICATION, "2026-04-02",
		0, 0, 0, 0, JPKI_OK, ""},
	    {"mailed form, last day", FORM_FROM_APPLICATION, "2026-06-30",
		0, 0, 0, 0, JPKI_OK, ""},
	    {"mailed form, day after expiry", FORM_FROM_APPLICATION,
		"2026-07-01", 0, 0, 0, 0, JPKI_ERR_REFUSED, "expired on 2026-06-30"},
	    {"another holder's card", FORM_FROM_NOTICE, "2026-04-01",
		1, 0, 0, 0, JPKI_ERR_REFUSED, "another holder"},
	    {"another purpose", FORM_FROM_NOTICE, "2026-04-01",
		0, 1, 0, 0, JPKI_ERR_REFUSED, "is for renew, not issue"},
	    {"already used", FORM_FROM_NOTICE, "2026-04-01",
		0, 0, 1, 0, JPKI_ERR_REFUSED, "already used"},
	    {"wrong check code", FORM_FROM_NOTICE, "2026-04-01",
		0, 0, 0, 1, JPKI_ERR_VERIFY, "check code"},
	    /* The code is checked first: a wrong code reveals nothing. */
	    {"wrong code on a used form of another holder", FORM_FROM_NOTICE,
		"2026-04-01", 1, 1, 1, 1, JPKI_ERR_VERIFY, "check code"},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(rows); i++) {
		struct inquiry_form f;
		char code[FORM_CODE_BUF];
		int64_t now;
		int r;

		CHECK_INT(new_form(s, holder, rows[i].origin,
		    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
		CHECK_INT(iso8601_parse(rows[i].now, &now), JPKI_OK);
		now += 10 * 3600;
		if (rows[i].used) {
			f.status = FORM_USED;
			f.used_at = now;
		}
		if (rows[i].wrong_code)
			code[0] = code[0] == '2' ? '3' : '2';
		r = counter_form_check(&f, holder + rows[i].other_holder,
		    rows[i].other_purpose ? FORM_ISSUE : FORM_RENEW, code, now);
		if (r != rows[i].want || strstr(jpki_errmsg(),
		    rows[i].says) == NULL)
			fprintf(stderr, "  row '%s': got %d '%s'\n", rows[i].what,
			    r, jpki_errmsg());
		CHECK_INT(r, rows[i].want);
		CHECK(r == JPKI_OK || strstr(jpki_errmsg(), rows[i].says));
		jpki_errclear();
	}
}

static void
test_a_form_is_used_once(struct store *s, int64_t holder)
{
	struct inquiry_form f, got;
	char code[FORM_CODE_BUF];

	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	CHECK_INT(store_form_mark_used(s, f.number, 1775000000), JPKI_OK);
	CHECK_INT(store_form_mark_used(s, f.number, 1775000001),
	    JPKI_ERR_CONFLICT);
	CHECK_INT(store_form_get(s, f.number, &got), JPKI_OK);
	CHECK_INT(got.status, FORM_USED);
	CHECK_INT(got.used_at, 1775000000);
	CHECK_INT(counter_form_check(&got, holder, FORM_RENEW, code,
	    1775000100), JPKI_ERR_REFUSED);
	CHECK_INT(store_form_mark_used(s, 999999, 1), JPKI_ERR_CONFLICT);
	CHECK_INT(store_form_get(s, 999999, &got), JPKI_ERR_NOTFOUND);
}

static void
test_a_certificate_gets_one_notice_form(struct store *s, int64_t holder)
{
	struct inquiry_form f;
	char code[FORM_CODE_BUF];
	int64_t n = -1;

	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	/* expiry_notices refers to certificates: an unknown serial is
	 * refused by the foreign key, so look-ups of unknown ones say 0. */
	CHECK_INT(store_form_notice_find(s, "0A1B", &n), JPKI_OK);
	CHECK_INT(n, 0);
}

static void
test_form_numbers_are_reserved_once(struct store *s, int64_t holder)
{
	struct inquiry_form f, g;
	char code[FORM_CODE_BUF];
	int64_t a = 0, b = 0;

	/* A number reserved and never used (a notice printed, then a
	 * transaction that did not commit) is a gap, never handed out again. */
	CHECK_INT(store_form_number_reserve(s, 1, &a), JPKI_OK);
	CHECK_INT(new_form(s, holder, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	CHECK(f.number > a);
	CHECK_INT(store_form_number_reserve(s, 1, &b), JPKI_OK);
	CHECK(b > f.number);
	CHECK_INT(store_form_get(s, a, &g), JPKI_ERR_NOTFOUND);
	/* A form needs a reserved number; one number, one form. */
	memset(&g, 0, sizeof(g));
	g.resident_id = holder;
	g.purpose = FORM_ISSUE;
	g.origin = FORM_FROM_APPLICATION;
	g.issued_on = g.expiry = (struct jdate){2026, 4, 1};
	CHECK_INT(store_form_insert(s, &g), JPKI_ERR_INTERNAL);
	g.number = f.number;
	CHECK_INT(store_form_insert(s, &g), JPKI_ERR_CONFLICT);
	g.number = b + 1000;   /* never reserved: the foreign key refuses it */
	CHECK_INT(store_form_insert(s, &g), JPKI_ERR_CONFLICT);
	g.number = b;
	CHECK_INT(counter_form_prepare(&g, code), JPKI_OK);
	CHECK_INT(store_form_insert(s, &g), JPKI_OK);
	CHECK(counter_form_code_matches(&g, code));
}

static void
test_purpose_names_round_trip(void)
{
	enum form_purpose p;

	for (int i = FORM_ISSUE; i <= FORM_PIN_RESET; i++) {
		const char *name = counter_form_purpose_name(i);

		CHECK_INT(counter_form_purpose_parse(name, &p), JPKI_OK);
		CHECK_INT(p, i);
	}
	CHECK_INT(counter_form_purpose_parse("Renew", &p), JPKI_ERR_USAGE);
	CHECK(counter_form_purpose_name(0) == NULL);
	CHECK(counter_form_purpose_name(4) == NULL);
}

static void
test_notice_pdf_has_two_pages_and_an_embedded_cjk_font(struct store *s,
    const struct resident *holder)
{
	struct municipality m;
	struct inquiry_form f;
	struct notice_doc d;
	char code[FORM_CODE_BUF], path[] = "/tmp/test_forms_pdf.XXXXXX";
	char *buf;
	FILE *fp;
	struct stat st;
	mode_t old_umask;
	long n;
	int fd;

	CHECK_INT(new_form(s, holder->id, FORM_FROM_NOTICE,
	    (struct jdate){2026, 4, 1}, &f, code), JPKI_OK);
	CHECK_INT(store_municipality_get(s, "112216", &m), JPKI_OK);
	memset(&d, 0, sizeof(d));
	d.kind = NOTICE_EXPIRY;
	d.holder = holder;
	d.muni = &m;
	d.form = &f;
	d.code = code;
	d.ncerts = 1;
	d.certs[0].type = CERT_SIGN;
	snprintf(d.certs[0].serial, sizeof(d.certs[0].serial), "7F00AA");
	d.certs[0].not_after = 1780000000;
	d.today = f.issued_on;
	/* A file left at the path (readable by all) is replaced by one that
	 * has exactly the document mode, whatever the umask. */
	if ((fd = mkstemp(path)) >= 0) {
		fchmod(fd, 0644);
		close(fd);
	}
	CHECK_INT(counter_notice_pdf_write(path, &d, 0640), JPKI_OK);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	old_umask = umask(077);
	CHECK_INT(counter_notice_pdf_write(path, &d, 0600), JPKI_OK);
	umask(old_umask);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	fp = fopen(path, "rb");
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	CHECK(buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	unlink(path);
	if (buf == NULL)
		return;
	CHECK(memcmp(buf, "%PDF-", 5) == 0);
	CHECK(memmem(buf, (size_t)n, "/Count 2", 8) != NULL);
	CHECK(memmem(buf, (size_t)n, "NotoSansCJK", 11) != NULL);
	CHECK(memmem(buf, (size_t)n, "/FontFile", 9) != NULL);
	free(buf);
	/* A file that cannot be created is an I/O error, not a crash. */
	CHECK_INT(counter_notice_pdf_write("/nonexistent-dir/x.pdf", &d, 0600),
	    JPKI_ERR_IO);
}

int
main(void)
{
	struct resident holder;
	char path[64];
	struct store *s = fixture_store(path, &holder);

	CHECK(s != NULL);
	if (s == NULL)
		return test_summary();
	test_purpose_names_round_trip();
	test_check_code_has_twelve_symbols_in_three_groups(s, holder.id);
	test_only_a_salted_hash_of_the_code_is_stored(s, holder.id);
	test_code_matches_however_it_is_copied(s, holder.id);
	test_form_checks_in_order(s, holder.id);
	test_a_form_is_used_once(s, holder.id);
	test_a_certificate_gets_one_notice_form(s, holder.id);
	test_form_numbers_are_reserved_once(s, holder.id);
	test_notice_pdf_has_two_pages_and_an_embedded_cjk_font(s, &holder);
	store_close(&s);
	unlink(path);
	/* Drop the process-wide font caches Pango and cairo keep, so a
	 * leak checker sees only what the code under test leaked. */
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	{
		char p[80];

		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
	}
	return test_summary();
}
