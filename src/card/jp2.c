/*
 * jp2.c: the card-face photo's JPEG 2000 (ISO/IEC 15444-1, the JP2 file
 * format real cards carry) through OpenJPEG, both ways, from memory.
 *
 * The decoder takes bytes read from any card: the size, the image's
 * dimensions, component count and precision and the number of tiles are
 * checked against named limits from the codestream's SIZ marker, read
 * here through the bounded cursor before OpenJPEG sees a byte (OpenJPEG
 * allocates per tile while it reads the header), and again from what
 * OpenJPEG read, so a hostile codestream cannot make it decode a
 * gigapixel or set up a million tiles.
 * OpenJPEG's messages are swallowed; a refusal is one line of ours.
 */
#include "card/card_int.h"

#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>

/* Most tiles a photo may be cut into (ours: one). */
#define JP2_TILES_MAX 64
/* Most components (grey, RGB, and an alpha we ignore). */
#define JP2_COMPONENTS_MAX 4
#define JP2_PRECISION_MAX 16
/* OpenJPEG's stream buffer. */
#define JP2_CHUNK 4096

static const uint8_t jp2_signature[12] = {0x00, 0x00, 0x00, 0x0C, 'j', 'P',
    ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
static const uint8_t j2k_soc[4] = {0xFF, 0x4F, 0xFF, 0x51};

void
card_pixels_free(struct card_pixels *px)
{
	free(px->rgb);
	px->rgb = NULL;
	px->width = px->height = 0;
}

static void
quiet(const char *msg, void *client)
{
	(void)msg;
	(void)client;
}

static void
hush(opj_codec_t *codec)
{
	opj_set_info_handler(codec, quiet, NULL);
	opj_set_warning_handler(codec, quiet, NULL);
	opj_set_error_handler(codec, quiet, NULL);
}

/* ---- the limits, from the bytes ---------------------------------------- */

static uint32_t
ceil_div(uint32_t a, uint32_t b)
{
	return (uint32_t)(((uint64_t)a + b - 1) / b);
}

/* The SIZ marker segment (ISO/IEC 15444-1 A.5.1), which must follow SOC,
 * within the named limits. */
static int
siz_ok(struct cursor *c)
{
	uint16_t soc, siz, lsiz, rsiz, csiz;
	uint32_t x, y, xo, yo, xt, yt, xto, yto;
	uint64_t tiles;

	if (cursor_get_u16be(c, &soc) || soc != 0xFF4F ||
	    cursor_get_u16be(c, &siz) || siz != 0xFF51 ||
	    cursor_get_u16be(c, &lsiz) || cursor_get_u16be(c, &rsiz) ||
	    cursor_get_u32be(c, &x) || cursor_get_u32be(c, &y) ||
	    cursor_get_u32be(c, &xo) || cursor_get_u32be(c, &yo) ||
	    cursor_get_u32be(c, &xt) || cursor_get_u32be(c, &yt) ||
	    cursor_get_u32be(c, &xto) || cursor_get_u32be(c, &yto) ||
	    cursor_get_u16be(c, &csiz))
		return 0;
	(void)rsiz;
	if (x <= xo || y <= yo || x - xo > CARD_JP2_SIDE_MAX ||
	    y - yo > CARD_JP2_SIDE_MAX ||
	    (uint64_t)(x - xo) * (y - yo) > CARD_JP2_PIXELS_MAX)
		return 0;
	/* the tile grid starts at or before the image and covers it */
	if (xt == 0 || yt == 0 || xto > xo || yto > yo ||
	    (uint64_t)xto + xt <= xo || (uint64_t)yto + yt <= yo)
		return 0;
	tiles = (uint64_t)ceil_div(x - xto, xt) * ceil_div(y - yto, yt);
	if (tiles > JP2_TILES_MAX)
		return 0;
	if (csiz < 1 || csiz > JP2_COMPONENTS_MAX ||
	    lsiz != 38 + 3 * (unsigned)csiz)
		return 0;
	for (unsigned i = 0; i < csiz; i++) {
		uint8_t ssiz, dx, dy;

		if (cursor_get_u8(c, &ssiz) || cursor_get_u8(c, &dx) ||
		    cursor_get_u8(c, &dy) || (ssiz & 0x7F) + 1 >
		    JP2_PRECISION_MAX || dx < 1 || dx > 4 || dy < 1 || dy > 4)
			return 0;
	}
	return 1;
}

/* The codestream's SIZ: at the start of a J2K codestream, or of the JP2
 * file's contiguous codestream box (jp2c, I.5.4) among its top-level
 * boxes. */
static int
limits_ok(const uint8_t *p, size_t n, OPJ_CODEC_FORMAT format)
{
	struct cursor c, box;
	uint32_t len32, type;
	uint64_t len;

	cursor_init(&c, p, n);
	if (format == OPJ_CODEC_J2K)
		return siz_ok(&c);
	while (cursor_left(&c) > 0) {
		size_t head = 8;

		if (cursor_get_u32be(&c, &len32) || cursor_get_u32be(&c, &type))
			return 0;
		len = len32;
		if (len32 == 1) {
			if (cursor_get_u64be(&c, &len))
				return 0;
			head = 16;
		} else if (len32 == 0) {
			len = cursor_left(&c) + head; /* to the end */
		}
		if (len < head || len - head > cursor_left(&c) ||
		    cursor_sub(&c, &box, (size_t)(len - head)))
			return 0;
		if (type == 0x6A703263) /* 'jp2c' */
			return siz_ok(&box);
	}
	return 0;
}

/* ---- reading from memory ------------------------------------------------ */

struct mem_in {
	const uint8_t *p;
	size_t n, pos;
};

static OPJ_SIZE_T
mem_read(void *buf, OPJ_SIZE_T want, void *user)
{
	struct mem_in *m = user;
	size_t left = m->n - m->pos;

	if (left == 0)
		return (OPJ_SIZE_T)-1;
	if (want > left)
		want = left;
	memcpy(buf, m->p + m->pos, want);
	m->pos += want;
	return want;
}

static OPJ_OFF_T
mem_skip(OPJ_OFF_T by, void *user)
{
	struct mem_in *m = user;

	if (by < 0 || (size_t)by > m->n - m->pos)
		return -1;
	m->pos += (size_t)by;
	return by;
}

static OPJ_BOOL
mem_seek(OPJ_OFF_T to, void *user)
{
	struct mem_in *m = user;

	if (to < 0 || (size_t)to > m->n)
		return OPJ_FALSE;
	m->pos = (size_t)to;
	return OPJ_TRUE;
}

/* The header's promises, before anything is decoded. */
static int
header_ok(opj_codec_t *codec, const opj_image_t *img)
{
	opj_codestream_info_v2_t *info;
	uint64_t w, h;
	int ok;

	if (img->x1 <= img->x0 || img->y1 <= img->y0)
		return 0;
	w = (uint64_t)img->x1 - img->x0;
	h = (uint64_t)img->y1 - img->y0;
	if (w > CARD_JP2_SIDE_MAX || h > CARD_JP2_SIDE_MAX ||
	    w * h > CARD_JP2_PIXELS_MAX)
		return 0;
	if (img->numcomps < 1 || img->numcomps > JP2_COMPONENTS_MAX)
		return 0;
	for (OPJ_UINT32 i = 0; i < img->numcomps; i++) {
		const opj_image_comp_t *c = &img->comps[i];

		if (c->prec < 1 || c->prec > JP2_PRECISION_MAX ||
		    c->dx < 1 || c->dy < 1 || c->dx > 4 || c->dy > 4)
			return 0;
	}
	if ((info = opj_get_cstr_info(codec)) == NULL)
		return 0;
	ok = (uint64_t)info->tw * info->th <= JP2_TILES_MAX;
	opj_destroy_cstr_info(&info);
	return ok;
}

/* One component's sample for pixel (x, y) of the whole image, as 8 bits. */
static uint8_t
sample(const opj_image_comp_t *c, uint32_t x, uint32_t y)
{
	uint32_t cx = x / c->dx, cy = y / c->dy;
	int32_t v;

	if (cx >= c->w)
		cx = c->w - 1;
	if (cy >= c->h)
		cy = c->h - 1;
	v = c->data[(size_t)cy * c->w + cx];
	if (c->sgnd)
		v += 1 << (c->prec - 1);
	if (v < 0)
		v = 0;
	if (c->prec > 8)
		v >>= c->prec - 8;
	else if (c->prec < 8)
		v = v * 255 / ((1 << c->prec) - 1);
	return (uint8_t)(v > 255 ? 255 : v);
}

int
card_jp2_decode(const uint8_t *p, size_t n, struct card_pixels *out)
{
	struct mem_in m = {p, n, 0};
	opj_dparameters_t params;
	opj_codec_t *codec = NULL;
	opj_stream_t *st = NULL;
	opj_image_t *img = NULL;
	OPJ_CODEC_FORMAT format;
	uint32_t w, h;
	int r;

	memset(out, 0, sizeof(*out));
	if (n > CARD_FACE_IMAGE_MAX)
		return jpki_fail(JPKI_ERR_INPUT, "JPEG 2000: %zu bytes, more "
		    "than %d", n, CARD_FACE_IMAGE_MAX);
	if (n >= sizeof(jp2_signature) &&
	    memcmp(p, jp2_signature, sizeof(jp2_signature)) == 0)
		format = OPJ_CODEC_JP2;
	else if (n >= sizeof(j2k_soc) && memcmp(p, j2k_soc,
	    sizeof(j2k_soc)) == 0)
		format = OPJ_CODEC_J2K;
	else
		return jpki_fail(JPKI_ERR_INPUT, "not a JPEG 2000 image (no "
		    "JP2 signature box or codestream start)");
	if (!limits_ok(p, n, format))
		return jpki_fail(JPKI_ERR_INPUT, "JPEG 2000: no codestream "
		    "header (SIZ) within %d pixels a side, %d in all, %d "
		    "components of at most %d bits, %d tiles",
		    CARD_JP2_SIDE_MAX, CARD_JP2_PIXELS_MAX, JP2_COMPONENTS_MAX,
		    JP2_PRECISION_MAX, JP2_TILES_MAX);
	r = jpki_fail(JPKI_ERR_INPUT, "JPEG 2000: the image does not decode");
	if ((st = opj_stream_create(JP2_CHUNK, OPJ_TRUE)) == NULL ||
	    (codec = opj_create_decompress(format)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	opj_stream_set_read_function(st, mem_read);
	opj_stream_set_skip_function(st, mem_skip);
	opj_stream_set_seek_function(st, mem_seek);
	opj_stream_set_user_data(st, &m, NULL);
	opj_stream_set_user_data_length(st, n);
	hush(codec);
	opj_set_default_decoder_parameters(&params);
	if (!opj_setup_decoder(codec, &params) ||
	    !opj_read_header(st, codec, &img) || img == NULL)
		goto out;
	if (!header_ok(codec, img)) {
		r = jpki_fail(JPKI_ERR_INPUT, "JPEG 2000: an image of more "
		    "than %d pixels a side, %d in all, %d components, %d bits "
		    "or %d tiles", CARD_JP2_SIDE_MAX, CARD_JP2_PIXELS_MAX,
		    JP2_COMPONENTS_MAX, JP2_PRECISION_MAX, JP2_TILES_MAX);
		goto out;
	}
	if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st))
		goto out;
	w = img->x1 - img->x0;
	h = img->y1 - img->y0;
	for (OPJ_UINT32 i = 0; i < img->numcomps; i++) {
		const opj_image_comp_t *c = &img->comps[i];

		/* The decoded components must cover the image. */
		if (c->data == NULL || c->w == 0 || c->h == 0 ||
		    (uint64_t)c->w * c->dx < w || (uint64_t)c->h * c->dy < h)
			goto out;
	}
	if ((out->rgb = malloc((size_t)w * h * 3)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	out->width = (int)w;
	out->height = (int)h;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *px = out->rgb + ((size_t)y * w + x) * 3;

			for (int k = 0; k < 3; k++)
				px[k] = sample(&img->comps[img->numcomps >= 3 ?
				    k : 0], x, y);
		}
	jpki_errclear();
	r = JPKI_OK;
out:
	opj_image_destroy(img);
	if (codec != NULL)
		opj_destroy_codec(codec);
	if (st != NULL)
		opj_stream_destroy(st);
	return r;
}

/* ---- writing to memory -------------------------------------------------- */

struct mem_out {
	struct jbuf *b;
	size_t base, pos; /* the file starts at b->data + base */
	int failed;
};

/* Make the file at least `len` bytes (zero-filled). */
static int
mem_grow(struct mem_out *m, size_t len)
{
	size_t have = m->b->len - m->base;

	if (len <= have)
		return 1;
	if (len > CARD_FACE_IMAGE_MAX * 16 ||
	    jbuf_reserve(m->b, len - have) != JPKI_OK) {
		m->failed = 1;
		return 0;
	}
	memset(m->b->data + m->b->len, 0, len - have);
	m->b->len = m->base + len;
	return 1;
}

static OPJ_SIZE_T
mem_write(void *buf, OPJ_SIZE_T n, void *user)
{
	struct mem_out *m = user;

	if (!mem_grow(m, m->pos + n))
		return (OPJ_SIZE_T)-1;
	memcpy(m->b->data + m->base + m->pos, buf, n);
	m->pos += n;
	return n;
}

static OPJ_OFF_T
mem_wskip(OPJ_OFF_T by, void *user)
{
	struct mem_out *m = user;

	if (by < 0 || !mem_grow(m, m->pos + (size_t)by))
		return -1;
	m->pos += (size_t)by;
	return by;
}

static OPJ_BOOL
mem_wseek(OPJ_OFF_T to, void *user)
{
	struct mem_out *m = user;

	if (to < 0 || !mem_grow(m, (size_t)to))
		return OPJ_FALSE;
	m->pos = (size_t)to;
	return OPJ_TRUE;
}

int
card_jp2_encode(const struct card_pixels *px, int ratio, struct jbuf *out)
{
	struct mem_out m = {out, out->len, 0, 0};
	opj_image_cmptparm_t cp[3];
	opj_cparameters_t params;
	opj_codec_t *codec = NULL;
	opj_stream_t *st = NULL;
	opj_image_t *img = NULL;
	size_t npx;
	int r, res, side;

	if (px->width < 1 || px->height < 1 ||
	    px->width > CARD_JP2_SIDE_MAX || px->height > CARD_JP2_SIDE_MAX ||
	    (size_t)px->width * (size_t)px->height > CARD_JP2_PIXELS_MAX ||
	    ratio < 1 || ratio > 1000)
		return jpki_fail(JPKI_ERR_INPUT, "JPEG 2000: an image of 1 to "
		    "%d pixels a side, %d in all, at a ratio of 1 to 1000",
		    CARD_JP2_SIDE_MAX, CARD_JP2_PIXELS_MAX);
	npx = (size_t)px->width * (size_t)px->height;
	memset(cp, 0, sizeof(cp));
	for (int k = 0; k < 3; k++) {
		cp[k].dx = cp[k].dy = 1;
		cp[k].w = (OPJ_UINT32)px->width;
		cp[k].h = (OPJ_UINT32)px->height;
		cp[k].prec = 8;
		cp[k].sgnd = 0;
	}
	r = jpki_fail(JPKI_ERR_CRYPTO, "JPEG 2000: the encoder failed");
	if ((img = opj_image_create(3, cp, OPJ_CLRSPC_SRGB)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	img->x0 = img->y0 = 0;
	img->x1 = (OPJ_UINT32)px->width;
	img->y1 = (OPJ_UINT32)px->height;
	for (size_t i = 0; i < npx; i++)
		for (int k = 0; k < 3; k++)
			img->comps[k].data[i] = px->rgb[i * 3 + (size_t)k];
	opj_set_default_encoder_parameters(&params);
	params.tcp_numlayers = 1;
	params.tcp_rates[0] = (float)ratio;
	params.cp_disto_alloc = 1;
	params.tcp_mct = 1;
	/* As many resolutions as the smaller side allows, at most 5. */
	side = px->width < px->height ? px->width : px->height;
	for (res = 1; res < 5 && (2 << res) <= side; res++)
		;
	params.numresolution = res;
	if ((codec = opj_create_compress(OPJ_CODEC_JP2)) == NULL ||
	    (st = opj_stream_create(JP2_CHUNK, OPJ_FALSE)) == NULL) {
		r = jpki_fail(JPKI_ERR_NOMEM, "out of memory");
		goto out;
	}
	hush(codec);
	opj_stream_set_write_function(st, mem_write);
	opj_stream_set_skip_function(st, mem_wskip);
	opj_stream_set_seek_function(st, mem_wseek);
	opj_stream_set_user_data(st, &m, NULL);
	if (!opj_setup_encoder(codec, &params, img) ||
	    !opj_start_compress(codec, img, st) || !opj_encode(codec, st) ||
	    !opj_end_compress(codec, st) || m.failed)
		goto out;
	jpki_errclear();
	r = JPKI_OK;
out:
	if (r != JPKI_OK)
		out->len = m.base;
	opj_image_destroy(img);
	if (codec != NULL)
		opj_destroy_codec(codec);
	if (st != NULL)
		opj_stream_destroy(st);
	return r;
}
