/*
 * image.c: the card image, the emulated chip's non-volatile memory on disk.
 *
 * Format (version 3), all integers big-endian:
 *
 *   "JPKICARD"  magic, 8 bytes
 *   u16         format version (3; versions 1 and 2 are read too:
 *               version 1 has no collation-number records, which load as
 *               never set, and no card-info EFs 0003-0005; neither has
 *               the card-face AP's collation numbers and EF, which load
 *               as never set and empty)
 *   u32         body length
 *   body        records: u8 tag, u16 length, value; each tag at most once
 *   32 bytes    SHA-256 of everything before it
 *
 * The trailer catches truncation and bit rot, not tampering: the image is
 * the chip, and whoever holds the file holds the chip.  A file that fails
 * any check is refused with one line and never written: only an image that
 * loaded cleanly is ever saved back, always through a temporary file, fsync
 * and rename, so a crash leaves either the old or the new image.
 */
#include "card/card_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define IMAGE_MAGIC "JPKICARD"
#define IMAGE_MAGIC_LEN 8
#define IMAGE_VERSION 3
#define IMAGE_VERSION_OLDEST 1
#define IMAGE_HEADER_LEN (IMAGE_MAGIC_LEN + 2 + 4)
#define IMAGE_DIGEST_LEN 32
/* An RSA-2048 private key in PKCS#1 DER is about 1.2 KB. */
#define IMAGE_KEY_DER_MAX 4096

enum image_tag {
	TAG_SERIAL = 1,
	TAG_KIND = 2,
	TAG_ISSUER_KEY = 3,
	TAG_PIN_AUTH = 4,     /* TAG_PIN_AUTH - 1 + pin_kind */
	TAG_PIN_SIGN = 5,
	TAG_PIN_CARDINFO = 6,
	TAG_KEY_SIGN = 7,     /* TAG_KEY_SIGN - 1 + cert_type */
	TAG_KEY_AUTH = 8,
	TAG_PIN_MATCH_A = 9,  /* TAG_PIN_MATCH_A + enum card_match; v2 */
	TAG_PIN_MATCH_B = 10,
	TAG_PIN_FACE_A = 11,  /* v3 */
	TAG_PIN_FACE_B = 12,
	TAG_EF_FIRST = 16,    /* TAG_EF_FIRST + enum card_stored_ef */
	TAG_MAX = TAG_EF_FIRST + SEF__COUNT - 1,
	TAG_MAX_V1 = TAG_EF_FIRST + SEF_INFO_FACTS,
	TAG_MAX_V2 = TAG_EF_FIRST + SEF_INFO_APINFO
};

#define PIN_RECORD_LEN (1 + 1 + 32)

/* The record tag of a secret slot. */
static int
slot_tag(int slot)
{
	if (slot <= CARD_PIN_COUNT)
		return TAG_PIN_AUTH - 1 + slot;
	return TAG_PIN_MATCH_A + slot - CARD_SLOT_MATCH(CARD_MATCH_A);
}

int
card_slot_tries(int slot)
{
	if (slot >= 1 && slot <= CARD_PIN_COUNT)
		return rules_pin_tries((enum pin_kind)slot);
	if (slot >= CARD_SLOT_MATCH(0) && slot < CARD_PIN_SLOTS)
		return CARD_MATCH_TRIES;
	return 0;
}

int
card_slot_format_ok(int slot, const char *value)
{
	size_t want;
	int ok;

	if (slot >= 1 && slot <= CARD_PIN_COUNT) {
		ok = rules_pin_check((enum pin_kind)slot, value) == JPKI_OK;
		jpki_errclear();
		return ok;
	}
	want = CARD_MATCH_IS_A(slot - CARD_SLOT_MATCH(0)) ?
	    CARD_MATCH_A_LEN : CARD_MATCH_B_LEN;
	return strlen(value) == want && strspn(value, "0123456789") == want;
}

