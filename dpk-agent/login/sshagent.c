/* The ssh-agent socket (sshagent.h): one thread with its own poll(2) loop,
 * so a slow RSA signature never holds up the NSS and lookup answers of the
 * main loop. It shares only the identity key with the rest of the agent,
 * which is read-only once loaded (OpenSSL signs with a context per call),
 * and the admin group's gid, under a mutex. */
#include "login/sshagent.h"

#include "agent.h"
#include "common/clock.h"
#include "common/conn.h"
#include "common/log.h"
#include "common/sock.h"
#include "login/sshagent_msg.h"

#include "base/err.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#define SSHAGENT_READ_CHUNK 65536

struct sshconn {
	int fd;
	long uid;
	int allowed;        /* root or admin_group: else every request gets FAILURE */
	struct dpk_buf in;  /* frames received, not yet answered */
	struct dpk_buf out; /* the reply being sent */
	size_t outoff;
	int64_t last_active_ms;
};

struct agent_sshagent {
	char path[108];
	int listen_fd;
	int stop_fd; /* eventfd: written to stop the thread */
	pthread_t thread;
	pthread_mutex_t mu;
	int have_admin_gid;
	gid_t admin_gid;
	struct dpk_sshagent_key key;
	struct sshconn *conns[SSHAGENT_MAX_CONNECTIONS];
};

static void
conn_close(struct agent_sshagent *s, size_t i)
{
	struct sshconn *c = s->conns[i];

	close(c->fd);
	dpk_buf_free(&c->in);
	dpk_buf_free(&c->out);
	free(c);
	s->conns[i] = NULL;
}

static void
accept_one(struct agent_sshagent *s)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct sshconn *c;
	size_t slot;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), ok;

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&s->mu);
	ok = agent_peer_privileged(fd, &cred, s->have_admin_gid, s->admin_gid);
	pthread_mutex_unlock(&s->mu);
	/* a refused peer is answered FAILURE to everything (its ssh-add says
	 * "agent refused operation") rather than cut off mid-write */
	if (!ok)
		agent_log(LOG_NOTICE, "ssh-agent socket: uid %ld is neither root nor in admin_group; refusing its requests",
		    (long)cred.uid);
	for (slot = 0; slot < SSHAGENT_MAX_CONNECTIONS && s->conns[slot] != NULL; slot++)
		;
	if (slot == SSHAGENT_MAX_CONNECTIONS || (c = calloc(1, sizeof(*c))) == NULL) {
		agent_log(LOG_WARNING, "ssh-agent socket: too many connections (%d); refusing one", SSHAGENT_MAX_CONNECTIONS);
		close(fd);
		return;
	}
	c->fd = fd;
	c->uid = (long)cred.uid;
	c->allowed = ok;
	dpk_buf_init(&c->in, 4 + DPK_SSHAGENT_FRAME_MAX);
	dpk_buf_init(&c->out, 4 + DPK_SSHAGENT_REPLY_MAX);
	c->last_active_ms = agent_now_ms();
	s->conns[slot] = c;
}

/* Answer the first frame in c->in if it is complete: 1 answered, 0 not
 * complete yet, -1 to drop the peer (a frame of a forbidden length). */
static int
answer_frame(struct agent_sshagent *s, struct sshconn *c)
{
	const char *why;
	uint8_t *len;
	size_t flen, n;

	if (c->in.len < 4)
		return 0;
	flen = (size_t)c->in.data[0] << 24 | (size_t)c->in.data[1] << 16 | (size_t)c->in.data[2] << 8 | c->in.data[3];
	if (flen == 0 || flen > DPK_SSHAGENT_FRAME_MAX) {
		agent_log(LOG_WARNING, "ssh-agent socket: uid %ld sent a frame of %zu bytes (1 to %d allowed); closing its connection",
		    c->uid, flen, DPK_SSHAGENT_FRAME_MAX);
		return -1;
	}
	if (c->in.len < 4 + flen)
		return 0;
	if (dpk_buf_reserve(&c->out, 4, &len) != 0)
		return -1;
	if (!c->allowed) {
		if (dpk_buf_put_u8(&c->out, DPK_SSH_AGENT_FAILURE) != 0)
			return -1;
		why = NULL; /* said once, when it connected */
	} else if (dpk_sshagent_answer(&s->key, c->in.data + 4, flen, &c->out, &why) != 0) {
		return -1;
	}
	n = c->out.len - 4;
	len = c->out.data;
	len[0] = (uint8_t)(n >> 24), len[1] = (uint8_t)(n >> 16), len[2] = (uint8_t)(n >> 8), len[3] = (uint8_t)n;
	c->outoff = 0;
	if (why != NULL)
		agent_log(c->in.data[4] == DPK_SSH_AGENTC_SIGN_REQUEST ? LOG_NOTICE : LOG_DEBUG,
		    "ssh-agent socket: refused request type %u from uid %ld: %s", c->in.data[4], c->uid, why);
	/* the next frame, if the client sent several, moves to the front */
	memmove(c->in.data, c->in.data + 4 + flen, c->in.len - 4 - flen);
	c->in.len -= 4 + flen;
	return 1;
}

/* Read what is there, then answer and send frame by frame until the socket
 * would block. -1 to drop the peer. */
