/*
 * cli_store.c: `jpki store migrate|copy`: the store's schema and its
 * database.  migrate brings a data directory's database to this program's
 * schema (what a read-write open does anyway; read-only servers refuse an
 * older schema until it is done); copy moves a whole store from one
 * database to another, empty one and verifies the copy.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki store migrate [--json]\n"
    "       jpki store copy [--from URL] --to URL [--json]\n"
    "       (--from: default the data directory's own store)\n"
    "common: --data DIR\n"
    "URL: sqlite:PATH, a path (SQLite), or postgresql://USER@HOST:PORT/DB\n";

static int
store_migrate_cmd(const char *data, int json)
{
	struct jpki_config c;
	struct store *s = NULL;
	char path[JPKI_PATH_MAX];
	int before = 0, after = 0, r;

	data = cli_data_dir(data);
	if ((r = jpki_path(path, sizeof(path), "%s/config", data)) != JPKI_OK ||
	    (r = store_config_load(path, &c)) != JPKI_OK ||
	    (r = store_open_datadir_migrating(data, &c, &before, &s)) !=
	    JPKI_OK ||
	    (r = store_schema_version(s, &after)) != JPKI_OK) {
		store_close(&s);
		return cli_report(r);
	}
	if (json)
		cli_print_json(json_pack("{s:s, s:i, s:i, s:b}", "database",
		    store_database_name(s), "from", before, "to", after,
		    "migrated", before != after));
	else if (before == after)
		printf("%s store at schema %d: nothing to migrate\n",
		    store_database_name(s), after);
	else
		printf("%s store migrated from schema %d to %d\n",
		    store_database_name(s), before, after);
	store_close(&s);
	return 0;
}

/* The URL of a data directory's own store (a relative SQLite path is
 * relative to the directory). */
static int
datadir_url(const char *data, char *url, size_t n)
{
	struct jpki_config c;
	char path[JPKI_PATH_MAX];
	int r;

	data = cli_data_dir(data);
	if ((r = jpki_path(path, sizeof(path), "%s/config", data)) != JPKI_OK ||
	    (r = store_config_load(path, &c)) != JPKI_OK)
		return r;
	if (strncmp(c.database, "sqlite:", 7) == 0 && c.database[7] != '/')
		return jpki_path(url, n, "sqlite:%s/%s", data, c.database + 7);
	return jpki_path(url, n, "%s", c.database);
}

static int
store_copy_cmd(const char *data, const char *from, const char *to, int json)
{
	struct store_copy_report rep;
	struct store *a = NULL, *b = NULL;
	char own[JPKI_PATH_MAX + 16];
	int r;

	if (to == NULL)
		return cli_usage("store copy: --to URL is needed");
	if (from == NULL) {
		if ((r = datadir_url(data, own, sizeof(own))) != JPKI_OK)
			return cli_report(r);
		from = own;
	}
	if (strcmp(from, to) == 0)
		return cli_usage("store copy: --from and --to name the same "
		    "database");
	if ((r = store_open(from, &a)) != JPKI_OK ||
	    (r = store_open(to, &b)) != JPKI_OK ||
	    (r = store_copy(a, b, &rep)) != JPKI_OK) {
		store_close(&a);
		store_close(&b);
		return cli_report(r);
	}
	if (json) {
		json_t *tables = json_object();

		for (size_t i = 0; i < rep.ntables; i++)
			json_object_set_new(tables, rep.table[i].name,
			    json_integer(rep.table[i].rows));
		cli_print_json(json_pack("{s:s, s:s, s:I, s:o, s:I, s:b}",
		    "from", store_database_name(a), "to",
		    store_database_name(b), "rows", (json_int_t)rep.rows,
		    "tables", tables, "audit_entries",
		    (json_int_t)rep.audit_entries, "verified", 1));
	} else {
		printf("copied %ld rows in %zu tables from %s to %s; verified: "
		    "row counts, audit chain of %ld entries intact and "
		    "ending as the source's\n", rep.rows, rep.ntables,
		    store_database_name(a), store_database_name(b),
		    rep.audit_entries);
	}
	store_close(&a);
	store_close(&b);
	return 0;
}

int
cli_store(int argc, char **argv)
{
	const char *data = NULL, *from = NULL, *to = NULL;
	int json = 0, rc, copy;
	const struct cli_opt copy_opts[] = {
	    {"from", CLI_VALUE, .value = &from},
	    {"to", CLI_VALUE, .value = &to},
	};
	struct cli_command cmd = {.group = "store", .usage = usage_text,
	    .data = &data, .json = &json};

	if (strcmp(argv[1], "migrate") != 0 && strcmp(argv[1], "copy") != 0)
		return cli_not_a_subcommand(argv, usage_text);
	copy = strcmp(argv[1], "copy") == 0;
	if (copy) {
		cmd.opts = copy_opts;
		cmd.nopts = JPKI_ARRAY_LEN(copy_opts);
	}
	if ((rc = cli_parse(&cmd, argc - 1, argv + 1)) != CLI_RUN)
		return rc;
	return copy ? store_copy_cmd(data, from, to, json) :
	    store_migrate_cmd(data, json);
}