size_t
card_stored_ef_max(enum card_stored_ef e)
{
	return e == SEF_FACE_ENTRIES ? CARD_FACE_EF_MAX : CARD_EF_MAX;
}

int
card_new_blank(struct card **out)
{
	struct card *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "card: out of memory");
	c->lock_fd = -1;
	for (int i = 0; i < SEF__COUNT; i++)
		jbuf_init(&c->ef[i]);
	c->df = DF_MF;
	*out = c;
	return JPKI_OK;
}

void
card_free(struct card **cp)
{
	struct card *c;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	for (int i = 0; i < SEF__COUNT; i++)
		jbuf_free(&c->ef[i]);
	for (size_t i = 0; i < JPKI_ARRAY_LEN(c->key); i++)
		EVP_PKEY_free(c->key[i]);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->path);
	jpki_wipe(c, sizeof(*c));
	free(c);
	*cp = NULL;
}

void
card_reset(struct card *c)
{
	c->df = DF_MF;
	c->ef_selected = 0;
	c->ef_id = 0;
	memset(c->verified, 0, sizeof(c->verified));
	jpki_wipe(c->challenge, sizeof(c->challenge));
	c->challenge_valid = 0;
	c->issuer_ok = 0;
	jpki_wipe(c->pending, sizeof(c->pending));
	c->pending_len = c->pending_off = 0;
}

const char *
card_serial_hex(const struct card *c)
{
	return c->serial_hex;
}

enum card_kind
card_kind_of(const struct card *c)
{
	return c->kind;
}

static void
serial_to_hex(struct card *c)
{
	static const char hex[] = "0123456789ABCDEF";

	for (int i = 0; i < CARD_SERIAL_LEN; i++) {
		c->serial_hex[2 * i] = hex[c->serial[i] >> 4];
		c->serial_hex[2 * i + 1] = hex[c->serial[i] & 15];
	}
	c->serial_hex[2 * CARD_SERIAL_LEN] = '\0';
}

/* ---- encode ------------------------------------------------------------ */

static int
put_record(struct jbuf *b, int tag, const void *p, size_t n)
{
	if (n > UINT16_MAX)
		return jpki_fail(JPKI_ERR_INTERNAL, "card image: record too long");
	if (jbuf_put_u8(b, (uint8_t)tag) != JPKI_OK ||
	    jbuf_put_u16be(b, (uint16_t)n) != JPKI_OK ||
	    jbuf_put(b, p, n) != JPKI_OK)
		return jpki_fail(JPKI_ERR_NOMEM, "card image: out of memory");
	return JPKI_OK;
}

