/*
 * cli_resident.c: `jpki resident add|import|show|list|change`.
 */
#include "cli/cli.h"
#include "counter/counter.h"
#include "counter/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: jpki resident add --number 12DIGITS --name \"SURNAME GIVEN\" "
    "--address ADDR\n"
    "                         --birth YYYY-MM-DD --gender male|female|unknown\n"
    "                         [--kana KANA] [--municipality CODE] [--json]\n"
    "                         [--name-flags 0100…] [--address-flags 00…]\n"
    "       jpki resident import FILE.csv [--json]\n"
    "       jpki resident show ID [--json]\n"
    "       jpki resident list [--json]\n"
    "       jpki resident change ID [--name N] [--address A] [--birth D]\n"
    "                         [--gender G] [--kana K] [--deceased | --moved-away]\n"
    "                         [--json]\n"
    "common: --data DIR, --clerk NAME\n";

struct args {
	const char *data, *clerk;
	int json, deceased, moved_away;
	struct counter_register_input in;
	const char *pos[2];
	int npos;
};

static int
parse(int argc, char **argv, struct args *a)
{
	int r;
	const struct cli_opt opts[] = {
	    {"number", CLI_TEXT, .value = &a->in.number},
	    {"name", CLI_TEXT, .value = &a->in.name},
	    {"kana", CLI_TEXT, .value = &a->in.kana},
	    {"address", CLI_TEXT, .value = &a->in.address},
	    {"birth", CLI_TEXT, .value = &a->in.birth},
	    {"gender", CLI_TEXT, .value = &a->in.gender},
	    {"municipality", CLI_TEXT, .value = &a->in.municipality},
	    {"clerk", CLI_VALUE, .value = &a->clerk},
	    {"actor", CLI_VALUE, .value = &a->clerk},
	    {"deceased", CLI_FLAG, .flag = &a->deceased},
	    {"moved-away", CLI_FLAG, .flag = &a->moved_away},
	    {"name-flags", CLI_TEXT, .value = &a->in.name_flags},
	    {"address-flags", CLI_TEXT, .value = &a->in.address_flags},
	};
	struct cli_command cmd = {.group = "resident", .usage = usage_text,
	    .opts = opts, .nopts = JPKI_ARRAY_LEN(opts), .data = &a->data,
	    .json = &a->json, .pos = a->pos, .max_pos = 2};

	memset(a, 0, sizeof(*a));
	if ((r = cli_parse(&cmd, argc, argv)) != CLI_RUN)
		return r;
	a->npos = cmd.npos;
	if (a->clerk == NULL)
		a->clerk = "operator";
	return CLI_RUN;
}

static json_t *
resident_json(struct cli_env *e, const struct resident *r)
{
	struct municipality m;
	char birth[11];

	jdate_format(r->birth, birth);
	if (store_municipality_get(datadir_store(e->dd), r->municipality, &m))
		memset(&m, 0, sizeof(m));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:{s:s, s:s, s:s, s:s}, s:s, s:I}",
	    "id", (json_int_t)r->id, "number", r->number,
	    "surname", r->surname, "given", r->given,
	    "kana", r->name_kana, "name_flags", r->name_flags,
	    "address", r->address, "address_flags", r->address_flags,
	    "birth", birth, "gender", rules_gender_name(r->gender),
	    "municipality", "code", m.code, "name", m.name_ja,
	    "romaji", m.name_romaji, "prefecture", m.pref_ja,
	    "status", store_resident_status_name(r->status),
	    "facts_version", (json_int_t)r->facts_version);
}

static void
resident_print(struct cli_env *e, const struct resident *r)
{
	struct municipality m;
	char birth[11];

	jdate_format(r->birth, birth);
	if (store_municipality_get(datadir_store(e->dd), r->municipality, &m))
		memset(&m, 0, sizeof(m));
	printf("id:           %lld\nnumber:       %s\nname:         %s %s\n"
	    "kana:         %s\naddress:      %s\nbirth:        %s\n"
	    "gender:       %s\nmunicipality: %s %s%s (%s)\nstatus:       %s\n",
	    (long long)r->id, r->number, r->surname, r->given, r->name_kana,
	    r->address, birth, rules_gender_name(r->gender), m.code, m.pref_ja,
	    m.name_ja, m.name_romaji,
	    store_resident_status_name(r->status));
}

static int
parse_id(const char *s, int64_t *id)
{
	long long v;
	int r;

	if (s == NULL)
		return jpki_fail(JPKI_ERR_USAGE, "a resident ID is needed");
	if ((r = cli_parse_i64("ID", s, &v)) != JPKI_OK)
		return r;
	if (v <= 0)
		return jpki_fail(JPKI_ERR_USAGE, "ID: must be positive");
	*id = v;
	return JPKI_OK;
}

static int
cmd_add(struct cli_env *e, struct args *a)
{
	struct resident r;
	int rc;

	if (a->npos != 0)
		return jpki_fail(JPKI_ERR_USAGE, "add takes options only");
	if ((rc = counter_register_parse(e->dd, &a->in, &r)) != JPKI_OK ||
	    (rc = counter_register_add(e->dd, &r, a->clerk)) != JPKI_OK)
		return rc;
	if (a->json)
		cli_print_json(resident_json(e, &r));
	else
		printf("added resident %lld\n", (long long)r.id);
	return JPKI_OK;
}

