/*
 * test_client.c: the same client suite (client_suite.h) over the in-process
 * transport and over the vpcd protocol: a child process serves the image
 * as `jpki card attach` does (card_vpcd_attach) and the parent drives it
 * through the reader end of vpcd on a loopback port.
 */
#include "client_suite.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static volatile sig_atomic_t child_stop;

static void
on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

/* A loopback port nobody listens on right now. */
static uint16_t
free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
run_over_vpcd(const char *image, const uint8_t *master)
{
	struct card_transport *t = NULL;
	uint16_t port = free_port();
	pid_t pid;
	int status;

	CHECK(port != 0);
	if ((pid = fork()) == 0) {
		struct sigaction sa;
		struct card *c = NULL;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;
		sigaction(SIGTERM, &sa, NULL);
		if (card_image_load(image, &c) != JPKI_OK)
			_exit(2);
		card_vpcd_attach(c, "127.0.0.1", port, &child_stop, NULL);
		card_free(&c);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK_INT(card_transport_vpcd_listen("127.0.0.1", port, 10000, &t),
	    JPKI_OK);
	if (t != NULL) {
		client_suite(t, master);
		card_transport_free(&t);
	}
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
}

static void
test_vpcd_listen_gives_up_without_a_card(void)
{
	struct card_transport *t = NULL;

	CHECK_INT(card_transport_vpcd_listen("127.0.0.1", free_port(), 300,
	    &t), JPKI_ERR_NOTFOUND);
	CHECK(t == NULL);
}

static void
test_hostport_parsing(void)
{
	char host[256];
	uint16_t port;

	CHECK_INT(card_parse_hostport(CARD_VPCD_DEFAULT, host, &port),
	    JPKI_OK);
	CHECK_STR(host, "127.0.0.1");
	CHECK_INT(port, 35963);
	CHECK_INT(card_parse_hostport("::1:35964", host, &port), JPKI_OK);
	CHECK_STR(host, "::1");
	CHECK_INT(card_parse_hostport("localhost", host, &port),
	    JPKI_ERR_USAGE);
	CHECK_INT(card_parse_hostport("h:0", host, &port), JPKI_ERR_USAGE);
	CHECK_INT(card_parse_hostport("h:65536", host, &port), JPKI_ERR_USAGE);
	CHECK_INT(card_parse_hostport(":1", host, &port), JPKI_ERR_USAGE);
}

/* The holder's certificate EFs are rules' cert_type; each has its CA's. */
static void
test_cert_ef_of_each_type(void)
{
	static const struct {
		enum cert_type type;
		int whose;
		enum card_cert want;
	} rows[] = {
	    {CERT_SIGN, CARD_CERT_OWN, CARD_CERT_SIGN},
	    {CERT_AUTH, CARD_CERT_OWN, CARD_CERT_AUTH},
	    {CERT_SIGN, CARD_CERT_CA, CARD_CERT_SIGN_CA},
	    {CERT_AUTH, CARD_CERT_CA, CARD_CERT_AUTH_CA},
	    {(enum cert_type)0, CARD_CERT_OWN, (enum card_cert)0},
	    {(enum cert_type)3, CARD_CERT_CA, (enum card_cert)0},
	};

	for (size_t i = 0; i < JPKI_ARRAY_LEN(rows); i++)
		CHECK_INT(card_cert_for(rows[i].type, rows[i].whose),
		    rows[i].want);
	CHECK_INT(CARD_CERT_SIGN, CERT_SIGN);
	CHECK_INT(CARD_CERT_AUTH, CERT_AUTH);
}

int
main(void)
{
	uint8_t master[CARD_ISSUER_KEY_LEN];
	struct card_transport *t = NULL;
	char image[512], *d = fixture_dir();

	if (d == NULL || fixture_master(d, master) != 0 ||
	    fixture_card_image(d, master, image) != 0)
		return 1;
	CHECK_INT(card_transport_image(image, &t), JPKI_OK);
	if (t != NULL) {
		client_suite(t, master);
		card_transport_free(&t);
	}
	run_over_vpcd(image, master);
	test_vpcd_listen_gives_up_without_a_card();
	test_hostport_parsing();
	test_cert_ef_of_each_type();
	fixture_rmdir(d);
	return test_summary();
}
