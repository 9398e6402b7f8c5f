/* pam_dpk.so as libpam runs it: dlopen()ed, its entry points called with a
 * real pam handle (pam_start_confdir, a service file in a test directory:
 * the machine's /etc/pam.d is never read) against a scripted fake agent.
 * Covered: the export list and the libraries it links; no agent, a hung
 * agent, a socket not owned by root (PAM_AUTHINFO_UNAVAIL, nothing sent);
 * not a DPK user (PAM_USER_UNKNOWN, or PAM_IGNORE with ignore_unknown_user);
 * a wrong response (PAM_AUTH_ERR); success; the conversation (one echo-on
 * prompt naming the host and the challenge); malformed and hostile replies (an error,
 * never a crash or a prompt); the account check; options and the error
 * mapping of pamdpk.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dpk/client.h"
#include "harness.h"
#include "pamdpk.h"

typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);

static struct {
	void *so;
	sm_fn auth, acct, setcred;
} m;

#define MAX_SCRIPT 4

/* The fake agent: one connection at a time; the n-th request on it gets
 * the n-th scripted reply (raw bytes, framing included, so replies can be
 * hostile); after the script it hangs up. hang: accept and never answer. */
static struct {
	char dir[64], path[108];
	int lfd, stop, connections, requests, hang;
	pthread_t th;
	pthread_mutex_t mu;
	uint8_t reply[MAX_SCRIPT][70000];
	size_t replylen[MAX_SCRIPT];
	size_t nreplies;
	uint8_t req[MAX_SCRIPT][2048];
	size_t reqlen[MAX_SCRIPT];
} fk = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int
read_frame(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	size_t got = 0, want = 4;

	while (got < want) {
		ssize_t r = read(fd, buf + got, cap - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
		if (got >= 4)
			want = 4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]);
		if (want > cap)
			return -1;
	}
	*n = got;
	return 0;
}

