/*
 * datadir.c: creating and opening a data directory (datadir.h).
 */
#include "datadir/datadir.h"
#include "card/card.h"
#include "rules/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct datadir {
	char root[JPKI_PATH_MAX];
	struct jpki_config config;
	struct store *store;
	enum datadir_mode mode;
};

static const char *const place_name[] = {
	[DATADIR_CONFIG] = "config",
	[DATADIR_ISSUER_MASTER_KEY] = "issuer-master.key",
	[DATADIR_CA_DIR] = "ca",
	[DATADIR_CARDS_DIR] = "cards",
	[DATADIR_CRL_DIR] = "crl",
};

/* What an earlier deployment leaves; any of them present means
 * "initialised" (even with its config lost). */
static const enum datadir_file deployment_owned[] = {
	DATADIR_CONFIG, DATADIR_ISSUER_MASTER_KEY, DATADIR_CA_DIR,
};

static int
path_in(const char *root, const char *place, const char *sub, char *buf,
    size_t n)
{
	if (sub != NULL)
		return jpki_path(buf, n, "%s/%s/%s", root, place, sub);
	return jpki_path(buf, n, "%s/%s", root, place);
}

int
datadir_path(const struct datadir *dd, enum datadir_file f, const char *sub,
    char *buf, size_t n)
{
	if ((size_t)f >= JPKI_ARRAY_LEN(place_name))
		return jpki_fail(JPKI_ERR_INTERNAL, "data directory: no place %d",
		    (int)f);
	return path_in(dd->root, place_name[f], sub, buf, n);
}

static int
make_dir(const char *path)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	return JPKI_OK;
}

static int
config_from_options(const struct datadir_init_options *o,
    struct jpki_config *c)
{
	store_config_defaults(c);
	if (o->municipality != NULL) {
		if (!rules_municipality_code_valid(o->municipality))
			return jpki_fail(JPKI_ERR_INPUT, "municipality: '%s' is "
			    "not a 6-digit local government code with a valid "
			    "check digit", o->municipality);
		snprintf(c->municipality, sizeof(c->municipality), "%s",
		    o->municipality);
	}
	if (o->key_bits != 0) {
		if (o->key_bits < 2048 || o->key_bits > 4096)
			return jpki_fail(JPKI_ERR_INPUT,
			    "key bits: 2048 to 4096");
		c->key_bits = o->key_bits;
	}
	if (o->production_policy)
		c->test_policy = 0;
	if (o->database != NULL && *o->database != '\0') {
		if (strlen(o->database) >= sizeof(c->database))
			return jpki_fail(JPKI_ERR_INPUT, "database: URL longer "
			    "than %zu bytes", sizeof(c->database) - 1);
		snprintf(c->database, sizeof(c->database), "%s", o->database);
	}
	if (o->base_url != NULL) {
		if (strncmp(o->base_url, "http://", 7) != 0 ||
		    strlen(o->base_url) >= sizeof(c->base_url) - 64)
			return jpki_fail(JPKI_ERR_INPUT,
			    "base URL: an http:// URL is needed (CDP/AIA)");
		snprintf(c->base_url, sizeof(c->base_url), "%s", o->base_url);
		snprintf(c->cps_uri, sizeof(c->cps_uri), "%s/cps",
		    o->base_url);
	}
	return JPKI_OK;
}

static int
load_municipalities(struct store *s, const char *own)
{
	struct municipality *t = NULL;
	size_t n = 0;
	int r, found = 0;

	if ((r = store_municipality_table_load(&t, &n)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].code, own) == 0)
			found = 1;
	if (!found) {
		free(t);
		return jpki_fail(JPKI_ERR_INPUT, "municipality: no municipality "
		    "with code %s in the shipped table", own);
	}
	if ((r = store_begin(s)) != JPKI_OK)
		goto out;
	for (size_t i = 0; i < n && r == JPKI_OK; i++)
		r = store_municipality_put(s, &t[i]);
	if (r == JPKI_OK)
		r = store_audit_json(s, "jpki-init", "datadir.init", own,
		    json_pack("{s:s}", "municipalities", "loaded"));
	if (r == JPKI_OK)
		r = store_commit(s);
	else
		store_rollback(s);
out:
	free(t);
	return r;
}

