/*
 * notice.c: expiry notices (有効期限のお知らせ, R12).
 *
 * For every valid certificate expiring in the window the holder gets one
 * notice, with a renewal inquiry/response form on its back so that a
 * proxy can renew the same day (R13).  A holder's certificates in the
 * window share one notice and one form.  Each notice is one transaction:
 * the form, the link from each certificate to it, and the audit entry;
 * the PDF is written (fsync'd) under a temporary name before the commit
 * and renamed after.  A certificate linked to a form is never noticed
 * again, so a second run makes no duplicate forms; the CSV of every run
 * lists every certificate in the window with the form that covers it.
 */
#include "counter/csv.h"
#include "counter/forms.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTICE_WINDOW_MONTHS_MAX 24  /* a longer window is a typo */
#define NOTICE_WINDOW_DAYS_MAX 731
#define NOTICE_CERTS_MAX 10000000L   /* certificates one run handles */

struct expiring {
	char serial[SERIAL_HEX_MAX];
	enum cert_type type;
	int64_t resident_id;
	int64_t not_after;
	int64_t form;                /* covering form (0: none yet) */
	int is_new;                  /* the form was made by this run */
};

struct expiring_list {
	struct expiring *v;
	size_t n, cap;
	int failed;
};

static int
collect(void *arg, const struct cert_record *c)
{
	struct expiring_list *l = arg;
	struct expiring *e;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;

		if (cap > (size_t)NOTICE_CERTS_MAX ||
		    (e = realloc(l->v, cap * sizeof(*e))) == NULL) {
			l->failed = 1;
			return 1;
		}
		l->v = e;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->serial, c->serial, sizeof(e->serial));
	e->type = c->ca;
	e->resident_id = c->resident_id;
	e->not_after = c->not_after;
	return 0;
}

static int
by_holder(const void *a, const void *b)
{
	const struct expiring *x = a, *y = b;

	if (x->resident_id != y->resident_id)
		return x->resident_id < y->resident_id ? -1 : 1;
	if (x->not_after != y->not_after)
		return x->not_after < y->not_after ? -1 : 1;
	return (int)x->type - (int)y->type;
}

static int
csv_row(struct jbuf *b, const struct expiring *e, const struct resident *h,
    const char *out_dir)
{
	char form[24], holder[2 * RESIDENT_NAME_MAX + 4], id[24], na[26];
	char opens[11], file[JPKI_PATH_MAX];
	int r;

	snprintf(form, sizeof(form), "%lld", (long long)e->form);
	snprintf(id, sizeof(id), "%lld", (long long)e->resident_id);
	snprintf(holder, sizeof(holder), "%s %s", h->surname, h->given);
	iso8601_format_jst(e->not_after, na);
	jdate_format(rules_renewal_opens_on(e->not_after), opens);
	if ((r = jpki_path(file, sizeof(file), "%s/notice-%lld.pdf", out_dir,
	    (long long)e->form)) ||
	    (r = counter_csv_put_field(b, form, 0)) ||
	    (r = counter_csv_put_field(b, id, 0)) ||
	    (r = counter_csv_put_field(b, holder, 0)) ||
	    (r = counter_csv_put_field(b, h->address, 0)) ||
	    (r = counter_csv_put_field(b, rules_cert_type_name(e->type), 0)) ||
	    (r = counter_csv_put_field(b, e->serial, 0)) ||
	    (r = counter_csv_put_field(b, na, 0)) ||
	    (r = counter_csv_put_field(b, opens, 0)) ||
	    (r = counter_csv_put_field(b, e->is_new ? "new" : "already", 0)) ||
	    (r = counter_csv_put_field(b, file, 1)))
		return r;
	return JPKI_OK;
}

/* Drop from *g[0..n) the certificates that already have a notice form
 * (counting them as already noticed); returns how many are left. */
static size_t
drop_noticed(struct store *s, struct notice_run *run, struct expiring **g,
    size_t n, int *r)
{
	*r = JPKI_OK;
	for (size_t i = 0; i < n;) {
		if ((*r = store_form_notice_find(s, g[i]->serial, &g[i]->form)))
			return n;
		if (g[i]->form == 0) {
			i++;
			continue;
		}
		run->already++;
		g[i] = g[--n];
	}
	return n;
}

