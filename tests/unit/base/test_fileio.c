/* Unit tests of base's whole-file functions: a durable write reads back
 * byte for byte with its mode, and a read refuses what is missing, too
 * large or not a file. */
#include "base/base.h"
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/jpki-fileio-test-XXXXXX";

static void
test_durable_write_reads_back_with_its_mode(void)
{
	const char text[] = "card image bytes";
	char path[300];
	struct jbuf got;
	struct stat st;

	snprintf(path, sizeof(path), "%s/image", dir);
	CHECK_INT(durable_write(path, text, sizeof(text), 0600), JPKI_OK);
	CHECK_INT(durable_sync_dir_of(path), JPKI_OK);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(file_read_all(path, sizeof(text), &got), JPKI_OK);
	CHECK_INT(got.len, sizeof(text));
	CHECK(got.len == sizeof(text) && memcmp(got.data, text, got.len) == 0);
	jbuf_free(&got);
}

static void
test_durable_write_into_a_missing_directory_fails(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/no-such-dir/file", dir);
	CHECK_INT(durable_write(path, "x", 1, 0600), JPKI_ERR_IO);
	CHECK(strstr(jpki_errmsg(), "no-such-dir") != NULL);
}

static void
test_read_refuses_missing_large_and_directories(void)
{
	char path[300];
	struct jbuf got;

	snprintf(path, sizeof(path), "%s/absent", dir);
	CHECK_INT(file_read_all(path, 100, &got), JPKI_ERR_NOTFOUND);
	CHECK_INT(got.len, 0);
	snprintf(path, sizeof(path), "%s/image", dir);
	CHECK_INT(file_read_all(path, 4, &got), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "larger than 4 bytes") != NULL);
	CHECK(got.data == NULL && got.len == 0);
	CHECK_INT(file_read_all(dir, 100, &got), JPKI_ERR_INPUT);
}

/* A path that fits is written whole; one that would not is refused, named,
 * and nothing half of it is left in the buffer. */
static void
test_paths_fit_or_are_refused(void)
{
	char buf[16], big[JPKI_PATH_MAX + 8];

	CHECK_INT(jpki_path(buf, sizeof(buf), "%s/%s", "/data", "cards"),
	    JPKI_OK);
	CHECK_STR(buf, "/data/cards");
	/* 15 characters and the NUL: exactly full. */
	CHECK_INT(jpki_path(buf, sizeof(buf), "%s", "/123456789abcde"), JPKI_OK);
	CHECK_STR(buf, "/123456789abcde");
	CHECK_INT(jpki_path(buf, sizeof(buf), "%s", "/123456789abcdef"),
	    JPKI_ERR_INPUT);
	CHECK_STR(buf, "");
	CHECK(strstr(jpki_errmsg(), "longer than 15 bytes: /123456789abcde") !=
	    NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char p[JPKI_PATH_MAX];

		CHECK_INT(jpki_path(p, sizeof(p), "%s", big), JPKI_ERR_INPUT);
	}
}

int
main(void)
{
	char cmd[300];

	if (mkdtemp(dir) == NULL)
		return 3;
	test_durable_write_reads_back_with_its_mode();
	test_durable_write_into_a_missing_directory_fails();
	test_read_refuses_missing_large_and_directories();
	test_paths_fit_or_are_refused();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return test_summary();
}
