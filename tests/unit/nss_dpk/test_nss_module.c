/* libnss_dpk.so.2 as glibc sees it: dlopen()ed, every entry point called
 * against a scripted fake agent. Buffers shrunk byte by byte (ERANGE +
 * TRYAGAIN, never a write past the end), NOTFOUND against UNAVAIL (no agent,
 * FAILURE, corrupt and hostile replies), errno kept, root and bad names
 * answered without a connection, the bypass variable, the export list and
 * the libraries it links. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "cachefile.h"
#include "harness.h"
#include "login/nss_cache.h"

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*initgr_fn)(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);

static struct {
	void *so;
	pwnam_fn pwnam;
	pwuid_fn pwuid;
	grnam_fn grnam;
	grgid_fn grgid;
	initgr_fn initgr;
	setent_fn setpwent, setgrent;
	endent_fn endpwent, endgrent;
	pwent_fn getpwent;
	grent_fn getgrent;
} m;

/* The fake agent: answers every connection's one request with the script
 * and keeps the last request it saw. */
static struct {
	char dir[64], path[108], cache[128];
	int lfd, stop, connections;
	pthread_t th;
	pthread_mutex_t mu;
	uint8_t reply[70000];
	size_t replylen;
	uint8_t req[512];
	size_t reqlen;
} fk = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *
fake_serve(void *arg)
{
	(void)arg;
	while (!fk.stop) {
		struct pollfd pf = {fk.lfd, POLLIN, 0};
		uint8_t buf[600];
		size_t got = 0;
		int fd;

		if (poll(&pf, 1, 50) <= 0 || (fd = accept(fk.lfd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&fk.mu);
		fk.connections++;
		pthread_mutex_unlock(&fk.mu);
		while (got < 4 || got < 4 + ((size_t)buf[2] << 8 | buf[3])) {
			ssize_t r = read(fd, buf + got, sizeof(buf) - got);

			if (r <= 0)
				break;
			got += (size_t)r;
		}
		pthread_mutex_lock(&fk.mu);
		fk.reqlen = got;
		memcpy(fk.req, buf, got);
		pthread_mutex_unlock(&fk.mu);
		if (fk.replylen > 0 && write(fd, fk.reply, fk.replylen) < 0)
			perror("fake agent write");
		close(fd);
	}
	return NULL;
}

/* Script the next answer: type and body, framed. */
static void
script(uint8_t type, const uint8_t *body, size_t n)
{
	uint32_t flen = (uint32_t)n + 1;

	pthread_mutex_lock(&fk.mu);
	fk.reply[0] = (uint8_t)(flen >> 24);
	fk.reply[1] = (uint8_t)(flen >> 16);
	fk.reply[2] = (uint8_t)(flen >> 8);
	fk.reply[3] = (uint8_t)flen;
	fk.reply[4] = type;
	memcpy(fk.reply + 5, body, n);
	fk.replylen = n + 5;
	fk.connections = 0;
	pthread_mutex_unlock(&fk.mu);
}

static int
connections(void)
{
	int n;

	pthread_mutex_lock(&fk.mu);
	n = fk.connections;
	pthread_mutex_unlock(&fk.mu);
	return n;
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
	w_u8(w, (uint8_t)(v >> 24));
	w_u8(w, (uint8_t)(v >> 16));
	w_u8(w, (uint8_t)(v >> 8));
	w_u8(w, (uint8_t)v);
}

static void
w_str(struct w *w, const char *s)
{
	w_u32(w, (uint32_t)strlen(s));
	memcpy(w->b + w->n, s, strlen(s));
	w->n += strlen(s);
}

static void
passwd_body(struct w *w, const char *name, uint32_t uid, uint32_t gid, const char *gecos, const char *dir,
    const char *shell)
{
	w->n = 0;
	w_u8(w, 1);
	w_str(w, name);
	w_u32(w, uid);
	w_u32(w, gid);
	w_str(w, gecos);
	w_str(w, dir);
	w_str(w, shell);
}

static void
group_body(struct w *w, const char *name, uint32_t gid, int nmem, const char *const *mem)
{
	w->n = 0;
	w_u8(w, 1);
	w_str(w, name);
	w_u32(w, gid);
	w_u32(w, (uint32_t)nmem);
	for (int i = 0; i < nmem; i++)
		w_str(w, mem[i]);
}

static int
setup(void **state)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char so[4096];

	(void)state;
	assert_non_null(top);
	snprintf(so, sizeof(so), "%s/nss_dpk/.libs/libnss_dpk.so.2", top);
	m.so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (m.so == NULL)
		fail_msg("dlopen %s: %s", so, dlerror());
	*(void **)&m.pwnam = dlsym(m.so, "_nss_dpk_getpwnam_r");
	*(void **)&m.pwuid = dlsym(m.so, "_nss_dpk_getpwuid_r");
	*(void **)&m.grnam = dlsym(m.so, "_nss_dpk_getgrnam_r");
	*(void **)&m.grgid = dlsym(m.so, "_nss_dpk_getgrgid_r");
	*(void **)&m.initgr = dlsym(m.so, "_nss_dpk_initgroups_dyn");
	*(void **)&m.setpwent = dlsym(m.so, "_nss_dpk_setpwent");
	*(void **)&m.getpwent = dlsym(m.so, "_nss_dpk_getpwent_r");
	*(void **)&m.endpwent = dlsym(m.so, "_nss_dpk_endpwent");
	*(void **)&m.setgrent = dlsym(m.so, "_nss_dpk_setgrent");
	*(void **)&m.getgrent = dlsym(m.so, "_nss_dpk_getgrent_r");
	*(void **)&m.endgrent = dlsym(m.so, "_nss_dpk_endgrent");
	assert_true(m.pwnam && m.pwuid && m.grnam && m.grgid && m.initgr);
	assert_true(m.setpwent && m.getpwent && m.endpwent && m.setgrent && m.getgrent && m.endgrent);

	dpk_test_tmpdir(fk.dir, sizeof(fk.dir));
	snprintf(fk.path, sizeof(fk.path), "%s/agent.sock", fk.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk.path);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fk.lfd, 16), 0);
	assert_int_equal(pthread_create(&fk.th, NULL, fake_serve, NULL), 0);
	setenv("DPK_AGENT_SOCKET", fk.path, 1);
	/* no cache file unless a test writes one */
	snprintf(fk.cache, sizeof(fk.cache), "%s/nss.cache", fk.dir);
	setenv("DPK_NSS_CACHE", fk.cache, 1);
	unsetenv("DPK_NSS_BYPASS");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	fk.stop = 1;
	pthread_join(fk.th, NULL);
	close(fk.lfd);
	dpk_test_rmtree(fk.dir);
	dlclose(m.so);
	return 0;
}