static int
put_key(struct jbuf *b, int tag, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int n, r;

	if ((n = i2d_PrivateKey(key, &der)) <= 0)
		return jpki_fail(JPKI_ERR_CRYPTO, "card image: cannot encode key");
	r = put_record(b, tag, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return r;
}

int
card_image_encode(const struct card *c, struct jbuf *out)
{
	struct jbuf body;
	uint8_t pinrec[PIN_RECORD_LEN], kind = (uint8_t)c->kind;
	uint8_t digest[IMAGE_DIGEST_LEN];
	int r;

	jbuf_init(&body);
	jbuf_init(out);
	if ((r = put_record(&body, TAG_SERIAL, c->serial, CARD_SERIAL_LEN)) ||
	    (r = put_record(&body, TAG_KIND, &kind, 1)) ||
	    (r = put_record(&body, TAG_ISSUER_KEY, c->issuer_key,
	    CARD_ISSUER_KEY_LEN)))
		goto fail;
	for (int k = 1; k < CARD_PIN_SLOTS; k++) {
		pinrec[0] = c->pin[k].set;
		pinrec[1] = c->pin[k].tries;
		memcpy(pinrec + 2, c->pin[k].hash, 32);
		r = put_record(&body, slot_tag(k), pinrec, sizeof(pinrec));
		jpki_wipe(pinrec, sizeof(pinrec));
		if (r)
			goto fail;
	}
	for (int k = CERT_SIGN; k <= CERT_AUTH; k++)
		if (c->key[k] != NULL &&
		    (r = put_key(&body, TAG_KEY_SIGN - 1 + k, c->key[k])))
			goto fail;
	for (int i = 0; i < SEF__COUNT; i++)
		if (c->ef[i].len > 0 && (r = put_record(&body,
		    TAG_EF_FIRST + i, c->ef[i].data, c->ef[i].len)))
			goto fail;
	r = jpki_fail(JPKI_ERR_NOMEM, "card image: out of memory");
	if (jbuf_put(out, IMAGE_MAGIC, IMAGE_MAGIC_LEN) ||
	    jbuf_put_u16be(out, IMAGE_VERSION) ||
	    jbuf_put_u32be(out, (uint32_t)body.len) ||
	    jbuf_put(out, body.data, body.len))
		goto fail;
	SHA256(out->data, out->len, digest);
	if (jbuf_put(out, digest, sizeof(digest)))
		goto fail;
	r = JPKI_OK;
fail:
	jbuf_free(&body);
	if (r != JPKI_OK)
		jbuf_free(out);
	return r;
}

/* ---- decode ------------------------------------------------------------ */

static int
decode_key(struct card *c, int k, const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	EVP_PKEY *key;

	if (n > IMAGE_KEY_DER_MAX ||
	    (key = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &q, (long)n)) == NULL)
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: %s key is not an RSA private key",
		    k == CERT_SIGN ? "signing" : "authentication");
	if (q != p + n || EVP_PKEY_get_bits(key) != 2048) {
		EVP_PKEY_free(key);
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: %s key is not RSA-2048",
		    k == CERT_SIGN ? "signing" : "authentication");
	}
	c->key[k] = key;
	return JPKI_OK;
}

static int
decode_record(struct card *c, int tag, const uint8_t *p, size_t n)
{
	int k;

	switch (tag) {
	case TAG_SERIAL:
		if (n != CARD_SERIAL_LEN)
			break;
		memcpy(c->serial, p, n);
		serial_to_hex(c);
		return JPKI_OK;
	case TAG_KIND:
		if (n != 1 || (p[0] != CARD_MYNUMBER &&
		    p[0] != CARD_JUKI))
			break;
		c->kind = (enum card_kind)p[0];
		return JPKI_OK;
	case TAG_ISSUER_KEY:
		if (n != CARD_ISSUER_KEY_LEN)
			break;
		memcpy(c->issuer_key, p, n);
		return JPKI_OK;
	case TAG_PIN_AUTH:
	case TAG_PIN_SIGN:
	case TAG_PIN_CARDINFO:
	case TAG_PIN_MATCH_A:
	case TAG_PIN_MATCH_B:
	case TAG_PIN_FACE_A:
	case TAG_PIN_FACE_B:
		k = tag <= TAG_PIN_CARDINFO ? tag - TAG_PIN_AUTH + 1 :
		    CARD_SLOT_MATCH(tag - TAG_PIN_MATCH_A);
		if (n != PIN_RECORD_LEN || p[0] > 1 ||
		    p[1] > card_slot_tries(k))
			break;
		c->pin[k].set = p[0];
		c->pin[k].tries = p[1];
		memcpy(c->pin[k].hash, p + 2, 32);
		return JPKI_OK;
	case TAG_KEY_SIGN:
	case TAG_KEY_AUTH:
		return decode_key(c, tag - TAG_KEY_SIGN + 1, p, n);
	default:
		if (tag < TAG_EF_FIRST || tag > TAG_MAX)
			return jpki_fail(JPKI_ERR_INPUT,
			    "card image: unknown record %d (newer format?)",
			    tag);
		if (n == 0 || n > card_stored_ef_max((enum card_stored_ef)(tag -
		    TAG_EF_FIRST)))
			break;
		if (jbuf_put(&c->ef[tag - TAG_EF_FIRST], p, n) != JPKI_OK)
			return jpki_fail(JPKI_ERR_NOMEM,
			    "card image: out of memory");
		return JPKI_OK;
	}
	return jpki_fail(JPKI_ERR_INPUT, "card image: record %d is malformed",
	    tag);
}

