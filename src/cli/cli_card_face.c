/*
 * cli_card_face.c: the holder's and relying party's side of the card face
 * (券面AP) for `jpki card face`, and the trusted card issuer key that
 * `jpki card info` and `card face` check signatures against with --data.
 *
 *   face --out DIR     name.png, address.png, security-code.png (as the
 *                      card stores them, after they decode), photo.png
 *                      (the JPEG 2000 photo decoded) and photo.jp2 (as
 *                      stored) into DIR; --json a summary
 *
 * The card face opens with its collation number A, the individual number,
 * which is read from the card-info AP after its PIN (as jpki/myna does).
 */
#include "cli/cli.h"
#include "base/base.h"
#include "ca/signer.h"
#include "card/card.h"
#include "datadir/datadir.h"

#include <stdio.h>
#include <string.h>

#include <cairo.h>

int
cli_card_trusted_issuer(const char *data, EVP_PKEY **out)
{
	struct datadir *dd = NULL;
	struct ca_signer *s = NULL;
	int r;

	*out = NULL;
	if ((r = datadir_open(cli_data_dir(data), DATADIR_READ_ONLY, &dd)) !=
	    JPKI_OK)
		return r;
	/* Where the data directory's keys are: `jpki signer`'s (it answers
	 * public keys), a token's public object (no PIN), or its file (which
	 * holds both halves, so it is read and only the public copy kept). */
	if (datadir_config(dd)->signer[0] != '\0')
		r = ca_signer_open_remote(datadir_config(dd), datadir_root(dd),
		    CA_KEYS_CARD_ISSUER, &s);
	else if (ca_signer_pkcs11_used(dd))
		r = ca_signer_pkcs11_public(dd, CA_KEY_ID_CARD_ISSUER, out);
	else
		r = ca_signer_open_files(dd, CA_KEYS_CARD_ISSUER, &s);
	if (r == JPKI_OK && s != NULL)
		r = ca_signer_public_key(s, CA_KEY_ID_CARD_ISSUER, out);
	if (r != JPKI_OK) {
		char msg[400];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(r, "the data directory's card issuer key, to "
		    "trust: %s", msg);
	}
	ca_signer_close(&s);
	datadir_close(&dd);
	return r;
}

static cairo_status_t
png_read(void *closure, unsigned char *data, unsigned int n)
{
	return cursor_get_bytes(closure, data, n) == JPKI_OK ?
	    CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR;
}

/* A PNG image from the card decodes: its size, or JPKI_ERR_INPUT. */
static int
png_size(const char *what, const struct jbuf *png, int *w, int *h)
{
	struct cursor c;
	cairo_surface_t *s;
	int r = JPKI_OK;

	cursor_init(&c, png->data, png->len);
	s = cairo_image_surface_create_from_png_stream(png_read, &c);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		r = jpki_fail(JPKI_ERR_INPUT, "card face: the %s image does "
		    "not decode as PNG", what);
	else {
		*w = cairo_image_surface_get_width(s);
		*h = cairo_image_surface_get_height(s);
	}
	cairo_surface_destroy(s);
	return r;
}

static cairo_status_t
png_write(void *closure, const unsigned char *data, unsigned int n)
{
	return jbuf_put(closure, data, n) ? CAIRO_STATUS_NO_MEMORY :
	    CAIRO_STATUS_SUCCESS;
}

/* The photo, decoded from JPEG 2000, as a PNG. */
static int
photo_png(const struct jbuf *jp2, struct jbuf *out, int *w, int *h)
{
	struct card_pixels px;
	cairo_surface_t *s;
	int r;

	if ((r = card_jp2_decode(jp2->data, jp2->len, &px)) != JPKI_OK)
		return r;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, px.width,
	    px.height);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	} else {
		uint8_t *d = cairo_image_surface_get_data(s);
		int stride = cairo_image_surface_get_stride(s);

		cairo_surface_flush(s);
		for (int y = 0; y < px.height; y++)
			for (int x = 0; x < px.width; x++) {
				const uint8_t *p = px.rgb + ((size_t)y *
				    px.width + x) * 3;
				uint32_t v = (uint32_t)p[0] << 16 |
				    (uint32_t)p[1] << 8 | p[2];

				memcpy(d + (size_t)y * stride + 4 * x, &v, 4);
			}
		cairo_surface_mark_dirty(s);
		*w = px.width;
		*h = px.height;
		r = cairo_surface_write_to_png_stream(s, png_write, out) ==
		    CAIRO_STATUS_SUCCESS ? JPKI_OK : jpki_fail(JPKI_ERR_IO,
		    "card face: cannot write the photo as PNG");
	}
	cairo_surface_destroy(s);
	card_pixels_free(&px);
	return r;
}

/* The card issuer's signature over the face as read: "verified" (by the
 * trusted key when there is one, else by the key the face carries, whose
 * id is given to compare), or "invalid" with why. */
static const char *
face_signature(const struct card_face *f, EVP_PKEY *trusted,
    char key_id[33], char *why, size_t why_len)
{
	uint8_t id[CARD_INFO_KEY_ID_LEN];
	EVP_PKEY *issuer = NULL;
	const char *verdict = "invalid";

	key_id[0] = why[0] = '\0';
	if (card_face_verify(f, trusted, &issuer) == JPKI_OK &&
	    card_info_key_id(issuer, id) == JPKI_OK) {
		verdict = "verified";
		for (size_t i = 0; i < sizeof(id); i++)
			snprintf(key_id + 2 * i, 3, "%02X", id[i]);
	} else {
		snprintf(why, why_len, "%s", jpki_errmsg());
	}
	jpki_errclear();
	EVP_PKEY_free(issuer);
	return verdict;
}