/* The request the fake agent last read: type and body. */
static void
assert_request(uint8_t type, const uint8_t *body, size_t n)
{
	pthread_mutex_lock(&fk.mu);
	assert_int_equal(fk.reqlen, 5 + n);
	assert_int_equal(fk.req[4], type);
	assert_memory_equal(fk.req + 5, body, n);
	pthread_mutex_unlock(&fk.mu);
}

static void
test_getpwnam(void **state)
{
	static const uint8_t req[] = {0, 0, 0, 16, 'p', 'e', 'e', 'r', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o',
	    'r', 'g'};
	struct w w;
	struct passwd pw;
	char buf[512];
	int err = 0;
	size_t need;

	(void)state;
	passwd_body(&w, "peer.example.org", 234567, 234567, "DPK peer.example.org", "/home/peer.example.org", "/bin/bash");
	script(0x86, w.b, w.n);
	errno = 4242;
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 4242);
	assert_request(0x06, req, sizeof(req));
	assert_string_equal(pw.pw_name, "peer.example.org");
	assert_string_equal(pw.pw_passwd, "*");
	assert_int_equal(pw.pw_uid, 234567);
	assert_int_equal(pw.pw_gid, 234567);
	assert_string_equal(pw.pw_gecos, "DPK peer.example.org");
	assert_string_equal(pw.pw_dir, "/home/peer.example.org");
	assert_string_equal(pw.pw_shell, "/bin/bash");
	/* every string lives in the caller's buffer */
	assert_true(pw.pw_name >= buf && pw.pw_shell < buf + sizeof(buf));

	/* exactly the size of the five strings, then one byte less and down to 0 */
	need = 17 + 2 + 21 + 23 + 10;
	for (size_t len = need + 1; len-- > 0;) {
		char *small = malloc(len ? len : 1);

		err = 0;
		errno = 4242;
		enum nss_status st = m.pwnam("peer.example.org", &pw, small, len, &err);
		if (len >= need) {
			assert_int_equal(st, NSS_STATUS_SUCCESS);
			assert_string_equal(pw.pw_shell, "/bin/bash");
		} else {
			assert_int_equal(st, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
		}
		assert_int_equal(errno, 4242);
		free(small);
	}
}

