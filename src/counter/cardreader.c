/*
 * cardreader.c: a card in a PC/SC reader at the counter, rolled forward to
 * what the store committed (docs/counter.md, "A card in a reader").
 *
 * An image is staged beside the card and renamed in after the commit
 * (cardops.c); a card in a reader cannot be staged, its keys never leave
 * it.  So the order is turned round:
 *
 *   before:   the issuer proof and the new keys, over APDUs (the public
 *             key read back goes into the certificate);
 *   in the transaction: the PINs and collation numbers the procedure sets
 *             are sent to the card at once (secrets are never stored);
 *             every other write (certificate EFs, the card-info AP and its
 *             signature, the card-face EF) is recorded in cs->writes, and
 *             the list becomes one card_writes row with the receipt;
 *   commit;
 *   apply:    the issuer proof again, the writes in order, the row marked
 *             applied.
 *
 * Every open of a reader card first applies the rows committed for its
 * serial and not marked applied: each write replaces a whole EF, so a row
 * applied in part, or wholly but not marked, is simply applied again.
 */
#include "counter/counter_int.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of one recorded write (the largest EF, with room). */
#define WRITE_BYTES_MAX (256 * 1024)
/* Rows one open rolls forward (each a committed procedure on the card). */
#define ROLL_ROWS_MAX 32

static int
nomem(void)
{
	return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
}

/* ---- recording --------------------------------------------------------- */

static json_t *
b64(const uint8_t *p, size_t n)
{
	char *text;
	json_t *j;

	if (n > WRITE_BYTES_MAX || (text = malloc(4 * ((n + 2) / 3) + 1)) ==
	    NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)text, p, (int)n);
	j = json_string(text);
	free(text);
	return j;
}

static int
b64_get(const json_t *op, const char *key, struct jbuf *out)
{
	const char *text = json_string_value(json_object_get(op, key));
	size_t n, pad = 0;
	uint8_t *buf;
	int len;

	if (text == NULL || (n = strlen(text)) % 4 != 0 ||
	    n / 4 * 3 > WRITE_BYTES_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "card writes: '%s' is not "
		    "base64", key);
	if (n > 0 && text[n - 1] == '=')
		pad = n > 1 && text[n - 2] == '=' ? 2 : 1;
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL)
		return nomem();
	len = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n);
	if (len < 0 || (size_t)len < pad) {
		free(buf);
		return jpki_fail(JPKI_ERR_INPUT, "card writes: '%s' is not "
		    "base64", key);
	}
	len -= (int)pad;
	jbuf_init(out);
	if (jbuf_put(out, buf, (size_t)len)) {
		free(buf);
		return nomem();
	}
	free(buf);
	return JPKI_OK;
}

/* Append one write; op takes ownership of o. */
static int
record(struct card_session *cs, json_t *o)
{
	if (o == NULL)
		return nomem();
	if (cs->writes == NULL && (cs->writes = json_array()) == NULL) {
		json_decref(o);
		return nomem();
	}
	if (json_array_append_new(cs->writes, o) != 0)
		return nomem();
	return JPKI_OK;
}

int
counter_card_write_cert(struct card_session *cs, enum card_cert which,
    const uint8_t *der, size_t n)
{
	if (!cs->in_reader)
		return card_client_write_cert(cs->t, which, der, n);
	return record(cs, json_pack("{s:s, s:i, s:o}", "op", "cert", "ef",
	    (int)which, "der", der ? b64(der, n) : json_null()));
}

int
counter_card_write_info(struct card_session *cs, const struct card_info *info)
{
	if (!cs->in_reader)
		return card_client_write_info(cs->t, info);
	return record(cs, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "op",
	    "info", "number", info->number, "name", info->name, "address",
	    info->address, "birth", info->birth, "sex", info->sex));
}