static void *
fake_serve(void *arg)
{
	(void)arg;
	while (!fk.stop) {
		struct pollfd pf = {fk.lfd, POLLIN, 0};
		int fd;

		if (poll(&pf, 1, 50) <= 0 || (fd = accept(fk.lfd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&fk.mu);
		fk.connections++;
		pthread_mutex_unlock(&fk.mu);
		for (size_t i = 0; i < MAX_SCRIPT; i++) {
			uint8_t buf[2048];
			size_t n;

			if (read_frame(fd, buf, sizeof(buf), &n) != 0)
				break;
			pthread_mutex_lock(&fk.mu);
			memcpy(fk.req[i], buf, n);
			fk.reqlen[i] = n;
			fk.requests++;
			pthread_mutex_unlock(&fk.mu);
			if (fk.hang) {
				while (!fk.stop && fk.hang)
					usleep(10000);
				break;
			}
			if (i >= fk.nreplies || write(fd, fk.reply[i], fk.replylen[i]) < 0)
				break;
		}
		close(fd);
	}
	return NULL;
}

/* A body writer for scripts. */
struct w {
	uint8_t b[70000];
	size_t n;
};

static void
w_u8(struct w *w, uint8_t v)
{
	w->b[w->n++] = v;
}

static void
w_u32(struct w *w, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		w_u8(w, (uint8_t)(v >> (8 * i)));
}

static void
w_u64(struct w *w, uint64_t v)
{
	w_u32(w, (uint32_t)(v >> 32));
	w_u32(w, (uint32_t)v);
}

static void
w_str(struct w *w, const char *s)
{
	size_t n = strlen(s);

	w_u32(w, (uint32_t)n);
	memcpy(w->b + w->n, s, n);
	w->n += n;
}

static void
script_reset(void)
{
	pthread_mutex_lock(&fk.mu);
	fk.nreplies = 0;
	fk.connections = fk.requests = 0;
	memset(fk.reqlen, 0, sizeof(fk.reqlen));
	pthread_mutex_unlock(&fk.mu);
}

/* Add the next reply: type and body, framed (flen_delta skews the length). */
static void
script_add(uint8_t type, const struct w *body, int32_t flen_delta)
{
	uint32_t flen = (uint32_t)((int64_t)body->n + 1 + flen_delta);
	uint8_t *r;

	pthread_mutex_lock(&fk.mu);
	r = fk.reply[fk.nreplies];
	r[0] = (uint8_t)(flen >> 24);
	r[1] = (uint8_t)(flen >> 16);
	r[2] = (uint8_t)(flen >> 8);
	r[3] = (uint8_t)flen;
	r[4] = type;
	memcpy(r + 5, body->b, body->n);
	fk.replylen[fk.nreplies++] = body->n + 5;
	pthread_mutex_unlock(&fk.mu);
}

static void
script_failure(uint32_t code, const char *msg)
{
	struct w w = {.n = 0};

	w_u32(&w, code);
	w_str(&w, msg);
	script_add(0x7f, &w, 0);
}

#define CHALLENGE "DPK-LOGIN-v1.AQAAAABrBck-emVomxjc2MsVMCsJztAcwhBob3N0LmV4YW1wbGUub3JnEWFsaWNlLmV4YW1wbGUub3JnCGRway10ZXN0"

static void
script_challenge(const char *text)
{
	struct w w = {.n = 0};

	w_str(&w, text);
	w_str(&w, "alice.example.org");
	w_u64(&w, (uint64_t)time(NULL) + 120);
	w_str(&w, "host.example.org");
	script_add(0x8b, &w, 0);
}

static int
requests(void)
{
	int n;

	pthread_mutex_lock(&fk.mu);
	n = fk.requests;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

/* The conversation: records the prompts, answers with answer (NULL: fails). */
static struct {
	int calls, style;
	char prompt[1024];
	const char *answer;
} cv;

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	(void)appdata;
	cv.calls++;
	assert_int_equal(n, 1);
	cv.style = msg[0]->msg_style;
	snprintf(cv.prompt, sizeof(cv.prompt), "%s", msg[0]->msg);
	if (cv.answer == NULL)
		return PAM_CONV_ERR;
	*resp = calloc(1, sizeof(**resp));
	(*resp)[0].resp = strdup(cv.answer);
	return PAM_SUCCESS;
}

/* Run an entry point for user with module arguments args (NULL-terminated,
 * socket= added first unless args start with one). */
static int
run(sm_fn fn, const char *user, const char *const *args)
{
	struct pam_conv pc = {conv, NULL};
	pam_handle_t *pamh = NULL;
	char sockopt[160];
	const char *argv[8];
	int argc = 0, r;

	if (args == NULL || args[0] == NULL || strncmp(args[0], "socket=", 7) != 0) {
		snprintf(sockopt, sizeof(sockopt), "socket=%s", fk.path);
		argv[argc++] = sockopt;
	}
	for (size_t i = 0; args != NULL && args[i] != NULL && argc < 8; i++)
		argv[argc++] = args[i];
	cv.calls = 0;
	cv.prompt[0] = '\0';
	assert_int_equal(pam_start_confdir("dpk-unit", user, &pc, fk.dir, &pamh), PAM_SUCCESS);
	r = fn(pamh, 0, argc, argv);
	pam_end(pamh, r);
	return r;
}

static int
setup(void **state)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char so[4096], svc[160];
	FILE *f;

	(void)state;
	assert_non_null(top);
	snprintf(so, sizeof(so), "%s/pam_dpk/.libs/pam_dpk.so", top);
	if ((m.so = dlopen(so, RTLD_NOW | RTLD_LOCAL)) == NULL)
		fail_msg("dlopen %s: %s", so, dlerror());
	*(void **)&m.auth = dlsym(m.so, "pam_sm_authenticate");
	*(void **)&m.acct = dlsym(m.so, "pam_sm_acct_mgmt");
	*(void **)&m.setcred = dlsym(m.so, "pam_sm_setcred");
	assert_non_null(m.auth);
	assert_non_null(m.acct);
	assert_non_null(m.setcred);

	dpk_test_tmpdir(fk.dir, sizeof(fk.dir));
	snprintf(svc, sizeof(svc), "%s/dpk-unit", fk.dir);
	f = fopen(svc, "w");
	fprintf(f, "auth required pam_permit.so\naccount required pam_permit.so\n");
	fclose(f);
	snprintf(fk.path, sizeof(fk.path), "%s/agent.sock", fk.dir);
	memcpy(sa.sun_path, fk.path, strlen(fk.path) + 1);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 16), 0);
	assert_int_equal(pthread_create(&fk.th, NULL, fake_serve, NULL), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fk.stop = 1;
	fk.hang = 0;
	pthread_join(fk.th, NULL);
	close(fk.lfd);
	dpk_test_rmtree(fk.dir);
	dlclose(m.so);
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The module exports the three entry points only and links libc and libpam only. */
static void
test_exports_and_links(void **state)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");
	char so[4096], *nm = (char *)"/usr/bin/nm", *readelf = (char *)"/usr/bin/readelf";
	struct dpk_buf out;
	int count = 0;

	(void)state;
	snprintf(so, sizeof(so), "%s/pam_dpk/.libs/pam_dpk.so", top);
	char *argv[] = {nm, (char *)"-D", (char *)"--defined-only", (char *)"--format=posix", so, NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
	for (char *line = (char *)out.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "pam_sm_", 7) != 0)
			fail_msg("pam_dpk.so exports %.*s", (int)strcspn(line, " "), line);
		count++;
	}
	assert_int_equal(count, 3);
	dpk_buf_free(&out);

	char *argv2[] = {readelf, (char *)"-d", so, NULL};
	assert_int_equal(dpk_test_run(argv2, NULL, &out), 0);
	for (char *p = strstr((char *)out.data, "(NEEDED)"); p != NULL; p = strstr(p + 1, "(NEEDED)")) {
		char *lib = strchr(p, '[');

		assert_non_null(lib);
		/* never OpenSSL, curl or cJSON; a sanitizer build adds its runtime */
		if (strncmp(lib, "[libc.so.6]", 11) != 0 && strncmp(lib, "[libpam.so.0]", 13) != 0 &&
		    strncmp(lib, "[libasan.so", 11) != 0 && strncmp(lib, "[libubsan.so", 12) != 0)
			fail_msg("pam_dpk.so links %.*s", (int)strcspn(lib, "\n"), lib);
	}
	dpk_buf_free(&out);
}

