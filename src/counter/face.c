/*
 * face.c: the images of a card's face (券面AP), made from the register at
 * delivery and update-card: the name, address and security code rendered
 * as greyscale PNG with the notices' stack (Pango in Noto Sans CJK JP,
 * cairo), and the photo as JPEG 2000 (card/jp2.c): the clerk's photo
 * (--photo: PNG, or JPEG 2000 within the card's limits), the one the card
 * already carries, or a drawn placeholder portrait.
 *
 * What it does not do: sign (procedures.c asks the key seam), or talk to
 * the card.
 */
#include "counter/counter_int.h"

#include <string.h>

#include <cairo.h>
#include <pango/pangocairo.h>

#define FONT_FAMILY "Noto Sans CJK JP"
#define MONO_FAMILY "Noto Sans Mono CJK JP"
/* The images' sizes in pixels (ours: real cards' are not public). */
#define NAME_W 480
#define NAME_H 56
#define ADDRESS_W 480
#define ADDRESS_H 112
#define CODE_W 120
#define CODE_H 48
#define PHOTO_W 120
#define PHOTO_H 150
#define MARGIN 6
/* JPEG 2000 compression of the photo (1:PHOTO_RATIO). */
#define PHOTO_RATIO 12
/* A clerk's photo file: at most this many bytes, and a PNG of at most
 * PHOTO_SIDE_MAX pixels a side. */
#define PHOTO_FILE_MAX (8 * 1024 * 1024)
#define PHOTO_SIDE_MAX 4096

static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A,
    0x0A};

static cairo_status_t
png_to_jbuf(void *closure, const unsigned char *data, unsigned int n)
{
	return jbuf_put(closure, data, n) ? CAIRO_STATUS_NO_MEMORY :
	    CAIRO_STATUS_SUCCESS;
}

/* An RGB24 surface's luminance as an 8-bit greyscale PNG (cairo writes an
 * A8 surface as grey: 0 black, 255 white). */
static int
grey_png(cairo_surface_t *rgb, struct jbuf *out)
{
	int w = cairo_image_surface_get_width(rgb);
	int h = cairo_image_surface_get_height(rgb);
	cairo_surface_t *g = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
	const uint8_t *src;
	uint8_t *dst;
	int sstride, dstride, r;

	if (cairo_surface_status(g) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(g);
		return jpki_fail(JPKI_ERR_NOMEM, "card face: out of memory");
	}
	cairo_surface_flush(rgb);
	src = cairo_image_surface_get_data(rgb);
	sstride = cairo_image_surface_get_stride(rgb);
	dst = cairo_image_surface_get_data(g);
	dstride = cairo_image_surface_get_stride(g);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint32_t p;

			memcpy(&p, src + (size_t)y * sstride + 4 * x, 4);
			dst[(size_t)y * dstride + x] = (uint8_t)((
			    ((p >> 16) & 0xFF) * 77 + ((p >> 8) & 0xFF) * 150 +
			    (p & 0xFF) * 29) >> 8);
		}
	cairo_surface_mark_dirty(g);
	r = cairo_surface_write_to_png_stream(g, png_to_jbuf, out) ==
	    CAIRO_STATUS_SUCCESS ? JPKI_OK : jpki_fail(JPKI_ERR_IO,
	    "card face: cannot write a PNG");
	cairo_surface_destroy(g);
	return r;
}

/* text in a w x h image, black on white, at the largest size from `size`
 * down that fits (wrapped when `wrap`). */
static int
text_png(const char *text, const char *family, int w, int h, double size,
    int wrap, struct jbuf *out)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w,
	    h);
	cairo_t *cr = cairo_create(s);
	PangoLayout *l = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_new();
	int lw = 0, lh = 0, r;

	pango_font_description_set_family(fd, family);
	pango_layout_set_text(l, text, -1);
	if (wrap) {
		pango_layout_set_width(l, (w - 2 * MARGIN) * PANGO_SCALE);
		pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	}
	for (; size >= 6; size -= 1) {
		pango_font_description_set_absolute_size(fd, size *
		    PANGO_SCALE);
		pango_layout_set_font_description(l, fd);
		pango_layout_get_pixel_size(l, &lw, &lh);
		if (lw <= w - 2 * MARGIN && lh <= h - 2 * MARGIN)
			break;
	}
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_move_to(cr, MARGIN, (h - lh) / 2 > MARGIN ? (h - lh) / 2 :
	    MARGIN);
	pango_cairo_show_layout(cr, l);
	pango_font_description_free(fd);
	g_object_unref(l);
	cairo_destroy(cr);
	r = grey_png(s, out);
	cairo_surface_destroy(s);
	return r;
}

/* A drawn stand-in for the holder's photo: a grey bust on a pale ground. */
static void
draw_placeholder(cairo_t *cr)
{
	cairo_set_source_rgb(cr, 0.86, 0.89, 0.93);
	cairo_paint(cr);
	cairo_set_source_rgb(cr, 0.55, 0.58, 0.62);
	/* shoulders */
	cairo_save(cr);
	cairo_translate(cr, PHOTO_W / 2.0, PHOTO_H * 1.02);
	cairo_scale(cr, PHOTO_W * 0.48, PHOTO_H * 0.36);
	cairo_arc(cr, 0, 0, 1, 0, 2 * G_PI);
	cairo_restore(cr);
	cairo_fill(cr);
	/* head */
	cairo_save(cr);
	cairo_translate(cr, PHOTO_W / 2.0, PHOTO_H * 0.42);
	cairo_scale(cr, PHOTO_W * 0.22, PHOTO_H * 0.22);
	cairo_arc(cr, 0, 0, 1, 0, 2 * G_PI);
	cairo_restore(cr);
	cairo_fill(cr);
}