int
counter_card_write_info_signature(struct card_session *cs,
    const struct jbuf *signature, const struct jbuf *cert,
    const struct jbuf *apinfo)
{
	if (!cs->in_reader)
		return card_client_write_info_signature(cs->t, signature, cert,
		    apinfo);
	return record(cs, json_pack("{s:s, s:o, s:o, s:o}", "op",
	    "info-signature", "signature", b64(signature->data,
	    signature->len), "cert", b64(cert->data, cert->len), "apinfo",
	    b64(apinfo->data, apinfo->len)));
}

int
counter_card_write_face(struct card_session *cs, const struct jbuf *ef)
{
	if (!cs->in_reader)
		return card_client_write_face(cs->t, ef);
	return record(cs, json_pack("{s:s, s:o}", "op", "face", "ef",
	    b64(ef->data, ef->len)));
}

int
counter_card_record_writes(struct card_session *cs, struct store *s,
    int64_t receipt_id, int64_t now)
{
	char *text;
	int r;

	if (!cs->in_reader || cs->writes == NULL ||
	    json_array_size(cs->writes) == 0)
		return JPKI_OK;
	if ((text = json_dumps(cs->writes, JSON_COMPACT)) == NULL)
		return nomem();
	r = store_card_writes_add(s, cs->serial, receipt_id, text, now,
	    &cs->writes_id);
	free(text);
	return r;
}

/* ---- applying ---------------------------------------------------------- */

static int
apply_info(struct card_session *cs, const json_t *op)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} f[] = {
	    {"number", offsetof(struct card_info, number),
		sizeof(((struct card_info *)0)->number)},
	    {"name", offsetof(struct card_info, name),
		sizeof(((struct card_info *)0)->name)},
	    {"address", offsetof(struct card_info, address),
		sizeof(((struct card_info *)0)->address)},
	    {"birth", offsetof(struct card_info, birth),
		sizeof(((struct card_info *)0)->birth)},
	    {"sex", offsetof(struct card_info, sex),
		sizeof(((struct card_info *)0)->sex)},
	};
	struct card_info info;
	int r;

	memset(&info, 0, sizeof(info));
	for (size_t i = 0; i < JPKI_ARRAY_LEN(f); i++) {
		const char *v = json_string_value(json_object_get(op,
		    f[i].key));

		if (v == NULL || strlen(v) >= f[i].cap)
			return jpki_fail(JPKI_ERR_INPUT, "card writes: info: "
			    "'%s' missing or too long", f[i].key);
		memcpy((char *)&info + f[i].off, v, strlen(v) + 1);
	}
	r = card_client_write_info(cs->t, &info);
	jpki_wipe(&info, sizeof(info));
	return r;
}

static int
apply_one(struct card_session *cs, const json_t *op)
{
	const char *what = json_string_value(json_object_get(op, "op"));
	struct jbuf a, b, c;
	int r;

	jbuf_init(&a);
	jbuf_init(&b);
	jbuf_init(&c);
	if (what == NULL)
		r = jpki_fail(JPKI_ERR_INPUT, "card writes: a write without "
		    "its op");
	else if (strcmp(what, "cert") == 0) {
		json_int_t ef = json_integer_value(json_object_get(op, "ef"));

		if (json_is_null(json_object_get(op, "der")))
			r = card_client_write_cert(cs->t, (enum card_cert)ef,
			    NULL, 0);
		else if ((r = b64_get(op, "der", &a)) == JPKI_OK)
			r = card_client_write_cert(cs->t, (enum card_cert)ef,
			    a.data, a.len);
	} else if (strcmp(what, "info") == 0)
		r = apply_info(cs, op);
	else if (strcmp(what, "info-signature") == 0) {
		if ((r = b64_get(op, "signature", &a)) == JPKI_OK &&
		    (r = b64_get(op, "cert", &b)) == JPKI_OK &&
		    (r = b64_get(op, "apinfo", &c)) == JPKI_OK)
			r = card_client_write_info_signature(cs->t, &a, &b, &c);
	} else if (strcmp(what, "face") == 0) {
		if ((r = b64_get(op, "ef", &a)) == JPKI_OK)
			r = card_client_write_face(cs->t, &a);
	} else
		r = jpki_fail(JPKI_ERR_INPUT, "card writes: unknown op '%.20s'",
		    what);
	jbuf_free(&a);
	jbuf_free(&b);
	jbuf_free(&c);
	return r;
}

