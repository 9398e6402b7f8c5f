/* psk-server: an example TLS server whose pre-shared keys come from
 * dpk-agent. A client that negotiated a PSK with this host (dpkctl psk, or
 * a redeemed ticket) connects with that PSK's identity and key, e.g.
 *
 *   openssl s_client -connect HOST:PORT -psk_identity ID -psk HEX
 *
 * OpenSSL asks for the key in two callbacks: psk_server_callback (TLS 1.2,
 * RFC 4279) and psk_find_session_callback (TLS 1.3, an external PSK). Both
 * ask the local agent (libdpkclient, PSK_GET by PSK identity, with the key:
 * run this as root, or as a member of admin_group or psk_group). Each line
 * the client sends comes back as "dpk-psk-server: LINE"; the session ends at
 * "CLOSE" or when the client hangs up. One connection at a time: this is an
 * example of the callbacks, not a production server.
 *
 * usage: psk-server [-s AGENT_SOCKET] [-n CONNECTIONS] [HOST:]PORT */
#include "dpk/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static const char *agent_socket; /* NULL: the default */

/* The PSK named identity, from the agent: its length, or 0 if unknown. */
static size_t
agent_psk(const char *identity, unsigned char *key, size_t keymax)
{
	struct dpk_client *c;
	struct dpk_client_psk psk;
	size_t n = 0;
	int r;

	/* the default socket must be root's (a user could not fake the agent there) */
	if ((r = dpk_client_open(agent_socket, 2000, agent_socket == NULL, &c)) != 0) {
		fprintf(stderr, "psk-server: dpk-agent: %s\n", dpk_client_strerror(r));
		return 0;
	}
	r = dpk_client_psk_get_by_identity(c, identity, 1, &psk);
	if (r == 0 && psk.has_key && psk.keylen <= keymax) {
		memcpy(key, psk.key, psk.keylen);
		n = psk.keylen;
		fprintf(stderr, "psk-server: PSK identity %s is the PSK with %s\n", psk.identity, psk.peer);
	} else {
		const char *msg = "";

		if (r == DPK_CLIENT_EAGENT)
			dpk_client_agent_error(c, &msg);
		fprintf(stderr, "psk-server: no PSK for identity %s: %s\n", identity, *msg ? msg : dpk_client_strerror(r));
	}
	dpk_client_psk_clear(&psk);
	dpk_client_close(c);
	return n;
}

/* TLS 1.2 (RFC 4279): the client's identity is a C string here. */
static unsigned int
psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
	(void)ssl;
	if (identity == NULL || strlen(identity) > DPK_CLIENT_PSK_ID_MAX)
		return 0;
	return (unsigned int)agent_psk(identity, psk, max_psk_len);
}

/* TLS 1.3: the identity is raw bytes; the key goes into a session that
 * names the cipher suite (SHA-256, as openssl s_client -psk uses). */
static int
psk_find_session_cb(SSL *ssl, const unsigned char *identity, size_t identity_len, SSL_SESSION **sess)
{
	static const unsigned char aes128gcmsha256[] = {0x13, 0x01};
	unsigned char key[DPK_CLIENT_PSK_KEY_MAX];
	char id[DPK_CLIENT_PSK_ID_MAX + 1];
	const SSL_CIPHER *cipher;
	SSL_SESSION *s;
	size_t n;

	*sess = NULL;
	if (identity_len == 0 || identity_len > DPK_CLIENT_PSK_ID_MAX || memchr(identity, '\0', identity_len) != NULL)
		return 1; /* not ours: carry on without a PSK (the handshake then fails) */
	memcpy(id, identity, identity_len);
	id[identity_len] = '\0';
	if ((n = agent_psk(id, key, sizeof(key))) == 0)
		return 1;
	cipher = SSL_CIPHER_find(ssl, aes128gcmsha256);
	if (cipher == NULL || (s = SSL_SESSION_new()) == NULL) {
		OPENSSL_cleanse(key, sizeof(key));
		return 0;
	}
	if (!SSL_SESSION_set1_master_key(s, key, n) || !SSL_SESSION_set_cipher(s, cipher) ||
	    !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
		SSL_SESSION_free(s);
		OPENSSL_cleanse(key, sizeof(key));
		return 0;
	}
	OPENSSL_cleanse(key, sizeof(key));
	*sess = s;
	return 1;
}

static int
listen_on(const char *spec)
{
	char host[256] = "", *colon;
	const char *port = spec;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
	int fd, one = 1;

	if ((colon = strrchr(spec, ':')) != NULL) {
		if ((size_t)(colon - spec) >= sizeof(host))
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	if (getaddrinfo(host[0] ? host : NULL, port, &hints, &res) != 0)
		return -1;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void
serve(SSL_CTX *ctx, int fd)
{
	struct timeval tv = {30, 0};
	char line[1024];
	size_t len = 0;
	SSL *ssl = SSL_new(ctx);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (ssl == NULL || !SSL_set_fd(ssl, fd) || SSL_accept(ssl) != 1) {
		fprintf(stderr, "psk-server: TLS handshake failed\n");
		ERR_print_errors_fp(stderr);
		goto out;
	}
	fprintf(stderr, "psk-server: %s session with %s\n", SSL_get_version(ssl), SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)));
	for (;;) {
		char c;
		int n = SSL_read(ssl, &c, 1);

		if (n <= 0)
			break;
		if (c != '\n' && len < sizeof(line) - 1) {
			line[len++] = c;
			continue;
		}
		line[len] = '\0';
		if (strcmp(line, "CLOSE") == 0)
			break;
		char reply[1100];
		int rn = snprintf(reply, sizeof(reply), "dpk-psk-server: %s\n", line);

		if (SSL_write(ssl, reply, rn) <= 0)
			break;
		len = 0;
	}
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	close(fd);
}

int
main(int argc, char **argv)
{
	long connections = -1;
	SSL_CTX *ctx;
	int opt, lfd;

	while ((opt = getopt(argc, argv, "s:n:h")) != -1) {
		switch (opt) {
		case 's': agent_socket = optarg; break;
		case 'n': connections = strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: psk-server [-s AGENT_SOCKET] [-n CONNECTIONS] [HOST:]PORT\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: psk-server [-s AGENT_SOCKET] [-n CONNECTIONS] [HOST:]PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) || !SSL_CTX_set_dh_auto(ctx, 1) ||
	    /* TLS 1.2: only the PSK suites with an ephemeral (EC)DH exchange (no
	     * certificate here): a plain PSK suite has no forward secrecy, so a
	     * PSK that leaks later would open every recorded session. TLS 1.3:
	     * psk_dhe_ke only (SSL_OP_ALLOW_NO_DHE_KEX stays off). */
	    !SSL_CTX_set_cipher_list(ctx, "ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES128-GCM-SHA256:DHE-PSK-AES256-GCM-SHA384:"
	    "DHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES128-CBC-SHA256")) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
	SSL_CTX_set_psk_find_session_callback(ctx, psk_find_session_cb);
	if ((lfd = listen_on(argv[optind])) < 0) {
		fprintf(stderr, "psk-server: cannot listen on %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	fprintf(stderr, "psk-server: listening on %s\n", argv[optind]);
	while (connections != 0) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		serve(ctx, fd);
		if (connections > 0)
			connections--;
	}
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
}
