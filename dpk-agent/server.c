/* The local socket: accept, read the peer's credentials, read frames with a
 * hard cap, answer one request at a time per connection, drop idle, slow or
 * misbehaving peers. Fair shares: connections are admitted per uid, with
 * slots kept for root, and refusals are logged a line a minute per uid.
 * A single poll(2) loop; signals arrive through signalfd. */
#include "server.h"

#include "agent.h"
#include "base/err.h"
#include "chain/lookup.h"
#include "chain/registration.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/idle.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/sock.h"
#include "peers/peer.h"
#include "requests.h"
#include "timers.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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
	agent_conn_in_release(c);
	agent_conn_out_release(c);
	explicit_bzero(c, sizeof(*c)); /* replies may have carried secrets */
	free(c);
	a->conns[i] = NULL;
}

/* What one uid's connections did that the agent logs: refused at accept,
 * or closed for breaking the protocol. Counted per uid and logged a line a
 * minute (the first of each kind at once, with its reason), so that a flood
 * of connects or of bad frames cannot flood the log. */
#define NOTE_LOG_MS 60000
#define NOTE_UIDS 16

enum note_kind { NOTE_REFUSED, NOTE_CLOSED, NOTE_KINDS };

static struct notes {
	uid_t uid;
	unsigned long n[NOTE_KINDS]; /* since the last line about this uid */
	int said[NOTE_KINDS];        /* the reason was logged */
	int64_t since_ms;            /* when that line was written */
	int used;
} notes[NOTE_UIDS];

static void
notes_line(struct notes *r, int64_t now)
{
	if (r->n[NOTE_REFUSED] > 0)
		agent_log(LOG_WARNING, "%lu connection%s refused from uid %ld in the last minute (max_connections_per_uid, "
		    "root_connections)", r->n[NOTE_REFUSED], r->n[NOTE_REFUSED] == 1 ? "" : "s", (long)r->uid);
	if (r->n[NOTE_CLOSED] > 0)
		agent_log(LOG_WARNING, "%lu connection%s from uid %ld closed for protocol errors in the last minute",
		    r->n[NOTE_CLOSED], r->n[NOTE_CLOSED] == 1 ? "" : "s", (long)r->uid);
	memset(r->n, 0, sizeof(r->n));
	r->since_ms = now;
}

/* Note one event of kind from uid; why (a printf format) is logged for the
 * first of its kind within the minute. */
static void __attribute__((format(printf, 4, 5)))
note(uid_t uid, enum note_kind kind, int64_t now, const char *fmt, ...)
{
	struct notes *r = NULL, *oldest = &notes[0];
	char why[200];
	va_list ap;

	for (size_t i = 0; i < NOTE_UIDS && r == NULL; i++) {
		if (notes[i].used && notes[i].uid == uid)
			r = &notes[i];
		else if (!notes[i].used || (oldest->used && notes[i].since_ms < oldest->since_ms))
			oldest = &notes[i];
	}
	if (r == NULL) {
		if (oldest->used)
			notes_line(oldest, now);
		r = oldest;
		*r = (struct notes){.uid = uid, .since_ms = now, .used = 1};
	}
	if (r->said[kind]) {
		r->n[kind]++;
		return;
	}
	r->said[kind] = 1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	agent_log(LOG_WARNING, "%s %s uid %ld: %s; more are counted and logged once a minute",
	    kind == NOTE_REFUSED ? "refusing a connection" : "closing a connection", kind == NOTE_REFUSED ? "from" : "of",
	    (long)uid, why);
}

/* Once a minute per uid: how many; a uid with nothing to say for a minute
 * is forgotten (its next event is logged with its reason again). */
static void
notes_flush(int64_t now)
{
	for (size_t i = 0; i < NOTE_UIDS; i++) {
		if (!notes[i].used || now - notes[i].since_ms < NOTE_LOG_MS)
			continue;
		if (notes[i].n[NOTE_REFUSED] == 0 && notes[i].n[NOTE_CLOSED] == 0)
			notes[i].used = 0;
		else
			notes_line(&notes[i], now);
	}
}

/* Whether uid may have one more connection: NULL, or why not. Root (sshd,
 * login, su, getent run by root) may use every slot; the others together
 * leave root_connections free, and each holds at most max_connections_per_uid. */
static const char *
conn_admit(const struct agent *a, uid_t uid, size_t *free_slot)
{
	size_t used = 0, mine = 0, slot = AGENT_MAX_CONNECTIONS;

	for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
		if (a->conns[i] == NULL) {
			if (slot == AGENT_MAX_CONNECTIONS)
				slot = i;
			continue;
		}
		used++;
		if (a->conns[i]->uid == uid)
			mine++;
	}
	*free_slot = slot;
	if (slot == AGENT_MAX_CONNECTIONS)
		return "all connection slots are in use";
	if (uid == 0)
		return NULL;
	if (mine >= a->cfg.max_connections_per_uid)
		return "it holds max_connections_per_uid connections already";
	if (used + a->cfg.root_connections >= AGENT_MAX_CONNECTIONS)
		return "the remaining connection slots are kept for root (root_connections)";
	return NULL;
}

/* Take one connection off the backlog (or refuse it). -1: the backlog is empty. */
static int
accept_one(struct agent *a, int64_t now)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c;
	const char *why;
	size_t slot;
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		close(fd);
		return 0;
	}
	if ((why = conn_admit(a, cred.uid, &slot)) != NULL) {
		note(cred.uid, NOTE_REFUSED, now, "%s", why);
		agent_metrics_conn_refused();
		close(fd);
		return 0;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return 0;
	}
	c->fd = fd;
	c->in = c->small_in;
	c->incap = sizeof(c->small_in);
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->privileged = peer_privileged(a, fd, &cred);
	c->last_active_ms = now;
	a->conns[slot] = c;
	return 0;
}