static int
decode_body(struct card *c, struct cursor *body, uint16_t version)
{
	uint32_t seen = 0;
	const uint32_t match = 1u << TAG_PIN_MATCH_A | 1u << TAG_PIN_MATCH_B;
	const uint32_t face = 1u << TAG_PIN_FACE_A | 1u << TAG_PIN_FACE_B;
	uint32_t required = 1u << TAG_SERIAL | 1u << TAG_KIND |
	    1u << TAG_ISSUER_KEY | 1u << TAG_PIN_AUTH | 1u << TAG_PIN_SIGN |
	    1u << TAG_PIN_CARDINFO;
	int r;

	/* Version 2 added the collation numbers: required there, unknown
	 * in version 1 (whose blank slots keep their full tries, unset). */
	if (version >= 2)
		required |= match;
	/* Version 3 added the card-face AP's. */
	if (version >= 3)
		required |= face;

	while (cursor_left(body) > 0) {
		uint8_t tag;
		uint16_t len;
		const uint8_t *p;

		if (cursor_get_u8(body, &tag) || cursor_get_u16be(body, &len) ||
		    cursor_take(body, &p, len))
			return jpki_fail(JPKI_ERR_INPUT,
			    "card image: record runs past the body");
		if (tag > TAG_MAX || tag == 0)
			return jpki_fail(JPKI_ERR_INPUT,
			    "card image: unknown record %u (newer format?)", tag);
		if (seen & (1u << tag))
			return jpki_fail(JPKI_ERR_INPUT,
			    "card image: record %u appears twice", tag);
		if ((version < 2 && ((match & (1u << tag)) ||
		    tag > TAG_MAX_V1)) || (version < 3 &&
		    ((face & (1u << tag)) || tag > TAG_MAX_V2)))
			return jpki_fail(JPKI_ERR_INPUT, "card image: record "
			    "%u in a version %u image", tag, version);
		seen |= 1u << tag;
		if ((r = decode_record(c, tag, p, len)) != JPKI_OK)
			return r;
	}
	if ((seen & required) != required)
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: a required record is missing");
	return JPKI_OK;
}

int
card_image_decode(const uint8_t *buf, size_t n, struct card **out)
{
	struct cursor cur, body;
	const uint8_t *magic;
	uint16_t version;
	uint32_t body_len;
	uint8_t digest[IMAGE_DIGEST_LEN];
	const uint8_t *trailer;
	struct card *c = NULL;
	int r;

	*out = NULL;
	if (n > CARD_IMAGE_MAX)
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: larger than %d bytes", CARD_IMAGE_MAX);
	cursor_init(&cur, buf, n);
	if (cursor_take(&cur, &magic, IMAGE_MAGIC_LEN) ||
	    memcmp(magic, IMAGE_MAGIC, IMAGE_MAGIC_LEN) != 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "not a JPKI card image (no JPKICARD magic)");
	if (cursor_get_u16be(&cur, &version) ||
	    cursor_get_u32be(&cur, &body_len))
		return jpki_fail(JPKI_ERR_INPUT, "card image: truncated header");
	if (version < IMAGE_VERSION_OLDEST || version > IMAGE_VERSION)
		return jpki_fail(JPKI_ERR_INPUT, "card image: format version "
		    "%u, this build reads %d to %d", version,
		    IMAGE_VERSION_OLDEST, IMAGE_VERSION);
	if (cursor_sub(&cur, &body, body_len) ||
	    cursor_take(&cur, &trailer, IMAGE_DIGEST_LEN))
		return jpki_fail(JPKI_ERR_INPUT, "card image: truncated");
	if (cursor_left(&cur) != 0)
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: trailing bytes after the checksum");
	SHA256(buf, IMAGE_HEADER_LEN + (size_t)body_len, digest);
	if (!jpki_ct_equal(digest, trailer, IMAGE_DIGEST_LEN))
		return jpki_fail(JPKI_ERR_INPUT,
		    "card image: checksum mismatch (corrupted)");
	if ((r = card_new_blank(&c)) != JPKI_OK)
		return r;
	if ((r = decode_body(c, &body, version)) != JPKI_OK)
		goto fail;
	/* Collation numbers an older version did not have: never set, with
	 * their full tries, as on a blank card. */
	for (int m = version < 2 ? CARD_MATCH_A : version < 3 ?
	    CARD_FACE_MATCH_A : CARD_MATCH_COUNT; m < CARD_MATCH_COUNT; m++)
		c->pin[CARD_SLOT_MATCH(m)].tries = CARD_MATCH_TRIES;
	*out = c;
	c = NULL;
fail:
	card_free(&c);
	return r;
}