/* The issuer proof, then every write of the list in order. */
static int
apply_writes(struct card_session *cs, const json_t *writes)
{
	size_t i;
	json_t *op;
	int r;

	if (!json_is_array(writes))
		return jpki_fail(JPKI_ERR_INPUT, "card writes: not a list");
	if ((r = counter_card_issuer_auth(cs->ca, cs)) != JPKI_OK)
		return r;
	json_array_foreach(writes, i, op) {
		if ((r = apply_one(cs, op)) != JPKI_OK)
			return r;
		if (i == 0)
			counter_crash_point("card-write");
	}
	return JPKI_OK;
}

int
counter_card_apply_recorded(struct card_session *cs)
{
	char why[400];
	int64_t now;
	int r;

	if (cs->writes_id == 0)
		return JPKI_OK;
	if ((r = apply_writes(cs, cs->writes)) != JPKI_OK) {
		snprintf(why, sizeof(why), "%s", jpki_errmsg());
		return jpki_fail(r, "%s (the procedure is recorded; its card "
		    "writes are applied when card %s is next opened in a "
		    "reader: jpki counter recover --reader NAME)", why,
		    cs->serial);
	}
	counter_crash_point("card-written");
	if ((r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = store_card_writes_applied(datadir_store(ca_datadir(cs->ca)),
	    cs->writes_id, now)) != JPKI_OK)
		return r;
	cs->writes_id = 0;
	return JPKI_OK;
}

/* ---- rolling forward at open ------------------------------------------- */

struct pending_rows {
	int64_t id[ROLL_ROWS_MAX], receipt[ROLL_ROWS_MAX];
	char *writes[ROLL_ROWS_MAX];
	int n, more;
};

static int
collect_row(void *arg, int64_t id, int64_t receipt_id, const char *writes)
{
	struct pending_rows *p = arg;

	if (p->n == ROLL_ROWS_MAX) {
		p->more = 1;
		return 1;
	}
	if ((p->writes[p->n] = strdup(writes ? writes : "")) == NULL)
		return 1;
	p->id[p->n] = id;
	p->receipt[p->n++] = receipt_id;
	return 0;
}