enum { IMG_NAME, IMG_ADDRESS, IMG_CODE, IMG_PHOTO, IMG_PHOTO_JP2, IMG__N };

int
cli_card_face_write(struct card_transport *t, const char *number,
    const char *out_dir, const char *data, int json)
{
	static const char *files[IMG__N] = {"name.png", "address.png",
	    "security-code.png", "photo.png", "photo.jp2"};
	static const char *keys[IMG__N] = {"name", "address", "security_code",
	    "photo", "photo_jp2"};
	struct card_face f;
	struct jbuf ef, photo;
	const struct jbuf *bytes[IMG__N];
	struct cli_out out[IMG__N];
	char path[IMG__N][JPKI_PATH_MAX], key_id[33], why[300];
	int w[IMG__N] = {0}, h[IMG__N] = {0}, made = 0, r;
	EVP_PKEY *trusted = NULL;
	const char *verdict;
	json_t *j = NULL, *imgs;

	card_face_init(&f);
	jbuf_init(&ef);
	jbuf_init(&photo);
	memset(out, 0, sizeof(out));
	/* The trusted key and everything from the card first: a refusal
	 * leaves no directory or file behind. */
	if ((data != NULL && (r = cli_card_trusted_issuer(data, &trusted)) !=
	    JPKI_OK) ||
	    (r = card_client_verify_match(t, CARD_FACE_MATCH_A, number,
	    NULL)) != JPKI_OK ||
	    (r = card_client_read_face(t, &ef)) != JPKI_OK ||
	    (r = card_face_parse(ef.data, ef.len, &f)) != JPKI_OK ||
	    (r = png_size("name", &f.name, &w[IMG_NAME], &h[IMG_NAME])) ||
	    (r = png_size("address", &f.address, &w[IMG_ADDRESS],
	    &h[IMG_ADDRESS])) ||
	    (r = png_size("security code", &f.code, &w[IMG_CODE],
	    &h[IMG_CODE])) ||
	    (r = photo_png(&f.photo, &photo, &w[IMG_PHOTO], &h[IMG_PHOTO])))
		goto fail;
	w[IMG_PHOTO_JP2] = w[IMG_PHOTO];
	h[IMG_PHOTO_JP2] = h[IMG_PHOTO];
	verdict = face_signature(&f, trusted, key_id, why, sizeof(why));
	bytes[IMG_NAME] = &f.name;
	bytes[IMG_ADDRESS] = &f.address;
	bytes[IMG_CODE] = &f.code;
	bytes[IMG_PHOTO] = &photo;
	bytes[IMG_PHOTO_JP2] = &f.photo;
	if ((r = cli_out_dir(out_dir, &made)) != JPKI_OK)
		goto fail;
	for (int i = 0; i < IMG__N; i++) {
		if ((r = jpki_path(path[i], sizeof(path[i]), "%s/%s", out_dir,
		    files[i])) != JPKI_OK ||
		    (r = cli_out_open(&out[i], "--out", path[i])) != JPKI_OK)
			goto fail;
		if (fwrite(bytes[i]->data, 1, bytes[i]->len, out[i].f) !=
		    bytes[i]->len) {
			r = jpki_fail(JPKI_ERR_IO, "%s: write failed", path[i]);
			goto fail;
		}
	}
	for (int i = 0; i < IMG__N; i++)
		if ((r = cli_out_commit(&out[i])) != JPKI_OK)
			goto fail;
	if (json) {
		imgs = json_object();
		for (int i = 0; i < IMG__N; i++)
			json_object_set_new(imgs, keys[i], json_pack("{s:s, "
			    "s:i, s:i, s:I}", "file", path[i], "width", w[i],
			    "height", h[i], "bytes", (json_int_t)bytes[i]->len));
		j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:b}", "birth",
		    f.birth, "sex", f.sex, "expiry", f.expiry, "images", imgs,
		    "issuer_signature", verdict, "issuer_key_trusted",
		    trusted != NULL && key_id[0] != '\0');
		if (key_id[0])
			json_object_set_new(j, "card_issuer_key_id",
			    json_string(key_id));
		if (why[0])
			json_object_set_new(j, "issuer_signature_error",
			    json_string(why));
		cli_print_json(j);
	} else {
		printf("birth              %s\nsex (ISO 5218)     %s\n"
		    "expiry             %s\n", f.birth, f.sex, f.expiry);
		for (int i = 0; i < IMG__N; i++)
			printf("%-18s %s (%dx%d)\n", files[i], path[i], w[i],
			    h[i]);
		printf("issuer signature   %s%s%s%s%s\n", verdict,
		    key_id[0] ? " (card issuer key " : "", key_id,
		    key_id[0] ? ")" : "", trusted != NULL && key_id[0] ?
		    ", the data directory's: trusted" : "");
		if (why[0])
			printf("                   %s\n", why);
	}
fail:
	for (int i = 0; i < IMG__N; i++)
		cli_out_discard(&out[i]);
	if (r != JPKI_OK)
		cli_out_dir_discard(out_dir, made);
	EVP_PKEY_free(trusted);
	card_face_free(&f);
	if (photo.data != NULL)
		jpki_wipe(photo.data, photo.cap);
	jbuf_free(&photo);
	if (ef.data != NULL)
		jpki_wipe(ef.data, ef.cap);
	jbuf_free(&ef);
	return r;
}
