/*
 * test_image.c: the card image file and the issuer master key: a
 * truncated, corrupted, foreign or newer image is refused with one line and
 * left byte for byte as it was; nothing is ever overwritten; the image
 * round-trips; the master key is private and never replaced.
 */
#include "test.h"
#include "card_fixture.h"

#include <sys/stat.h>

#include <openssl/sha.h>

static char dir_path[512];
static uint8_t master[CARD_ISSUER_KEY_LEN];

static int
read_file(const char *path, struct jbuf *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[4096];
	size_t n;

	jbuf_init(out);
	if (f == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		jbuf_put(out, buf, n);
	fclose(f);
	return 0;
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (f != NULL) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Load must fail with JPKI_ERR_INPUT, a message containing want, and the
 * file must be unchanged afterwards. */
static void
check_refused(const char *path, const char *want)
{
	struct jbuf before, after;
	struct card *c = NULL;

	read_file(path, &before);
	CHECK_INT(card_image_load(path, &c), JPKI_ERR_INPUT);
	CHECK(c == NULL);
	if (strstr(jpki_errmsg(), want) == NULL)
		fprintf(stderr, "    message: %s (want '%s')\n", jpki_errmsg(),
		    want);
	CHECK(strstr(jpki_errmsg(), want) != NULL);
	CHECK(strchr(jpki_errmsg(), '\n') == NULL);
	read_file(path, &after);
	CHECK(before.len == after.len && (before.len == 0 ||
	    memcmp(before.data, after.data, before.len) == 0));
	jbuf_free(&before);
	jbuf_free(&after);
}

static void
test_damaged_images_are_refused_and_left_untouched(const char *good)
{
	struct jbuf img;
	char path[600];

	snprintf(path, sizeof(path), "%s/damaged.img", dir_path);
	read_file(good, &img);
	CHECK(img.len > 100);

	/* truncated, at several points */
	write_file(path, img.data, img.len - 1);
	check_refused(path, "truncated");
	write_file(path, img.data, 20);
	check_refused(path, "truncated");
	write_file(path, img.data, 9);
	check_refused(path, "truncated");
	write_file(path, img.data, 0);
	check_refused(path, "magic");

	/* one bit flipped in the body */
	img.data[img.len / 2] ^= 0x01;
	write_file(path, img.data, img.len);
	check_refused(path, "checksum");
	img.data[img.len / 2] ^= 0x01;

	/* trailing garbage */
	jbuf_put(&img, "x", 1);
	write_file(path, img.data, img.len);
	check_refused(path, "trailing");
	img.len--;

	/* a foreign file */
	write_file(path, (const uint8_t *)"-----BEGIN CERTIFICATE-----\n", 28);
	check_refused(path, "not a JPKI card image");

	/* a newer format */
	img.data[9] = 4;
	write_file(path, img.data, img.len);
	check_refused(path, "version 4");
	jbuf_free(&img);
}

static void
test_image_round_trips(const char *good)
{
	struct card *c = NULL, *d = NULL;
	struct jbuf a, b, file;

	CHECK_INT(card_image_load(good, &c), JPKI_OK);
	if (c == NULL)
		return;
	CHECK_INT(card_image_encode(c, &a), JPKI_OK);
	read_file(good, &file);
	CHECK(a.len == file.len && memcmp(a.data, file.data, a.len) == 0);
	CHECK_INT(card_image_decode(a.data, a.len, &d), JPKI_OK);
	if (d != NULL) {
		CHECK_INT(card_image_encode(d, &b), JPKI_OK);
		CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
		CHECK_STR(card_serial_hex(d), card_serial_hex(c));
		CHECK_INT(card_kind_of(d), CARD_MYNUMBER);
		jbuf_free(&b);
		/* A memory-only card saves nothing and fails nothing. */
		CHECK_INT(card_image_save(d), JPKI_OK);
	}
	jbuf_free(&a);
	jbuf_free(&file);
	card_free(&c);
	card_free(&d);
	CHECK(c == NULL);
}

static void
test_second_opener_is_refused(const char *good)
{
	struct card *c = NULL, *d = NULL;

	CHECK_INT(card_image_load(good, &c), JPKI_OK);
	CHECK_INT(card_image_load(good, &d), JPKI_ERR_CONFLICT);
	CHECK(strstr(jpki_errmsg(), "in use") != NULL);
	card_free(&c);
	CHECK_INT(card_image_load(good, &d), JPKI_OK);
	card_free(&d);
}

static void
test_create_never_overwrites(const char *good)
{
	struct jbuf before, after;
	char serial[CARD_SERIAL_HEX], path[600];

	read_file(good, &before);
	CHECK_INT(card_image_create(good, CARD_MYNUMBER, master, serial),
	    JPKI_ERR_CONFLICT);
	read_file(good, &after);
	CHECK(before.len == after.len &&
	    memcmp(before.data, after.data, before.len) == 0);
	jbuf_free(&before);
	jbuf_free(&after);
	snprintf(path, sizeof(path), "%s/juki.img", dir_path);
	CHECK_INT(card_image_create(path, CARD_JUKI, master, serial),
	    JPKI_OK);
	CHECK_INT(strlen(serial), 16);
	CHECK_INT(card_image_create(path, (enum card_kind)7, master, serial),
	    JPKI_ERR_INPUT);
}

static void
test_master_key_is_private_and_never_replaced(void)
{
	char path[600];
	uint8_t a[CARD_ISSUER_KEY_LEN], b[CARD_ISSUER_KEY_LEN];
	struct stat st;

	snprintf(path, sizeof(path), "%s/m.key", dir_path);
	CHECK_INT(card_issuer_master_create(path), JPKI_OK);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(card_issuer_master_load(path, a), JPKI_OK);
	CHECK_INT(card_issuer_master_create(path), JPKI_ERR_CONFLICT);
	CHECK_INT(card_issuer_master_load(path, b), JPKI_OK);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	chmod(path, 0644);
	CHECK_INT(card_issuer_master_load(path, b), JPKI_ERR_REFUSED);
	write_file(path, a, 16);
	chmod(path, 0600);
	CHECK_INT(card_issuer_master_load(path, b), JPKI_ERR_INPUT);
	snprintf(path, sizeof(path), "%s/none.key", dir_path);
	CHECK_INT(card_issuer_master_load(path, b), JPKI_ERR_NOTFOUND);
}

static void
test_other_master_key_is_refused_by_the_card(const char *good)
{
	struct card_transport *t = NULL;
	uint8_t other[CARD_ISSUER_KEY_LEN];

	memcpy(other, master, sizeof(other));
	other[0] ^= 1;
	CHECK_INT(card_transport_image(good, &t), JPKI_OK);
	if (t == NULL)
		return;
	CHECK_INT(card_client_issuer_auth(t, other), JPKI_ERR_VERIFY);
	CHECK_INT(card_client_set_pin(t, PIN_AUTH, "1111"), JPKI_ERR_REFUSED);
	CHECK_INT(card_client_issuer_auth(t, master), JPKI_OK);
	card_transport_free(&t);
	CHECK(t == NULL);
}

/* The image rewritten as an older version wrote it: version 1 without the
 * collation numbers (tags 9-12) and EFs 0003-0005 (22-24) and the
 * card-face EF (25); version 2 without the card-face AP's (11, 12, 25);
 * with keep_match, with them all. */
static void
as_version(const struct jbuf *v2, int version, int keep_match,
    struct jbuf *out)
{
	struct cursor c, body;
	struct jbuf records;
	uint8_t digest[32], tag;
	uint16_t len;
	uint32_t body_len;
	const uint8_t *p;

	jbuf_init(&records);
	jbuf_init(out);
	cursor_init(&c, v2->data, v2->len);
	if (cursor_skip(&c, 10) || cursor_get_u32be(&c, &body_len) ||
	    cursor_sub(&c, &body, body_len))
		return;
	while (cursor_left(&body) > 0) {
		if (cursor_get_u8(&body, &tag) ||
		    cursor_get_u16be(&body, &len) ||
		    cursor_take(&body, &p, len))
			return;
		/* version 2's: collation numbers 9, 10; EFs 0003-0005;
		 * version 3's: 11, 12, EF 25 */
		if (!keep_match && version == 1 && ((tag >= 9 && tag <= 12) ||
		    tag > 21))
			continue;
		if (!keep_match && version == 2 && ((tag >= 11 &&
		    tag <= 12) || tag > 24))
			continue;
		jbuf_put_u8(&records, tag);
		jbuf_put_u16be(&records, len);
		jbuf_put(&records, p, len);
	}
	jbuf_put(out, "JPKICARD", 8);
	jbuf_put_u16be(out, (uint16_t)version);
	jbuf_put_u32be(out, (uint32_t)records.len);
	jbuf_put(out, records.data, records.len);
	SHA256(out->data, out->len, digest);
	jbuf_put(out, digest, sizeof(digest));
	jbuf_free(&records);
}

static void
test_version_1_images_load_without_collation_numbers(const char *good)
{
	struct jbuf v2, v1, again;
	struct card *c = NULL;
	struct card_transport *t = NULL;
	struct card_status st;
	char path[600];

	read_file(good, &v2);
	as_version(&v2, 1, 0, &v1);
	CHECK_INT(card_image_decode(v1.data, v1.len, &c), JPKI_OK);
	if (c != NULL) {
		/* written back as version 3, A and B never set */
		CHECK_INT(card_image_encode(c, &again), JPKI_OK);
		CHECK(again.len > 10 && again.data[9] == 3);
		/* the counter's update-card rewrites such a card */
		CHECK(card_info_outdated(c));
		jbuf_free(&again);
		CHECK_INT(card_transport_card(c, &t), JPKI_OK);
		CHECK_INT(card_client_status(t, &st), JPKI_OK);
		CHECK_INT(st.match[CARD_MATCH_A].initialised, 0);
		CHECK_INT(st.match[CARD_MATCH_B].initialised, 0);
		CHECK_INT(st.pin[PIN_CARDINFO].tries_left, 3);
		card_transport_free(&t);
		card_free(&c);
	}
	jbuf_free(&v1);
	/* a version 1 image never held those records */
	snprintf(path, sizeof(path), "%s/v1-with-match.img", dir_path);
	as_version(&v2, 1, 1, &v1);
	write_file(path, v1.data, v1.len);
	check_refused(path, "record 9 in a version 1 image");
	jbuf_free(&v1);
	jbuf_free(&v2);
}

/* A version 2 image (before the card-face AP) loads with the card-face
 * AP's collation numbers never set and its EF empty; it is written back
 * as version 3; a version 2 image holding them is refused. */
static void
test_version_2_images_load_without_card_face(const char *good)
{
	struct jbuf v3, v2, again, face;
	struct card *c = NULL;
	struct card_transport *t = NULL;
	struct card_status st;
	char path[600];

	read_file(good, &v3);
	CHECK(v3.len > 10 && v3.data[9] == 3);
	as_version(&v3, 2, 0, &v2);
	CHECK_INT(card_image_decode(v2.data, v2.len, &c), JPKI_OK);
	if (c != NULL) {
		CHECK_INT(card_image_encode(c, &again), JPKI_OK);
		CHECK(again.len > 10 && again.data[9] == 3);
		jbuf_free(&again);
		CHECK(!card_info_outdated(c));
		CHECK(card_face_outdated(c));
		jbuf_init(&face);
		CHECK_INT(card_face_photo_of(c, &face), JPKI_ERR_NOTFOUND);
		jbuf_free(&face);
		CHECK_INT(card_transport_card(c, &t), JPKI_OK);
		CHECK_INT(card_client_status(t, &st), JPKI_OK);
		CHECK_INT(st.match[CARD_MATCH_A].initialised, 1);
		CHECK_INT(st.match[CARD_FACE_MATCH_A].initialised, 0);
		CHECK_INT(st.match[CARD_FACE_MATCH_B].initialised, 0);
		CHECK_INT(card_client_verify_match(t, CARD_FACE_MATCH_A,
		    FIXTURE_MATCH_A, NULL), JPKI_ERR_LOCKED);
		card_transport_free(&t);
		card_free(&c);
	}
	jbuf_free(&v2);
	snprintf(path, sizeof(path), "%s/v2-with-face.img", dir_path);
	as_version(&v3, 2, 1, &v2);
	write_file(path, v2.data, v2.len);
	check_refused(path, "record 11 in a version 2 image");
	jbuf_free(&v2);
	jbuf_free(&v3);
}

int
main(void)
{
	char *d = fixture_dir(), good[512];

	if (d == NULL || fixture_master(d, master) != 0)
		return 1;
	snprintf(dir_path, sizeof(dir_path), "%s", d);
	if (fixture_card_image(dir_path, master, good) != 0)
		return 1;
	test_damaged_images_are_refused_and_left_untouched(good);
	test_image_round_trips(good);
	test_version_1_images_load_without_collation_numbers(good);
	test_version_2_images_load_without_card_face(good);
	test_second_opener_is_refused(good);
	test_create_never_overwrites(good);
	test_master_key_is_private_and_never_replaced();
	test_other_master_key_is_refused_by_the_card(good);
	fixture_rmdir(dir_path);
	return test_summary();
}