static void
test_success_and_prompt(void **state)
{
	struct w w = {.n = 0};
	static const char *const args[] = {"debug", NULL};
	char want[700];

	(void)state;
	script_reset();
	script_challenge(CHALLENGE);
	w_str(&w, "alice.example.org");
	w_u32(&w, 0);
	script_add(0x8d, &w, 0);
	cv.answer = "  DPK-RESPONSE-v1.c2lnbmF0dXJl \n";
	assert_int_equal(run(m.auth, "alice.example.org", args), PAM_SUCCESS);
	assert_int_equal(cv.calls, 1);
	assert_int_equal(cv.style, PAM_PROMPT_ECHO_ON);
	snprintf(want, sizeof(want), "run: dpkctl respond %s\n", CHALLENGE);
	assert_non_null(strstr(cv.prompt, want));
	/* it names the host the user logs in to, which dpkctl respond shows too */
	assert_non_null(strstr(cv.prompt, "DPK login to host.example.org as alice.example.org"));
	assert_true(strlen(cv.prompt) <= 511);
	/* what the agent was asked: CHALLENGE (user, service), VERIFY (the
	 * challenge, the trimmed response) */
	assert_int_equal(requests(), 2);
	assert_int_equal(fk.req[0][4], 0x0b);
	assert_non_null(memmem(fk.req[0], fk.reqlen[0], "alice.example.org", 17));
	assert_non_null(memmem(fk.req[0], fk.reqlen[0], "dpk-unit", 8));
	assert_int_equal(fk.req[1][4], 0x0d);
	assert_non_null(memmem(fk.req[1], fk.reqlen[1], CHALLENGE, strlen(CHALLENGE)));
	assert_non_null(memmem(fk.req[1], fk.reqlen[1], "\0\0\0\x1c" "DPK-RESPONSE-v1.c2lnbmF0dXJl", 32));
	assert_int_equal(run(m.setcred, "alice.example.org", NULL), PAM_SUCCESS);
}

