/* dpk-pkm serve: a TCP listener, one thread per TLS-PSK connection up to
 * max_connections, at most max_connections_per_address of them from one
 * source (an IPv4 address or an IPv6 /64), the whole TLS handshake bounded
 * by handshake_timeout and every later read and write by request_timeout. The
 * main thread only accepts and watches for SIGTERM / SIGINT (signalfd);
 * stopping closes the listener, shuts the open connections down and waits
 * for their threads, each of which finishes the request it is in. */
#include "serve.h"
#include "web.h"

#include "base/err.h"
#include "base/hex.h"
#include "daemon/netsource.h"
#include "daemon/notify.h"
#include "enrol/tlspsk.h"
#include "registry/check.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PSK_PREFIX "dpk-enrol-"
#define REQUEST_MAX 16384 /* the largest request: an RSA key of 2048 bytes and change */

struct server {
	struct pkm *p;
	struct pkm_chain chain;
	struct dpk_tlspsk_server *tls;
	pthread_mutex_t mu;       /* guards the connection slots */
	pthread_cond_t idle;      /* signalled when a connection ends */
	unsigned nconn;
	int *fds;                 /* [max_connections]: open connection sockets, -1 free */
	struct dpk_netsource *srcs; /* [max_connections]: where each open connection comes from */
};

struct conn_arg {
	struct server *srv;
	int fd, slot;
	char peer[64];
};

/* The PSK of an identity "dpk-enrol-<id>": the secret of a token that is
 * neither revoked nor expired. Anything else gets no key: the handshake fails. */
static size_t
psk_lookup(void *arg, const char *identity, uint8_t *key)
{
	struct server *srv = arg;
	struct pkm_token_row t;
	uint8_t id[16];
	const char *why = NULL;

	if (strncmp(identity, PSK_PREFIX, strlen(PSK_PREFIX)) != 0 ||
	    dpk_hex_decode_exact(identity + strlen(PSK_PREFIX), id, 16) != 0)
		return 0; /* not ours; logged by the caller */
	if (pkm_store_get_token(srv->p->store, id, &t) != 0)
		why = "unknown token";
	else if (t.state == PKM_TOKEN_REVOKED)
		why = "token revoked";
	else if ((uint64_t)time(NULL) >= t.expires)
		why = "token expired";
	if (why != NULL) {
		explicit_bzero(&t, sizeof(t));
		fprintf(stderr, "dpk-pkm: %s: %s\n", identity, why);
		return 0;
	}
	memcpy(key, t.secret, 32);
	explicit_bzero(&t, sizeof(t));
	return 32;
}

static void
serve_conn(struct conn_arg *a)
{
	struct server *srv = a->srv;
	struct pkm *p = srv->p;
	struct dpk_tlspsk_conn *tc = NULL;
	struct pkm_conn c;
	struct dpk_buf body, reply;
	char identity[DPK_TLSPSK_MAX_IDENTITY + 1];
	uint8_t type, rtype;
	int r;

	memset(&c, 0, sizeof(c));
	dpk_buf_init(&body, REQUEST_MAX);
	dpk_buf_init(&reply, 4096);
	r = dpk_tlspsk_accept(srv->tls, a->fd, (int)p->cfg.handshake_timeout_ms, (int)p->cfg.request_timeout_ms, &tc,
	    identity);
	if (r != 0) {
		if (identity[0] != '\0')
			fprintf(stderr, "dpk-pkm: %s: handshake failed (PSK identity '%s'): %s\n", a->peer, identity,
			    dpk_strerror(r));
		else
			fprintf(stderr, "dpk-pkm: %s: no handshake (no PSK identity): %s\n", a->peer, dpk_strerror(r));
		goto out;
	}
	c.chain = &srv->chain;
	c.p = p;
	/* the lookup accepted it, so it has this form */
	if (strlen(identity) != strlen(PSK_PREFIX) + 32 ||
	    dpk_hex_decode_exact(identity + strlen(PSK_PREFIX), c.token_id, 16) != 0)
		goto out;
	memcpy(c.token_hex, identity + strlen(PSK_PREFIX), 33);
	if ((r = pkm_rpc_new(p, &c.rpc)) != 0) {
		fprintf(stderr, "dpk-pkm: token %s: cannot set up the JSON-RPC client: %s\n", c.token_hex, dpk_strerror(r));
		goto out;
	}
	for (;;) {
		dpk_buf_reset(&body);
		r = dpk_tlspsk_recv(tc, &type, &body);
		if (r == DPK_ERR_NOTFOUND)
			break; /* the device hung up between requests */
		if (r != 0) {
			fprintf(stderr, "dpk-pkm: token %s from %s: connection closed: %s\n", c.token_hex, a->peer,
			    dpk_strerror(r));
			break;
		}
		pkm_request_handle(&c, type, body.data, body.len, &rtype, &reply);
		if ((r = dpk_tlspsk_send(tc, rtype, reply.data, reply.len)) != 0) {
			fprintf(stderr, "dpk-pkm: token %s from %s: cannot send the reply: %s\n", c.token_hex, a->peer,
			    dpk_strerror(r));
			break;
		}
	}
out:
	pthread_mutex_lock(&srv->mu);
	srv->fds[a->slot] = -1; /* before the close: stop() must not shut a reused fd */
	pthread_mutex_unlock(&srv->mu);
	if (tc != NULL)
		dpk_tlspsk_close(tc);
	dpk_rpc_free(c.rpc);
	dpk_buf_free(&body);
	dpk_buf_free(&reply);
	pthread_mutex_lock(&srv->mu);
	srv->nconn--;
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->mu);
	free(a);
}

