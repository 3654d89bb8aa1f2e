/*
 * register.c: the resident register.  Input is refused at the edge, field
 * by field, with one line naming the field (and the CSV row); nothing is
 * stored unless everything is valid, and every change lands with its audit
 * entry in one transaction.
 */
#include "counter/counter.h"
#include "counter/csv.h"
#include "pki/pki.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDEOGRAPHIC_SPACE "\xE3\x80\x80"

static int
copy_text(const char *field, const char *v, char *dst, size_t cap)
{
	size_t n = strlen(v);

	if (n >= cap)
		return jpki_fail(JPKI_ERR_INPUT, "%s: longer than %zu bytes",
		    field, cap - 1);
	if (!utf8_valid_line(v, n))
		return jpki_fail(JPKI_ERR_INPUT, "%s: not valid single-line "
		    "UTF-8", field);
	memcpy(dst, v, n + 1);
	return JPKI_OK;
}

static void
zero_flags(char *dst, size_t cap, size_t chars)
{
	size_t n = chars < cap - 1 ? chars : cap - 1;

	memset(dst, '0', n);
	dst[n] = '\0';
}

/* Split "SURNAME GIVEN" at the first ASCII or ideographic space. */
static int
set_name(struct resident *r, const char *name)
{
	const char *sp = strchr(name, ' ');
	const char *isp = strstr(name, IDEOGRAPHIC_SPACE);
	const char *given;
	size_t slen, chars;
	int rc;

	if (name[0] == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "name: empty");
	if (!utf8_valid_line(name, strlen(name)))
		return jpki_fail(JPKI_ERR_INPUT, "name: not valid single-line "
		    "UTF-8");
	if (isp != NULL && (sp == NULL || isp < sp)) {
		slen = (size_t)(isp - name);
		given = isp + 3;
	} else if (sp != NULL) {
		slen = (size_t)(sp - name);
		given = sp + 1;
	} else {
		return jpki_fail(JPKI_ERR_INPUT, "name: give the surname and "
		    "the given name separated by a space");
	}
	while (*given == ' ')
		given++;
	if (slen == 0 || *given == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "name: surname and given name "
		    "must both be present");
	if (slen >= sizeof(r->surname))
		return jpki_fail(JPKI_ERR_INPUT, "name: surname too long");
	memcpy(r->surname, name, slen);
	r->surname[slen] = '\0';
	if ((rc = copy_text("name", given, r->given, sizeof(r->given))))
		return rc;
	/* R4: the signing certificate carries "surname<U+3000>given" (OID .1);
	 * a name it cannot hold is refused here, not at issuance. */
	chars = utf8_count(r->surname, strlen(r->surname)) + 1 +
	    utf8_count(r->given, strlen(r->given));
	if (chars > PKI_NAME_MAX_CHARS)
		return jpki_fail(JPKI_ERR_INPUT, "name: %zu characters with the "
		    "separating space; at most %d (R4)", chars,
		    PKI_NAME_MAX_CHARS);
	/* One flag per character of the name (OID .2). */
	zero_flags(r->name_flags, sizeof(r->name_flags), chars);
	return JPKI_OK;
}

static int
set_address(struct resident *r, const char *address)
{
	int rc;

	if ((rc = rules_address_check(address)) != JPKI_OK)
		return rc;
	if ((rc = copy_text("address", address, r->address,
	    sizeof(r->address))) != JPKI_OK)
		return rc;
	zero_flags(r->address_flags, sizeof(r->address_flags),
	    utf8_count(address, strlen(address)));
	return JPKI_OK;
}

static int
set_birth(struct resident *r, const char *birth, int64_t now)
{
	struct jdate d;

	if (jdate_parse(birth, &d) != JPKI_OK)
		return jpki_fail(JPKI_ERR_INPUT, "birth: '%.40s' is not a date "
		    "(YYYY-MM-DD)", birth);
	if (jdate_cmp(d, jst_date_of(now)) > 0)
		return jpki_fail(JPKI_ERR_INPUT, "birth: %s is in the future",
		    birth);
	if (d.y < 1868)
		return jpki_fail(JPKI_ERR_INPUT, "birth: %s is before 1868",
		    birth);
	r->birth = d;
	return JPKI_OK;
}

