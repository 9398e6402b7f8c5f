/* libdpkclient against a scripted fake agent: framing, every malformed reply,
 * timeouts, a missing agent, the socket owner check and the export list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dpk/client.h"
#include "harness.h"

/* What the fake agent answers to the next request. */
struct script {
	const uint8_t *reply;
	size_t len;
	int delay_ms;    /* before answering */
	int close_early; /* hang up without reading */
};

struct fake {
	char dir[64];
	char path[108];
	int lfd;
	pthread_t th;
	struct script s;
	uint8_t req[600]; /* the start of the request's body (after the type) */
	size_t reqlen;
	uint8_t got[512]; /* the request's frame, as far as it fits */
	size_t gotlen;
};

static void *
fake_serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	uint8_t hdr[4], body[70000];

	if (fd < 0)
		return NULL;
	if (!f->s.close_early) {
		uint32_t n;

		if (read(fd, hdr, 4) == 4) {
			n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
			for (size_t got = 0; got < n && got < sizeof(body);) {
				ssize_t r = read(fd, body + got, n - got);
				if (r <= 0)
					break;
				got += (size_t)r;
			}
			f->reqlen = n > 1 ? (n - 1 < sizeof(f->req) ? n - 1 : sizeof(f->req)) : 0;
			memcpy(f->req, body + 1, f->reqlen);
			memcpy(f->got, hdr, 4);
			f->gotlen = 4 + (n < sizeof(f->got) - 4 ? n : sizeof(f->got) - 4);
			memcpy(f->got + 4, body, f->gotlen - 4);
		}
		if (f->s.delay_ms)
			usleep((useconds_t)f->s.delay_ms * 1000);
		if (f->s.len && write(fd, f->s.reply, f->s.len) < 0)
			perror("fake agent write");
		usleep(300 * 1000); /* let the client read before the hang-up */
	}
	close(fd);
	return NULL;
}

