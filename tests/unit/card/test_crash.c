/*
 * test_crash.c: a card pulled out between the decrement and the compare
 * never gives a free try.  A child process VERIFYs with the test-only hook
 * JPKI_CARD_CRASH_AFTER_DECREMENT=1, which makes the applet _exit() right
 * after the decremented counter is durable; the parent then loads the image
 * and finds the try spent, even though the PIN the child sent was right.
 * The hook exists only in test builds (-DJPKI_TEST_HOOKS=ON); in any other
 * build this checks that setting the variable does nothing.
 */
#include "test.h"
#include "card_fixture.h"

#include <sys/wait.h>

static char image[512];

static const uint8_t select_jpki[] = {0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3,
    0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
static const uint8_t select_auth_pin[] = {0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00,
    0x18};

static unsigned
send(struct card *c, const uint8_t *cmd, size_t n)
{
	uint8_t resp[APDU_RESP_MAX];
	size_t rlen = 0;

	card_apdu(c, cmd, n, resp, &rlen);
	return rlen < 2 ? 0 : (unsigned)(resp[rlen - 2] << 8 | resp[rlen - 1]);
}

static unsigned
verify(struct card *c, const char *pin)
{
	uint8_t cmd[32] = {0x00, 0x20, 0x00, 0x80};
	size_t n = strlen(pin);

	if (n == 0)
		return send(c, cmd, 4);
	cmd[4] = (uint8_t)n;
	memcpy(cmd + 5, pin, n);
	return send(c, cmd, 5 + n);
}

static unsigned
tries_now(void)
{
	struct card *c = NULL;
	unsigned sw = 0;

	if (card_image_load(image, &c) != JPKI_OK)
		return 0;
	send(c, select_jpki, sizeof(select_jpki));
	send(c, select_auth_pin, sizeof(select_auth_pin));
	sw = verify(c, "");
	card_free(&c);
	return sw;
}

/* VERIFY pin in a child (with the hook: it dies after the decrement);
 * its exit status: 70 crashed, 0 verified, 1 refused. */
static int
verify_in_child(const char *pin, int hook)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0) {
		struct card *c = NULL;

		if (hook)
			setenv("JPKI_CARD_CRASH_AFTER_DECREMENT", "1", 1);
		if (card_image_load(image, &c) != JPKI_OK)
			_exit(2);
		send(c, select_jpki, sizeof(select_jpki));
		send(c, select_auth_pin, sizeof(select_auth_pin));
		_exit(verify(c, pin) == 0x9000 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#ifdef JPKI_TEST_HOOKS
static void
test_crash_after_decrement_spends_the_try(void)
{
	CHECK_INT(tries_now(), 0x63C3);
	/* The right PIN, but the card died before the compare. */
	CHECK_INT(verify_in_child(FIXTURE_AUTH_PIN, 1), 70);
	CHECK_INT(tries_now(), 0x63C2);
	CHECK_INT(verify_in_child("0000", 1), 70);
	CHECK_INT(tries_now(), 0x63C1);
	/* An empty VERIFY spends nothing, so the hook never fires. */
	CHECK_INT(verify_in_child("", 1), 1);
	CHECK_INT(tries_now(), 0x63C1);
	CHECK_INT(verify_in_child(FIXTURE_AUTH_PIN, 1), 70);
	CHECK_INT(tries_now(), 0x63C0);
	/* Locked now: the hook is never reached either. */
	CHECK_INT(verify_in_child(FIXTURE_AUTH_PIN, 1), 1);
	CHECK_INT(tries_now(), 0x63C0);
}
#endif

/* The control: the same child without the hook (hook 0), a wrong then the
 * right PIN.  In a build without -DJPKI_TEST_HOOKS=ON the same holds with
 * the variable set (hook 1): there is no hook. */
static void
test_without_the_hook_the_same_verify_succeeds(int hook)
{
	CHECK_INT(tries_now(), 0x63C3);
	CHECK_INT(verify_in_child("0000", hook), 1);
	CHECK_INT(tries_now(), 0x63C2);
	CHECK_INT(verify_in_child(FIXTURE_AUTH_PIN, hook), 0);
	CHECK_INT(tries_now(), 0x63C3);
}

int
main(void)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	char *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0 ||
	    fixture_card_image(d, master, image) != 0)
		return 1;
	test_without_the_hook_the_same_verify_succeeds(0);
#ifdef JPKI_TEST_HOOKS
	test_crash_after_decrement_spends_the_try();
#else
	test_without_the_hook_the_same_verify_succeeds(1);
#endif
	fixture_rmdir(d);
	return test_summary();
}