static int
set_gender(struct resident *r, const char *g)
{
	if (rules_gender_parse(g, &r->gender) != JPKI_OK)
		return jpki_fail(JPKI_ERR_INPUT, "gender: '%.20s' is not male, "
		    "female or unknown", g);
	return JPKI_OK;
}

/* Replace default all-zero flags (already sized to the text) with given
 * ones: same length, only 0 and 1. */
static int
set_flags(const char *field, const char *given, char *flags, size_t cap)
{
	size_t n;

	if (given == NULL || given[0] == '\0')
		return JPKI_OK;
	n = strlen(given);
	if (n != strlen(flags) || n >= cap)
		return jpki_fail(JPKI_ERR_INPUT, "%s: %zu flags for %zu "
		    "characters (one 0 or 1 per character)", field, n,
		    strlen(flags));
	if (strspn(given, "01") != n)
		return jpki_fail(JPKI_ERR_INPUT, "%s: only 0 and 1 are allowed",
		    field);
	memcpy(flags, given, n + 1);
	return JPKI_OK;
}

/* counter_register_parse(); known_muni, if not NULL, is the code of the last
 * municipality found (an import's rows mostly share one): that one is not
 * looked up again, and a new one found is remembered there. */
static int
parse_resident(struct datadir *dd, const struct counter_register_input *in,
    struct resident *r, char known_muni[MUNI_CODE_LEN + 1])
{
	const char *muni = in->municipality ? in->municipality :
	    datadir_config(dd)->municipality;
	struct municipality m;
	int64_t now;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = jpki_now_checked(&now)) != JPKI_OK)
		return rc;
	if (in->number == NULL || in->name == NULL || in->address == NULL ||
	    in->birth == NULL || in->gender == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "%s: missing",
		    !in->number ? "number" : !in->name ? "name" :
		    !in->address ? "address" : !in->birth ? "birth" : "gender");
	if (!rules_individual_number_valid(in->number))
		return jpki_fail(JPKI_ERR_INPUT, "number: '%.20s' is not a "
		    "12-digit individual number with a valid check digit",
		    in->number);
	memcpy(r->number, in->number, RESIDENT_NUMBER_LEN + 1);
	if ((rc = set_name(r, in->name)) != JPKI_OK ||
	    (rc = set_address(r, in->address)) != JPKI_OK ||
	    (rc = set_birth(r, in->birth, now)) != JPKI_OK ||
	    (rc = set_gender(r, in->gender)) != JPKI_OK)
		return rc;
	if (in->kana != NULL && (rc = copy_text("kana", in->kana, r->name_kana,
	    sizeof(r->name_kana))) != JPKI_OK)
		return rc;
	if ((rc = set_flags("name flags", in->name_flags, r->name_flags,
	    sizeof(r->name_flags))) != JPKI_OK ||
	    (rc = set_flags("address flags", in->address_flags,
	    r->address_flags, sizeof(r->address_flags))) != JPKI_OK)
		return rc;
	if (known_muni == NULL || strcmp(muni, known_muni) != 0) {
		if (store_municipality_get(datadir_store(dd), muni, &m) != JPKI_OK)
			return jpki_fail(JPKI_ERR_INPUT, "municipality: no "
			    "municipality with code '%.10s'", muni);
		muni = m.code;
		if (known_muni != NULL)
			memcpy(known_muni, m.code, MUNI_CODE_LEN + 1);
	}
	memcpy(r->municipality, muni, sizeof(r->municipality));
	r->status = RESIDENT_ACTIVE;
	r->facts_version = 1;
	r->created_at = r->updated_at = now;
	return JPKI_OK;
}

int
counter_register_parse(struct datadir *dd, const struct counter_register_input *in,
    struct resident *r)
{
	return parse_resident(dd, in, r, NULL);
}

/* Insert inside the caller's transaction; a duplicate number is bad input
 * (the register holds one record per individual number). */