/* ---- files ------------------------------------------------------------- */

static char *
path_with(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 24;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s", path, suffix);
	return s;
}

int
card_image_save(struct card *c)
{
	struct jbuf img;
	char *tmp = NULL;
	int r;

	if (c->path == NULL)
		return JPKI_OK;
	if ((r = card_image_encode(c, &img)) != JPKI_OK)
		return r;
	if ((tmp = path_with(c->path, ".tmp")) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if ((r = durable_write(tmp, img.data, img.len, 0600)) != JPKI_OK)
		goto fail;
	if (rename(tmp, c->path) != 0) {
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", c->path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	r = durable_sync_dir_of(c->path);
fail:
	free(tmp);
	jbuf_free(&img);
	return r;
}

int
card_blank(enum card_kind kind, const uint8_t master[CARD_ISSUER_KEY_LEN],
    struct card **out)
{
	struct card *c = NULL;
	int r;

	*out = NULL;
	if (kind != CARD_MYNUMBER && kind != CARD_JUKI)
		return jpki_fail(JPKI_ERR_INPUT, "card: unknown card kind");
	if ((r = card_new_blank(&c)) != JPKI_OK)
		return r;
	c->kind = kind;
	if (RAND_bytes(c->serial, CARD_SERIAL_LEN) != 1) {
		r = jpki_fail(JPKI_ERR_CRYPTO, "card: no random serial");
		goto fail;
	}
	serial_to_hex(c);
	if ((r = card_issuer_key_derive(master, c->serial,
	    c->issuer_key)) != JPKI_OK)
		goto fail;
	for (int k = 1; k < CARD_PIN_SLOTS; k++)
		c->pin[k].tries = (uint8_t)card_slot_tries(k);
	*out = c;
	c = NULL;
fail:
	card_free(&c);
	return r;
}

int
card_image_install_new(const char *staged, const char *path)
{
	if (renameat2(AT_FDCWD, staged, AT_FDCWD, path,
	    RENAME_NOREPLACE) != 0) {
		if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
			goto fail;
		/* No RENAME_NOREPLACE here: link() refuses an existing
		 * target too, at the price of a moment with two names. */
		if (link(staged, path) != 0)
			goto fail;
		unlink(staged);
	}
	return durable_sync_dir_of(path);
fail:
	return errno == EEXIST ? jpki_fail(JPKI_ERR_CONFLICT, "%s already "
	    "exists; a new card never overwrites a file", path) :
	    jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
}

int
card_image_create(const char *path, enum card_kind kind,
    const uint8_t master[CARD_ISSUER_KEY_LEN], char serial_hex[CARD_SERIAL_HEX])
{
	struct card *c = NULL;
	struct jbuf img;
	char *tmp = NULL;
	int r;

	jbuf_init(&img);
	if ((r = card_blank(kind, master, &c)) != JPKI_OK)
		return r;
	if (access(path, F_OK) == 0) {
		r = jpki_fail(JPKI_ERR_CONFLICT, "%s already exists; a new "
		    "card never overwrites a file", path);
		goto fail;
	}
	if ((r = card_image_encode(c, &img)) != JPKI_OK)
		goto fail;
	if ((tmp = path_with(path, ".new")) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(tmp + strlen(tmp), 24, ".%ld", (long)getpid());
	if ((r = durable_write(tmp, img.data, img.len, 0600)) != JPKI_OK)
		goto fail;
	/* A file that appeared since the check above is not overwritten
	 * either. */
	if ((r = card_image_install_new(tmp, path)) != JPKI_OK) {
		unlink(tmp);
		goto fail;
	}
	if (serial_hex != NULL)
		memcpy(serial_hex, c->serial_hex, CARD_SERIAL_HEX);
fail:
	free(tmp);
	jbuf_free(&img);
	card_free(&c);
	return r;
}

int
card_image_lock(const char *path, int *lock_fd)
{
	char *lock = path_with(path, ".lock");
	int fd;

	*lock_fd = -1;
	if (lock == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock);
	if (fd < 0)
		return jpki_fail(JPKI_ERR_IO, "%s.lock: %s", path,
		    strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return jpki_fail(JPKI_ERR_CONFLICT,
		    "%s is in use by another process (one card, one reader)",
		    path);
	}
	*lock_fd = fd;
	return JPKI_OK;
}

int
card_image_read(const char *path, struct card **out)
{
	uint8_t *buf = NULL;
	struct stat st;
	size_t off = 0;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = jpki_fail(JPKI_ERR_INPUT, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > CARD_IMAGE_MAX) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "%s: larger than a card image can be (%d bytes)", path,
		    CARD_IMAGE_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = jpki_fail(JPKI_ERR_IO, "%s: short read", path);
			goto fail;
		}
		off += (size_t)n;
	}
	if ((r = card_image_decode(buf, off, out)) != JPKI_OK) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(r, "%s: %s; the file is left as it is", path,
		    msg);
	}
fail:
	if (buf != NULL) {
		jpki_wipe(buf, (size_t)st.st_size);
		free(buf);
	}
	close(fd);
	return r;
}