/* Mark row i applied, with its audit entry, in one transaction. */
static int
mark_rolled(struct card_session *cs, struct store *s, int64_t id,
    int64_t receipt, size_t nwrites, const char *actor)
{
	char subject[64];
	int64_t now;
	int r;

	if ((r = jpki_now_checked(&now)) != JPKI_OK ||
	    (r = store_begin(s)) != JPKI_OK)
		return r;
	snprintf(subject, sizeof(subject), "card:%s", cs->serial);
	if ((r = store_card_writes_applied(s, id, now)) != JPKI_OK ||
	    (r = store_audit_json(s, actor, "counter.roll-forward", subject,
	    json_pack("{s:I, s:I}", "receipt", (json_int_t)receipt, "writes",
	    (json_int_t)nwrites))) != JPKI_OK) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

int
counter_card_roll_forward(struct ca *ca, struct card_session *cs,
    const char *actor)
{
	struct store *s = datadir_store(ca_datadir(ca));
	struct pending_rows p;
	json_error_t err;
	json_t *w;
	int r;
	size_t len;

	memset(&p, 0, sizeof(p));
	if ((r = store_card_writes_pending(s, cs->serial, collect_row, &p)))
		goto out;
	for (int i = 0; i < p.n; i++) {
		if ((w = json_loads(p.writes[i], JSON_REJECT_DUPLICATES,
		    &err)) == NULL) {
			r = jpki_fail(JPKI_ERR_INPUT, "card writes %lld: %s",
			    (long long)p.id[i], err.text);
			goto out;
		}
		r = apply_writes(cs, w);
		len = json_array_size(w);
		json_decref(w);
		if (r != JPKI_OK) {
			char why[400];

			snprintf(why, sizeof(why), "%s", jpki_errmsg());
			r = jpki_fail(r, "card %s: the writes of receipt %lld, "
			    "committed and not yet on the card, cannot be "
			    "applied: %s", cs->serial,
			    (long long)p.receipt[i], why);
			goto out;
		}
		counter_crash_point("card-written");
		if ((r = mark_rolled(cs, s, p.id[i], p.receipt[i], len,
		    actor)) != JPKI_OK)
			goto out;
		cs->rolled++;
		size_t k = strlen(cs->rolled_note);
		snprintf(cs->rolled_note + k, sizeof(cs->rolled_note) - k,
		    "%sthe card writes of receipt %lld were applied first "
		    "(rolled forward)", k ? "; " : "", (long long)p.receipt[i]);
	}
	/* More rows than one open takes: the next open goes on. */
	if (p.more)
		r = jpki_fail(JPKI_ERR_CONFLICT, "card %s: more than %d "
		    "procedures wait to be applied; open it again",
		    cs->serial, ROLL_ROWS_MAX);
out:
	for (int i = 0; i < p.n; i++)
		free(p.writes[i]);
	return r;
}

/* ---- opening ----------------------------------------------------------- */

/* One procedure at a time on the card in a reader, among the processes
 * of this data directory: APDUs of two sessions interleaved would write
 * one's data into the other's selected file.  The lock is
 * <data>/cards/.reader-<name>.lock (the name with anything but [A-Za-z0-9]
 * as '_'), taken before the first APDU and held to the close.
 *
 * Other programs (OpenSC, the web UI's card list, anything on PC/SC) are
 * kept out by pcscd: the session connects to the card exclusively
 * (card_transport_pcsc_open), from its first APDU to its close.  An
 * exclusive connection rather than SCardBeginTransaction: while a
 * transaction is held, pcscd makes another program's SCardConnect wait
 * until it ends, so a card list would hang for the procedure's length;
 * against an exclusive connection it is refused at once ("in use"). */
static int
lock_reader(struct ca *ca, const char *reader, int *lock_fd)
{
	char name[128], path[JPKI_PATH_MAX];
	size_t n = 0;
	int r;

	n = (size_t)snprintf(name, sizeof(name), ".reader-");
	for (const char *p = reader; *p != '\0' && n + 1 < sizeof(name); p++)
		name[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_';
	name[n] = '\0';
	if ((r = datadir_path(ca_datadir(ca), DATADIR_CARDS_DIR, name, path,
	    sizeof(path))) != JPKI_OK)
		return r;
	if ((r = card_image_lock(path, lock_fd)) == JPKI_ERR_CONFLICT)
		return jpki_fail(r, "the card in %s is in use by another "
		    "procedure", reader);
	return r;
}

static int
open_reader(struct ca *ca, const char *reader, struct card_session *cs)
{
	struct card_record rec;
	struct card_status st;
	int r;

	memset(cs, 0, sizeof(*cs));
	cs->ca = ca;
	cs->lock_fd = -1;
	cs->in_reader = 1;
	if (reader == NULL || *reader == '\0')
		return jpki_fail(JPKI_ERR_USAGE, "the card's reader is "
		    "required");
	if ((r = jpki_path(cs->n.card, sizeof(cs->n.card), "%s", reader)) ||
	    (r = lock_reader(ca, reader, &cs->lock_fd)) != JPKI_OK ||
	    (r = card_transport_pcsc_open(reader, CARD_PCSC_EXCLUSIVE,
	    &cs->t)) != JPKI_OK ||
	    (r = card_client_status(cs->t, &st)) != JPKI_OK)
		return r;
	snprintf(cs->serial, sizeof(cs->serial), "%s", st.serial);
	cs->kind = CARD_MYNUMBER;
	r = store_card_by_serial(datadir_store(ca_datadir(ca)), cs->serial,
	    &rec);
	if (r == JPKI_OK)
		cs->kind = rec.kind;
	else if (r == JPKI_ERR_NOTFOUND)
		jpki_errclear();
	else
		return r;
	return JPKI_OK;
}

int
counter_card_open_reader(struct ca *ca, const char *reader,
    int roll_forward, const char *actor, struct card_session *cs)
{
	int r;

	if ((r = open_reader(ca, reader, cs)) == JPKI_OK && roll_forward)
		r = counter_card_roll_forward(ca, cs, actor);
	if (r != JPKI_OK)
		counter_card_close(cs);
	return r;
}

int
counter_card_new_reader(struct ca *ca, const char *reader,
    const char *actor, struct card_session *cs)
{
	struct card_record rec;
	int r;

	if ((r = counter_card_open_reader(ca, reader, 1, actor, cs)))
		return r;
	cs->is_new = 1;
	r = store_card_by_serial(datadir_store(ca_datadir(ca)), cs->serial,
	    &rec);
	if (r == JPKI_OK)
		r = jpki_fail(JPKI_ERR_CONFLICT, "the card in %s (%s) is "
		    "registered already (resident %lld); a new card is one the "
		    "store does not know", reader, cs->serial,
		    (long long)rec.resident_id);
	else if (r == JPKI_ERR_NOTFOUND) {
		jpki_errclear();
		r = JPKI_OK;
	}
	if (r != JPKI_OK)
		counter_card_close(cs);
	return r;
}

int
counter_card_recover_reader(struct ca *ca, const char *reader,
    const char *actor, int *applied)
{
	struct card_session cs;
	int r;

	if (applied != NULL)
		*applied = 0;
	if ((r = counter_card_open_reader(ca, reader, 1, actor, &cs)))
		return r;
	if (applied != NULL)
		*applied = cs.rolled;
	counter_card_close(&cs);
	return JPKI_OK;
}

/* ---- reading what the chip holds --------------------------------------- */

/* The individual number of the card's holder, as the store has it, and
 * when match_b is not NULL collation number B (birth, the card's expiry
 * year, its security code), which opens the four facts. */
static int
holder_number(struct card_session *cs, struct store *s,
    char number[CARD_NUMBER_LEN + 1], char *match_b)
{
	char code[CARD_SECURITY_CODE_LEN + 1], day[11], birth[9];
	struct card_record rec;
	struct resident res;
	int r;

	if ((r = store_card_by_serial(s, cs->serial, &rec)) != JPKI_OK ||
	    (r = store_resident_get(s, rec.resident_id, &res)) != JPKI_OK)
		return r;
	snprintf(number, CARD_NUMBER_LEN + 1, "%s", res.number);
	if (match_b == NULL)
		return JPKI_OK;
	jdate_format(res.birth, day);
	snprintf(birth, sizeof(birth), "%.4s%.2s%.2s", day, day + 5, day + 8);
	if ((r = counter_card_security_code(cs->ca, cs, code)) == JPKI_OK)
		r = card_match_b(birth, rec.expiry.y, code, match_b);
	jpki_wipe(code, sizeof(code));
	return r;
}

int
counter_card_outdated(struct card_session *cs, struct store *s,
    int *outdated)
{
	int info, face, r;

	r = counter_card_outdated_parts(cs, s, &info, &face);
	*outdated = info || face;
	return r;
}

int
counter_card_outdated_parts(struct card_session *cs, struct store *s,
    int *info_bad, int *face_bad)
{
	char number[CARD_NUMBER_LEN + 1], match_b[CARD_MATCH_B_LEN + 1];
	struct card_info_files f;
	struct card_status st;
	struct card_info info;
	struct card_face face;
	struct jbuf ef;
	int r;

	*info_bad = *face_bad = 1;
	if (!cs->in_reader) {
		*info_bad = card_info_outdated(cs->work);
		*face_bad = card_face_outdated(cs->work);
		return JPKI_OK;
	}
	if ((r = card_client_status(cs->t, &st)) != JPKI_OK)
		return r;
	for (int m = 0; m < CARD_MATCH_COUNT; m++)
		if (!st.match[m].initialised)
			return JPKI_OK;
	number[0] = match_b[0] = '\0';
	if ((r = holder_number(cs, s, number, match_b)) != JPKI_OK) {
		jpki_wipe(number, sizeof(number));
		jpki_wipe(match_b, sizeof(match_b));
		if (r != JPKI_ERR_NOTFOUND)
			return r;
		/* Not a card of this store: the rules refuse it. */
		jpki_errclear();
		return JPKI_OK;
	}
	card_info_files_init(&f);
	memset(&info, 0, sizeof(info));
	card_face_init(&face);
	jbuf_init(&ef);
	/* An AP never written (JPKI_ERR_NOTFOUND) is one to write.  The
	 * individual number opens with collation number A, the four facts
	 * with B; a B the card refuses (the register's birth changed since)
	 * leaves the facts unread: outdated. */
	if ((r = card_client_verify_match(cs->t, CARD_MATCH_A, number,
	    NULL)) != JPKI_OK)
		goto out;
	if ((r = card_client_verify_match(cs->t, CARD_MATCH_B, match_b,
	    NULL)) == JPKI_ERR_PIN || r == JPKI_ERR_LOCKED)
		jpki_errclear();
	else if (r != JPKI_OK)
		goto out;
	if ((r = card_client_read_info_files(cs->t, &f)) == JPKI_OK)
		*info_bad = f.signature.len == 0 ||
		    card_info_parse_number(f.number.data, f.number.len,
		    &info) ||
		    card_info_parse_facts(f.facts.data, f.facts.len, &info);
	else if (r != JPKI_ERR_NOTFOUND)
		goto out;
	if ((r = card_client_verify_match(cs->t, CARD_FACE_MATCH_A, number,
	    NULL)) != JPKI_OK)
		goto out;
	if ((r = card_client_read_face(cs->t, &ef)) == JPKI_OK)
		*face_bad = card_face_parse(ef.data, ef.len, &face) != JPKI_OK;
	else if (r != JPKI_ERR_NOTFOUND)
		goto out;
	r = JPKI_OK;
	jpki_errclear();
out:
	jpki_wipe(number, sizeof(number));
	jpki_wipe(match_b, sizeof(match_b));
	jpki_wipe(&info, sizeof(info));
	card_info_files_free(&f);
	card_face_free(&face);
	jbuf_free(&ef);
	return r;
}

int
counter_card_photo(struct card_session *cs, const char *number,
    struct jbuf *out)
{
	struct card_face face;
	struct jbuf ef;
	int r;

	if (!cs->in_reader)
		return card_face_photo_of(cs->work, out);
	card_face_init(&face);
	jbuf_init(&ef);
	if ((r = card_client_verify_match(cs->t, CARD_FACE_MATCH_A, number,
	    NULL)) != JPKI_OK ||
	    (r = card_client_read_face(cs->t, &ef)) != JPKI_OK)
		goto out;
	if (card_face_parse(ef.data, ef.len, &face) != JPKI_OK) {
		jpki_errclear();
		r = jpki_fail(JPKI_ERR_NOTFOUND, "card %s has no card-face "
		    "photo", cs->serial);
	} else if (jbuf_put(out, face.photo.data, face.photo.len))
		r = nomem();
out:
	card_face_free(&face);
	jbuf_free(&ef);
	return r;
}
