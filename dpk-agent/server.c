/* The local socket: accept, read the peer's credentials, read frames with a
 * hard cap, answer one request at a time per connection, drop idle or
 * misbehaving peers. A single poll(2) loop; signals arrive through signalfd. */
#include "server.h"

#include "agent.h"
#include "base/err.h"
#include "chain/lookup.h"
#include "chain/registration.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "common/sock.h"
#include "peers/peer.h"
#include "requests.h"
#include "timers.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

int
agent_server_listen(struct agent *a, char *err, size_t errsz)
{
	return agent_listen_unix(a->cfg.socket_path, &a->listen_fd, err, errsz);
}

static int
peer_privileged(const struct agent *a, int fd, const struct ucred *cred)
{
	return agent_peer_privileged(fd, cred, a->have_admin_gid, a->admin_gid);
}

static void
conn_free(struct agent *a, size_t i)
{
	struct conn *c = a->conns[i];

	close(c->fd);
	explicit_bzero(c, sizeof(*c)); /* replies may have carried secrets */
	free(c);
	a->conns[i] = NULL;
}

static void
accept_one(struct agent *a)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c;
	size_t slot;
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (slot = 0; slot < AGENT_MAX_CONNECTIONS && a->conns[slot] != NULL; slot++)
		;
	if (slot == AGENT_MAX_CONNECTIONS ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		if (slot == AGENT_MAX_CONNECTIONS)
			agent_log(LOG_WARNING, "too many connections (%d); refusing one", AGENT_MAX_CONNECTIONS);
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->privileged = peer_privileged(a, fd, &cred);
	c->last_active_ms = agent_now_ms();
	a->conns[slot] = c;
}

/* Read what is available; handle a complete frame. Returns -1 to drop the peer.
 * A client sends one request and waits for its reply, so reading as much as
 * fits (not exactly the header, then the body) costs one recv per request. */
static int
conn_read(struct agent *a, struct conn *c)
{
	for (;;) {
		size_t flen = 0;
		ssize_t n;

		if (c->inlen >= 4) {
			flen = (size_t)c->in[0] << 24 | (size_t)c->in[1] << 16 | (size_t)c->in[2] << 8 | c->in[3];
			if (flen == 0 || flen > AGENT_FRAME_MAX) {
				agent_log(LOG_WARNING, "uid %ld sent a frame of %zu bytes; closing its connection",
				    (long)c->uid, flen);
				return -1;
			}
			if (c->inlen > 4 + flen) {
				/* a second request before the first was answered: not how the protocol goes */
				agent_log(LOG_WARNING, "uid %ld sent a request before its reply; closing its connection",
				    (long)c->uid);
				return -1;
			}
			if (c->inlen == 4 + flen) {
				agent_handle_request(a, c, c->in[4], c->in + 5, flen - 1);
				if (!c->waiting) { /* a waiting request keeps its input until answered */
					explicit_bzero(c->in, c->inlen);
					c->inlen = 0;
				}
				return 0; /* answer before reading more: one request at a time */
			}
		}
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->inlen += (size_t)n;
		c->last_active_ms = agent_now_ms();
	}
}

static int
conn_write(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->outoff += (size_t)n;
		c->last_active_ms = agent_now_ms();
	}
	explicit_bzero(c->out, c->outlen);
	c->outlen = c->outoff = 0;
	return 0;
}

int
agent_server_run(struct agent *a)
{
	struct pollfd pfd[AGENT_MAX_CONNECTIONS + 4 + AGENT_PEER_MAX_POLLFDS];
	size_t idx[AGENT_MAX_CONNECTIONS];
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0 || (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		agent_log(LOG_ERR, "signalfd: %s", strerror(errno));
		return DPK_ERR_IO;
	}
	signal(SIGPIPE, SIG_IGN);

	int ret = 0;

	while (!a->stop) {
		size_t n = 4;
		int64_t now = agent_now_ms();

		int wait_ms = agent_timers(a, now);
		size_t npeer;

		pfd[0] = (struct pollfd){a->listen_fd, POLLIN, 0};
		pfd[1] = (struct pollfd){sfd, POLLIN, 0};
		pfd[2] = (struct pollfd){a->chain.efd, POLLIN, 0};
		pfd[3] = (struct pollfd){a->regchain.efd, POLLIN, 0};
		for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
			struct conn *c = a->conns[i];

			if (c == NULL)
				continue;
			if (!c->waiting && c->outlen == 0 && now - c->last_active_ms > AGENT_IDLE_TIMEOUT_MS) {
				conn_free(a, i);
				continue;
			}
			idx[n - 4] = i;
			pfd[n++] = (struct pollfd){c->fd, c->outlen ? POLLOUT : c->waiting ? 0 : POLLIN, 0};
		}
		npeer = n;
		n = agent_peer_pollfds(a, pfd, n, sizeof(pfd) / sizeof(pfd[0]));
		if (poll(pfd, n, wait_ms) < 0 && errno != EINTR) {
			agent_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP)
					a->reload = 1;
				else
					a->stop = 1;
			}
		}
		if (pfd[2].revents & POLLIN)
			agent_chain_done(a);
		if (pfd[3].revents & POLLIN)
			agent_register_done(a);
		for (size_t k = 4; k < npeer; k++) {
			struct conn *c = a->conns[idx[k - 4]];
			int drop = 0;

			if (c == NULL || pfd[k].revents == 0)
				continue;
			if (pfd[k].revents & (POLLERR | POLLNVAL))
				drop = 1;
			else if (c->outlen == 0)
				drop = conn_read(a, c) != 0;
			if (!drop && c->outlen != 0)
				drop = conn_write(c) != 0;
			if (drop)
				conn_free(a, idx[k - 4]);
		}
		agent_peer_events(a, pfd, n);
		if (pfd[0].revents & POLLIN)
			accept_one(a);
		if (a->reload) {
			a->reload = 0;
			ret = 1; /* main() re-reads the configuration and calls us again */
			break;
		}
	}
	close(sfd);
	return ret;
}

void
agent_server_close(struct agent *a)
{
	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++)
		if (a->conns[i] != NULL)
			conn_free(a, i);
	if (a->listen_fd >= 0) {
		close(a->listen_fd);
		unlink(a->cfg.socket_path);
		a->listen_fd = -1;
	}
}
