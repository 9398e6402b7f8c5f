/* dpk-agent's PSK store and ticket replay cache (dpk-agent/peers/psk_store.c) and
 * the psk_* keys of dpk.conf: lookups by peer (the newest wins) and by PSK
 * identity, expiry, the cap (the oldest goes), replacement, replays kept
 * until expiry and refused when full, and every bad value; ticket PSKs kept
 * apart from peers' PSKs; the replay cache's file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#include "common/config.h"
#include "peers/psk_store.h"
#include "base/err.h"
#include "registry/identity.h"

static void
id(const char *text, struct dpk_identity *out)
{
	assert_int_equal(dpk_identity_parse(text, strlen(text), out), 0);
}

static void
test_store(void **state)
{
	struct psk_store s;
	struct dpk_identity a, b;
	uint8_t k1[32], k2[32], k3[32];
	const struct psk_entry *e;

	(void)state;
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	memset(k3, 3, 32);
	id("a.example.org", &a);
	id("10.0.0.2", &b);
	psk_store_init(&s, 2);
	assert_null(psk_store_by_peer(&s, &a, 0));
	assert_int_equal(psk_store_put(&s, &a, "dpk1-aa", k1, PSK_ORIGIN_INITIATOR, 1000, 0), 0);
	assert_int_equal(psk_store_put(&s, &a, "dpk1-ab", k2, PSK_ORIGIN_RESPONDER, 5000, 10), 0);
	/* by peer: the newest; by identity: exact */
	e = psk_store_by_peer(&s, &a, 20);
	assert_non_null(e);
	assert_string_equal(e->identity, "dpk1-ab");
	assert_memory_equal(e->key, k2, 32);
	e = psk_store_by_identity(&s, "dpk1-aa", 20);
	assert_non_null(e);
	assert_memory_equal(e->key, k1, 32);
	assert_int_equal(e->origin, PSK_ORIGIN_INITIATOR);
	assert_null(psk_store_by_identity(&s, "dpk1-a", 20));
	assert_null(psk_store_by_identity(&s, "dpk1-aaa", 20));
	assert_null(psk_store_by_peer(&s, &b, 20));
	/* expiry: dpk1-aa lived 1000 ms */
	assert_null(psk_store_by_identity(&s, "dpk1-aa", 1000));
	assert_int_equal(s.n, 1);
	/* the cap: the oldest goes */
	assert_int_equal(psk_store_put(&s, &b, "dpk1t-b1", k3, PSK_ORIGIN_TICKET, 5000, 1100), 0);
	assert_int_equal(psk_store_put(&s, &b, "dpk1t-b2", k3, PSK_ORIGIN_TICKET, 5000, 1200), 0);
	assert_int_equal(s.n, 2);
	assert_null(psk_store_by_identity(&s, "dpk1-ab", 1300));
	assert_non_null(psk_store_by_identity(&s, "dpk1t-b1", 1300));
	/* a ticket's PSK is never the answer for its device as a peer */
	assert_null(psk_store_by_peer(&s, &b, 1300));
	/* the same identity again replaces its key */
	assert_int_equal(psk_store_put(&s, &b, "dpk1t-b1", k1, PSK_ORIGIN_TICKET, 5000, 1300), 0);
	assert_int_equal(s.n, 2);
	assert_memory_equal(psk_store_by_identity(&s, "dpk1t-b1", 1400)->key, k1, 32);
	/* ticket PSKs live under ticket PSK identities only, and only they do */
	assert_int_equal(psk_store_put(&s, &b, "dpk1-b3", k1, PSK_ORIGIN_TICKET, 5000, 1300), DPK_ERR_INVALID);
	assert_int_equal(psk_store_put(&s, &b, "dpk1t-b3", k1, PSK_ORIGIN_RESPONDER, 5000, 1300), DPK_ERR_INVALID);
	assert_memory_equal(psk_store_by_identity(&s, "dpk1t-b1", 1400)->key, k1, 32);
	/* an identity over the RFC 4279 limit */
	char longid[200];
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(psk_store_put(&s, &b, longid, k1, PSK_ORIGIN_TICKET, 5000, 1300), DPK_ERR_INVALID);
	psk_store_clear(&s);
	assert_int_equal(s.n, 0);
	assert_null(psk_store_by_peer(&s, &b, 0));

	/* one peer cannot push out everyone else's PSKs */
	psk_store_init(&s, 64);
	assert_int_equal(psk_store_put(&s, &a, "dpk1-a", k1, PSK_ORIGIN_INITIATOR, 60000, 0), 0);
	for (int i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dpk1-b%d", i);
		assert_int_equal(psk_store_put(&s, &b, name, k2, PSK_ORIGIN_RESPONDER, 60000, 1 + i), 0);
	}
	assert_int_equal(s.n, 1 + PSK_STORE_PER_PEER);
	assert_non_null(psk_store_by_identity(&s, "dpk1-a", 200));
	assert_non_null(psk_store_by_identity(&s, "dpk1-b99", 200));
	assert_null(psk_store_by_identity(&s, "dpk1-b91", 200));
	assert_string_equal(psk_store_by_peer(&s, &b, 200)->identity, "dpk1-b99");
	/* tickets naming b as their device push out neither b's handshake PSKs nor anyone's */
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dpk1t-b%d", i);
		assert_int_equal(psk_store_put(&s, &b, name, k3, PSK_ORIGIN_TICKET, 60000, 300 + i), 0);
	}
	assert_string_equal(psk_store_by_peer(&s, &b, 400)->identity, "dpk1-b99");
	assert_non_null(psk_store_by_identity(&s, "dpk1-b92", 400));
	assert_non_null(psk_store_by_identity(&s, "dpk1t-b19", 400));
	assert_null(psk_store_by_identity(&s, "dpk1t-b11", 400));
	psk_store_clear(&s);
}