/* Print and record one notice for the certificates *g[0..n) of one holder.
 * The form's number is reserved and the PDF written (under a temporary
 * name, fsync'd) before the transaction, so the store's write lock is not
 * held while Pango lays out two pages; inside the transaction the
 * certificates are checked to still have no form (another run may have
 * noticed them: then this paper is discarded and the rest tried again),
 * and the form, its links and the audit entry recorded.  After the
 * commit the PDF is renamed into place. */
static int
make_notice(struct datadir *dd, struct notice_run *run, struct expiring **g,
    size_t n, const struct resident *holder, int64_t now)
{
	struct store *s = datadir_store(dd);
	struct municipality muni;
	struct inquiry_form f;
	struct notice_doc doc;
	char code[FORM_CODE_BUF] = "", subject[40], tmp[620], path[600];
	json_t *serials = NULL, *detail;
	int r, wrote = 0, in_tx = 0;
	size_t left;

	if ((r = store_municipality_get(s, holder->municipality, &muni)))
		return r;
again:
	if ((n = drop_noticed(s, run, g, n, &r)) == 0 || r != JPKI_OK)
		goto out;
	memset(&f, 0, sizeof(f));
	memset(&doc, 0, sizeof(doc));
	json_decref(serials);
	serials = json_array();
	f.resident_id = holder->id;
	f.purpose = FORM_RENEW;
	f.origin = FORM_FROM_NOTICE;
	f.issued_on = jst_date_of(now);
	f.created_at = now;
	/* Usable until the first of its certificates expires: after that it
	 * is no longer a renewal. */
	f.expiry = jst_date_of(g[0]->not_after);
	for (size_t i = 0; i < n; i++) {
		if (jdate_cmp(jst_date_of(g[i]->not_after), f.expiry) < 0)
			f.expiry = jst_date_of(g[i]->not_after);
		f.cert_types |= g[i]->type == CERT_SIGN ? COUNTER_SIGN :
		    COUNTER_AUTH;
		doc.certs[i].type = g[i]->type;
		memcpy(doc.certs[i].serial, g[i]->serial, SERIAL_HEX_MAX);
		doc.certs[i].not_after = g[i]->not_after;
		json_array_append_new(serials, json_string(g[i]->serial));
	}
	doc.ncerts = (int)n;
	if ((r = store_form_number_reserve(s, now, &f.number)) != JPKI_OK ||
	    (r = counter_form_prepare(&f, code)) != JPKI_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/notice-%lld.pdf", run->out_dir,
	    (long long)f.number);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	doc.kind = NOTICE_EXPIRY;
	doc.holder = holder;
	doc.muni = &muni;
	doc.form = &f;
	doc.code = code;
	doc.today = f.issued_on;
	if ((r = counter_notice_pdf_write(tmp, &doc,
	    datadir_config(dd)->document_mode)) != JPKI_OK)
		goto out;
	wrote = 1;

	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	in_tx = 1;
	left = drop_noticed(s, run, g, n, &r);
	if (r != JPKI_OK)
		goto out;
	if (left != n) {
		/* Raced with another run: this paper lists a certificate
		 * that now has a form.  Discard it and try the rest. */
		store_rollback(s);
		in_tx = 0;
		unlink(tmp);
		wrote = 0;
		jpki_wipe(code, sizeof(code));
		n = left;
		goto again;
	}
	if ((r = store_form_insert(s, &f)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((r = store_form_notice_link(s, g[i]->serial, f.number)))
			goto out;
	snprintf(subject, sizeof(subject), "resident:%lld",
	    (long long)holder->id);
	detail = json_pack("{s:I, s:O}", "form", (json_int_t)f.number,
	    "certificates", serials);
	if ((r = store_audit_json(s, run->clerk, "notice.expiry", subject,
	    detail)) != JPKI_OK)
		goto out;
	in_tx = 0;
	if ((r = store_commit(s)) != JPKI_OK)
		goto out;
	wrote = 0;      /* committed: the PDF is the form's, keep it */
	if (rename(tmp, path) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "notice %lld recorded but %s could "
		    "not be renamed (the next run puts it in place)",
		    (long long)f.number, tmp);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		g[i]->form = f.number;
		g[i]->is_new = 1;
	}
	run->notices_made++;
out:
	if (in_tx)
		store_rollback(s);
	if (wrote)
		unlink(tmp);
	jpki_wipe(code, sizeof(code));
	json_decref(serials);
	return r;
}

/* The holder's certificates g[0..n): those already noticed keep their
 * form; the rest get new notices, FORM_CERTS_MAX certificates to a form;
 * then the CSV rows. */
static int
notice_holder(struct datadir *dd, struct notice_run *run, struct expiring *g,
    size_t n, int64_t now, struct jbuf *csv)
{
	struct store *s = datadir_store(dd);
	struct resident holder;
	struct expiring *fresh[FORM_CERTS_MAX];
	size_t nfresh = 0;
	int r;

	if ((r = store_resident_get(s, g[0].resident_id, &holder)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < n; i++) {
		if ((r = store_form_notice_find(s, g[i].serial, &g[i].form)))
			return r;
		if (g[i].form != 0)
			run->already++;
		else
			fresh[nfresh++] = &g[i];
		if (nfresh == FORM_CERTS_MAX || (i + 1 == n && nfresh > 0)) {
			if ((r = make_notice(dd, run, fresh, nfresh, &holder,
			    now)) != JPKI_OK)
				return r;
			nfresh = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		if ((r = csv_row(csv, &g[i], &holder, run->out_dir)) != JPKI_OK)
			return r;
	return JPKI_OK;
}

/* The CSV lists holders' names and addresses: it gets the document mode
 * (0600 unless the config says otherwise), exactly, on a fresh file (a
 * killed run's temporary is unlinked first; we hold the directory's
 * lock). */
static int
write_csv(const char *path, const struct jbuf *b, mode_t mode)
{
	char tmp[JPKI_PATH_MAX];
	int r;

	if ((r = jpki_path(tmp, sizeof(tmp), "%s.tmp", path)) != JPKI_OK)
		return r;
	if (unlink(tmp) != 0 && errno != ENOENT)
		return jpki_fail(JPKI_ERR_IO, "cannot write %s: %s", tmp,
		    strerror(errno));
	if ((r = durable_write(tmp, b->data, b->len, mode)) != JPKI_OK)
		return r;
	if (chmod(tmp, mode) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return jpki_fail(JPKI_ERR_IO, "cannot write %s: %s", path,
		    strerror(errno));
	}
	return durable_sync_dir_of(path);
}

/* A crash between a notice's commit and the rename of its PDF leaves
 * notice-N.pdf.tmp behind: put it in place if form N was recorded, else
 * (the transaction never committed) delete it.  The check code is only in
 * that file, so it must not be lost. */
static int
recover_pending(struct datadir *dd, const char *dir)
{
	struct inquiry_form f;
	struct dirent *e;
	char path[JPKI_PATH_MAX], final[JPKI_PATH_MAX], tail[16];
	long long n;
	DIR *d;
	int r = JPKI_OK;

	if ((d = opendir(dir)) == NULL)
		return jpki_fail(JPKI_ERR_IO, "cannot read %s: %s", dir,
		    strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "notice-%lld.pdf%15s", &n, tail) != 2 ||
		    strcmp(tail, ".tmp") != 0 || n <= 0)
			continue;
		if ((r = jpki_path(path, sizeof(path), "%s/%s", dir,
		    e->d_name)) != JPKI_OK ||
		    (r = jpki_path(final, sizeof(final), "%s/notice-%lld.pdf",
		    dir, n)) != JPKI_OK)
			break;
		r = store_form_get(datadir_store(dd), n, &f);
		if (r == JPKI_OK && f.origin == FORM_FROM_NOTICE) {
			if (rename(path, final) != 0) {
				r = jpki_fail(JPKI_ERR_IO, "cannot rename %s",
				    path);
				break;
			}
		} else if (r == JPKI_OK || r == JPKI_ERR_NOTFOUND) {
			unlink(path);
			r = JPKI_OK;
		} else {
			break;
		}
	}
	closedir(d);
	return r;
}

int
counter_notices(struct datadir *dd, struct notice_run *run)
{
	static const char header[] = "form,resident,holder,address,type,"
	    "serial,not_after,renewal_opens,status,file\r\n";
	struct expiring_list list = {NULL, 0, 0, 0};
	struct jbuf csv;
	struct stat st;
	struct jdate today, last;
	size_t holders = 0, done = 0;
	char lock_path[JPKI_PATH_MAX];
	int64_t now;
	int r, lock_fd = -1;

	run->certificates = run->notices_made = run->already = 0;
	run->csv_path[0] = '\0';
	jbuf_init(&csv);
	if ((r = counter_visit_check(&(struct counter_visit){
	    .clerk = run->clerk})) != JPKI_OK)
		return r;
	if (run->within_months < 0 || run->within_days < 0 ||
	    (run->within_months == 0) == (run->within_days == 0) ||
	    run->within_months > NOTICE_WINDOW_MONTHS_MAX ||
	    run->within_days > NOTICE_WINDOW_DAYS_MAX)
		return jpki_fail(JPKI_ERR_USAGE, "notices are for certificates "
		    "expiring within 1-%d months or 1-%d days",
		    NOTICE_WINDOW_MONTHS_MAX, NOTICE_WINDOW_DAYS_MAX);
	if (run->out_dir == NULL || strlen(run->out_dir) > 400)
		return jpki_fail(JPKI_ERR_USAGE, "the notices' directory is "
		    "required");
	if (stat(run->out_dir, &st) != 0) {
		if (errno != ENOENT || mkdir(run->out_dir, 0700) != 0)
			return jpki_fail(JPKI_ERR_IO, "cannot create %s: %s",
			    run->out_dir, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		return jpki_fail(JPKI_ERR_USAGE, "%s is not a directory (for "
		    "notices)", run->out_dir);
	}
	if ((r = jpki_now_checked(&now)) != JPKI_OK)
		return r;
	/* One run per directory: the recovery below must not take another
	 * run's PDF in the making for a leftover, nor two runs write one
	 * CSV. */
	if ((r = jpki_path(lock_path, sizeof(lock_path), "%s/.notices.lock",
	    run->out_dir)) != JPKI_OK)
		return r;
	if ((lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return jpki_fail(JPKI_ERR_IO, "cannot open %s: %s", lock_path,
		    strerror(errno));
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
		close(lock_fd);
		return jpki_fail(JPKI_ERR_CONFLICT, "another notice run is "
		    "writing to %s", run->out_dir);
	}
	if ((r = recover_pending(dd, run->out_dir)) != JPKI_OK)
		goto out;
	today = jst_date_of(now);
	last = run->within_months ? jdate_add_months(today,
	    run->within_months) : jdate_add_days(today, run->within_days);

	r = store_cert_expiring(datadir_store(dd), now, jst_end_of_day(last),
	    collect, &list);
	if (r == JPKI_OK && list.failed)
		r = jpki_fail(JPKI_ERR_NOMEM, "notices: more than %ld "
		    "certificates or out of memory", NOTICE_CERTS_MAX);
	if (r != JPKI_OK)
		goto out;
	run->certificates = (long)list.n;
	if (list.n > 1)  /* qsort's array may not be NULL, even for none */
		qsort(list.v, list.n, sizeof(*list.v), by_holder);
	for (size_t i = 0; i < list.n; i++)
		if (i == 0 || list.v[i].resident_id != list.v[i - 1].resident_id)
			holders++;
	if ((r = jbuf_put(&csv, header, sizeof(header) - 1)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < list.n;) {
		size_t j = i;

		while (j < list.n && list.v[j].resident_id ==
		    list.v[i].resident_id)
			j++;
		if ((r = notice_holder(dd, run, list.v + i, j - i, now, &csv)))
			goto out;
		if (run->progress != NULL)
			run->progress(run->progress_arg, ++done, holders);
		i = j;
	}
	if ((r = jpki_path(run->csv_path, sizeof(run->csv_path),
	    "%s/notices.csv", run->out_dir)) != JPKI_OK)
		goto out;
	r = write_csv(run->csv_path, &csv, datadir_config(dd)->document_mode);
out:
	free(list.v);
	jbuf_free(&csv);
	if (lock_fd >= 0)
		close(lock_fd);
	return r;
}