static int
datadir_new(const char *dir, struct datadir **out)
{
	struct datadir *dd;

	*out = NULL;
	if (dir == NULL || *dir == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "data directory: empty path");
	/* Room for the longest name inside it. */
	if (strlen(dir) >= JPKI_PATH_MAX - 128)
		return jpki_fail(JPKI_ERR_INPUT, "data directory: path longer "
		    "than %d bytes", JPKI_PATH_MAX - 128);
	if ((dd = calloc(1, sizeof(*dd))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	snprintf(dd->root, sizeof(dd->root), "%s", dir);
	*out = dd;
	return JPKI_OK;
}

static int
refuse_earlier_deployment(const struct datadir *dd)
{
	char path[JPKI_PATH_MAX];
	int r;

	/* Never over a previous deployment's keys or store, even one whose
	 * config was lost: that would orphan every certificate it issued. */
	for (size_t i = 0; i < JPKI_ARRAY_LEN(deployment_owned); i++) {
		if ((r = datadir_path(dd, deployment_owned[i], NULL, path,
		    sizeof(path))) != JPKI_OK)
			return r;
		if (access(path, F_OK) == 0)
			return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists: "
			    "refusing to initialise over an existing data "
			    "directory", path);
	}
	if ((r = path_in(dd->root, "jpki.db", NULL, path, sizeof(path))))
		return r;
	if (access(path, F_OK) == 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s already exists: refusing "
		    "to initialise over an existing data directory", path);
	return JPKI_OK;
}

/* A database server is shared: a database that already holds a
 * deployment (any audit entry) is another directory's store. */
static int
refuse_used_database(const struct datadir *dd)
{
	long n = 0;
	int r;

	if ((r = store_audit_count(dd->store, &n)) != JPKI_OK)
		return r;
	if (n > 0)
		return jpki_fail(JPKI_ERR_CONFLICT, "database %s already holds "
		    "a JPKI store (%ld audit entries): refusing to initialise "
		    "over it; a second server on it needs a copy of its data "
		    "directory, not a new one", dd->config.database, n);
	return JPKI_OK;
}

int
datadir_create(const char *dir, const struct datadir_init_options *o,
    struct datadir **out)
{
	static const enum datadir_file dirs[] = {
		DATADIR_CA_DIR, DATADIR_CARDS_DIR,
	};
	struct datadir *dd = NULL;
	char path[JPKI_PATH_MAX];
	int r;

	*out = NULL;
	if ((r = datadir_new(dir, &dd)) != JPKI_OK)
		return r;
	if ((r = config_from_options(o, &dd->config)) != JPKI_OK ||
	    (r = refuse_earlier_deployment(dd)) != JPKI_OK ||
	    (r = make_dir(dd->root)) != JPKI_OK)
		goto fail;
	for (size_t i = 0; i < JPKI_ARRAY_LEN(dirs); i++)
		if ((r = datadir_path(dd, dirs[i], NULL, path, sizeof(path))) ||
		    (r = make_dir(path)))
			goto fail;
	if ((r = store_open_datadir(dd->root, &dd->config, &dd->store)) ||
	    (r = refuse_used_database(dd)) ||
	    (r = load_municipalities(dd->store, dd->config.municipality)))
		goto fail;
	/* The card issuer master key: counter operations on cards prove it
	 * (GET CHALLENGE + EXTERNAL AUTHENTICATE with a per-card key). */
	if ((r = datadir_path(dd, DATADIR_ISSUER_MASTER_KEY, NULL, path,
	    sizeof(path))) != JPKI_OK ||
	    (r = card_issuer_master_create(path)) != JPKI_OK)
		goto fail;
	*out = dd;
	return JPKI_OK;
fail:
	datadir_close(&dd);
	return r;
}

int
datadir_create_finish(struct datadir *dd)
{
	char path[JPKI_PATH_MAX];
	int r;

	/* The config is written last: its presence means "initialised". */
	if ((r = datadir_path(dd, DATADIR_CONFIG, NULL, path, sizeof(path))))
		return r;
	return store_config_write(path, &dd->config);
}

int
datadir_open(const char *dir, enum datadir_mode mode, struct datadir **out)
{
	struct datadir *dd = NULL;
	char path[JPKI_PATH_MAX];
	int r;

	*out = NULL;
	if ((r = datadir_new(dir, &dd)) != JPKI_OK)
		return r;
	dd->mode = mode;
	if ((r = datadir_path(dd, DATADIR_CONFIG, NULL, path, sizeof(path))) ||
	    (r = store_config_load(path, &dd->config)))
		goto fail;
	if (mode == DATADIR_READ_ONLY)
		r = store_open_readonly(dd->root, &dd->config, &dd->store);
	else
		r = store_open_datadir(dd->root, &dd->config, &dd->store);
	if (r != JPKI_OK)
		goto fail;
	*out = dd;
	return JPKI_OK;
fail:
	datadir_close(&dd);
	return r;
}

void
datadir_close(struct datadir **ddp)
{
	struct datadir *dd = *ddp;

	if (dd == NULL)
		return;
	store_close(&dd->store);
	free(dd);
	*ddp = NULL;
}

struct store *
datadir_store(struct datadir *dd)
{
	return dd->store;
}

const struct jpki_config *
datadir_config(const struct datadir *dd)
{
	return &dd->config;
}

const char *
datadir_root(const struct datadir *dd)
{
	return dd->root;
}

int
datadir_read_only(const struct datadir *dd)
{
	return dd->mode == DATADIR_READ_ONLY;
}
