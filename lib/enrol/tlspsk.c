#include "enrol/tlspsk.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct dpk_tlspsk_server {
	SSL_CTX *ctx;
	dpk_tlspsk_lookup_fn lookup;
	void *arg;
};

struct dpk_tlspsk_conn {
	SSL *ssl;
	SSL_CTX *own_ctx; /* client side: the context made for this connection */
	int fd;
	char identity[DPK_TLSPSK_MAX_IDENTITY + 1];
	uint8_t key[DPK_TLSPSK_MAX_KEY];
	size_t keylen;
};

static int conn_index = -1;
static int server_index = -1;

/* TLS 1.2: only the PSK suites with an ephemeral (EC)DH exchange (RFC 5489,
 * RFC 4279 DHE-PSK), so a token's secret that leaks later does not open
 * recorded sessions; the plain PSK suites have no forward secrecy and are
 * never offered or accepted. TLS 1.3: psk_dhe_ke only (OpenSSL's default
 * unless SSL_OP_ALLOW_NO_DHE_KEX, which ctx_common clears). */
#define PSK_CIPHERS "ECDHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES256-GCM-SHA384:DHE-PSK-CHACHA20-POLY1305:DHE-PSK-AES128-GCM-SHA256:ECDHE-PSK-AES256-CBC-SHA384"
/* The TLS 1.3 PSK callbacks bind the key to SHA-256 suites. */
#define PSK_SUITES_13 "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"

static int
indexes(void)
{
	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (server_index < 0)
		server_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	return conn_index >= 0 && server_index >= 0 ? 0 : DPK_ERR_CRYPTO;
}

static int
identity_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > DPK_TLSPSK_MAX_IDENTITY)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
			return 0;
	return 1;
}

static unsigned int
server_psk_cb(SSL *ssl, const char *identity, unsigned char *psk, unsigned int max_psk_len)
{
	struct dpk_tlspsk_server *s = SSL_get_ex_data(ssl, server_index);
	struct dpk_tlspsk_conn *c = SSL_get_ex_data(ssl, conn_index);
	uint8_t key[DPK_TLSPSK_MAX_KEY];
	size_t n;

	if (s == NULL || c == NULL || identity == NULL || !identity_ok(identity))
		return 0;
	memcpy(c->identity, identity, strlen(identity) + 1);
	n = s->lookup(s->arg, identity, key);
	if (n == 0 || n > DPK_TLSPSK_MAX_KEY || n > max_psk_len) {
		explicit_bzero(key, sizeof(key));
		return 0;
	}
	memcpy(psk, key, n);
	explicit_bzero(key, sizeof(key));
	return (unsigned int)n;
}

static unsigned int
client_psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
    unsigned char *psk, unsigned int max_psk_len)
{
	struct dpk_tlspsk_conn *c = SSL_get_ex_data(ssl, conn_index);
	size_t idlen;

	if (c == NULL)
		return 0;
	idlen = strlen(c->identity);
	if (idlen + 1 > max_identity_len || c->keylen > max_psk_len)
		return 0;
	memcpy(identity, c->identity, idlen + 1);
	memcpy(psk, c->key, c->keylen);
	return (unsigned int)c->keylen;
}

static int
ctx_common(SSL_CTX *ctx)
{
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	return SSL_CTX_set_dh_auto(ctx, 1) == 1 && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	    SSL_CTX_set_cipher_list(ctx, PSK_CIPHERS) == 1 &&
	    SSL_CTX_set_ciphersuites(ctx, PSK_SUITES_13) == 1;
}

