/*
 * issuer.c: the issuer's keys.  One master key in the data directory; each
 * card holds its own key, HMAC-SHA256(master, label || serial), so a card
 * image opened by anyone gives away only that card's key.  The issuer
 * proves the key to the card with GET CHALLENGE + EXTERNAL AUTHENTICATE
 * (a MAC over the card's fresh challenge), and PINs are kept on the card as
 * MACs under the card key rather than in the clear.
 */
#include "card/card_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const char issuer_key_label[] = "JPKI card issuer key";
static const char ext_auth_label[] = "JPKI EXTERNAL AUTHENTICATE";
static const char security_code_label[] = "JPKI card security code";

static int
hmac_parts(const uint8_t key[32], const void *a, size_t na, const void *b,
    size_t nb, const void *c, size_t nc, uint8_t out[32])
{
	uint8_t msg[128];
	unsigned int len = 32;
	int ok;

	if (na + nb + nc > sizeof(msg))
		return jpki_fail(JPKI_ERR_INTERNAL, "issuer MAC input too long");
	memcpy(msg, a, na);
	if (nb > 0)
		memcpy(msg + na, b, nb);
	if (nc > 0)
		memcpy(msg + na + nb, c, nc);
	ok = HMAC(EVP_sha256(), key, 32, msg, na + nb + nc, out, &len) != NULL;
	jpki_wipe(msg, sizeof(msg));
	return ok ? JPKI_OK : jpki_fail(JPKI_ERR_CRYPTO, "HMAC-SHA256 failed");
}

int
card_issuer_key_derive(const uint8_t master[CARD_ISSUER_KEY_LEN],
    const uint8_t serial[CARD_SERIAL_LEN], uint8_t key[CARD_ISSUER_KEY_LEN])
{
	return hmac_parts(master, issuer_key_label, sizeof(issuer_key_label) - 1,
	    serial, CARD_SERIAL_LEN, NULL, 0, key);
}

int
card_security_code(const uint8_t master[CARD_ISSUER_KEY_LEN],
    const char *serial_hex, char code[CARD_SECURITY_CODE_LEN + 1])
{
	uint8_t serial[CARD_SERIAL_LEN], key[CARD_ISSUER_KEY_LEN], mac[32];
	uint32_t v;
	int r;

	if (strlen(serial_hex) != 2 * CARD_SERIAL_LEN)
		return jpki_fail(JPKI_ERR_INPUT, "card serial: 16 hex digits");
	for (int i = 0; i < CARD_SERIAL_LEN; i++) {
		int hi = hex_digit_value(serial_hex[2 * i]);
		int lo = hex_digit_value(serial_hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return jpki_fail(JPKI_ERR_INPUT,
			    "card serial: 16 hex digits");
		serial[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((r = card_issuer_key_derive(master, serial, key)) != JPKI_OK ||
	    (r = hmac_parts(key, security_code_label,
	    sizeof(security_code_label) - 1, NULL, 0, NULL, 0, mac)) !=
	    JPKI_OK)
		goto fail;
	/* 32 bits mod 10000: a bias below 1e-5, nothing here rests on it. */
	v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 |
	    (uint32_t)mac[2] << 8 | mac[3];
	snprintf(code, CARD_SECURITY_CODE_LEN + 1, "%04u",
	    (unsigned)(v % 10000));
fail:
	jpki_wipe(key, sizeof(key));
	jpki_wipe(mac, sizeof(mac));
	return r;
}

int
card_issuer_response(const uint8_t key[CARD_ISSUER_KEY_LEN],
    const uint8_t serial[CARD_SERIAL_LEN],
    const uint8_t challenge[CARD_CHALLENGE_LEN], uint8_t mac[32])
{
	return hmac_parts(key, ext_auth_label, sizeof(ext_auth_label) - 1,
	    serial, CARD_SERIAL_LEN, challenge, CARD_CHALLENGE_LEN, mac);
}

int
card_pin_hash(const struct card *c, int slot, const uint8_t *pin,
    size_t n, uint8_t out[32])
{
	uint8_t k = (uint8_t)slot;

	if (n > CARD_PIN_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "PIN too long");
	return hmac_parts(c->issuer_key, &k, 1, pin, n, NULL, 0, out);
}

int
card_issuer_master_create(const char *path)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	size_t off = 0;
	int fd, r = JPKI_OK;

	if (RAND_priv_bytes(master, sizeof(master)) != 1)
		return jpki_fail(JPKI_ERR_CRYPTO, "issuer master key: no random");
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		jpki_wipe(master, sizeof(master));
		return jpki_fail(errno == EEXIST ? JPKI_ERR_CONFLICT :
		    JPKI_ERR_IO, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (an issuer master key is never "
		    "overwritten)" : "");
	}
	while (off < sizeof(master)) {
		ssize_t w = write(fd, master + off, sizeof(master) - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off != sizeof(master) || fsync(fd) != 0)
		r = jpki_fail(JPKI_ERR_IO, "%s: %s", path, strerror(errno));
	close(fd);
	if (r != JPKI_OK)
		unlink(path);
	jpki_wipe(master, sizeof(master));
	return r;
}

int
card_issuer_master_load(const char *path, uint8_t master[CARD_ISSUER_KEY_LEN])
{
	struct stat st;
	uint8_t extra;
	size_t off = 0;
	int fd, r = JPKI_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return jpki_fail(errno == ENOENT ? JPKI_ERR_NOTFOUND :
		    JPKI_ERR_IO, "issuer master key %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != CARD_ISSUER_KEY_LEN) {
		r = jpki_fail(JPKI_ERR_INPUT,
		    "issuer master key %s: not a %d-byte file", path,
		    CARD_ISSUER_KEY_LEN);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		r = jpki_fail(JPKI_ERR_REFUSED,
		    "issuer master key %s: readable by others (mode %03o, "
		    "must be 0600)", path, (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	while (off < CARD_ISSUER_KEY_LEN) {
		ssize_t n = read(fd, master + off, CARD_ISSUER_KEY_LEN - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off != CARD_ISSUER_KEY_LEN || read(fd, &extra, 1) != 0)
		r = jpki_fail(JPKI_ERR_IO, "issuer master key %s: short read",
		    path);
fail:
	close(fd);
	if (r != JPKI_OK)
		jpki_wipe(master, CARD_ISSUER_KEY_LEN);
	return r;
}
