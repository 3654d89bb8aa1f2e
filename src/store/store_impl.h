/*
 * store_impl.h: private to the store module.  struct store dispatches
 * through store_ops so that another database (PostgreSQL) can implement the
 * same interface; store.c holds the public wrappers.
 */
#ifndef JPKI_STORE_IMPL_H
#define JPKI_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
	const char *name;
	void (*close)(void *impl);
	int (*set_durable)(void *impl, int durable);
	int (*schema_version)(void *impl, int *out);
	int (*begin)(void *impl);
	int (*commit)(void *impl);
	void (*rollback)(void *impl);
	int (*in_transaction)(void *impl);
	int (*data_version)(void *impl, uint64_t *out);

	int (*municipality_put)(void *impl, const struct municipality *m);
	int (*municipality_get)(void *impl, const char *code,
	    struct municipality *out);
	int (*municipality_count)(void *impl, long *out);

	int (*resident_insert)(void *impl, struct resident *r);
	int (*resident_update)(void *impl, const struct resident *r);
	int (*resident_get)(void *impl, int64_t id, struct resident *out);
	int (*resident_by_number)(void *impl, const char *number,
	    struct resident *out);
	int (*resident_list)(void *impl, int64_t after_id, long limit,
	    int (*fn)(void *, const struct resident *), void *arg);
	int (*resident_count)(void *impl, long *out);

	int (*card_insert)(void *impl, struct card_record *c);
	int (*card_update)(void *impl, const struct card_record *c);
	int (*card_get)(void *impl, int64_t id, struct card_record *out);
	int (*card_by_serial)(void *impl, const char *serial,
	    struct card_record *out);
	int (*card_current)(void *impl, int64_t resident_id,
	    struct card_record *out);

	int (*cert_insert)(void *impl, const struct cert_record *c);
	int (*cert_get)(void *impl, const char *serial, struct cert_record *out);
	int (*cert_revoke)(void *impl, const char *serial, int reason,
	    int64_t at);
	int (*cert_list)(void *impl, int64_t resident_id,
	    int (*fn)(void *, const struct cert_record *), void *arg);
	int (*cert_count)(void *impl, long *out);
	int (*cert_valid_of)(void *impl, int64_t resident_id,
	    enum cert_type type, int64_t now, char serial[SERIAL_HEX_MAX],
	    int64_t *not_after);
	int (*revocation_list)(void *impl, enum cert_type ca, int shard,
	    int (*fn)(void *, const char *, int64_t, int), void *arg);
	int (*crl_number_next)(void *impl, enum cert_type ca, int shard,
	    int64_t *out);

	/* Audit: the implementation stores and fetches; chaining is common. */
	int (*audit_last)(void *impl, int64_t *seq, uint8_t hash[32]);
	int (*audit_insert)(void *impl, const struct audit_entry *e);
	int (*audit_list)(void *impl, int64_t after_seq, long limit,
	    int (*fn)(void *, const struct audit_entry *), void *arg);
	int (*audit_count)(void *impl, long *out);

	/* ---- counter ---- */
	int (*receipt_insert)(void *impl, struct receipt_record *r);
	int (*receipt_get)(void *impl, int64_t id, struct receipt_record *out);
	int (*receipt_line_add)(void *impl, int64_t receipt_id, int line,
	    const char *item, long yen);
	int (*receipt_lines)(void *impl, int64_t receipt_id,
	    int (*fn)(void *, int, const char *, long), void *arg);
	int (*cert_link_add)(void *impl, const char *old_serial,
	    const char *new_serial, const char *kind, int64_t at,
	    int64_t receipt_id);
	int (*cert_links)(void *impl, const char *serial,
	    int (*fn)(void *, const char *, const char *, const char *,
	    int64_t), void *arg);
	int (*pin_reset_add)(void *impl, int64_t receipt_id, int64_t card_id,
	    int pin_kind, int was_locked);
	int (*pin_reset_count)(void *impl, int64_t card_id, long *out);
	int (*cards_of)(void *impl, int64_t resident_id,
	    int (*fn)(void *, const struct card_record *), void *arg);
	int (*card_image_set)(void *impl, int64_t card_id,
	    const uint8_t sha256[32], int64_t receipt_id, int64_t at);
	int (*card_image_get)(void *impl, int64_t card_id, uint8_t sha256[32]);

	/* ---- proxy forms ---- */
	int (*form_insert)(void *impl, struct inquiry_form *f);
	int (*form_number_reserve)(void *impl, int64_t at, int64_t *number);
	int (*form_get)(void *impl, int64_t number, struct inquiry_form *out);
	int (*form_mark_used)(void *impl, int64_t number, int64_t at);
	int (*form_notice_link)(void *impl, const char *serial, int64_t number);
	int (*form_notice_find)(void *impl, const char *serial,
	    int64_t *number);
	int (*proxy_app_insert)(void *impl, struct proxy_application *a);
	int (*proxy_app_update)(void *impl,
	    const struct proxy_application *a);
	int (*proxy_app_get)(void *impl, int64_t id,
	    struct proxy_application *out);
	int (*cert_expiring)(void *impl, int64_t from, int64_t to,
	    int (*fn)(void *, const struct cert_record *), void *arg);
};

struct store {
	const struct store_ops *ops;
	void *impl;
};

extern const struct store_ops store_sqlite_ops;
int store_sqlite_open(const char *path, void **impl);

#endif