static void *
conn_thread(void *arg)
{
	serve_conn(arg);
	return NULL;
}

int
pkm_listen_on(const char *hostport)
{
	char host[256], port[8];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE},
		*res = NULL, *ai;
	size_t hl;
	int fd = -1, one = 1, e;

	if (colon == NULL || (hl = (size_t)(colon - hostport)) >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
		return -1;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "dpk-pkm: listen %s: %s\n", hostport, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0)
		fprintf(stderr, "dpk-pkm: cannot listen on %s: %s\n", hostport, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void
peer_text(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t outsz)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(out, outsz, "?");
	else
		snprintf(out, outsz, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static void
accept_one(struct server *srv, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn_arg *a;
	pthread_attr_t attr;
	pthread_t th;
	char peer[64];
	int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC), slot = -1;
	struct dpk_netsource src;
	unsigned same = 0;

	if (fd < 0)
		return;
	peer_text(&ss, sl, peer, sizeof(peer));
	dpk_netsource_of((struct sockaddr *)&ss, &src);
	pthread_mutex_lock(&srv->mu);
	for (unsigned i = 0; i < srv->p->cfg.max_connections; i++)
		same += srv->fds[i] >= 0 && dpk_netsource_equal(&srv->srcs[i], &src);
	if (srv->nconn < srv->p->cfg.max_connections && same < srv->p->cfg.max_connections_per_address) {
		for (unsigned i = 0; i < srv->p->cfg.max_connections; i++) {
			if (srv->fds[i] < 0) {
				slot = (int)i;
				break;
			}
		}
	}
	if (slot < 0) {
		char srctext[64];

		pthread_mutex_unlock(&srv->mu);
		dpk_netsource_format(&src, srctext, sizeof(srctext));
		if (same >= srv->p->cfg.max_connections_per_address)
			fprintf(stderr, "dpk-pkm: %s: refused: %u connections open from %s (max_connections_per_address)\n",
			    peer, same, srctext);
		else
			fprintf(stderr, "dpk-pkm: %s: refused: %u connections open (max_connections)\n", peer,
			    srv->p->cfg.max_connections);
		close(fd);
		return;
	}
	srv->fds[slot] = fd;
	srv->srcs[slot] = src;
	srv->nconn++;
	pthread_mutex_unlock(&srv->mu);

	if ((a = calloc(1, sizeof(*a))) != NULL) {
		a->srv = srv;
		a->fd = fd;
		a->slot = slot;
		snprintf(a->peer, sizeof(a->peer), "%s", peer);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, conn_thread, a) == 0) {
			pthread_attr_destroy(&attr);
			return;
		}
		pthread_attr_destroy(&attr);
		free(a);
	}
	fprintf(stderr, "dpk-pkm: %s: refused: cannot start a thread\n", peer);
	pthread_mutex_lock(&srv->mu);
	srv->fds[slot] = -1;
	srv->nconn--;
	pthread_mutex_unlock(&srv->mu);
	close(fd);
}

/* Before serving: the node is the configured chain, journalled transactions
 * are sent again (they own their nonces), and the registry holds our key. */