static int
conn_io(struct agent_sshagent *s, struct sshconn *c, short revents)
{
	if (revents & POLLIN) {
		size_t room = c->in.max - c->in.len;
		uint8_t *p;
		ssize_t n;

		if (room > SSHAGENT_READ_CHUNK)
			room = SSHAGENT_READ_CHUNK;
		if (room == 0 || dpk_buf_reserve(&c->in, room, &p) != 0)
			return -1;
		n = recv(c->fd, p, room, 0);
		c->in.len -= room - (n > 0 ? (size_t)n : 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		c->last_active_ms = agent_now_ms();
	}
	for (;;) {
		int r;

		while (c->outoff < c->out.len) {
			ssize_t n = send(c->fd, c->out.data + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL);

			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
			c->outoff += (size_t)n;
			c->last_active_ms = agent_now_ms();
		}
		dpk_buf_reset(&c->out);
		c->outoff = 0;
		if ((r = answer_frame(s, c)) <= 0)
			return r;
	}
}

static void *
sshagent_thread(void *arg)
{
	struct agent_sshagent *s = arg;
	struct pollfd pfd[SSHAGENT_MAX_CONNECTIONS + 2];
	size_t idx[SSHAGENT_MAX_CONNECTIONS];

	for (;;) {
		int64_t now = agent_now_ms();
		size_t n = 2;

		pfd[0] = (struct pollfd){s->listen_fd, POLLIN, 0};
		pfd[1] = (struct pollfd){s->stop_fd, POLLIN, 0};
		for (size_t i = 0; i < SSHAGENT_MAX_CONNECTIONS; i++) {
			struct sshconn *c = s->conns[i];

			if (c == NULL)
				continue;
			if (now - c->last_active_ms > AGENT_IDLE_TIMEOUT_MS) {
				conn_close(s, i);
				continue;
			}
			idx[n - 2] = i;
			pfd[n++] = (struct pollfd){c->fd, c->outoff < c->out.len ? POLLOUT : POLLIN, 0};
		}
		/* idle connections are checked every second while there are any */
		if (poll(pfd, n, n > 2 ? 1000 : -1) < 0 && errno != EINTR) {
			agent_log(LOG_ERR, "ssh-agent socket: poll: %s; no longer serving it", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			break;
		for (size_t k = 2; k < n; k++) {
			struct sshconn *c = s->conns[idx[k - 2]];

			if (pfd[k].revents == 0)
				continue;
			if ((pfd[k].revents & (POLLERR | POLLNVAL)) || conn_io(s, c, pfd[k].revents) != 0)
				conn_close(s, idx[k - 2]);
		}
		if (pfd[0].revents & POLLIN)
			accept_one(s);
	}
	return NULL;
}

/* ssh_agent_socket, or ssh-agent.sock in the agent socket's directory */
static int
socket_path(const struct agent *a, char *out, size_t outsz)
{
	const char *slash;

	if (a->cfg.ssh_agent_socket != NULL)
		return (size_t)snprintf(out, outsz, "%s", a->cfg.ssh_agent_socket) < outsz ? 0 : DPK_ERR_TOOBIG;
	slash = strrchr(a->cfg.socket_path, '/');
	if (slash == NULL)
		return DPK_ERR_INVALID;
	return (size_t)snprintf(out, outsz, "%.*s/ssh-agent.sock", (int)(slash - a->cfg.socket_path),
	    a->cfg.socket_path) < outsz ? 0 : DPK_ERR_TOOBIG;
}

int
agent_sshagent_start(struct agent *a, char *err, size_t errsz)
{
	struct agent_sshagent *s;
	int r;

	if (a->cfg.ssh_agent_socket != NULL && strcmp(a->cfg.ssh_agent_socket, "none") == 0)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return DPK_ERR_NOMEM;
	s->listen_fd = s->stop_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	s->have_admin_gid = a->have_admin_gid;
	s->admin_gid = a->admin_gid;
	if ((r = socket_path(a, s->path, sizeof(s->path))) != 0) {
		snprintf(err, errsz, "ssh-agent socket path beside %s is too long; set ssh_agent_socket", a->cfg.socket_path);
		goto fail;
	}
	if ((r = dpk_sshagent_key_init(&s->key, a->idkey, a->cfg.identity)) != 0) {
		snprintf(err, errsz, "cannot serve the identity key on the ssh-agent socket: %s", dpk_strerror(r));
		goto fail;
	}
	if ((r = agent_listen_unix(s->path, &s->listen_fd, err, errsz)) != 0)
		goto fail;
	r = DPK_ERR_IO;
	if ((s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    pthread_create(&s->thread, NULL, sshagent_thread, s) != 0) {
		snprintf(err, errsz, "cannot start the ssh-agent socket's thread: %s", strerror(errno));
		goto fail;
	}
	a->sshagent = s;
	agent_log(LOG_INFO, "ssh-agent socket on %s", s->path);
	return 0;
fail:
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->path);
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	dpk_sshagent_key_free(&s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return r;
}

void
agent_sshagent_reload(struct agent *a)
{
	struct agent_sshagent *s = a->sshagent;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->have_admin_gid = a->have_admin_gid;
	s->admin_gid = a->admin_gid;
	pthread_mutex_unlock(&s->mu);
}

void
agent_sshagent_stop(struct agent *a)
{
	struct agent_sshagent *s = a->sshagent;
	uint64_t one = 1;

	if (s == NULL)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one)) {
		/* the thread may still use s: leave it (the process is ending) */
		agent_log(LOG_ERR, "ssh-agent socket: cannot stop its thread: %s", strerror(errno));
		return;
	}
	pthread_join(s->thread, NULL);
	for (size_t i = 0; i < SSHAGENT_MAX_CONNECTIONS; i++)
		if (s->conns[i] != NULL)
			conn_close(s, i);
	close(s->listen_fd);
	unlink(s->path);
	close(s->stop_fd);
	dpk_sshagent_key_free(&s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
	a->sshagent = NULL;
}