static void
fake_start(struct fake *f, const uint8_t *reply, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	dpk_test_tmpdir(f->dir, sizeof(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/agent.sock", f->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->s.reply = reply;
	f->s.len = len;
	assert_int_equal(pthread_create(&f->th, NULL, fake_serve, f), 0);
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	dpk_test_rmtree(f->dir);
}

/* Run dpk_client_hello against a fake agent that answers reply. */
static int
hello_with(const uint8_t *reply, size_t len, int delay_ms, int close_early, uint32_t *proto,
    char *ver, size_t versz, int *agent_code, char *agent_msg, size_t msgsz)
{
	struct fake f = {.s = {.delay_ms = delay_ms, .close_early = close_early}};
	struct dpk_client *c;
	const char *m;
	int r;

	fake_start(&f, reply, len);
	assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
	r = dpk_client_hello(c, proto, ver, versz);
	if (agent_code != NULL)
		*agent_code = dpk_client_agent_error(c, &m);
	if (agent_msg != NULL)
		snprintf(agent_msg, msgsz, "%s", m);
	dpk_client_close(c);
	fake_stop(&f);
	return r;
}

static void
test_hello_ok(void **state)
{
	static const uint8_t reply[] = {0, 0, 0, 14, 0x81, 0, 0, 0, 1, 0, 0, 0, 5, '0', '.', '1', '.', '0'};
	uint32_t proto = 0;
	char ver[32];

	assert_int_equal(hello_with(reply, sizeof(reply), 0, 0, &proto, ver, sizeof(ver), NULL, NULL, 0), 0);
	assert_int_equal(proto, 1);
	assert_string_equal(ver, "0.1.0");
}

static void
test_agent_failure(void **state)
{
	static const uint8_t reply[] = {0, 0, 0, 17, 0x7f, 0, 0, 0, 19, 0, 0, 0, 8, 'n', 'o', 't', ' ', 'h', 'e', 'r', 'e'};
	uint32_t proto;
	char ver[32], msg[64];
	int code;

	assert_int_equal(hello_with(reply, sizeof(reply), 0, 0, &proto, ver, sizeof(ver), &code, msg, sizeof(msg)),
	    DPK_CLIENT_EAGENT);
	assert_int_equal(code, 19);
	assert_string_equal(msg, "not here");
}

static void
test_malformed_replies(void **state)
{
	static const uint8_t oversized[] = {0, 1, 0, 1, 0x81};
	static const uint8_t zero[] = {0, 0, 0, 0};
	static const uint8_t truncated[] = {0, 0, 0, 14, 0x81, 0, 0};
	static const uint8_t wrongtype[] = {0, 0, 0, 14, 0x82, 0, 0, 0, 1, 0, 0, 0, 5, '0', '.', '1', '.', '0'};
	static const uint8_t trailing[] = {0, 0, 0, 15, 0x81, 0, 0, 0, 1, 0, 0, 0, 5, '0', '.', '1', '.', '0', 'X'};
	static const uint8_t nul[] = {0, 0, 0, 14, 0x81, 0, 0, 0, 1, 0, 0, 0, 5, '0', '\0', '1', '.', '0'};
	static const uint8_t strlen_over[] = {0, 0, 0, 14, 0x81, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, '0', '.', '1', '.', '0'};
	static const uint8_t badfailure[] = {0, 0, 0, 3, 0x7f, 0, 0};
	static const struct { const uint8_t *p; size_t n; const char *what; } cases[] = {
		{oversized, sizeof(oversized), "frame length over the cap"},
		{zero, sizeof(zero), "zero frame length"},
		{truncated, sizeof(truncated), "reply cut short"},
		{wrongtype, sizeof(wrongtype), "reply type for another request"},
		{trailing, sizeof(trailing), "trailing byte in the body"},
		{nul, sizeof(nul), "NUL inside a text field"},
		{strlen_over, sizeof(strlen_over), "string length past the body"},
		{badfailure, sizeof(badfailure), "truncated FAILURE body"},
	};
	uint32_t proto;
	char ver[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = hello_with(cases[i].p, cases[i].n, 0, 0, &proto, ver, sizeof(ver), NULL, NULL, 0);

		if (r != DPK_CLIENT_EPROTO)
			fail_msg("%s: got %d (%s), want EPROTO", cases[i].what, r, dpk_client_strerror(r));
	}
	/* a version string longer than the caller's buffer is refused, not cut */
	static const uint8_t ok[] = {0, 0, 0, 14, 0x81, 0, 0, 0, 1, 0, 0, 0, 5, '0', '.', '1', '.', '0'};
	assert_int_equal(hello_with(ok, sizeof(ok), 0, 0, &proto, ver, 5, NULL, NULL, 0), DPK_CLIENT_EPROTO);
}

static void
test_timeout_and_hangup(void **state)
{
	uint32_t proto;
	char ver[32];

	/* no answer within the 500 ms timeout */
	assert_int_equal(hello_with(NULL, 0, 1500, 0, &proto, ver, sizeof(ver), NULL, NULL, 0), DPK_CLIENT_ETIMEOUT);
	/* the agent hangs up at once: an error, and no SIGPIPE kills the caller */
	int r = hello_with(NULL, 0, 0, 1, &proto, ver, sizeof(ver), NULL, NULL, 0);
	assert_true(r == DPK_CLIENT_EUNAVAIL || r == DPK_CLIENT_EPROTO);
}

static void
test_no_agent(void **state)
{
	struct dpk_client *c = (struct dpk_client *)&c;
	char long_path[200];

	errno = 1234;
	assert_int_equal(dpk_client_open("/nonexistent/dpk/agent.sock", 100, 0, &c), DPK_CLIENT_EUNAVAIL);
	assert_null(c);
	assert_int_equal(errno, 1234); /* errno preserved for the NSS module's callers */
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(dpk_client_open(long_path, 100, 0, &c), DPK_CLIENT_EINVAL);
	assert_int_equal(dpk_client_open("/tmp/x", 0, 0, &c), DPK_CLIENT_EINVAL);
}

static void
test_request_too_big(void **state)
{
	static const uint8_t ok[] = {0, 0, 0, 1, 0x81};
	static uint8_t big[DPK_CLIENT_MAX_FRAME];
	struct fake f = {0};
	struct dpk_client *c;
	uint8_t rtype, reply[8];
	size_t n;

	fake_start(&f, ok, sizeof(ok));
	assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
	assert_int_equal(dpk_client_call(c, 0x01, big, sizeof(big), &rtype, reply, sizeof(reply), &n),
	    DPK_CLIENT_ETOOBIG);
	/* the connection is still usable: nothing was sent */
	assert_int_equal(dpk_client_call(c, 0x01, NULL, 0, &rtype, reply, sizeof(reply), &n), 0);
	assert_int_equal(rtype, 0x81);
	assert_int_equal(n, 0);
	dpk_client_close(c);
	fake_stop(&f);
}

/* A socket served by a non-root process is refused when root ownership is required. */
static void
test_owner_check(void **state)
{
	char dir[64], path[108];
	int sync[2];
	pid_t pid;
	struct dpk_client *c;

	if (geteuid() != 0) {
		/* as a normal user the agent cannot be root-owned: the check must refuse */
		struct fake f = {0};
		static const uint8_t ok[] = {0, 0, 0, 1, 0x81};

		fake_start(&f, ok, sizeof(ok));
		assert_int_equal(dpk_client_open(f.path, 500, 1, &c), DPK_CLIENT_EUNAVAIL);
		assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
		dpk_client_close(c);
		fake_stop(&f);
		return;
	}
	dpk_test_tmpdir(dir, sizeof(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	assert_int_equal(pipe(sync), 0);
	if ((pid = fork()) == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int lfd, fd;

		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 4) != 0)
			_exit(3);
		chmod(path, 0666);
		if (write(sync[1], "x", 1) != 1)
			_exit(4);
		for (int i = 0; i < 2 && (fd = accept(lfd, NULL, NULL)) >= 0; i++)
			close(fd);
		_exit(0);
	}
	char x;
	assert_int_equal(read(sync[0], &x, 1), 1);
	assert_int_equal(dpk_client_open(path, 500, 1, &c), DPK_CLIENT_EUNAVAIL);
	assert_int_equal(dpk_client_open(path, 500, 0, &c), 0);
	dpk_client_close(c);
	waitpid(pid, NULL, 0);
	dpk_test_rmtree(dir);
}

/* The shared object exports the dpk_client_* API and nothing else. */
/* LOGIN_CHALLENGE names the remote host as a third string when there is
 * one, and sends the two-string form every agent takes when there is none
 * or it is not a host name. */
static void
test_login_challenge_rhost(void **state)
{
	static const uint8_t reply[] = {0, 0, 0, 30, 0x8b, 0, 0, 0, 3, 'c', 'h', 'l', 0, 0, 0, 3, 'a', '.', 'b',
	    0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 3, 'h', '.', 'x'};
	static const uint8_t want2[] = {0, 0, 0, 18, 0x0b, 0, 0, 0, 5, 'a', 'l', 'i', 'c', 'e', 0, 0, 0, 4, 's', 's', 'h', 'd'};
	static const uint8_t want3[] = {0, 0, 0, 27, 0x0b, 0, 0, 0, 5, 'a', 'l', 'i', 'c', 'e', 0, 0, 0, 4, 's', 's', 'h', 'd',
	    0, 0, 0, 5, 'h', '.', 'o', 'r', 'g'};
	const char *rhosts[] = {"h.org", NULL, "", "a b", "tab\there"};
	struct dpk_client_login_challenge ch;

	(void)state;
	for (size_t i = 0; i < sizeof(rhosts) / sizeof(rhosts[0]); i++) {
		struct fake f = {0};
		struct dpk_client *c;

		fake_start(&f, reply, sizeof(reply));
		assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
		assert_int_equal(dpk_client_login_challenge_from(c, "alice", "sshd", rhosts[i], &ch), 0);
		assert_string_equal(ch.challenge, "chl");
		assert_int_equal(ch.expiry, 9);
		dpk_client_close(c);
		fake_stop(&f);
		if (i == 0) {
			assert_int_equal(f.gotlen, sizeof(want3));
			assert_memory_equal(f.got, want3, sizeof(want3));
		} else {
			assert_int_equal(f.gotlen, sizeof(want2));
			assert_memory_equal(f.got, want2, sizeof(want2));
		}
	}
}

static void
test_exports(void **state)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");
	char so[4096], *nm = (char *)"/usr/bin/nm";
	struct dpk_buf out;
	int count = 0;

	assert_non_null(top);
	snprintf(so, sizeof(so), "%s/client/.libs/libdpkclient.so", top);
	char *argv[] = {nm, (char *)"-D", (char *)"--defined-only", (char *)"--format=posix", so, NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
	for (char *line = (char *)out.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t n = strcspn(line, " ");

		if (n == 11 && strncmp(line, "DPKCLIENT_0", 11) == 0)
			continue; /* the version node */
		if (strncmp(line, "dpk_client_", 11) != 0)
			fail_msg("libdpkclient.so exports %.*s", (int)n, line);
		count++;
	}
	assert_true(count >= 6);
	dpk_buf_free(&out);
}

/* A LOGIN_RESPOND reply frame: response text (may be empty), host, user,
 * service, expiry, and extra trailing bytes. */
static size_t
respond_reply(uint8_t *b, const char *response, const char *host, int trailing)
{
	const char *f[4] = {response, host, "alice.example.org", "sshd"};
	size_t n = 5;

	for (int i = 0; i < 4; i++) {
		size_t l = strlen(f[i]);

		b[n++] = 0;
		b[n++] = 0;
		b[n++] = 0;
		b[n++] = (uint8_t)l;
		memcpy(b + n, f[i], l);
		n += l;
	}
	memset(b + n, 0, 8);
	b[n + 7] = 42;
	n += 8 + (size_t)trailing;
	b[0] = 0;
	b[1] = 0;
	b[2] = (uint8_t)((n - 4) >> 8);
	b[3] = (uint8_t)(n - 4);
	b[4] = 0x8c;
	return n;
}

/* describe (mode 0) and respond (mode 1) send the challenge and the mode;
 * a describe answer carries no response, a respond answer one; anything
 * else is a malformed reply. */
static void
test_login_describe_and_respond(void **state)
{
	static const char ch[] = "DPK-LOGIN-v1.AAAA";
	struct dpk_client_login_response out;
	uint8_t reply[256];
	struct {
		int describe;
		const char *response, *host;
		int trailing, want;
	} cases[] = {
		{1, "", "host.example.org", 0, 0},
		{0, "DPK-RESPONSE-v1.AAAA", "host.example.org", 0, 0},
		{1, "DPK-RESPONSE-v1.AAAA", "host.example.org", 0, DPK_CLIENT_EPROTO}, /* describe never signs */
		{0, "", "host.example.org", 0, DPK_CLIENT_EPROTO},
		{1, "", "", 0, DPK_CLIENT_EPROTO},
		{1, "", "host.example.org", 1, DPK_CLIENT_EPROTO},
		{0, "DPK-RESPONSE-v1.AAAA", "host.example.org", 1, DPK_CLIENT_EPROTO},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = {.s = {0}};
		struct dpk_client *c;
		size_t n = respond_reply(reply, cases[i].response, cases[i].host, cases[i].trailing);
		int r;

		fake_start(&f, reply, n);
		assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
		r = cases[i].describe ? dpk_client_login_describe(c, ch, &out) : dpk_client_login_respond(c, ch, &out);
		dpk_client_close(c);
		fake_stop(&f);
		if (r != cases[i].want)
			fail_msg("case %zu: %d, expected %d", i, r, cases[i].want);
		/* the request: string challenge, u8 mode */
		assert_int_equal(f.reqlen, 4 + strlen(ch) + 1);
		assert_memory_equal(f.req + 4, ch, strlen(ch));
		assert_int_equal(f.req[f.reqlen - 1], cases[i].describe ? 0 : 1);
		if (r == 0) {
			assert_string_equal(out.response, cases[i].response);
			assert_string_equal(out.host, "host.example.org");
			assert_string_equal(out.user, "alice.example.org");
			assert_string_equal(out.service, "sshd");
			assert_int_equal(out.expiry, 42);
		} else {
			assert_string_equal(out.host, "");
		}
	}
}

/* A LOGIN_ACCOUNT reply (type 0x8e) for alice: status 1, stale ms 0, then
 * tail[tn] (the proven block, or not). */
static size_t
account_reply(uint8_t *out, const uint8_t *tail, size_t tn)
{
	static const char id[] = "alice.example.org";
	size_t n = 4;

	out[n++] = 0x8e;
	out[n++] = 1;
	out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = (uint8_t)(sizeof(id) - 1);
	memcpy(out + n, id, sizeof(id) - 1);
	n += sizeof(id) - 1;
	memset(out + n, 0, 4);
	n += 4;
	memcpy(out + n, tail, tn);
	n += tn;
	out[0] = 0, out[1] = 0, out[2] = (uint8_t)((n - 4) >> 8), out[3] = (uint8_t)(n - 4);
	return n;
}

static int
account_with(const uint8_t *tail, size_t tn, uint64_t *block, uint8_t hash[32], int *proven)
{
	struct fake f = {0};
	struct dpk_client *c;
	uint8_t reply[256], status;
	char ident[256];
	size_t n = account_reply(reply, tail, tn);
	int r;

	fake_start(&f, reply, n);
	assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
	r = dpk_client_login_account(c, "alice.example.org", &status, ident, sizeof(ident));
	*proven = dpk_client_login_proof(c, block, hash);
	dpk_client_close(c);
	fake_stop(&f);
	return r;
}

/* LOGIN_ACCOUNT's proven block (the tail an agent with verified reads
 * adds): read when whole, absent from older agents, and a tail cut short,
 * a hash of the wrong size or a byte too many refused. */
static void
test_login_proof(void **state)
{
	uint8_t tail[1 + 8 + 4 + 33], hash[32];
	uint64_t block = 0;
	int proven;

	(void)state;
	tail[0] = 1;
	memset(tail + 1, 0, 8);
	tail[8] = 42;                                   /* block 42 */
	tail[9] = 0, tail[10] = 0, tail[11] = 0, tail[12] = 32;
	for (int i = 0; i < 33; i++)
		tail[13 + i] = (uint8_t)(0xa0 + i);
	assert_int_equal(account_with(tail, 13 + 32, &block, hash, &proven), 0);
	assert_int_equal(proven, 1);
	assert_int_equal(block, 42);
	assert_int_equal(hash[0], 0xa0);
	assert_int_equal(hash[31], 0xa0 + 31);
	/* an agent before verified reads: no tail, no block */
	assert_int_equal(account_with(tail, 0, &block, hash, &proven), 0);
	assert_int_equal(proven, 0);
	/* not proven: an empty hash */
	{
		uint8_t none[13] = {0};

		assert_int_equal(account_with(none, sizeof(none), &block, hash, &proven), 0);
		assert_int_equal(proven, 0);
	}
	/* cut anywhere, a 31- or 33-byte hash, a trailing byte: refused */
	static const size_t cuts[] = {1, 5, 9, 12, 13, 14, 44}; /* in each field */

	for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
		assert_int_equal(account_with(tail, cuts[k], &block, hash, &proven), DPK_CLIENT_EPROTO);
		assert_int_equal(proven, 0);
	}
	tail[12] = 31;
	assert_int_equal(account_with(tail, 13 + 31, &block, hash, &proven), DPK_CLIENT_EPROTO);
	tail[12] = 33;
	assert_int_equal(account_with(tail, 13 + 33, &block, hash, &proven), DPK_CLIENT_EPROTO);
	tail[12] = 32;
	assert_int_equal(account_with(tail, 13 + 33, &block, hash, &proven), DPK_CLIENT_EPROTO);
	/* proven but no hash */
	tail[12] = 0;
	assert_int_equal(account_with(tail, 13, &block, hash, &proven), DPK_CLIENT_EPROTO);
}

/* A STATUS reply frame: the fixed fields, an empty chain-read block and
 * then ops (the operations block's body, ops_len bytes) as one string whose
 * length field says str_len; without ops (NULL), an older agent's reply. */
static size_t
status_frame(uint8_t *f, size_t cap, const uint8_t *ops, size_t ops_len, uint32_t str_len)
{
	size_t n = 4;

	f[n++] = 0x82;
	memset(f + n, 0, 8), f[n + 7] = 7, n += 8;                     /* chain id 7 */
	for (int k = 0; k < 2; k++)                                     /* contract, wallet */
		f[n++] = 0, f[n++] = 0, f[n++] = 0, f[n++] = 20, memset(f + n, 0xab, 20), n += 20;
	f[n++] = 0, f[n++] = 0, f[n++] = 0, f[n++] = 0;                 /* identity "" */
	f[n++] = 1, f[n++] = 0;                                         /* algorithm, privileged */
	f[n++] = 0, f[n++] = 0, memset(f + n, 0, 8), n += 8;            /* verify_reads, anchor */
	f[n++] = 0, f[n++] = 0, f[n++] = 0, f[n++] = 0, f[n++] = 0;     /* hash "", no endpoints */
	memset(f + n, 0, 8), n += 8;                                    /* anchor time */
	if (ops != NULL) {
		f[n++] = (uint8_t)(str_len >> 24), f[n++] = (uint8_t)(str_len >> 16);
		f[n++] = (uint8_t)(str_len >> 8), f[n++] = (uint8_t)str_len;
		assert_true(n + ops_len <= cap);
		memcpy(f + n, ops, ops_len), n += ops_len;
	}
	f[0] = (uint8_t)((n - 4) >> 24), f[1] = (uint8_t)((n - 4) >> 16), f[2] = (uint8_t)((n - 4) >> 8);
	f[3] = (uint8_t)(n - 4);
	return n;
}

/* STATUS against a fake agent answering frame; the ops block into *ops. */
static int
status_with(const uint8_t *frame, size_t len, int *has_ops, struct dpk_client_status_ops *ops)
{
	struct fake f = {.s = {0}};
	struct dpk_client_status st;
	struct dpk_client *c;
	int r;

	fake_start(&f, frame, len);
	assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
	r = dpk_client_status(c, &st);
	*has_ops = dpk_client_status_ops(c, ops);
	dpk_client_close(c);
	fake_stop(&f);
	return r;
}

/* STATUS's operations block: decoded field by field; absent from an older
 * agent; a truncated, overlong, trailing-garbage, NUL-carrying or
 * out-of-range block makes the whole reply malformed. */
static void
test_status_ops_block(void **state)
{
	/* chain 1, head 0x1234, age 5 s, error "", step 7 "registered", balance 32 bytes (1 wei... 0x01 last),
	 * cache 3 entries, 9 hits, 4 misses */
	uint8_t ops[200], frame[400];
	struct dpk_client_status_ops o;
	size_t n = 0, len;
	int has;

	ops[n++] = 1;
	memset(ops + n, 0, 8), ops[n + 6] = 0x12, ops[n + 7] = 0x34, n += 8;
	ops[n++] = 0, ops[n++] = 0, ops[n++] = 0, ops[n++] = 5;
	ops[n++] = 0, ops[n++] = 0, ops[n++] = 0, ops[n++] = 0;
	ops[n++] = 7;
	ops[n++] = 0, ops[n++] = 0, ops[n++] = 0, ops[n++] = 10, memcpy(ops + n, "registered", 10), n += 10;
	ops[n++] = 0, ops[n++] = 0, ops[n++] = 0, ops[n++] = 32, memset(ops + n, 0, 32), ops[n + 31] = 1, n += 32;
	ops[n++] = 0, ops[n++] = 0, ops[n++] = 0, ops[n++] = 3;
	memset(ops + n, 0, 8), ops[n + 7] = 9, n += 8;
	memset(ops + n, 0, 8), ops[n + 7] = 4, n += 8;

	len = status_frame(frame, sizeof(frame), ops, n, (uint32_t)n);
	assert_int_equal(status_with(frame, len, &has, &o), 0);
	assert_int_equal(has, 1);
	assert_int_equal(o.chain, 1);
	assert_int_equal(o.head_block, 0x1234);
	assert_int_equal(o.head_age_s, 5);
	assert_string_equal(o.chain_error, "");
	assert_int_equal(o.reg_step, 7);
	assert_string_equal(o.reg_step_name, "registered");
	assert_true(o.has_balance && o.balance_wei[31] == 1 && o.balance_wei[0] == 0);
	assert_int_equal(o.cache_entries, 3);
	assert_int_equal(o.cache_hits, 9);
	assert_int_equal(o.cache_misses, 4);

	/* an older agent: no block, no error */
	len = status_frame(frame, sizeof(frame), NULL, 0, 0);
	assert_int_equal(status_with(frame, len, &has, &o), 0);
	assert_int_equal(has, 0);

	/* malformed blocks */
	len = status_frame(frame, sizeof(frame), ops, n - 1, (uint32_t)n - 1);   /* truncated inside */
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	len = status_frame(frame, sizeof(frame), ops, n, (uint32_t)n + 1);       /* string past the body */
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	ops[n] = 0xee;                                                           /* trailing byte */
	len = status_frame(frame, sizeof(frame), ops, n + 1, (uint32_t)n + 1);
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	len = status_frame(frame, sizeof(frame), ops, n + 1, (uint32_t)n);       /* trailing byte after it */
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	ops[0] = 3;                                                              /* chain state out of range */
	len = status_frame(frame, sizeof(frame), ops, n, (uint32_t)n);
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	ops[0] = 1;
	ops[1 + 8 + 4 + 4 + 1 + 4 + 3] = '\0';                                   /* NUL in the step name */
	len = status_frame(frame, sizeof(frame), ops, n, (uint32_t)n);
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
	ops[1 + 8 + 4 + 4 + 1 + 4 + 3] = 'i';
	ops[1 + 8 + 4 + 4 + 1 + 4 + 10 + 3] = 31;                                /* a 31-byte balance */
	len = status_frame(frame, sizeof(frame), ops, n - 1, (uint32_t)n - 1);
	assert_int_equal(status_with(frame, len, &has, &o), DPK_CLIENT_EPROTO);
}

/* CACHE_FLUSH: the count; a reply with a trailing byte is malformed. */
static void
test_cache_flush_reply(void **state)
{
	static const uint8_t ok[] = {0, 0, 0, 5, 0xb0, 0, 0, 0, 42};
	static const uint8_t trailing[] = {0, 0, 0, 6, 0xb0, 0, 0, 0, 42, 0};
	static const uint8_t short_[] = {0, 0, 0, 3, 0xb0, 0, 0};
	const struct { const uint8_t *p; size_t n; int want; } cases[] = {
		{ok, sizeof(ok), 0}, {trailing, sizeof(trailing), DPK_CLIENT_EPROTO}, {short_, sizeof(short_), DPK_CLIENT_EPROTO},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake f = {.s = {0}};
		struct dpk_client *c;
		uint32_t dropped = 0;

		fake_start(&f, cases[i].p, cases[i].n);
		assert_int_equal(dpk_client_open(f.path, 500, 0, &c), 0);
		assert_int_equal(dpk_client_cache_flush(c, &dropped), cases[i].want);
		if (cases[i].want == 0) {
			assert_int_equal(dropped, 42);
			assert_int_equal(f.got[4], 0x30); /* the request's type, with an empty body */
		}
		dpk_client_close(c);
		fake_stop(&f);
	}
}

int
main(void)
{
	dpk_test_skip_unless_root();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_ok),
		cmocka_unit_test(test_agent_failure),
		cmocka_unit_test(test_malformed_replies),
		cmocka_unit_test(test_timeout_and_hangup),
		cmocka_unit_test(test_no_agent),
		cmocka_unit_test(test_request_too_big),
		cmocka_unit_test(test_owner_check),
		cmocka_unit_test(test_login_challenge_rhost),
		cmocka_unit_test(test_exports),
		cmocka_unit_test(test_login_describe_and_respond),
		cmocka_unit_test(test_login_proof),
		cmocka_unit_test(test_status_ops_block),
		cmocka_unit_test(test_cache_flush_reply),
	};

	signal(SIGPIPE, SIG_DFL); /* a stray SIGPIPE must kill the test, not be ignored */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