static void
startup_chain(struct server *srv)
{
	struct pkm *p = srv->p;
	struct dpk_rpc *rpc = NULL;
	struct pkm_sent sent;
	uint64_t chain_id;
	char msg[512], hex[67];
	int r, did;

	if ((r = pkm_rpc_new(p, &rpc)) != 0) {
		fprintf(stderr, "dpk-pkm: cannot set up the JSON-RPC client: %s\n", dpk_strerror(r));
		return;
	}
	if ((r = dpk_rpc_chain_id(rpc, &chain_id)) != 0) {
		fprintf(stderr, "dpk-pkm: warning: the node does not answer (%s); serving anyway\n", dpk_rpc_last_error(rpc));
		goto out;
	}
	if (chain_id != p->cfg.chain_id) {
		fprintf(stderr, "dpk-pkm: warning: the node is on chain %llu, %s says %llu: every request will fail\n",
		    (unsigned long long)chain_id, p->config_path, (unsigned long long)p->cfg.chain_id);
		goto out;
	}
	if (dpk_registry_check(rpc, p->cfg.chain_id, p->cfg.contract, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "dpk-pkm: warning: %s: every request will fail\n", msg);
		goto out;
	}
	pkm_chain_resume(&srv->chain, rpc, (uint64_t)p->cfg.request_timeout_ms * 2 / 3);
	r = pkm_chain_publish_key(&srv->chain, rpc, 1, (uint64_t)p->cfg.request_timeout_ms, &did, &sent, msg, sizeof(msg));
	if (r != 0) {
		fprintf(stderr, "dpk-pkm: warning: cannot publish the PKM's key (storePKMKey): %s\n", msg);
	} else if (did) {
		dpk_hex_encode(sent.hash, 32, 1, hex, sizeof(hex));
		fprintf(stderr, "dpk-pkm: published the PKM's key in the registry: transaction %s (%s)\n", hex,
		    sent.mined ? "mined" : "not mined yet");
	}
out:
	dpk_rpc_free(rpc);
}

int
pkm_serve(struct pkm *p)
{
	struct server srv;
	struct pkm_web *web = NULL;
	sigset_t mask;
	int lfd = -1, sfd = -1, status = 1, r;
	char addr[43], contract[43];

	memset(&srv, 0, sizeof(srv));
	srv.p = p;
	pkm_chain_init(&srv.chain, p);
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.idle, NULL);
	/* OpenSSL writes with write(2): a device that hangs up must not kill us */
	signal(SIGPIPE, SIG_IGN);
	/* blocked before any thread starts, so only the signalfd sees them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "dpk-pkm: signalfd: %s\n", strerror(errno));
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "dpk-pkm: cannot initialise libcurl\n");
		goto out;
	}
	if ((srv.fds = malloc(p->cfg.max_connections * sizeof(int))) == NULL ||
	    (srv.srcs = calloc(p->cfg.max_connections, sizeof(*srv.srcs))) == NULL)
		goto out;
	for (unsigned i = 0; i < p->cfg.max_connections; i++)
		srv.fds[i] = -1;
	if ((r = dpk_tlspsk_server_new(psk_lookup, &srv, &srv.tls)) != 0) {
		fprintf(stderr, "dpk-pkm: cannot set up TLS: %s\n", dpk_strerror(r));
		goto out;
	}
	startup_chain(&srv);
	if ((lfd = pkm_listen_on(p->cfg.listen)) < 0)
		goto out;
	if (p->cfg.web_listen != NULL && pkm_web_start(p, &srv.chain, &web) != 0)
		goto out;
	dpk_wallet_address_format(p->sd.wallet.addr, addr);
	dpk_wallet_address_format(p->cfg.contract, contract);
	fprintf(stderr, "dpk-pkm: serving on %s (wallet %s, registry %s, chain %llu)\n", p->cfg.listen, addr, contract,
	    (unsigned long long)p->cfg.chain_id);
	dpk_notify_ready("serving");
	for (;;) {
		struct pollfd pf[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};

		/* the watchdog is pinged from this loop: -1 (no timeout) without one */
		if (poll(pf, 2, dpk_notify_watchdog()) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "dpk-pkm: poll: %s\n", strerror(errno));
			break;
		}
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				fprintf(stderr, "dpk-pkm: %s: stopping\n", strsignal((int)si.ssi_signo));
				status = 0;
				break;
			}
		}
		if (pf[0].revents & POLLIN)
			accept_one(&srv, lfd);
	}
	dpk_notify_stopping();
	close(lfd);
	lfd = -1;
	pkm_web_stop(web); /* finishes the web requests in progress */
	web = NULL;
	/* wake the connections blocked in a read; a request in progress ends
	 * with its journal row written */
	pthread_mutex_lock(&srv.mu);
	for (unsigned i = 0; i < p->cfg.max_connections; i++)
		if (srv.fds[i] >= 0)
			shutdown(srv.fds[i], SHUT_RDWR);
	while (srv.nconn > 0)
		pthread_cond_wait(&srv.idle, &srv.mu);
	pthread_mutex_unlock(&srv.mu);
out:
	pkm_web_stop(web);
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	dpk_tlspsk_server_free(srv.tls);
	free(srv.fds);
	free(srv.srcs);
	pthread_cond_destroy(&srv.idle);
	pthread_mutex_destroy(&srv.mu);
	pkm_chain_destroy(&srv.chain);
	curl_global_cleanup();
	return status;
}