static int
add_in_tx(struct datadir *dd, struct resident *r, const char *actor)
{
	char subject[32];
	int rc;

	rc = store_resident_insert(datadir_store(dd), r);
	if (rc == JPKI_ERR_CONFLICT)
		return jpki_fail(JPKI_ERR_INPUT, "number: a resident with "
		    "individual number %s is already registered", r->number);
	if (rc != JPKI_OK)
		return rc;
	snprintf(subject, sizeof(subject), "resident:%lld", (long long)r->id);
	return store_audit_json(datadir_store(dd), actor, "resident.add",
	    subject, json_pack("{s:s}", "municipality", r->municipality));
}

int
counter_register_add(struct datadir *dd, struct resident *r, const char *actor)
{
	struct store *s = datadir_store(dd);
	int rc;

	if ((rc = store_begin(s)) != JPKI_OK)
		return rc;
	if ((rc = add_in_tx(dd, r, actor)) != JPKI_OK) {
		store_rollback(s);
		return rc;
	}
	return store_commit(s);
}

static const char *const csv_columns[] = {"number", "name", "address",
    "birth", "gender", "kana", "municipality", "name_flags", "address_flags"};
enum { COL_NUMBER, COL_NAME, COL_ADDRESS, COL_BIRTH, COL_GENDER, COL_KANA,
	COL_MUNI, COL_NAME_FLAGS, COL_ADDRESS_FLAGS, COL__COUNT };

static int
read_header(struct csv *c, int col[COL__COUNT])
{
	int got, rc;

	for (int i = 0; i < COL__COUNT; i++)
		col[i] = -1;
	if ((rc = counter_csv_next(c, &got)) != JPKI_OK)
		return rc;
	if (!got)
		return jpki_fail(JPKI_ERR_INPUT, "row 1: empty file, expected "
		    "a header line");
	for (int f = 0; f < c->nfields; f++) {
		int known = 0;

		/* A UTF-8 byte order mark is tolerated on the first field. */
		if (f == 0 && strncmp(c->field[0], "\xEF\xBB\xBF", 3) == 0)
			c->field[0] += 3;
		for (int i = 0; i < COL__COUNT; i++)
			if (strcmp(c->field[f], csv_columns[i]) == 0) {
				if (col[i] >= 0)
					return jpki_fail(JPKI_ERR_INPUT, "row 1:"
					    " column %s twice", csv_columns[i]);
				col[i] = f;
				known = 1;
			}
		if (!known)
			return jpki_fail(JPKI_ERR_INPUT, "row 1: unknown column "
			    "'%.40s' (expected number, name, address, birth, "
			    "gender, kana, municipality, name_flags, "
			    "address_flags)", c->field[f]);
	}
	for (int i = 0; i <= COL_GENDER; i++)
		if (col[i] < 0)
			return jpki_fail(JPKI_ERR_INPUT, "row 1: the header has "
			    "no '%s' column", csv_columns[i]);
	return JPKI_OK;
}

static const char *
cell(const struct csv *c, int idx)
{
	return idx >= 0 && idx < c->nfields ? c->field[idx] : NULL;
}

/* The next row as a counter_register_input: *got = 0 at the end.  Blank lines are
 * skipped; a row with more fields than the header is refused.  Errors name
 * the row (as the CSV reader's do). */
static int
next_row(struct csv *c, const int col[COL__COUNT], int header_fields,
    struct counter_register_input *in, int *got)
{
	int rc;

	do {
		if ((rc = counter_csv_next(c, got)) != JPKI_OK || !*got)
			return rc;
	} while (c->nfields == 1 && c->field[0][0] == '\0');
	/* An unquoted comma splits a value: never guess which cells were
	 * meant, and never drop the extra ones silently.  (Fewer fields are
	 * fine: a missing required one is named by counter_register_parse.) */
	if (c->nfields > header_fields)
		return jpki_fail(JPKI_ERR_INPUT, "row %ld: %d fields, the header "
		    "has %d (quote a value that holds a comma)", c->row,
		    c->nfields, header_fields);
	memset(in, 0, sizeof(*in));
	in->number = cell(c, col[COL_NUMBER]);
	in->name = cell(c, col[COL_NAME]);
	in->address = cell(c, col[COL_ADDRESS]);
	in->birth = cell(c, col[COL_BIRTH]);
	in->gender = cell(c, col[COL_GENDER]);
	in->kana = cell(c, col[COL_KANA]);
	in->municipality = cell(c, col[COL_MUNI]);
	in->name_flags = cell(c, col[COL_NAME_FLAGS]);
	in->address_flags = cell(c, col[COL_ADDRESS_FLAGS]);
	if (in->kana != NULL && in->kana[0] == '\0')
		in->kana = NULL;
	if (in->municipality != NULL && in->municipality[0] == '\0')
		in->municipality = NULL;
	return JPKI_OK;
}

