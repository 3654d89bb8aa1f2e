/*
 * test_register_import.c: a register import larger than one batch
 * (REGISTER_IMPORT_BATCH rows to a transaction) is still checked whole
 * before anything is stored: a bad row after the first batches, or a
 * number repeated across batches, is named and nothing is stored (no
 * resident, no audit entry); a good one adds every row, and the audit
 * chain verifies across the batches.
 */
#include "support/open_ca.h"
#include "test.h"
#include "counter/counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ROWS (2 * REGISTER_IMPORT_BATCH + 1)

/* 11 digits -> the 12-digit individual number with its check digit. */
static void
number_of(long i, char out[13])
{
	snprintf(out, 13, "%011ld", 30000000000L + i);
	out[11] = (char)('0' + rules_individual_number_check_digit(out));
	out[12] = '\0';
}

/* ROWS residents (data rows 2 .. ROWS + 1); the row `bad_row` gets a
 * February 30th, and row `repeat_row` the number of row 2. */
static void
make_csv(struct jbuf *csv, long bad_row, long repeat_row)
{
	jbuf_init(csv);
	jbuf_printf(csv, "number,name,address,birth,gender\n");
	for (long row = 2; row < ROWS + 2; row++) {
		char number[13];

		number_of(row == repeat_row ? 2 : row, number);
		jbuf_printf(csv, "%s,試験 太郎,東京都清瀬市中里1-%ld,%s,male\n",
		    number, row, row == bad_row ? "1990-02-30" : "1990-05-05");
	}
}

static void
check_nothing_stored(struct datadir *dd, long audit_before)
{
	long residents = -1, audit = -1;

	CHECK_INT(store_resident_count(datadir_store(dd), &residents), JPKI_OK);
	CHECK_INT(residents, 0);
	CHECK_INT(store_audit_count(datadir_store(dd), &audit), JPKI_OK);
	CHECK_INT(audit, audit_before);
}

static void
test_bad_row_after_the_first_batches_stores_nothing(struct datadir *dd,
    long audit_before)
{
	struct jbuf csv;
	long added = -1;
	char want[64];

	make_csv(&csv, ROWS + 1, 0);
	CHECK_INT(counter_register_import_csv(dd, csv.data, csv.len, "unit",
	    &added), JPKI_ERR_INPUT);
	snprintf(want, sizeof(want), "row %d: birth:", ROWS + 1);
	CHECK(strncmp(jpki_errmsg(), want, strlen(want)) == 0);
	CHECK_INT(added, 0);
	check_nothing_stored(dd, audit_before);
	jbuf_free(&csv);
}

static void
test_number_repeated_across_batches_stores_nothing(struct datadir *dd,
    long audit_before)
{
	struct jbuf csv;
	long added = -1;
	char want[96], number[13];

	make_csv(&csv, 0, REGISTER_IMPORT_BATCH + 5);
	number_of(2, number);
	CHECK_INT(counter_register_import_csv(dd, csv.data, csv.len, "unit",
	    &added), JPKI_ERR_INPUT);
	snprintf(want, sizeof(want), "row %d: number: individual number %s "
	    "is already on row 2", REGISTER_IMPORT_BATCH + 5, number);
	CHECK_STR(jpki_errmsg(), want);
	CHECK_INT(added, 0);
	check_nothing_stored(dd, audit_before);
	jbuf_free(&csv);
}

static void
test_import_in_batches_adds_every_row(struct datadir *dd, long audit_before)
{
	struct jbuf csv;
	struct resident last;
	long added = -1, residents = -1, audit = -1, checked = 0;
	char number[13], address[64];

	make_csv(&csv, 0, 0);
	CHECK_INT(counter_register_import_csv(dd, csv.data, csv.len, "unit",
	    &added), JPKI_OK);
	CHECK_INT(added, ROWS);
	CHECK_INT(store_resident_count(datadir_store(dd), &residents), JPKI_OK);
	CHECK_INT(residents, ROWS);
	CHECK_INT(store_audit_count(datadir_store(dd), &audit), JPKI_OK);
	CHECK_INT(audit, audit_before + ROWS);
	CHECK_INT(store_audit_verify(datadir_store(dd), &checked), JPKI_OK);
	number_of(ROWS + 1, number);
	CHECK_INT(store_resident_by_number(datadir_store(dd), number, &last),
	    JPKI_OK);
	snprintf(address, sizeof(address), "東京都清瀬市中里1-%d", ROWS + 1);
	CHECK_STR(last.address, address);
	/* Imported again: every row is registered already, the first named. */
	CHECK_INT(counter_register_import_csv(dd, csv.data, csv.len, "unit",
	    &added), JPKI_ERR_INPUT);
	CHECK(strstr(jpki_errmsg(), "row 2: number: a resident with") != NULL);
	CHECK_INT(added, 0);
	jbuf_free(&csv);
}

int
main(void)
{
	struct datadir_init_options o = {0};
	struct datadir *dd = NULL;
	char dir[64], data[80], cmd[128];
	long audit = 0;

	setenv("JPKI_NOW", "2026-04-01T10:00:00+09:00", 1);
	snprintf(dir, sizeof(dir), "/tmp/test_register_import.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(data, sizeof(data), "%s/data", dir);
	CHECK_INT(support_datadir_init(data, &o), JPKI_OK);
	CHECK_INT(datadir_open(data, DATADIR_READ_WRITE, &dd), JPKI_OK);
	if (dd != NULL) {
		/* Durability is not what is tested: the OS decides. */
		store_set_durable(datadir_store(dd), 0);
		CHECK_INT(store_audit_count(datadir_store(dd), &audit), JPKI_OK);
		test_bad_row_after_the_first_batches_stores_nothing(dd, audit);
		test_number_repeated_across_batches_stores_nothing(dd, audit);
		test_import_in_batches_adds_every_row(dd, audit);
		datadir_close(&dd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return test_summary();
}