static int
cmd_import(struct cli_env *e, struct args *a)
{
	struct jbuf data;
	long added;
	int rc;

	if (a->npos != 1)
		return jpki_fail(JPKI_ERR_USAGE, "import takes one CSV file");
	if ((rc = file_read_all(a->pos[0], CSV_INPUT_MAX, &data)) != JPKI_OK)
		return rc;
	rc = counter_register_import_csv(e->dd, data.data, data.len, a->clerk,
	    &added);
	jbuf_free(&data);
	if (rc != JPKI_OK)
		return rc;
	if (a->json)
		cli_print_json(json_pack("{s:I}", "added", (json_int_t)added));
	else
		printf("imported %ld residents\n", added);
	return JPKI_OK;
}

static int
cmd_show(struct cli_env *e, struct args *a)
{
	struct resident r;
	int64_t id = 0;
	int rc;

	if (a->npos != 1)
		return jpki_fail(JPKI_ERR_USAGE, "show takes one resident ID");
	if ((rc = parse_id(a->pos[0], &id)) != JPKI_OK ||
	    (rc = store_resident_get(datadir_store(e->dd), id, &r)) != JPKI_OK)
		return rc;
	if (a->json)
		cli_print_json(resident_json(e, &r));
	else
		resident_print(e, &r);
	return JPKI_OK;
}

struct list_ctx {
	struct cli_env *e;
	json_t *arr;
};

static int
list_one(void *arg, const struct resident *r)
{
	struct list_ctx *l = arg;
	char birth[11];

	if (l->arr != NULL) {
		json_array_append_new(l->arr, resident_json(l->e, r));
	} else {
		jdate_format(r->birth, birth);
		printf("%-6lld %s  %s %s  %s  %s\n", (long long)r->id, r->number,
		    r->surname, r->given, birth, rules_gender_name(r->gender));
	}
	return 0;
}

static int
cmd_list(struct cli_env *e, struct args *a)
{
	struct list_ctx l = {e, a->json ? json_array() : NULL};
	int rc;

	if (a->npos != 0)
		return jpki_fail(JPKI_ERR_USAGE, "list takes no arguments");
	rc = store_resident_list(datadir_store(e->dd), 0, 0, list_one, &l);
	if (l.arr != NULL) {
		if (rc == JPKI_OK)
			cli_print_json(l.arr);
		else
			json_decref(l.arr);
	}
	return rc;
}

static int
cmd_change(struct cli_env *e, struct args *a)
{
	struct counter_register_change ch;
	int64_t id = 0;
	int rc, revoked;

	if (a->npos != 1)
		return jpki_fail(JPKI_ERR_USAGE, "change takes one resident ID");
	if ((rc = parse_id(a->pos[0], &id)) != JPKI_OK)
		return rc;
	if (a->in.name_flags != NULL || a->in.address_flags != NULL)
		return jpki_fail(JPKI_ERR_USAGE, "change: substitution flags "
		    "are given when a resident is added (a changed name or "
		    "address starts with all 0)");
	if (a->in.number != NULL || a->in.municipality != NULL)
		return jpki_fail(JPKI_ERR_USAGE, "change: the individual number "
		    "and municipality are not changed here");
	memset(&ch, 0, sizeof(ch));
	ch.name = a->in.name;
	ch.kana = a->in.kana;
	ch.address = a->in.address;
	ch.birth = a->in.birth;
	ch.gender = a->in.gender;
	ch.deceased = a->deceased;
	ch.moved_away = a->moved_away;
	if ((rc = counter_register_change(e->ca, id, &ch, a->clerk, &revoked)))
		return rc;
	if (a->json)
		cli_print_json(json_pack("{s:I, s:i}", "id", (json_int_t)id,
		    "revoked", revoked));
	else
		printf("changed resident %lld; %d certificate%s revoked\n",
		    (long long)id, revoked, revoked == 1 ? "" : "s");
	return JPKI_OK;
}

int
cli_resident(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli_env *, struct args *);
		unsigned open;
	} cmds[] = {
	    {"add", cmd_add, CLI_WRITE}, {"import", cmd_import, CLI_WRITE},
	    {"show", cmd_show, CLI_READ}, {"list", cmd_list, CLI_READ},
	    /* R6: a change of facts revokes the signing certificate. */
	    {"change", cmd_change, CLI_CA_SIGN},
	};
	struct args a;
	struct cli_env env;
	int rc;

	for (size_t i = 0; i < JPKI_ARRAY_LEN(cmds); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if ((rc = parse(argc - 1, argv + 1, &a)) != CLI_RUN)
			return rc;
		if ((rc = cli_open(a.data, cmds[i].open, &env)) != 0)
			return rc;
		rc = cmds[i].run(&env, &a);
		cli_close(&env);
		return cli_report(rc);
	}
	return cli_not_a_subcommand(argv, usage_text);
}