static void
test_wrong_response(void **state)
{
	(void)state;
	/* the agent says: bad signature, replayed, expired, revoked */
	static const uint32_t codes[] = {12, 25, 24, 26, 10};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		script_reset();
		script_challenge(CHALLENGE);
		script_failure(codes[i], "the response is not alice.example.org's signature of this challenge");
		cv.answer = "DPK-RESPONSE-v1.AAAA";
		assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTH_ERR);
	}
	/* an empty answer: refused without asking the agent */
	script_reset();
	script_challenge(CHALLENGE);
	cv.answer = " \n";
	assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTH_ERR);
	assert_int_equal(requests(), 1);
	/* the conversation fails */
	script_reset();
	script_challenge(CHALLENGE);
	cv.answer = NULL;
	assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_CONV_ERR);
	assert_int_equal(requests(), 1);
}

static void
test_unknown_user(void **state)
{
	static const char *const ignore[] = {"ignore_unknown_user", NULL};
	struct w w = {.n = 0};

	(void)state;
	cv.answer = "x";
	script_reset();
	script_failure(19, "'root' is not a DPK user of this host");
	assert_int_equal(run(m.auth, "root", NULL), PAM_USER_UNKNOWN);
	assert_int_equal(cv.calls, 0);
	script_reset();
	script_failure(19, "'root' is not a DPK user of this host");
	assert_int_equal(run(m.auth, "root", ignore), PAM_IGNORE);
	script_reset();
	script_failure(19, "'root' is not a DPK user of this host");
	assert_int_equal(run(m.acct, "root", NULL), PAM_USER_UNKNOWN);
	script_reset();
	script_failure(19, "'root' is not a DPK user of this host");
	assert_int_equal(run(m.acct, "root", ignore), PAM_IGNORE);
	/* "not found" from VERIFY is a failed login, not an unknown user */
	script_reset();
	script_challenge(CHALLENGE);
	script_failure(19, "unknown login challenge");
	assert_int_equal(run(m.auth, "alice.example.org", ignore), PAM_AUTH_ERR);
	/* the account check's answers */
	static const struct {
		uint8_t status;
		int want;
	} acct[] = {{1, PAM_SUCCESS}, {2, PAM_PERM_DENIED}, {0, PAM_USER_UNKNOWN}};
	for (size_t i = 0; i < 3; i++) {
		w.n = 0;
		w_u8(&w, acct[i].status);
		w_str(&w, "alice.example.org");
		w_u32(&w, i == 0 ? 5000 : 0); /* an active record 5 s old (offline_login_max_age) still counts */
		script_reset();
		script_add(0x8e, &w, 0);
		assert_int_equal(run(m.acct, "alice.example.org", NULL), acct[i].want);
	}
}

static void
test_agent_unavailable(void **state)
{
	static const char *const nosock[] = {"socket=/nonexistent/dpk/agent.sock", NULL};
	static const char *const quick[] = {"timeout=300", NULL};
	int64_t t0;

	(void)state;
	cv.answer = "x";
	t0 = now_ms();
	assert_int_equal(run(m.auth, "alice.example.org", nosock), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run(m.acct, "alice.example.org", nosock), PAM_AUTHINFO_UNAVAIL);
	assert_true(now_ms() - t0 < 1000);
	/* the chain cannot be reached, the agent is busy, no host identity */
	static const uint32_t codes[] = {15, 16, 28, 2};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		script_reset();
		script_failure(codes[i], "cannot");
		assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTHINFO_UNAVAIL);
	}
	/* not allowed to log in here (login_allow): a refusal, not an outage */
	script_reset();
	script_failure(23, "login_allow does not let it log in");
	assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTH_ERR);
	script_reset();
	script_failure(23, "login_allow does not let it log in");
	assert_int_equal(run(m.acct, "alice.example.org", NULL), PAM_PERM_DENIED);
	/* hung: no answer within the timeout */
	script_reset();
	fk.hang = 1;
	t0 = now_ms();
	assert_int_equal(run(m.auth, "alice.example.org", quick), PAM_AUTHINFO_UNAVAIL);
	assert_true(now_ms() - t0 < 2000);
	fk.hang = 0;
	/* a socket that root does not own: refused before anything is sent */
	script_reset();
	script_challenge(CHALLENGE);
	assert_int_equal(chown(fk.path, 65534, 65534), 0);
	assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(run(m.acct, "alice.example.org", NULL), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(chown(fk.path, 0, 0), 0);
	usleep(100000);
	assert_int_equal(requests(), 0);
	assert_int_equal(cv.calls, 0);
}