/* rc with the row named in front of its message. */
static int
row_fail(const struct csv *c, int rc)
{
	char why[400];

	snprintf(why, sizeof(why), "%s", jpki_errmsg());
	return jpki_fail(rc, "row %ld: %s", c->row, why);
}

/* The individual numbers of the rows checked so far, with their rows: an
 * open-addressing table, grown at three quarters full. */
struct numbers_seen {
	struct number_row {
		uint64_t number;      /* 0: free (no valid number is 0) */
		long row;
	} *slot;
	size_t cap, n;
};

static struct number_row *
numbers_slot(struct number_row *slot, size_t cap, uint64_t number)
{
	size_t i = (size_t)((number * 0x9E3779B97F4A7C15ULL) >> 32) &
	    (cap - 1);

	while (slot[i].number != 0 && slot[i].number != number)
		i = (i + 1) & (cap - 1);
	return &slot[i];
}

/* Remember number at row; *earlier gets the row it was first seen on, or
 * 0 if it is new. */
static int
numbers_add(struct numbers_seen *ns, const char *number, long row,
    long *earlier)
{
	uint64_t v = strtoull(number, NULL, 10);
	struct number_row *e;

	if (4 * (ns->n + 1) > 3 * ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 1024;
		struct number_row *grown = calloc(cap, sizeof(*grown));

		if (grown == NULL)
			return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		for (size_t i = 0; i < ns->cap; i++)
			if (ns->slot[i].number != 0)
				*numbers_slot(grown, cap, ns->slot[i].number) =
				    ns->slot[i];
		free(ns->slot);
		ns->slot = grown;
		ns->cap = cap;
	}
	e = numbers_slot(ns->slot, ns->cap, v);
	*earlier = e->number != 0 ? e->row : 0;
	if (e->number == 0) {
		e->number = v;
		e->row = row;
		ns->n++;
	}
	return JPKI_OK;
}

/* Pass one, no store lock held: every row parsed, and its number neither
 * earlier in the file nor in the register.  JPKI_OK or the first bad row
 * named; nothing is written. */
static int
import_check(struct datadir *dd, struct csv *c, const int col[COL__COUNT],
    int header_fields)
{
	struct numbers_seen seen = {NULL, 0, 0};
	struct counter_register_input in;
	struct resident r, other;
	char muni[MUNI_CODE_LEN + 1] = "";
	long earlier;
	int got, rc;

	for (;;) {
		if ((rc = next_row(c, col, header_fields, &in, &got)) ||
		    !got)
			break;
		if ((rc = parse_resident(dd, &in, &r, muni)) != JPKI_OK ||
		    (rc = numbers_add(&seen, r.number, c->row, &earlier)))
			goto bad_row;
		if (earlier != 0) {
			rc = jpki_fail(JPKI_ERR_INPUT, "number: individual "
			    "number %s is already on row %ld", r.number,
			    earlier);
			goto bad_row;
		}
		rc = store_resident_by_number(datadir_store(dd), r.number, &other);
		if (rc == JPKI_OK)
			rc = jpki_fail(JPKI_ERR_INPUT, "number: a resident with "
			    "individual number %s is already registered",
			    r.number);
		if (rc != JPKI_ERR_NOTFOUND)
			goto bad_row;
		jpki_errclear();
	}
	free(seen.slot);
	return rc;
bad_row:
	free(seen.slot);
	return row_fail(c, rc);
}

/* A failure while adding, after `added` residents were committed. */
static int
import_partly(int rc, long added)
{
	char why[400];

	if (added == 0)
		return rc;
	snprintf(why, sizeof(why), "%s", jpki_errmsg());
	return jpki_fail(rc, "%s (the %ld residents of the rows before it "
	    "were added, %d to a transaction)", why, added,
	    REGISTER_IMPORT_BATCH);
}

