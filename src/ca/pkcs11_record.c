/*
 * pkcs11_record.c: reading and writing <data>/ca/pkcs11 (pkcs11_record.h).
 */
#include "ca/pkcs11_record.h"

#include <stdio.h>
#include <string.h>

int
p11_key_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > P11_KEY_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '.'))
			return 0;
	return 1;
}

int
p11_token_label_valid(const char *s)
{
	size_t n = strlen(s);

	/* CK_TOKEN_INFO pads the label with blanks: none at either end. */
	if (n == 0 || n > P11_TOKEN_LABEL_MAX || s[0] == ' ' ||
	    s[n - 1] == ' ')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The next line of c (without its newline) into line[P11_RECORD_LINE_MAX]. */
static int
next_line(struct cursor *c, char *line, int lineno)
{
	size_t n = 0;
	uint8_t ch;

	while (cursor_get_u8(c, &ch) == JPKI_OK && ch != '\n') {
		if (n + 1 >= P11_RECORD_LINE_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "line %d: longer than "
			    "%d bytes", lineno, P11_RECORD_LINE_MAX - 1);
		if (ch == '\0' || (ch < 0x20 && ch != '\t' && ch != '\r'))
			return jpki_fail(JPKI_ERR_INPUT, "line %d: a control "
			    "character", lineno);
		line[n++] = (char)ch;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
	    line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	return JPKI_OK;
}

static int
parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 != 0 || n / 2 > max)
		return JPKI_ERR_INPUT;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_digit_value(s[i]), lo = hex_digit_value(s[i + 1]);

		if (hi < 0 || lo < 0)
			return JPKI_ERR_INPUT;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return JPKI_OK;
}

static int
parse_line(struct p11_record *rec, char *s, int lineno)
{
	char *eq, *key, *val, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return JPKI_OK;
	if ((eq = strchr(s, '=')) == NULL)
		return jpki_fail(JPKI_ERR_INPUT, "line %d: not key = value",
		    lineno);
	*eq = '\0';
	key = s;
	for (e = eq; e > key && (e[-1] == ' ' || e[-1] == '\t'); e--)
		e[-1] = '\0';
	for (val = eq + 1; *val == ' ' || *val == '\t'; val++)
		;
	if (strcmp(key, "module") == 0) {
		if (rec->module[0] != '\0' || *val == '\0' ||
		    strlen(val) >= sizeof(rec->module))
			return jpki_fail(JPKI_ERR_INPUT, "line %d: one module, "
			    "a path", lineno);
		memcpy(rec->module, val, strlen(val) + 1);
		return JPKI_OK;
	}
	if (strcmp(key, "token") == 0) {
		if (rec->token[0] != '\0' || !p11_token_label_valid(val))
			return jpki_fail(JPKI_ERR_INPUT, "line %d: one token, "
			    "its label (1 to %d bytes)", lineno,
			    P11_TOKEN_LABEL_MAX);
		memcpy(rec->token, val, strlen(val) + 1);
		return JPKI_OK;
	}
	if (strncmp(key, "key ", 4) == 0) {
		struct p11_record_key *k = &rec->key[rec->nkeys];
		const char *name = key + 4;

		while (*name == ' ')
			name++;
		if (!p11_key_name_valid(name))
			return jpki_fail(JPKI_ERR_INPUT, "line %d: a key name "
			    "is a-z, 0-9, '-' and '.'", lineno);
		if (p11_record_find(rec, name) != NULL)
			return jpki_fail(JPKI_ERR_INPUT, "line %d: key %s "
			    "twice", lineno, name);
		if (rec->nkeys >= P11_RECORD_KEYS_MAX)
			return jpki_fail(JPKI_ERR_INPUT, "line %d: more than "
			    "%d keys", lineno, P11_RECORD_KEYS_MAX);
		if (parse_hex(val, k->id, sizeof(k->id), &k->id_len))
			return jpki_fail(JPKI_ERR_INPUT, "line %d: a key id is "
			    "1 to %d bytes in hex", lineno, P11_KEY_ID_MAX);
		memcpy(k->name, name, strlen(name) + 1);
		rec->nkeys++;
		return JPKI_OK;
	}
	return jpki_fail(JPKI_ERR_INPUT, "line %d: unknown key '%.40s'",
	    lineno, key);
}

int
p11_record_parse(const uint8_t *text, size_t len, struct p11_record *rec)
{
	char line[P11_RECORD_LINE_MAX];
	struct cursor c;
	int r;

	memset(rec, 0, sizeof(*rec));
	if (len > P11_RECORD_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "longer than %d bytes",
		    P11_RECORD_MAX);
	cursor_init(&c, text, len);
	for (int lineno = 1; cursor_left(&c) > 0; lineno++)
		if ((r = next_line(&c, line, lineno)) != JPKI_OK ||
		    (r = parse_line(rec, line, lineno)) != JPKI_OK)
			return r;
	if (rec->module[0] == '\0' || rec->token[0] == '\0')
		return jpki_fail(JPKI_ERR_INPUT, "no module or no token");
	return JPKI_OK;
}

int
p11_record_format(const struct p11_record *rec, struct jbuf *out)
{
	int r;

	if ((r = jbuf_printf(out, "# The PKCS#11 token holding this data "
	    "directory's keys (jpki init --pkcs11).\n# Key ids are CKA_IDs; "
	    "no key material is kept here.\nmodule = %s\ntoken = %s\n",
	    rec->module, rec->token)) != JPKI_OK)
		return r;
	for (size_t i = 0; i < rec->nkeys; i++) {
		const struct p11_record_key *k = &rec->key[i];

		if ((r = jbuf_printf(out, "key %s = ", k->name)) != JPKI_OK)
			return r;
		for (size_t j = 0; j < k->id_len; j++)
			if ((r = jbuf_printf(out, "%02x", k->id[j])) != JPKI_OK)
				return r;
		if ((r = jbuf_put_u8(out, '\n')) != JPKI_OK)
			return r;
	}
	return JPKI_OK;
}

const struct p11_record_key *
p11_record_find(const struct p11_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->nkeys; i++)
		if (strcmp(rec->key[i].name, name) == 0)
			return &rec->key[i];
	return NULL;
}