static void
test_ticket_seen(void **state)
{
	struct ticket_seen t = {0};
	uint8_t id1[32], id2[32];

	(void)state;
	memset(id1, 7, 32);
	memset(id2, 8, 32);
	assert_false(ticket_seen_has(&t, id1, 100));
	assert_int_equal(ticket_seen_add(&t, id1, 200, 100), 0);
	assert_true(ticket_seen_has(&t, id1, 150));
	assert_true(ticket_seen_has(&t, id1, 200));
	assert_false(ticket_seen_has(&t, id2, 150));
	assert_false(ticket_seen_has(&t, id1, 201)); /* expired tickets are refused by their expiry instead */
	/* full of unexpired ids: refused rather than forgetting one */
	for (size_t i = t.n; i < TICKET_SEEN_MAX; i++) {
		uint8_t x[32] = {0};

		memcpy(x, &i, sizeof(i));
		x[31] = 0xee;
		assert_int_equal(ticket_seen_add(&t, x, 1000, 100), 0);
	}
	assert_int_equal(ticket_seen_add(&t, id2, 1000, 100), DPK_ERR_BUSY);
	/* once they expire there is room again */
	assert_int_equal(ticket_seen_add(&t, id2, 5000, 1001), 0);
	assert_int_equal(t.n, 1);
	ticket_seen_clear(&t);
}

/* The replay cache's file: the round trip through save and load (expired
 * ids dropped), the file's mode, and a refusal for every deviation. */
static void
test_ticket_seen_file(void **state)
{
	struct ticket_seen t = {0}, u = {0};
	struct dpk_buf b;
	char dir[64], path[128], err[1024];
	uint8_t id1[32], id2[32], id3[32];
	struct stat st;

	(void)state;
	memset(id1, 1, 32);
	memset(id2, 2, 32);
	memset(id3, 3, 32);
	dpk_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/tickets.seen", dir);
	/* no file: an empty cache */
	assert_int_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), 0);
	assert_int_equal(u.n, 0);
	assert_int_equal(ticket_seen_add(&t, id1, 200, 100), 0);
	assert_int_equal(ticket_seen_add(&t, id2, 1000, 100), 0);
	assert_int_equal(ticket_seen_add(&t, id3, 150, 100), 0);
	assert_int_equal(ticket_seen_save(&t, dir, 100, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 12 + 3 * 40);
	assert_int_equal(ticket_seen_load(&u, dir, 160, err, sizeof(err)), 0);
	assert_int_equal(u.n, 2); /* id3 expired at 150 */
	assert_true(ticket_seen_has(&u, id1, 160));
	assert_true(ticket_seen_has(&u, id2, 160));
	assert_false(ticket_seen_has(&u, id3, 140));
	ticket_seen_clear(&u);
	/* saving again replaces the file; the temporary file does not stay */
	ticket_seen_remove(&t, id2);
	assert_int_equal(ticket_seen_save(&t, dir, 100, err, sizeof(err)), 0);
	assert_int_not_equal(access(path, F_OK), -1);
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), 0);
	assert_int_equal(u.n, 2);
	assert_false(ticket_seen_has(&u, id2, 100));
	ticket_seen_clear(&u);

	/* others may read or write it: refused, saying what to do */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), DPK_ERR_PERM);
	assert_non_null(strstr(err, "mode 0600"));
	assert_int_equal(chmod(path, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), DPK_ERR_PERM);
		assert_non_null(strstr(err, "owned by uid 0"));
		assert_int_equal(chown(path, 0, 0), 0);
	}
	/* a link is not followed */
	char link[160];
	snprintf(link, sizeof(link), "%s/elsewhere", dir);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_int_not_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "tickets.seen"));
	unlink(path);

	/* the parser: the encoded bytes, then every deviation */
	dpk_buf_init(&b, TICKET_SEEN_FILE_MAX);
	assert_int_equal(ticket_seen_encode(&t, 100, &b), 0);
	assert_int_equal(ticket_seen_parse(&u, b.data, b.len, 100), 0);
	assert_int_equal(u.n, 2);
	ticket_seen_clear(&u);
	for (size_t cut = 0; cut < b.len; cut++) { /* truncated anywhere */
		assert_int_not_equal(ticket_seen_parse(&u, b.data, cut, 100), 0);
		assert_int_equal(u.n, 0);
	}
	uint8_t more[200];
	memcpy(more, b.data, b.len);
	more[b.len] = 0; /* trailing garbage (an embedded NUL) */
	assert_int_equal(ticket_seen_parse(&u, more, b.len + 1, 100), DPK_ERR_TOOBIG);
	more[0] = 'X'; /* not the magic */
	assert_int_equal(ticket_seen_parse(&u, more, b.len, 100), DPK_ERR_SYNTAX);
	memcpy(more, b.data, b.len);
	more[8] = 0x00, more[9] = 0x01, more[10] = 0x00, more[11] = 0x01; /* a count over the cap */
	assert_int_equal(ticket_seen_parse(&u, more, b.len, 100), DPK_ERR_TOOBIG);
	more[8] = 0xff, more[9] = 0xff, more[10] = 0xff, more[11] = 0xff;
	assert_int_equal(ticket_seen_parse(&u, more, b.len, 100), DPK_ERR_TOOBIG);
	assert_int_equal(u.n, 0);
	/* a damaged file on disk stops the load with a message */
	dpk_test_write_file(path, "DPKSEEN1\0\0\0\x01", 0600);
	assert_int_equal(ticket_seen_load(&u, dir, 100, err, sizeof(err)), DPK_ERR_TRUNCATED);
	assert_non_null(strstr(err, "damaged"));
	dpk_buf_free(&b);
	ticket_seen_clear(&t);
	dpk_test_rmtree(dir);
}