/* Whether c is to be closed for taking too long: idle with nothing under
 * way past client_idle_timeout, or one request's bytes (in or out) past
 * client_io_timeout. A request the agent itself is working on (waiting)
 * is not the client's doing and is bounded by its own deadline. */
static int
conn_expired(const struct agent *a, const struct conn *c, int64_t now, int64_t *next)
{
	int64_t due;

	if (c->waiting)
		return 0;
	if (c->io_start_ms != 0)
		due = c->io_start_ms + a->cfg.client_io_timeout_ms;
	else
		due = c->last_active_ms + a->cfg.client_idle_timeout_ms;
	if (now >= due)
		return 1;
	if (due < *next)
		*next = due;
	return 0;
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
				note(c->uid, NOTE_CLOSED, agent_now_ms(), "it sent a frame of %zu bytes (1 to %d)", flen,
				    AGENT_FRAME_MAX);
				return -1;
			}
			if (c->inlen > 4 + flen) {
				/* a second request before the first was answered: not how the protocol goes */
				note(c->uid, NOTE_CLOSED, agent_now_ms(), "it sent a request before its reply");
				return -1;
			}
			if (c->inlen == 4 + flen) {
				c->io_start_ms = 0; /* read in time; the reply's writing is timed on its own */
				c->req_type = c->in[4];
				agent_handle_request(a, c, c->in[4], c->in + 5, flen - 1);
				if (!c->waiting) /* a waiting request keeps its input until answered */
					agent_conn_in_release(c);
				return 0; /* answer before reading more: one request at a time */
			}
			if (agent_conn_in_room(c, flen) != 0)
				return -1; /* no memory for its frame */
		}
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (c->inlen == 0)
			c->io_start_ms = agent_now_ms(); /* not reset by later bytes: one a second does not keep it */
		c->inlen += (size_t)n;
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
	}
	agent_conn_out_release(c);
	c->io_start_ms = 0;
	c->last_active_ms = agent_now_ms(); /* idle from the end of its last reply */
	return 0;
}

/* The loop's fixed descriptors: the listener, the signalfd, and the chain
 * and registration workers' eventfds; the connections follow. */
#define NFIXED 4

int
agent_server_run(struct agent *a)
{
	struct pollfd pfd[AGENT_MAX_CONNECTIONS + NFIXED + AGENT_PEER_MAX_POLLFDS];
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

	int ret = 0, nready, busy = 1;
	int64_t last_work_ms = 0;

	while (!a->stop) {
		size_t n = NFIXED;
		int64_t now = agent_now_ms();

		/* the timers first: a request they answer (its deadline passed) is
		 * polled for writing below, not left until the next wake-up */
		int wait_ms = agent_timers(a, now);
		int64_t next_conn = now + 1000;
		size_t npeer;

		pfd[0] = (struct pollfd){a->listen_fd, POLLIN, 0};
		pfd[1] = (struct pollfd){sfd, POLLIN, 0};
		pfd[2] = (struct pollfd){a->chain.efd, POLLIN, 0};
		pfd[3] = (struct pollfd){a->regchain.efd, POLLIN, 0};
		for (size_t i = 0; i < AGENT_MAX_CONNECTIONS; i++) {
			struct conn *c = a->conns[i];

			if (c == NULL)
				continue;
			if (c->outlen != 0 && c->io_start_ms == 0)
				c->io_start_ms = now; /* a reply began (maybe after a wait): its writing is timed */
			if (conn_expired(a, c, now, &next_conn)) {
				conn_free(a, i);
				continue;
			}
			idx[n - NFIXED] = i;
			pfd[n++] = (struct pollfd){c->fd, c->outlen ? POLLOUT : c->waiting ? 0 : POLLIN, 0};
		}
		notes_flush(now);
		npeer = n;
		/* sleep until the first timer or connection deadline (idle, I/O) is due */
		if (next_conn - now < wait_ms)
			wait_ms = next_conn <= now ? 0 : (int)(next_conn - now);
		n = agent_peer_pollfds(a, pfd, n, sizeof(pfd) / sizeof(pfd[0]));
		nready = poll(pfd, n, wait_ms);
		if (nready < 0 && errno != EINTR) {
			agent_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		/* quiet for 250 ms after passes that did something: give back what
		 * the work left behind (once per quiet spell; not between the
		 * requests of a slow client, where it would cost more than it saves) */
		if (nready > 0) {
			busy = 1;
			last_work_ms = now;
		} else if (nready == 0 && busy && agent_now_ms() - last_work_ms >= 250) {
			agent_idle_trim();
			busy = 0;
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
		for (size_t k = NFIXED; k < npeer; k++) {
			struct conn *c = a->conns[idx[k - NFIXED]];
			int drop = 0;

			if (c == NULL || pfd[k].revents == 0)
				continue;
			if (pfd[k].revents & (POLLERR | POLLNVAL))
				drop = 1;
			else if (c->waiting && (pfd[k].revents & POLLHUP))
				drop = 1; /* hung up while its request waits: nobody to answer (polled for nothing else) */
			else if (c->waiting)
				continue;
			else if (c->outlen == 0)
				drop = conn_read(a, c) != 0;
			if (!drop && c->outlen != 0)
				drop = conn_write(c) != 0;
			if (drop)
				conn_free(a, idx[k - NFIXED]);
		}
		agent_peer_events(a, pfd, n);
		/* a few at a time: a burst of connects is refused (or taken) quickly, and
		 * the others' requests still get their turn */
		for (int k = 0; k < 16 && (pfd[0].revents & POLLIN); k++)
			if (accept_one(a, now) != 0)
				break;
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