/* JPKI_ERR_CONFLICT if <path>.pending (the counter's staged image) exists. */
static int
pending_waits(const char *path)
{
	char *pending = path_with(path, ".pending");
	int there;

	if (pending == NULL)
		return jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	there = access(pending, F_OK) == 0;
	free(pending);
	if (there)
		return jpki_fail(JPKI_ERR_CONFLICT, "%s: a counter procedure's "
		    "new image is waiting to be put in place; the counter "
		    "settles it at the card's next visit", path);
	return JPKI_OK;
}

int
card_image_load(const char *path, struct card **out)
{
	struct card *c = NULL;
	int lock_fd, r;

	*out = NULL;
	/* A card that is not there gets no lock file beside it. */
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return jpki_fail(JPKI_ERR_NOTFOUND, "%s: %s", path,
		    strerror(ENOENT));
	if ((r = card_image_lock(path, &lock_fd)) != JPKI_OK)
		return r;
	/* A counter procedure was cut off between its commit and putting the
	 * new image in place: driving the old image now (a PIN change, a
	 * retry counter) would be overwritten when the counter settles it. */
	if ((r = pending_waits(path)) != JPKI_OK)
		goto fail;
	if ((r = card_image_read(path, &c)) != JPKI_OK)
		goto fail;
	if ((c->path = strdup(path)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto fail;
	}
	c->lock_fd = lock_fd;
	lock_fd = -1;
	*out = c;
	c = NULL;
fail:
	if (lock_fd >= 0)
		close(lock_fd);
	card_free(&c);
	return r;
}