static void
test_getpwuid(void **state)
{
	static const uint8_t req[] = {0, 3, 0x94, 0x47};
	struct w w;
	struct passwd pw;
	char buf[512];
	int err = 0;

	(void)state;
	passwd_body(&w, "dpk-0123456789ab", 234567, 4000, "DPK 2001-db8--7", "/home/dpk-0123456789ab", "/bin/sh");
	script(0x87, w.b, w.n);
	assert_int_equal(m.pwuid(234567, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_request(0x07, req, sizeof(req));
	assert_string_equal(pw.pw_name, "dpk-0123456789ab");
	assert_int_equal(pw.pw_gid, 4000);
	assert_string_equal(pw.pw_gecos, "DPK 2001-db8--7");

	/* an answer for another uid is not believed */
	assert_int_equal(m.pwuid(234568, &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
}

static void
test_getgr(void **state)
{
	static const char *const mem[] = {"a.example.org", "dpk-0123456789ab", "b.example.org"};
	struct w w;
	struct group gr;
	char buf[1024];
	int err = 0;
	size_t need;

	(void)state;
	group_body(&w, "dpk-users", 4000, 3, mem);
	script(0x88, w.b, w.n);
	errno = 77;
	assert_int_equal(m.grnam("dpk-users", &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 77);
	assert_string_equal(gr.gr_name, "dpk-users");
	assert_string_equal(gr.gr_passwd, "*");
	assert_int_equal(gr.gr_gid, 4000);
	for (int i = 0; i < 3; i++)
		assert_string_equal(gr.gr_mem[i], mem[i]);
	assert_null(gr.gr_mem[3]);

	/* an odd start address: the member array is aligned inside the buffer */
	need = 4 * sizeof(char *) + 10 + 2 + 14 + 17 + 14;
	for (size_t len = need + 8; len-- > 0;) {
		char *big = malloc(need + 16), *p = big + 1;
		size_t pad = (sizeof(char *) - ((uintptr_t)p % sizeof(char *))) % sizeof(char *);

		err = 0;
		enum nss_status st = m.grnam("dpk-users", &gr, p, len, &err);
		if (len >= need + pad) {
			assert_int_equal(st, NSS_STATUS_SUCCESS);
			assert_int_equal((uintptr_t)gr.gr_mem % sizeof(char *), 0);
			assert_true((char *)gr.gr_mem >= p && gr.gr_passwd + 2 <= p + len);
			assert_string_equal(gr.gr_mem[2], "b.example.org");
		} else {
			assert_int_equal(st, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
		}
		free(big);
	}

	group_body(&w, "dpk-users", 4000, 0, NULL);
	script(0x89, w.b, w.n);
	assert_int_equal(m.grgid(4000, &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_null(gr.gr_mem[0]);
	assert_int_equal(m.grgid(4001, &gr, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
}

static void
test_initgroups(void **state)
{
	struct w w = {.n = 0};
	long int start = 1, size = 1;
	gid_t *groups = malloc(sizeof(gid_t));
	int err = 0;

	(void)state;
	groups[0] = 100;
	w_u8(&w, 1);
	w_u32(&w, 3);
	w_u32(&w, 234567); /* the primary group given by the caller: skipped */
	w_u32(&w, 4000);
	w_u32(&w, 100);    /* already there: skipped */
	script(0x8a, w.b, w.n);
	errno = 5;
	assert_int_equal(m.initgr("peer.example.org", 234567, &start, &size, &groups, 0, &err), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 5);
	assert_int_equal(start, 2);
	assert_true(size >= 2);
	assert_int_equal(groups[1], 4000);

	/* a limit is respected */
	start = 1;
	size = 1;
	assert_int_equal(m.initgr("peer.example.org", 234567, &start, &size, &groups, 1, &err), NSS_STATUS_SUCCESS);
	assert_int_equal(start, 1);

	/* a count that does not match the body */
	w.n = 0;
	w_u8(&w, 1);
	w_u32(&w, 2);
	w_u32(&w, 4000);
	script(0x8a, w.b, w.n);
	start = 1;
	assert_int_equal(m.initgr("peer.example.org", 234567, &start, &size, &groups, 0, &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
	assert_int_equal(start, 1);
	free(groups);
}

static void
test_notfound(void **state)
{
	static const uint8_t no[] = {0};
	struct passwd pw;
	struct group gr;
	char buf[256];
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	int err = 0;

	(void)state;
	script(0x86, no, 1);
	errno = 9;
	assert_int_equal(m.pwnam("nobody.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(err, ENOENT);
	assert_int_equal(errno, 9);
	script(0x87, no, 1);
	assert_int_equal(m.pwuid(250000, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	script(0x88, no, 1);
	assert_int_equal(m.grnam("x.example.org", &gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	script(0x89, no, 1);
	assert_int_equal(m.grgid(250000, &gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	script(0x8a, no, 1);
	assert_int_equal(m.initgr("x.example.org", 5, &start, &size, &groups, 0, &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);
	free(groups);
}

/* root, the system's reserved ids and names no DPK user can have: answered
 * at once, the agent never asked */
static void
test_no_connection(void **state)
{
	static const char *const bad[] = {"root", "", "-rf", "a b", "a/b", "x\n", "tab\there", "\xc3\xa9t\xc3\xa9"};
	static const uint8_t no[] = {0};
	struct passwd pw;
	struct group gr;
	char buf[256], longname[300];
	int err = 0;

	(void)state;
	script(0x86, no, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 3;
		assert_int_equal(m.pwnam(bad[i], &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
		assert_int_equal(err, ENOENT);
		assert_int_equal(errno, 3);
		assert_int_equal(m.grnam(bad[i], &gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(m.pwnam(longname, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(m.pwuid(0, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(m.pwuid(65534, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(m.grgid(0, &gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(m.pwuid((uid_t)-1, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	usleep(100 * 1000);
	assert_int_equal(connections(), 0);

	/* the agent's own process: UNAVAIL at once */
	setenv("DPK_NSS_BYPASS", "1", 1);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	unsetenv("DPK_NSS_BYPASS");
	usleep(100 * 1000);
	assert_int_equal(connections(), 0);
}

/* Everything that is not an answer is UNAVAIL, never NOTFOUND: no agent,
 * a FAILURE, and every kind of corrupt or hostile reply. */
static void
test_unavail(void **state)
{
	struct w w;
	struct passwd pw;
	char buf[4096];
	int err = 0;

	(void)state;
	/* the agent cannot tell (chain down, nothing cached) */
	w.n = 0;
	w_u32(&w, 16);
	w_str(&w, "the chain did not answer");
	script(0x7f, w.b, w.n);
	errno = 1;
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EAGAIN);
	assert_int_equal(errno, 1);

	struct {
		const char *what;
		const char *name, *gecos, *dir, *shell;
		uint32_t uid, gid;
		int trail, cut;
		uint8_t rtype;
	} bad[] = {
		{"root uid", "peer.example.org", "", "/h", "/bin/sh", 0, 5, 0, 0, 0x86},
		{"root gid", "peer.example.org", "", "/h", "/bin/sh", 5000, 0, 0, 0, 0x86},
		{"colon in name", "pe:er", "", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"newline in gecos", "peer", "a\nb", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"colon in gecos", "peer", "DPK 2001:db8::7", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"colon in dir", "peer", "", "/h:x", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"relative shell", "peer", "", "/h", "sh", 5000, 5000, 0, 0, 0x86},
		{"empty name", "", "", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"root name", "root", "", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x86},
		{"trailing byte", "peer", "", "/h", "/bin/sh", 5000, 5000, 1, 0, 0x86},
		{"truncated", "peer", "", "/h", "/bin/sh", 5000, 5000, 0, 3, 0x86},
		{"wrong reply type", "peer", "", "/h", "/bin/sh", 5000, 5000, 0, 0, 0x87},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		passwd_body(&w, bad[i].name, bad[i].uid, bad[i].gid, bad[i].gecos, bad[i].dir, bad[i].shell);
		if (bad[i].trail)
			w_u8(&w, 0);
		w.n -= (size_t)bad[i].cut;
		script(bad[i].rtype, w.b, w.n);
		err = 0;
		if (m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err) != NSS_STATUS_UNAVAIL)
			fail_msg("%s: not UNAVAIL", bad[i].what);
		assert_int_equal(err, EPROTO);
	}
	/* an embedded NUL in a field */
	passwd_body(&w, "peer", 5000, 5000, "a", "/h", "/bin/sh");
	w.b[w.n - 3] = '\0'; /* inside "/bin/sh" */
	script(0x86, w.b, w.n);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	/* "not found" with a body, found flag 2, empty body */
	static const uint8_t nf_body[] = {0, 1}, two[] = {2};
	script(0x86, nf_body, 2);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	script(0x86, two, 1);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	script(0x86, two, 0);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	/* a group whose member count runs past the body, or has a comma */
	static const char *const comma[] = {"a,b"};
	struct group gr;
	group_body(&w, "g", 4000, 1, comma);
	script(0x88, w.b, w.n);
	assert_int_equal(m.grnam("g", &gr, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	group_body(&w, "g", 4000, 0, NULL);
	w.b[w.n - 1] = 9;
	script(0x88, w.b, w.n);
	assert_int_equal(m.grnam("g", &gr, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
	/* a hang-up without an answer */
	pthread_mutex_lock(&fk.mu);
	fk.replylen = 0;
	pthread_mutex_unlock(&fk.mu);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);

	/* no agent at all */
	setenv("DPK_AGENT_SOCKET", "/nonexistent/dpk/agent.sock", 1);
	errno = 8;
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, ENOENT);
	assert_int_equal(errno, 8);
	setenv("DPK_AGENT_SOCKET", fk.path, 1);
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void *
resolve_many(void *arg)
{
	char buf[256];
	struct passwd pw;
	int err, *ok = arg;

	for (int i = 0; i < 50; i++)
		if (m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS &&
		    strcmp(pw.pw_dir, "/home/peer.example.org") == 0)
			(*ok)++;
	return NULL;
}

/* No state shared between calls: threads at once all get their answer in
 * their own buffer, and no call leaves a descriptor behind. */
static void
test_threads_and_fds(void **state)
{
	struct w w;
	pthread_t th[8];
	int ok[8] = {0}, before;

	(void)state;
	passwd_body(&w, "peer.example.org", 234567, 234567, "DPK peer.example.org", "/home/peer.example.org", "/bin/bash");
	script(0x86, w.b, w.n);
	before = open_fds();
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, resolve_many, &ok[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ok[i], 50);
	}
	/* the fake agent (a thread of this process) may not have closed its end
	 * of the last connection yet: give it a moment, then count */
	for (int i = 0; i < 200 && open_fds() != before; i++)
		usleep(10000);
	assert_int_equal(open_fds(), before);
}

/* ---- the cache file (fastpath.c) ---- */

/* Write bytes as the cache file the way the agent does: a new file renamed
 * over the old one, mode mode. */
static void
put_cache(const uint8_t *p, size_t n, mode_t mode)
{
	char tmp[160];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", fk.cache);
	assert_non_null(f = fopen(tmp, "wb"));
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(tmp, mode), 0);
	assert_int_equal(rename(tmp, fk.cache), 0);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* peer.example.org (fresh for an hour), old.example.org (expired), and
 * their groups; uid_peer changes the file's content. */
static void
build_cache(struct dpk_buf *out, uint32_t uid_peer)
{
	uint64_t later = now_ms() + 3600 * 1000, past = now_ms() - 1000;
	struct nss_cache_user_in u[] = {
		{"peer.example.org", "DPK peer.example.org", "/home/peer.example.org", "/bin/bash", uid_peer, uid_peer, later, 0, NULL},
		{"old.example.org", "DPK old.example.org", "/home/old.example.org", "/bin/bash", 234999, 234999, past, 0, NULL},
	};
	struct nss_cache_group_in g[] = {{"peer.example.org", uid_peer, later}, {"old.example.org", 234999, past}};

	dpk_buf_init(out, NSS_DPK_CACHE_MAX_SIZE);
	assert_int_equal(agent_nss_cache_build(u, 2, g, 2, 1, out), 0);
}

static void
test_cache_hits(void **state)
{
	static const uint8_t no[] = {0};
	struct dpk_buf f;
	struct passwd pw;
	struct group gr;
	char buf[512];
	int err = 0, before;
	long int start = 1, size = 1;
	gid_t *groups = malloc(sizeof(gid_t));
	size_t need;

	(void)state;
	build_cache(&f, 234567);
	put_cache(f.data, f.len, 0644);
	script(0x86, no, 1); /* the agent would say "not found": a hit never asks it */
	before = open_fds();
	errno = 4242;
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 4242);
	assert_string_equal(pw.pw_name, "peer.example.org");
	assert_string_equal(pw.pw_passwd, "*");
	assert_int_equal(pw.pw_uid, 234567);
	assert_string_equal(pw.pw_gecos, "DPK peer.example.org");
	assert_string_equal(pw.pw_dir, "/home/peer.example.org");
	assert_string_equal(pw.pw_shell, "/bin/bash");
	assert_true(pw.pw_name >= buf && pw.pw_shell < buf + sizeof(buf));
	assert_int_equal(m.pwuid(234567, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "peer.example.org");
	assert_int_equal(m.grnam("peer.example.org", &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(gr.gr_gid, 234567);
	assert_null(gr.gr_mem[0]);
	assert_int_equal(m.grgid(234567, &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "peer.example.org");
	groups[0] = 100;
	assert_int_equal(m.initgr("peer.example.org", 100, &start, &size, &groups, 0, &err), NSS_STATUS_SUCCESS);
	assert_int_equal(start, 2);
	assert_int_equal(groups[1], 234567);
	assert_int_equal(connections(), 0);
	/* the buffer shrunk byte by byte: ERANGE + TRYAGAIN, never a write past it */
	need = 17 + 2 + 21 + 23 + 10;
	for (size_t len = need + 1; len-- > 0;) {
		char *small = malloc(len ? len : 1);

		err = 0;
		enum nss_status st = m.pwnam("peer.example.org", &pw, small, len, &err);
		if (len >= need) {
			assert_int_equal(st, NSS_STATUS_SUCCESS);
		} else {
			assert_int_equal(st, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
		}
		free(small);
	}
	for (size_t len = 0; len < sizeof(char *) + 20; len++) {
		char *small = malloc(len ? len : 1);
		enum nss_status st = m.grgid(234567, &gr, small, len, &err);

		assert_true(st == NSS_STATUS_SUCCESS || (st == NSS_STATUS_TRYAGAIN && err == ERANGE));
		free(small);
	}
	assert_int_equal(connections(), 0);
	assert_int_equal(open_fds(), before); /* the mapping holds no descriptor */

	/* expired, or not in the file: the agent is asked */
	assert_int_equal(m.pwnam("old.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);
	script(0x87, no, 1);
	assert_int_equal(m.pwuid(234999, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);
	script(0x86, no, 1);
	assert_int_equal(m.pwnam("other.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);

	/* a new file is seen at the next call */
	dpk_buf_free(&f);
	build_cache(&f, 234568);
	put_cache(f.data, f.len, 0644);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(pw.pw_uid, 234568);
	/* gone: the agent answers again */
	assert_int_equal(unlink(fk.cache), 0);
	script(0x86, no, 1);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);
	dpk_buf_free(&f);
	free(groups);
}

/* A file that is damaged or could have been written by somebody else:
 * UNAVAIL (EPROTO) for every call, the agent not asked; another version:
 * ignored (the agent asked). */
static void
test_cache_refused(void **state)
{
	static const uint8_t no[] = {0};
	struct dpk_buf f;
	struct passwd pw;
	struct group gr;
	char buf[512];
	long int start = 0, size = 0;
	gid_t *groups = NULL;
	int err = 0;
	uint8_t *p;

	(void)state;
	build_cache(&f, 234567);
	p = malloc(f.len);
	script(0x86, no, 1);
	struct {
		const char *what;
		size_t cut;
		size_t flip;
		mode_t mode;
	} bad[] = {
		{"a header byte changed", 0, 20, 0644},
		{"truncated", 9, 0, 0644},
		{"the magic", 0, 1, 0644},
		{"writable by others", 0, 0, 0666},
		{"writable by the group", 0, 0, 0664},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(p, f.data, f.len);
		if (bad[i].flip)
			p[bad[i].flip] ^= 1;
		put_cache(p, f.len - bad[i].cut, bad[i].mode);
		err = 0;
		errno = 31;
		if (m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err) != NSS_STATUS_UNAVAIL)
			fail_msg("%s: not UNAVAIL", bad[i].what);
		assert_int_equal(err, EPROTO);
		assert_int_equal(errno, 31);
		assert_int_equal(m.pwuid(234567, &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(m.grnam("peer.example.org", &gr, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(m.grgid(234567, &gr, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(m.initgr("peer.example.org", 5, &start, &size, &groups, 0, &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(start, 0);
		/* even a name the file does not hold: the file cannot be believed */
		assert_int_equal(m.pwnam("other.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(connections(), 0);
	}
	/* not root's */
	put_cache(f.data, f.len, 0644);
	assert_int_equal(chown(fk.cache, 1, 0), 0);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	/* a symbolic link in its place */
	put_cache(f.data, f.len, 0644);
	{
		char target[160];

		snprintf(target, sizeof(target), "%s.real", fk.cache);
		assert_int_equal(rename(fk.cache, target), 0);
		assert_int_equal(symlink(target, fk.cache), 0);
		assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
		assert_int_equal(unlink(fk.cache), 0);
		assert_int_equal(unlink(target), 0);
	}
	/* a directory in its place */
	assert_int_equal(mkdir(fk.cache, 0755), 0);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(rmdir(fk.cache), 0);
	assert_int_equal(connections(), 0);
	/* a later version of the format: not ours to read, the agent answers */
	memcpy(p, f.data, f.len);
	nss_dpk_le32_put(p + NSS_DPK_CACHE_OFF_VERSION, NSS_DPK_CACHE_VERSION + 1);
	put_cache(p, f.len, 0644);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(connections(), 1);
	/* and a good file again is used at once */
	put_cache(f.data, f.len, 0644);
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	/* one damaged record: UNAVAIL for the lookups that reach it, the rest
	 * of the file still answers (no whole-file check) */
	memcpy(p, f.data, f.len);
	{
		uint8_t *at = memmem(p + NSS_DPK_CACHE_HEADER_SIZE, f.len - NSS_DPK_CACHE_HEADER_SIZE, "/home/peer", 10);

		assert_non_null(at);
		at[1] = 'x';
	}
	put_cache(p, f.len, 0644);
	err = 0;
	assert_int_equal(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
	assert_int_equal(m.pwuid(234567, &pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(m.grnam("peer.example.org", &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(connections(), 1);
	assert_int_equal(unlink(fk.cache), 0);
	free(p);
	dpk_buf_free(&f);
}

static volatile int fork_stop;

static void *
hammer(void *arg)
{
	char buf[256];
	struct passwd pw;
	int err, *bad = arg;

	while (!fork_stop)
		if (m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err) != NSS_STATUS_SUCCESS)
			(*bad)++;
	return NULL;
}

/* fork() while other threads read the mapping (and hold its lock for a
 * moment): the child must never inherit the lock held, so its own lookup
 * answers at once. */
static void
test_cache_fork(void **state)
{
	struct dpk_buf f;
	pthread_t th[4];
	int bad[4] = {0};

	(void)state;
	build_cache(&f, 234567);
	put_cache(f.data, f.len, 0644);
	fork_stop = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &bad[i]), 0);
	for (int k = 0; k < 40; k++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			char buf[256];
			struct passwd pw;
			int err;

			alarm(5); /* a deadlock ends as SIGALRM */
			_exit(m.pwnam("peer.example.org", &pw, buf, sizeof(buf), &err) == NSS_STATUS_SUCCESS &&
			    pw.pw_uid == 234567 ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child %d: status 0x%x (a lock inherited held?)", k, status);
	}
	fork_stop = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(bad[i], 0);
	}
	assert_int_equal(unlink(fk.cache), 0);
	dpk_buf_free(&f);
}

/* Enumeration: entry i per call (PWENT / GRENT with u32 i), the position
 * moving on only once an entry was packed; "not found" ends the listing;
 * set*ent and end*ent start over. */
static void
test_enumeration(void **state)
{
	static const uint8_t no[] = {0}, at0[] = {0, 0, 0, 0}, at1[] = {0, 0, 0, 1};
	struct w w;
	struct passwd pw;
	struct group gr;
	char buf[512], small[8];
	int err = 0;

	(void)state;
	passwd_body(&w, "peer.example.org", 234567, 234567, "DPK peer.example.org", "/home/peer.example.org", "/bin/bash");
	script(0xa0, w.b, w.n);
	assert_int_equal(m.setpwent(0), NSS_STATUS_SUCCESS);
	/* too small a buffer: ERANGE, and the same entry is asked again */
	assert_int_equal(m.getpwent(&pw, small, sizeof(small), &err), NSS_STATUS_TRYAGAIN);
	assert_int_equal(err, ERANGE);
	assert_request(0x20, at0, 4);
	errno = 12;
	assert_int_equal(m.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 12);
	assert_request(0x20, at0, 4);
	assert_string_equal(pw.pw_name, "peer.example.org");
	assert_int_equal(pw.pw_uid, 234567);
	script(0xa0, no, 1);
	assert_int_equal(m.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_request(0x20, at1, 4);
	assert_int_equal(err, ENOENT);
	/* a corrupt entry is UNAVAIL, like any answer */
	passwd_body(&w, "peer.example.org", 0, 234567, "", "/h", "/bin/sh");
	script(0xa0, w.b, w.n);
	assert_int_equal(m.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	assert_int_equal(err, EPROTO);
	assert_int_equal(m.endpwent(), NSS_STATUS_SUCCESS);
	script(0xa0, no, 1);
	assert_int_equal(m.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_request(0x20, at0, 4);

	group_body(&w, "peer.example.org", 234567, 0, NULL);
	script(0xa1, w.b, w.n);
	assert_int_equal(m.setgrent(1), NSS_STATUS_SUCCESS);
	assert_int_equal(m.getgrent(&gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_request(0x21, at0, 4);
	assert_string_equal(gr.gr_name, "peer.example.org");
	assert_null(gr.gr_mem[0]);
	script(0xa1, no, 1);
	assert_int_equal(m.getgrent(&gr, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_request(0x21, at1, 4);
	assert_int_equal(m.endgrent(), NSS_STATUS_SUCCESS);

	/* no agent: UNAVAIL, not an empty listing */
	setenv("DPK_AGENT_SOCKET", "/nonexistent/dpk/agent.sock", 1);
	assert_int_equal(m.getpwent(&pw, buf, sizeof(buf), &err), NSS_STATUS_UNAVAIL);
	setenv("DPK_AGENT_SOCKET", fk.path, 1);
}

/* The module exports the NSS entry points only and links libc only. */
static void
test_exports_and_links(void **state)
{
	const char *top = getenv("DPK_TOP_BUILDDIR");
	char so[4096], *nm = (char *)"/usr/bin/nm", *readelf = (char *)"/usr/bin/readelf";
	struct dpk_buf out;
	int count = 0;

	(void)state;
	snprintf(so, sizeof(so), "%s/nss_dpk/.libs/libnss_dpk.so.2", top);
	char *argv[] = {nm, (char *)"-D", (char *)"--defined-only", (char *)"--format=posix", so, NULL};
	assert_int_equal(dpk_test_run(argv, NULL, &out), 0);
	for (char *line = (char *)out.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "_nss_dpk_", 9) != 0)
			fail_msg("libnss_dpk.so.2 exports %.*s", (int)strcspn(line, " "), line);
		count++;
	}
	assert_int_equal(count, 11); /* 5 lookups, set/get/end for passwd and group */
	dpk_buf_free(&out);

	char *argv2[] = {readelf, (char *)"-d", so, NULL};
	assert_int_equal(dpk_test_run(argv2, NULL, &out), 0);
	for (char *p = strstr((char *)out.data, "(NEEDED)"); p != NULL; p = strstr(p + 1, "(NEEDED)")) {
		char *lib = strchr(p, '[');

		assert_non_null(lib);
		/* a sanitizer build adds its runtime; nothing else may come in */
		if (strncmp(lib, "[libc.so.6]", 11) != 0 && strncmp(lib, "[libasan.so", 11) != 0 &&
		    strncmp(lib, "[libubsan.so", 12) != 0)
			fail_msg("libnss_dpk.so.2 links %.*s", (int)strcspn(lib, "\n"), lib);
	}
	assert_non_null(strstr((char *)out.data, "Library soname: [libnss_dpk.so.2]"));
	dpk_buf_free(&out);
}

int
main(void)
{
	dpk_test_skip_unless_root();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getpwnam),
		cmocka_unit_test(test_getpwuid),
		cmocka_unit_test(test_getgr),
		cmocka_unit_test(test_initgroups),
		cmocka_unit_test(test_notfound),
		cmocka_unit_test(test_no_connection),
		cmocka_unit_test(test_unavail),
		cmocka_unit_test(test_threads_and_fds),
		cmocka_unit_test(test_cache_hits),
		cmocka_unit_test(test_cache_refused),
		cmocka_unit_test(test_cache_fork),
		cmocka_unit_test(test_enumeration),
		cmocka_unit_test(test_exports_and_links),
	};

	signal(SIGPIPE, SIG_DFL); /* the module must never raise one */
	return cmocka_run_group_tests(tests, setup, teardown);
}