int
dpk_tlspsk_server_new(dpk_tlspsk_lookup_fn lookup, void *arg, struct dpk_tlspsk_server **out)
{
	struct dpk_tlspsk_server *s;

	*out = NULL;
	if (indexes() != 0)
		return DPK_ERR_CRYPTO;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DPK_ERR_NOMEM;
	s->lookup = lookup;
	s->arg = arg;
	if ((s->ctx = SSL_CTX_new(TLS_server_method())) == NULL || !ctx_common(s->ctx)) {
		dpk_tlspsk_server_free(s);
		return DPK_ERR_CRYPTO;
	}
	/* no tickets: each connection proves the token's key afresh */
	SSL_CTX_set_num_tickets(s->ctx, 0);
	SSL_CTX_set_options(s->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_psk_server_callback(s->ctx, server_psk_cb);
	*out = s;
	return 0;
}

void
dpk_tlspsk_server_free(struct dpk_tlspsk_server *s)
{
	if (s == NULL)
		return;
	SSL_CTX_free(s->ctx);
	free(s);
}

static void
set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
ssl_failure(SSL *ssl, int ret)
{
	int e = SSL_get_error(ssl, ret);
	unsigned long lib_err = ERR_peek_last_error();

	ERR_clear_error();
	if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
	    (errno == EAGAIN || errno == EWOULDBLOCK))
		return DPK_ERR_TIMEOUT;
	if (ERR_GET_REASON(lib_err) == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC ||
	    ERR_GET_REASON(lib_err) == SSL_R_BAD_PSK ||
	    ERR_GET_REASON(lib_err) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ||
	    ERR_GET_REASON(lib_err) == SSL_R_TLSV1_ALERT_DECRYPT_ERROR ||
	    ERR_GET_REASON(lib_err) == SSL_R_DIGEST_CHECK_FAILED ||
	    ERR_GET_REASON(lib_err) == SSL_R_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY)
		return DPK_ERR_BADMAC;
	return DPK_ERR_NET;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the handshake (SSL_accept or SSL_connect) on a non-blocking socket
 * until it ends or deadline_ms passes: one limit for the whole handshake,
 * which a peer cannot stretch by sending a byte now and then. */
static int
handshake_by(SSL *ssl, int fd, int (*step)(SSL *), int64_t deadline_ms)
{
	int flags = fcntl(fd, F_GETFL), r = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
		return DPK_ERR_NET;
	for (;;) {
		int ret = step(ssl), e;
		int64_t left;
		struct pollfd pf;

		if (ret == 1)
			break;
		e = SSL_get_error(ssl, ret);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			r = ssl_failure(ssl, ret);
			if (r == DPK_ERR_TIMEOUT)
				r = DPK_ERR_NET; /* EAGAIN here is not our deadline */
			break;
		}
		if ((left = deadline_ms - mono_ms()) <= 0) {
			ERR_clear_error();
			r = DPK_ERR_TIMEOUT;
			break;
		}
		pf = (struct pollfd){fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
		if (poll(&pf, 1, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR) {
			r = DPK_ERR_NET;
			break;
		}
	}
	fcntl(fd, F_SETFL, flags);
	return r;
}

static void
conn_free(struct dpk_tlspsk_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	SSL_CTX_free(c->own_ctx);
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

int
dpk_tlspsk_accept(struct dpk_tlspsk_server *s, int fd, int handshake_ms, int io_timeout_ms,
    struct dpk_tlspsk_conn **out, char identity[DPK_TLSPSK_MAX_IDENTITY + 1])
{
	int64_t deadline = mono_ms() + handshake_ms;
	struct dpk_tlspsk_conn *c;
	int r;

	*out = NULL;
	identity[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return DPK_ERR_NOMEM;
	}
	c->fd = fd;
	set_timeouts(fd, io_timeout_ms);
	if ((c->ssl = SSL_new(s->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1 ||
	    SSL_set_ex_data(c->ssl, server_index, s) != 1 || SSL_set_ex_data(c->ssl, conn_index, c) != 1) {
		conn_free(c);
		return DPK_ERR_CRYPTO;
	}
	if ((r = handshake_by(c->ssl, fd, SSL_accept, deadline)) != 0) {
		memcpy(identity, c->identity, strlen(c->identity) + 1);
		conn_free(c);
		return r;
	}
	memcpy(identity, c->identity, strlen(c->identity) + 1);
	*out = c;
	return 0;
}

static int
tcp_connect(const char *host, const char *port, int timeout_ms, int *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
	int fd = -1, r = DPK_ERR_NET;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return DPK_ERR_NET;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pf;
		int err = 0;
		socklen_t el = sizeof(err);

		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
			goto next;
		pf = (struct pollfd){fd, POLLOUT, 0};
		if (poll(&pf, 1, timeout_ms) != 1) {
			r = DPK_ERR_TIMEOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
			goto next;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		*out = fd;
		r = 0;
		break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return r;
}

int
dpk_tlspsk_connect(const char *host, const char *port, const char *identity,
    const uint8_t *key, size_t keylen, int timeout_ms, struct dpk_tlspsk_conn **out)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct dpk_tlspsk_conn *c;
	int r;

	*out = NULL;
	if (!identity_ok(identity) || keylen == 0 || keylen > DPK_TLSPSK_MAX_KEY)
		return DPK_ERR_INVALID;
	if (indexes() != 0)
		return DPK_ERR_CRYPTO;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DPK_ERR_NOMEM;
	c->fd = -1;
	memcpy(c->identity, identity, strlen(identity) + 1);
	memcpy(c->key, key, keylen);
	c->keylen = keylen;
	if ((r = tcp_connect(host, port, timeout_ms, &c->fd)) != 0) {
		conn_free(c);
		return r;
	}
	set_timeouts(c->fd, timeout_ms);
	if ((c->own_ctx = SSL_CTX_new(TLS_client_method())) == NULL || !ctx_common(c->own_ctx)) {
		conn_free(c);
		return DPK_ERR_CRYPTO;
	}
	SSL_CTX_set_psk_client_callback(c->own_ctx, client_psk_cb);
	if ((c->ssl = SSL_new(c->own_ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_ex_data(c->ssl, conn_index, c) != 1) {
		conn_free(c);
		return DPK_ERR_CRYPTO;
	}
	if ((r = handshake_by(c->ssl, c->fd, SSL_connect, deadline)) != 0) {
		conn_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static int
write_all(struct dpk_tlspsk_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t done = 0;
		int ret = SSL_write_ex(c->ssl, p, n, &done);

		if (ret != 1)
			return ssl_failure(c->ssl, ret);
		p += done;
		n -= done;
	}
	return 0;
}

/* Read exactly n bytes. *got_any tells whether the first byte arrived. */
static int
read_all(struct dpk_tlspsk_conn *c, uint8_t *p, size_t n, int *got_any)
{
	while (n > 0) {
		size_t done = 0;
		int ret = SSL_read_ex(c->ssl, p, n, &done);

		if (ret != 1) {
			int e = SSL_get_error(c->ssl, ret);

			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
				ERR_clear_error();
				return *got_any ? DPK_ERR_TRUNCATED : DPK_ERR_NOTFOUND;
			}
			return ssl_failure(c->ssl, ret);
		}
		*got_any = 1;
		p += done;
		n -= done;
	}
	return 0;
}

int
dpk_tlspsk_send(struct dpk_tlspsk_conn *c, uint8_t type, const void *body, size_t len)
{
	uint8_t hdr[5];
	int r;

	if (len >= DPK_TLSPSK_MAX_FRAME)
		return DPK_ERR_TOOBIG;
	hdr[0] = (uint8_t)((len + 1) >> 24);
	hdr[1] = (uint8_t)((len + 1) >> 16);
	hdr[2] = (uint8_t)((len + 1) >> 8);
	hdr[3] = (uint8_t)(len + 1);
	hdr[4] = type;
	if ((r = write_all(c, hdr, sizeof(hdr))) != 0)
		return r;
	return len > 0 ? write_all(c, body, len) : 0;
}

int
dpk_tlspsk_recv(struct dpk_tlspsk_conn *c, uint8_t *type, struct dpk_buf *body)
{
	uint8_t hdr[5], *dst;
	size_t flen;
	int got_any = 0, r;

	if ((r = read_all(c, hdr, 4, &got_any)) != 0)
		return r;
	flen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (flen == 0)
		return DPK_ERR_SYNTAX;
	if (flen > DPK_TLSPSK_MAX_FRAME || flen - 1 > body->max - body->len)
		return DPK_ERR_TOOBIG;
	if ((r = read_all(c, hdr + 4, 1, &got_any)) != 0)
		return r == DPK_ERR_NOTFOUND ? DPK_ERR_TRUNCATED : r;
	*type = hdr[4];
	if (flen == 1)
		return 0;
	if ((r = dpk_buf_reserve(body, flen - 1, &dst)) != 0)
		return r;
	if ((r = read_all(c, dst, flen - 1, &got_any)) != 0) {
		body->len -= flen - 1;
		return r == DPK_ERR_NOTFOUND ? DPK_ERR_TRUNCATED : r;
	}
	return 0;
}

const char *
dpk_tlspsk_version(const struct dpk_tlspsk_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *
dpk_tlspsk_kx(const struct dpk_tlspsk_conn *c)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);

	if (SSL_version(c->ssl) >= TLS1_3_VERSION) {
		int group = SSL_get_negotiated_group(c->ssl);
		const char *name = group > 0 ? SSL_group_to_name(c->ssl, group) : NULL;

		return name != NULL ? name : "none";
	}
	if (cipher == NULL)
		return "none";
	switch (SSL_CIPHER_get_kx_nid(cipher)) {
	case NID_kx_ecdhe_psk: return "ECDHEPSK";
	case NID_kx_dhe_psk: return "DHEPSK";
	default: return "none";
	}
}

/* A graceful close: close_notify, then half-close and read what the peer
 * still sends (TLS 1.3 session tickets, its close_notify) for a moment.
 * Closing a TCP socket with unread data sends a reset, and a reset makes the
 * peer's kernel drop our last request before the peer has read it. */
void
dpk_tlspsk_close(struct dpk_tlspsk_conn *c)
{
	struct timeval tv = {0, 200 * 1000};
	char sink[4096];

	if (c == NULL)
		return;
	SSL_shutdown(c->ssl);
	ERR_clear_error();
	shutdown(c->fd, SHUT_WR);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 64 && recv(c->fd, sink, sizeof(sink), 0) > 0; i++)
		;
	conn_free(c);
}