static const char base[] =
    "rpc_url = http://127.0.0.1:8545\nchain_id = 31337\n"
    "contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n";

static int
parse(const char *extra, struct dpk_config *c, char *err, size_t errsz)
{
	char text[4096];

	snprintf(text, sizeof(text), "%s%s", base, extra);
	dpk_config_defaults(c);
	return dpk_config_parse(c, "test.conf", text, strlen(text), err, errsz);
}

static void
test_config(void **state)
{
	static const char *const bad[] = {
		"psk_listen = 0\n", "psk_listen = 65536\n", "psk_listen = host.example.org:7443\n",
		"psk_listen = 127.0.0.1\n", "psk_listen = 127.0.0.1:\n", "psk_listen = ::1:7443\n",
		"psk_listen = [::1]7443\n", "psk_listen = [zz]:7443\n", "psk_listen = 1.2.3.4:5:6\n",
		"psk_port = 0\n", "psk_port = 70000\n", "psk_lifetime = 500ms\n", "psk_lifetime = x\n",
		"psk_handshake_timeout = 10ms\n", "psk_max_handshakes = 0\n", "psk_max_handshakes = 4097\n",
		"psk_group = -x\n", "psk_group = a b\n",
		"psk_max_outbound = 0\n", "psk_max_outbound = 1025\n", "psk_max_outbound = x\n",
		"psk_max_per_source = 0\n", "psk_max_per_source = 4097\n", "psk_max_per_source = -1\n",
	};
	struct dpk_config c;
	char err[512];

	(void)state;
	assert_int_equal(parse("", &c, err, sizeof(err)), 0);
	assert_null(c.psk_listen);
	assert_int_equal(c.psk_port, 7443);
	assert_int_equal(c.psk_lifetime_ms, 3600 * 1000);
	assert_int_equal(c.psk_handshake_timeout_ms, 10000);
	assert_int_equal(c.psk_max_handshakes, 64);
	assert_int_equal(c.psk_max_outbound, 16);
	assert_int_equal(c.psk_max_per_source, 0); /* a quarter of psk_max_handshakes */
	dpk_config_free(&c);
	assert_int_equal(parse("psk_listen = [2001:db8::7]:7443\npsk_port = 8443\npsk_lifetime = 5m\n"
	    "psk_handshake_timeout = 3s\npsk_max_handshakes = 8\npsk_group = tls\npsk_max_outbound = 1024\n"
	    "psk_max_per_source = 3\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.psk_max_outbound, 1024);
	assert_int_equal(c.psk_max_per_source, 3);
	assert_string_equal(c.psk_listen, "[2001:db8::7]:7443");
	assert_int_equal(c.psk_port, 8443);
	assert_int_equal(c.psk_lifetime_ms, 300000);
	assert_int_equal(c.psk_handshake_timeout_ms, 3000);
	assert_int_equal(c.psk_max_handshakes, 8);
	assert_string_equal(c.psk_group, "tls");
	dpk_config_free(&c);
	assert_int_equal(parse("psk_listen = 7443\n", &c, err, sizeof(err)), 0);
	dpk_config_free(&c);
	assert_int_equal(parse("psk_listen = 192.0.2.1:7443\n", &c, err, sizeof(err)), 0);
	dpk_config_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &c, err, sizeof(err));

		if (r == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, "test.conf:4: psk_"));
		dpk_config_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_ticket_seen),
		cmocka_unit_test(test_ticket_seen_file),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