/* A root-owned socket file whose listener is not root (it bound as root,
 * then dropped to nobody before listen(): SO_PEERCRED names nobody): the
 * module hangs up before sending a byte. */
static void
test_peer_not_root(void **state)
{
	const char *args[] = {NULL, NULL};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[160], opt[200];
	int ready[2], got[2], r;
	pid_t pid;

	(void)state;
	snprintf(path, sizeof(path), "%s/nobody.sock", fk.dir);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(got), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd;
		char b[64];
		ssize_t n = 0;

		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0 || listen(lfd, 4) != 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		if ((fd = accept(lfd, NULL, NULL)) >= 0)
			n = read(fd, b, sizeof(b)); /* 0: hung up without a byte */
		b[0] = n == 0 ? '0' : 'x';
		_exit(write(got[1], b, 1) == 1 ? 0 : 1);
	}
	close(ready[1]);
	close(got[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	snprintf(opt, sizeof(opt), "socket=%s", path);
	args[0] = opt;
	cv.answer = "x";
	r = run(m.auth, "alice.example.org", args);
	assert_int_equal(r, PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(cv.calls, 0);
	assert_int_equal(read(got[0], &c, 1), 1);
	assert_int_equal(c, '0');
	assert_int_equal(waitpid(pid, &r, 0), pid);
	close(ready[0]);
	close(got[0]);
}

/* Replies that are not answers: an error, never a crash, never a prompt. */
static void
test_hostile_replies(void **state)
{
	struct w w;
	char big[700];

	(void)state;
	cv.answer = "x";
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct {
		const char *what;
		int kind; /* 0 challenge text, 1 trailing byte, 2 truncated, 3 wrong type, 4 frame length, 5 NUL,
		           * 6 no host, 7 empty host */
		const char *text;
		int32_t delta;
	} bad[] = {
		{"empty challenge", 0, "", 0},
		{"oversized challenge", 0, big, 0},
		{"trailing byte", 1, CHALLENGE, 0},
		{"truncated", 2, CHALLENGE, 0},
		{"wrong reply type", 3, CHALLENGE, 0},
		{"frame length over the cap", 4, CHALLENGE, 70000},
		{"frame length short", 4, CHALLENGE, -3},
		{"NUL in the challenge", 5, CHALLENGE, 0},
		{"no host identity", 6, CHALLENGE, 0},
		{"empty host identity", 7, CHALLENGE, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.n = 0;
		w_str(&w, bad[i].text);
		w_str(&w, "alice.example.org");
		w_u64(&w, 0);
		if (bad[i].kind != 6)
			w_str(&w, bad[i].kind == 7 ? "" : "host.example.org");
		if (bad[i].kind == 1)
			w_u8(&w, 0);
		if (bad[i].kind == 2)
			w.n -= 3;
		if (bad[i].kind == 5)
			w.b[10] = '\0';
		script_reset();
		script_add(bad[i].kind == 3 ? 0x8d : 0x8b, &w, bad[i].kind == 4 ? bad[i].delta : 0);
		if (run(m.auth, "alice.example.org", (const char *const[]){"timeout=500", NULL}) != PAM_AUTHINFO_UNAVAIL)
			fail_msg("%s: not PAM_AUTHINFO_UNAVAIL", bad[i].what);
		if (cv.calls != 0)
			fail_msg("%s: the user was prompted", bad[i].what);
	}
	/* a malformed VERIFY answer is no success */
	script_reset();
	script_challenge(CHALLENGE);
	w.n = 0;
	w_str(&w, "alice.example.org");
	w_u8(&w, 1);
	script_add(0x8d, &w, 0);
	assert_int_equal(run(m.auth, "alice.example.org", NULL), PAM_AUTHINFO_UNAVAIL);
	/* an account status out of range */
	script_reset();
	w.n = 0;
	w_u8(&w, 7);
	w_str(&w, "alice.example.org");
	script_add(0x8e, &w, 0);
	assert_int_equal(run(m.acct, "alice.example.org", NULL), PAM_AUTHINFO_UNAVAIL);
}

/* pamdpk.c: options and the one error mapping. */
static void
test_options_and_mapping(void **state)
{
	struct pamdpk_opts o;
	char bad[64], svc[33], prompt[512], longc[401];
	static const char *const good[] = {"debug", "timeout=250", "socket=/run/x.sock", "ignore_unknown_user"};
	static const char *const wrong[] = {"timeout=99", "timeout=1x", "socket=relative", "nosuch", "timeout=60001"};

	(void)state;
	assert_int_equal(pamdpk_parse_opts(4, (const char **)good, &o, bad, sizeof(bad)), 0);
	assert_true(o.debug && o.ignore_unknown_user);
	assert_int_equal(o.timeout_ms, 250);
	assert_string_equal(o.socket, "/run/x.sock");
	assert_int_equal(pamdpk_parse_opts(5, (const char **)wrong, &o, bad, sizeof(bad)), 5);
	assert_string_equal(bad, "timeout=99");
	assert_int_equal(o.timeout_ms, PAMDPK_DEFAULT_TIMEOUT_MS);
	assert_string_equal(o.socket, DPK_CLIENT_DEFAULT_SOCKET);

	o.ignore_unknown_user = 0;
	assert_int_equal(pamdpk_pam_code(0, 0, 0, &o), PAM_SUCCESS);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EUNAVAIL, 0, 1, &o), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_ETIMEOUT, 0, 1, &o), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EPROTO, 0, 1, &o), PAM_AUTHINFO_UNAVAIL);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EAGENT, 19, 1, &o), PAM_USER_UNKNOWN);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EAGENT, 19, 0, &o), PAM_AUTH_ERR);
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EAGENT, 12, 0, &o), PAM_AUTH_ERR);
	o.ignore_unknown_user = 1;
	assert_int_equal(pamdpk_pam_code(DPK_CLIENT_EAGENT, 19, 1, &o), PAM_IGNORE);

	pamdpk_service_name("sshd", svc);
	assert_string_equal(svc, "sshd");
	pamdpk_service_name("a b/c:d", svc);
	assert_string_equal(svc, "a_b_c_d");
	pamdpk_service_name("", svc);
	assert_string_equal(svc, "_");
	pamdpk_service_name("0123456789012345678901234567890123456789", svc);
	assert_int_equal(strlen(svc), 32);

	/* the longest challenge still fits a PAM prompt with the instruction */
	memset(longc, 'A', 400);
	longc[400] = '\0';
	pamdpk_prompt("host.example.org", "a-very-long-identity.example.org", 120, longc, prompt, sizeof(prompt));
	assert_true(strlen(prompt) <= 511);
	assert_non_null(strstr(prompt, "dpkctl respond AAAA"));
	assert_non_null(strstr(prompt, "DPK login to host.example.org"));
	/* short identities: the host, the user and the expiry */
	pamdpk_prompt("host.example.org", "alice.example.org", 120, "DPK-LOGIN-v1.AAAA", prompt, sizeof(prompt));
	assert_string_equal(prompt, "DPK login to host.example.org as alice.example.org (the challenge expires in 120 s).\n"
	    "On your device, run: dpkctl respond DPK-LOGIN-v1.AAAA\nResponse: ");
	/* identities too long to name with the challenge: the challenge still */
	char longid[254];
	memset(longid, 'b', 253);
	longid[253] = '\0';
	pamdpk_prompt(longid, longid, 120, longc, prompt, sizeof(prompt));
	assert_true(strlen(prompt) <= 511);
	assert_non_null(strstr(prompt, "dpkctl respond AAAA"));
	char t[] = " \t abc \r\n";
	pamdpk_trim(t);
	assert_string_equal(t, "abc");
}

int
main(void)
{
	dpk_test_skip_unless_root();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exports_and_links),
		cmocka_unit_test(test_success_and_prompt),
		cmocka_unit_test(test_wrong_response),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_agent_unavailable),
		cmocka_unit_test(test_peer_not_root),
		cmocka_unit_test(test_hostile_replies),
		cmocka_unit_test(test_options_and_mapping),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