static cairo_status_t
png_from_cursor(void *closure, unsigned char *data, unsigned int n)
{
	return cursor_get_bytes(closure, data, n) == JPKI_OK ?
	    CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR;
}

/* The clerk's photo file as a cairo surface. */
static int
photo_file_surface(const char *path, cairo_surface_t **out)
{
	struct card_pixels px = {0, 0, NULL};
	struct jbuf file;
	struct cursor c;
	int r;

	*out = NULL;
	jbuf_init(&file);
	if ((r = file_read_all(path, PHOTO_FILE_MAX, &file)) != JPKI_OK)
		return r;
	if (file.len >= sizeof(png_magic) &&
	    memcmp(file.data, png_magic, sizeof(png_magic)) == 0) {
		cursor_init(&c, file.data, file.len);
		*out = cairo_image_surface_create_from_png_stream(
		    png_from_cursor, &c);
		if (cairo_surface_status(*out) != CAIRO_STATUS_SUCCESS ||
		    cairo_image_surface_get_width(*out) > PHOTO_SIDE_MAX ||
		    cairo_image_surface_get_height(*out) > PHOTO_SIDE_MAX)
			r = jpki_fail(JPKI_ERR_INPUT, "%s: not a PNG of at most "
			    "%d pixels a side", path, PHOTO_SIDE_MAX);
	} else if (card_jp2_decode(file.data, file.len, &px) == JPKI_OK) {
		*out = cairo_image_surface_create(CAIRO_FORMAT_RGB24,
		    px.width, px.height);
		if (cairo_surface_status(*out) == CAIRO_STATUS_SUCCESS) {
			uint8_t *d = cairo_image_surface_get_data(*out);
			int stride = cairo_image_surface_get_stride(*out);

			for (int y = 0; y < px.height; y++)
				for (int x = 0; x < px.width; x++) {
					const uint8_t *s = px.rgb + ((size_t)y *
					    px.width + x) * 3;
					uint32_t v = (uint32_t)s[0] << 16 |
					    (uint32_t)s[1] << 8 | s[2];

					memcpy(d + (size_t)y * stride + 4 * x,
					    &v, 4);
				}
			cairo_surface_mark_dirty(*out);
		} else {
			r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		}
	} else {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", jpki_errmsg());
		r = jpki_fail(JPKI_ERR_INPUT, "%s: the photo must be a PNG or "
		    "a JPEG 2000 file (%s)", path, msg);
	}
	card_pixels_free(&px);
	jbuf_free(&file);
	if (r != JPKI_OK && *out != NULL) {
		cairo_surface_destroy(*out);
		*out = NULL;
	}
	return r;
}

/* Draw src into the photo frame, scaled to cover it, centred. */
static void
draw_cover(cairo_t *cr, cairo_surface_t *src)
{
	double sw = cairo_image_surface_get_width(src);
	double sh = cairo_image_surface_get_height(src);
	double k = PHOTO_W / sw > PHOTO_H / sh ? PHOTO_W / sw : PHOTO_H / sh;

	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_translate(cr, (PHOTO_W - sw * k) / 2, (PHOTO_H - sh * k) / 2);
	cairo_scale(cr, k, k);
	cairo_set_source_surface(cr, src, 0, 0);
	cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
	cairo_paint(cr);
}

/* The photo: from the clerk's file, or the drawn placeholder. */
static int
photo_jp2(const char *path, struct jbuf *out)
{
	cairo_surface_t *s, *src = NULL;
	struct card_pixels px = {PHOTO_W, PHOTO_H, NULL};
	cairo_t *cr;
	int r;

	if (path != NULL && (r = photo_file_surface(path, &src)) != JPKI_OK)
		return r;
	s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, PHOTO_W, PHOTO_H);
	cr = cairo_create(s);
	if (src != NULL)
		draw_cover(cr, src);
	else
		draw_placeholder(cr);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	if ((px.rgb = malloc(PHOTO_W * PHOTO_H * 3)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
	} else {
		const uint8_t *d = cairo_image_surface_get_data(s);
		int stride = cairo_image_surface_get_stride(s);

		for (int y = 0; y < PHOTO_H; y++)
			for (int x = 0; x < PHOTO_W; x++) {
				uint32_t v;
				uint8_t *p = px.rgb + ((size_t)y * PHOTO_W +
				    x) * 3;

				memcpy(&v, d + (size_t)y * stride + 4 * x, 4);
				p[0] = (uint8_t)(v >> 16);
				p[1] = (uint8_t)(v >> 8);
				p[2] = (uint8_t)v;
			}
		r = card_jp2_encode(&px, PHOTO_RATIO, out);
	}
	card_pixels_free(&px);
	if (src != NULL)
		cairo_surface_destroy(src);
	cairo_surface_destroy(s);
	return r;
}

int
counter_face_images(const char *name, const char *address,
    const char *code, const char *photo_path, const struct jbuf *keep_photo,
    struct card_face *f)
{
	int r;

	if ((r = text_png(name, FONT_FAMILY, NAME_W, NAME_H, 32, 0,
	    &f->name)) != JPKI_OK ||
	    (r = text_png(address, FONT_FAMILY, ADDRESS_W, ADDRESS_H, 24, 1,
	    &f->address)) != JPKI_OK ||
	    (r = text_png(code, MONO_FAMILY, CODE_W, CODE_H, 30, 0,
	    &f->code)) != JPKI_OK)
		return r;
	f->photo.len = 0;
	if (photo_path == NULL && keep_photo != NULL && keep_photo->len > 0)
		return jbuf_put(&f->photo, keep_photo->data, keep_photo->len) ?
		    jpki_fail(JPKI_ERR_NOMEM, "out of memory") : JPKI_OK;
	return photo_jp2(photo_path, &f->photo);
}