/* Between two batches, leave the store's write lock free long enough for
 * a clerk's procedure waiting on it to take it.  A waiter does not queue:
 * it tries again after sleeping, up to 100 ms between tries once it has
 * waited a while (SQLite's busy handler), so a next batch begun at once
 * would win nearly every time and the clerk would wait for the whole
 * import.  Costs 10 ms a thousand rows. */
#define IMPORT_YIELD_MS 100

static void
let_others_in(void)
{
	struct timespec ts = {0, IMPORT_YIELD_MS * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Pass two: the checked rows added, REGISTER_IMPORT_BATCH to a
 * transaction.  *added counts the rows committed. */
static int
import_add(struct datadir *dd, struct csv *c, const int col[COL__COUNT],
    int header_fields, const char *actor, long *added)
{
	struct store *s = datadir_store(dd);
	struct counter_register_input in;
	struct resident r;
	char muni[MUNI_CODE_LEN + 1] = "";
	long in_batch = 0;
	int got, rc;

	if ((rc = store_begin(s)) != JPKI_OK)
		return rc;
	for (;;) {
		if ((rc = next_row(c, col, header_fields, &in, &got)) ||
		    !got)
			break;
		if ((rc = parse_resident(dd, &in, &r, muni)) != JPKI_OK ||
		    (rc = add_in_tx(dd, &r, actor)) != JPKI_OK) {
			rc = row_fail(c, rc);
			break;
		}
		if (++in_batch < REGISTER_IMPORT_BATCH)
			continue;
		if ((rc = store_commit(s)) != JPKI_OK)
			return import_partly(rc, *added);
		*added += in_batch;
		in_batch = 0;
		let_others_in();
		if ((rc = store_begin(s)) != JPKI_OK)
			return import_partly(rc, *added);
	}
	if (rc == JPKI_OK && (rc = store_commit(s)) == JPKI_OK) {
		*added += in_batch;
		return JPKI_OK;
	}
	store_rollback(s);
	return import_partly(rc, *added);
}

int
counter_register_import_csv(struct datadir *dd, const void *data, size_t len,
    const char *actor, long *added)
{
	struct csv *c;
	int col[COL__COUNT], header_fields, rc;

	*added = 0;
	if (len > (size_t)CSV_INPUT_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "import: file larger than %ld "
		    "bytes", CSV_INPUT_MAX);
	if ((c = malloc(sizeof(*c))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	counter_csv_init(c, data, len);
	if ((rc = read_header(c, col)) != JPKI_OK)
		goto out;
	header_fields = c->nfields;
	if ((rc = import_check(dd, c, col, header_fields)) != JPKI_OK)
		goto out;
	counter_csv_init(c, data, len);
	if ((rc = read_header(c, col)) != JPKI_OK)
		goto out;
	rc = import_add(dd, c, col, header_fields, actor, added);
out:
	free(c);
	return rc;
}

/* The holder's valid certificates that a change revokes.  Every one of
 * them, however many the operator interface has issued: one left valid
 * would carry stale facts (R6). */
struct revoke_scan {
	int sign_only;
	int64_t now;
	char (*serials)[SERIAL_HEX_MAX];
	size_t n, cap;
	int nomem;
};

static int
collect_valid(void *arg, const struct cert_record *c)
{
	struct revoke_scan *v = arg;

	if (c->status != CERT_STATUS_VALID || c->not_after < v->now)
		return 0;
	if (v->sign_only && c->ca != CERT_SIGN)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 8;
		void *grown = realloc(v->serials, cap * sizeof(*v->serials));

		if (grown == NULL) {
			v->nomem = 1;
			return 1; /* stop the scan */
		}
		v->serials = grown;
		v->cap = cap;
	}
	memcpy(v->serials[v->n++], c->serial, SERIAL_HEX_MAX);
	return 0;
}

int
counter_register_change(struct ca *ca, int64_t id, const struct counter_register_change *ch,
    const char *actor, int *revoked)
{
	struct store *s = datadir_store(ca_datadir(ca));
	struct resident r, old;
	struct revoke_scan scan;
	char subject[32];
	json_t *detail = NULL;
	int64_t now;
	int rc, facts_changed;

	*revoked = 0;
	memset(&scan, 0, sizeof(scan));
	if ((rc = jpki_now_checked(&now)) != JPKI_OK)
		return rc;
	if ((rc = store_begin(s)) != JPKI_OK)
		return rc;
	if ((rc = store_resident_get(s, id, &r)) != JPKI_OK)
		goto fail;
	if (r.status == RESIDENT_DECEASED || r.status == RESIDENT_MOVED_AWAY) {
		rc = jpki_fail(JPKI_ERR_REFUSED, "resident %lld is recorded as "
		    "%s; the register entry is closed", (long long)id,
		    r.status == RESIDENT_DECEASED ? "deceased" : "moved away");
		goto fail;
	}
	if (ch->deceased && ch->moved_away) {
		rc = jpki_fail(JPKI_ERR_INPUT, "change: deceased or moved away, "
		    "not both");
		goto fail;
	}
	old = r;
	if ((ch->name && (rc = set_name(&r, ch->name))) ||
	    (ch->address && (rc = set_address(&r, ch->address))) ||
	    (ch->birth && (rc = set_birth(&r, ch->birth, now))) ||
	    (ch->gender && (rc = set_gender(&r, ch->gender))) ||
	    (ch->kana && (rc = copy_text("kana", ch->kana, r.name_kana,
	    sizeof(r.name_kana)))))
		goto fail;
	facts_changed = strcmp(r.surname, old.surname) ||
	    strcmp(r.given, old.given) || strcmp(r.address, old.address) ||
	    jdate_cmp(r.birth, old.birth) || r.gender != old.gender;
	if (!facts_changed && !ch->deceased && !ch->moved_away &&
	    (ch->kana == NULL ||
	    strcmp(r.name_kana, old.name_kana) == 0)) {
		rc = jpki_fail(JPKI_ERR_INPUT, "change: nothing differs from "
		    "the register");
		goto fail;
	}
	if (facts_changed)
		r.facts_version++;
	if (ch->deceased)
		r.status = RESIDENT_DECEASED;
	/* 転出: the certificates stay (a move revokes the signing one when
	 * the new address is registered, R6, in the municipality moved to). */
	if (ch->moved_away)
		r.status = RESIDENT_MOVED_AWAY;
	r.updated_at = now;
	if ((rc = store_resident_update(s, &r)) != JPKI_OK)
		goto fail;

	detail = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}",
	    "name", strcmp(r.surname, old.surname) || strcmp(r.given, old.given),
	    "address", strcmp(r.address, old.address) != 0,
	    "birth", jdate_cmp(r.birth, old.birth) != 0,
	    "gender", r.gender != old.gender, "deceased", ch->deceased != 0,
	    "moved_away", ch->moved_away != 0);
	snprintf(subject, sizeof(subject), "resident:%lld", (long long)id);
	rc = store_audit_json(s, actor, ch->deceased ? "resident.death" :
	    ch->moved_away ? "resident.move-out" : "resident.change", subject,
	    detail);
	detail = NULL;              /* taken over */
	if (rc != JPKI_OK)
		goto fail;

	/* R6: a change of the four facts revokes the signing certificate at
	 * once; death ends both (CPS 4.9.9 cessationOfOperation). */
	if (facts_changed || ch->deceased) {
		scan.sign_only = !ch->deceased;
		scan.now = now;
		if ((rc = store_cert_list(s, id, collect_valid, &scan)))
			goto fail;
		if (scan.nomem) {
			rc = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < scan.n; i++) {
			if ((rc = ca_revoke_in_tx(ca, scan.serials[i],
			    ch->deceased ? REASON_CESSATION_OF_OPERATION :
			    REASON_AFFILIATION_CHANGED, actor)) != JPKI_OK)
				goto fail;
			(*revoked)++;
		}
	}
	if ((rc = store_commit(s)) != JPKI_OK)
		goto fail_nocommit;
	free(scan.serials);
	json_decref(detail);
	return JPKI_OK;
fail:
	store_rollback(s);
fail_nocommit:
	*revoked = 0;
	free(scan.serials);
	json_decref(detail);
	return rc;
}
