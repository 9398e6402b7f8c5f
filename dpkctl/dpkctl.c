/* dpkctl: the command line of dpk-agent (man page dpkctl(1)).
 * Exit codes: 0 done; 1 the agent refused or the answer is "no"; 2 usage;
 * 3 the agent is not reachable; 4 the agent's answer was malformed. */
#include "autoconfig.h"

#include "dpk/client.h"
#include "dpkctl.h"
#include "base/hex.h"
#include "crypto/idkey.h"
#include "eth/u256.h"
#include "eth/wallet.h"

#include <cjson/cJSON.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

enum {
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
	EXIT_PROTOCOL = 4,
};


int
dpkctl_open(const char *socket, int timeout_ms, struct dpk_client **out)
{
	const char *path = socket;
	unsigned long uid;
	int r;

	if (path == NULL) {
		const char *env = secure_getenv("DPK_AGENT_SOCKET");

		path = env != NULL && *env != '\0' ? env : DPK_CLIENT_DEFAULT_SOCKET;
	}
	if ((r = dpk_client_open(path, timeout_ms, 0, out)) != 0) {
		fprintf(stderr, "dpkctl: %s: %s\n", path, dpk_client_strerror(r));
		dpkctl_json_error(dpk_client_strerror(r), EXIT_UNREACHABLE);
		return EXIT_UNREACHABLE;
	}
	if (dpk_client_peer_uid(*out, &uid) != 0 || (uid != 0 && uid != (unsigned long)getuid())) {
		fprintf(stderr, "dpkctl: %s: the process serving this socket runs as uid %ld, not root (nor you): "
		    "it is not the host's dpk-agent, so nothing was sent to it\n", path,
		    uid == (unsigned long)-1 ? -1L : (long)uid);
		dpkctl_json_error("the process serving the socket is not the host's dpk-agent", EXIT_UNREACHABLE);
		dpk_client_close(*out);
		*out = NULL;
		return EXIT_UNREACHABLE;
	}
	return 0;
}

int
dpkctl_client_exit(struct dpk_client *c, int r, const char *what)
{
	const char *msg = "";

	int code = r == DPK_CLIENT_EAGENT ? EXIT_REFUSED : r == DPK_CLIENT_EPROTO ? EXIT_PROTOCOL : EXIT_UNREACHABLE;

	if (r == DPK_CLIENT_EAGENT)
		dpk_client_agent_error(c, &msg);
	else
		msg = dpk_client_strerror(r);
	fprintf(stderr, "dpkctl: %s: %s\n", what, msg);
	dpkctl_json_error(msg, code);
	return code;
}

static int
print_json(cJSON *o)
{
	char *s = cJSON_Print(o);

	if (s == NULL)
		return 1;
	puts(s);
	free(s);
	cJSON_Delete(o);
	return 0;
}

static const char *
alg_name(unsigned alg)
{
	return alg == 1 ? "ecdsa-p256" : alg == 2 ? "rsa" : "unknown";
}

static const char *
endpoint_state_name(int state)
{
	static const char *const names[] = {"not checked yet", "in service", "another chain: not used",
		"put aside after a bad answer"};

	return state >= 0 && state <= 3 ? names[state] : "unknown";
}

/* The chain-read part of STATUS: into j, or printed when j is NULL. */
static void
status_chain(const struct dpk_client *c, cJSON *j)
{
	int verify = 0, state;
	uint64_t block;
	uint8_t bh[32];
	char bhx[67];
	const char *d;
	unsigned bad;
	int anchored = dpk_client_status_anchor(c, &verify, &block, bh);
	cJSON *eps = j != NULL ? cJSON_AddArrayToObject(j, "endpoints") : NULL;

	if (anchored)
		dpk_hex_encode(bh, 32, 1, bhx, sizeof(bhx));
	if (j != NULL) {
		cJSON_AddBoolToObject(j, "verify_reads", verify);
		if (anchored) {
			cJSON_AddNumberToObject(j, "anchor_block_number", (double)block);
			cJSON_AddStringToObject(j, "anchor_block_hash", bhx);
			cJSON_AddNumberToObject(j, "anchor_block_time", (double)dpk_client_status_anchor_time(c));
		}
	} else {
		printf("reads:         %s\n", verify ? "proven (verify_reads = yes)" : "believed (verify_reads = no)");
		if (anchored)
			printf("proven at:     block %llu (%s), made %lld s ago\n", (unsigned long long)block, bhx,
			    (long long)time(NULL) - (long long)dpk_client_status_anchor_time(c));
	}
	for (size_t i = 0; dpk_client_status_endpoint(c, i, &d, &state, &bad) == 0; i++) {
		uint64_t chain_id = 0, head = 0;

		dpk_client_status_endpoint_chain(c, i, &chain_id, &head);
		if (j == NULL) {
			char cid[24] = "unknown", hd[24] = "unknown";

			if (chain_id != 0)
				snprintf(cid, sizeof(cid), "%llu", (unsigned long long)chain_id);
			if (head != 0)
				snprintf(hd, sizeof(hd), "%llu", (unsigned long long)head);
			printf("endpoint:      %s: %s, chain id %s, head %s, %u bad answer%s\n", d,
			    endpoint_state_name(state), cid, hd, bad, bad == 1 ? "" : "s");
			continue;
		}
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "url", d);
		cJSON_AddStringToObject(e, "state", endpoint_state_name(state));
		cJSON_AddNumberToObject(e, "bad_answers", bad);
		if (chain_id != 0)
			cJSON_AddNumberToObject(e, "chain_id", (double)chain_id);
		if (head != 0)
			cJSON_AddNumberToObject(e, "head", (double)head);
		cJSON_AddItemToArray(eps, e);
	}
}

/* wei (decimal digits) as ether: "1.5" */
static void
wei_to_eth(const char *wei, char *out, size_t outsz)
{
	char pad[100];
	size_t n = strlen(wei), k;

	snprintf(pad, sizeof(pad), "%0*d%s", n < 19 ? (int)(19 - n) : 0, 0, wei);
	if (n >= 19) /* "%0*d" printed one '0' */
		memmove(pad, pad + 1, strlen(pad));
	n = strlen(pad);
	for (k = n; k > n - 17 && pad[k - 1] == '0'; k--)
		;
	snprintf(out, outsz, "%.*s.%.*s", (int)(n - 18), pad, (int)(k - (n - 18)), pad + n - 18);
}

/* The operations block of STATUS: chain, registration, wallet, cache. */
static void
status_ops(const struct dpk_client *c, cJSON *j)
{
	static const char *const chain_names[] = {"not read yet", "reachable", "unreachable"};
	struct dpk_client_status_ops s;
	char wei[79] = "", eth[100] = "";

	if (!dpk_client_status_ops(c, &s))
		return;
	if (s.has_balance) {
		struct dpk_u256 b;

		memcpy(b.be, s.balance_wei, 32);
		dpk_u256_to_dec(&b, wei);
		wei_to_eth(wei, eth, sizeof(eth));
	}
	if (j != NULL) {
		cJSON *ch = cJSON_AddObjectToObject(j, "chain"), *ca = cJSON_AddObjectToObject(j, "cache");
		cJSON *rg = cJSON_AddObjectToObject(j, "registration");

		cJSON_AddStringToObject(ch, "state", chain_names[s.chain]);
		cJSON_AddBoolToObject(ch, "reachable", s.chain == 1);
		if (s.head_block != 0) {
			cJSON_AddNumberToObject(ch, "head_block", (double)s.head_block);
			cJSON_AddNumberToObject(ch, "head_age_s", s.head_age_s);
		}
		if (s.chain_error[0] != '\0')
			cJSON_AddStringToObject(ch, "error", s.chain_error);
		cJSON_AddStringToObject(rg, "step", s.reg_step_name);
		cJSON_AddNumberToObject(rg, "step_number", s.reg_step);
		if (s.has_balance) {
			cJSON_AddStringToObject(j, "wallet_balance_wei", wei);
			cJSON_AddStringToObject(j, "wallet_balance_eth", eth);
		} else {
			cJSON_AddNullToObject(j, "wallet_balance_wei");
		}
		cJSON_AddNumberToObject(ca, "entries", s.cache_entries);
		cJSON_AddNumberToObject(ca, "hits", (double)s.cache_hits);
		cJSON_AddNumberToObject(ca, "misses", (double)s.cache_misses);
		return;
	}
	printf("chain:         %s", chain_names[s.chain]);
	if (s.head_block != 0)
		printf(", head block %llu (seen %u s ago)", (unsigned long long)s.head_block, s.head_age_s);
	printf("\n");
	if (s.chain_error[0] != '\0')
		printf("chain error:   %s\n", s.chain_error);
	printf("registration:  %s\n", s.reg_step_name);
	if (s.has_balance)
		printf("balance:       %s ETH (%s wei)\n", eth, wei);
	else
		printf("balance:       not read yet\n");
	printf("cache:         %u entr%s, %llu hit%s, %llu chain read%s\n", s.cache_entries,
	    s.cache_entries == 1 ? "y" : "ies", (unsigned long long)s.cache_hits, s.cache_hits == 1 ? "" : "s",
	    (unsigned long long)s.cache_misses, s.cache_misses == 1 ? "" : "s");
}

static int
cmd_status(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_status st;
	char contract[43], wallet[43];
	int r;

	if (argc > 0)
		return dpkctl_usage_error("status", "takes no arguments, not '%s'", argv[0]);
	if ((r = dpk_client_status(c, &st)) != 0)
		return dpkctl_client_exit(c, r, "status");
	dpk_wallet_address_format(st.contract, contract);
	dpk_wallet_address_format(st.wallet, wallet);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddNumberToObject(j, "chain_id", (double)st.chain_id);
		cJSON_AddStringToObject(j, "contract", contract);
		cJSON_AddStringToObject(j, "wallet", wallet);
		if (st.identity[0] != '\0')
			cJSON_AddStringToObject(j, "identity", st.identity);
		else
			cJSON_AddNullToObject(j, "identity");
		cJSON_AddStringToObject(j, "key_algorithm", alg_name(st.key_algorithm));
		cJSON_AddBoolToObject(j, "privileged", st.caller_privileged);
		status_chain(c, j);
		status_ops(c, j);
		return print_json(j);
	}
	printf("identity:      %s\n", st.identity[0] ? st.identity : "(none configured)");
	printf("key algorithm: %s\n", alg_name(st.key_algorithm));
	printf("wallet:        %s\n", wallet);
	printf("chain id:      %llu\n", (unsigned long long)st.chain_id);
	printf("contract:      %s\n", contract);
	printf("you may:       %s\n", st.caller_privileged ? "look up, register, sign" : "look up");
	status_chain(c, NULL);
	status_ops(c, NULL);
	return 0;
}

static int
cmd_pubkey(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_pubkey pk;
	int pem = 0, ssh = 0, onchain = 0, r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--pem") == 0)
			pem = 1;
		else if (strcmp(argv[i], "--openssh") == 0)
			ssh = 1;
		else if (strcmp(argv[i], "--onchain") == 0)
			onchain = 1;
		else {
			return dpkctl_usage_error("pubkey", "unknown option '%s'", argv[i]);
		}
	}
	if (!pem && !ssh && !onchain)
		pem = ssh = 1;
	if ((r = dpk_client_pubkey(c, &pk)) != 0)
		return dpkctl_client_exit(c, r, "pubkey");
	char *hex = malloc(2 * pk.onchain_len + 3);

	if (hex == NULL) {
		dpk_client_pubkey_free(&pk);
		return 1;
	}
	dpk_hex_encode(pk.onchain, pk.onchain_len, 1, hex, 2 * pk.onchain_len + 3);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "algorithm", alg_name(pk.algorithm));
		cJSON_AddStringToObject(j, "onchain", hex);
		cJSON_AddStringToObject(j, "pem", pk.pem);
		cJSON_AddStringToObject(j, "openssh", pk.openssh);
		print_json(j);
	} else {
		if (pem)
			fputs(pk.pem, stdout);
		if (ssh)
			puts(pk.openssh);
		if (onchain)
			puts(hex);
	}
	free(hex);
	dpk_client_pubkey_free(&pk);
	return 0;
}

/* Follow the registration until it is done or failed, showing progress:
 * what it waits for, blocks seen, elapsed time. */
static int
cmd_register(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_registration reg;
	char last[sizeof(reg.detail)] = "";
	int wait = 1, tty = isatty(2), first = 1, r;
	long limit_s = 600;

	for (int i = 0; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--no-wait") == 0) {
			wait = 0;
		} else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc &&
		    (limit_s = strtol(argv[++i], &end, 10)) > 0 && *end == '\0' && limit_s <= 86400) {
			continue;
		} else {
			return dpkctl_usage_error("register", "'%s' is not --no-wait or --wait 1..86400", argv[i]);
		}
	}
	time_t give_up = time(NULL) + limit_s;
	for (;;) {
		struct timespec ts = {0, 500 * 1000 * 1000};

		if ((r = dpk_client_register(c, first, &reg)) != 0)
			return dpkctl_client_exit(c, r, "register");
		first = 0;
		if (!o->json && (tty || strcmp(last, reg.detail) != 0)) {
			fprintf(stderr, "%s[%5.1f s, %llu block(s)] %s: %s%s", tty ? "\r\033[K" : "",
			    reg.elapsed_ms / 1000.0, (unsigned long long)reg.blocks, reg.step_name, reg.detail, tty ? "" : "\n");
			snprintf(last, sizeof(last), "%s", reg.detail);
		}
		if (!wait || reg.step == DPK_CLIENT_REG_DONE || reg.step == DPK_CLIENT_REG_FAILED)
			break;
		if (time(NULL) >= give_up) {
			if (tty && !o->json)
				fputc('\n', stderr);
			return dpkctl_fail(EXIT_REFUSED, "register: still not done after %ld s (%s: %s); it goes on in the "
			    "agent: run dpkctl register again to follow it", limit_s, reg.step_name, reg.detail);
		}
		nanosleep(&ts, NULL);
	}
	if (tty && !o->json)
		fputc('\n', stderr);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "step", reg.step_name);
		cJSON_AddStringToObject(j, "detail", reg.detail);
		cJSON_AddNumberToObject(j, "elapsed_ms", (double)reg.elapsed_ms);
		cJSON_AddNumberToObject(j, "blocks", (double)reg.blocks);
		print_json(j);
	}
	return reg.step == DPK_CLIENT_REG_FAILED ? EXIT_REFUSED : 0;
}

static const char *const status_names[] = {"not registered", "active", "revoked"};

static int
cmd_lookup(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_record rec;
	struct dpk_buf ssh;
	char controller[43] = "", *hex = NULL;
	int openssh = 0, r;

	if (argc < 1 || argc > 2 || (argc == 2 && strcmp(argv[1], "--openssh") != 0)) {
		return dpkctl_usage_error("lookup", "takes one identity and at most --openssh");
	}
	openssh = argc == 2;
	if ((r = dpk_client_lookup(c, argv[0], &rec)) != 0)
		return dpkctl_client_exit(c, r, "lookup");
	dpk_buf_init(&ssh, 16384);
	if (rec.has_controller)
		dpk_wallet_address_format(rec.controller, controller);
	if (rec.pubkey != NULL) {
		if ((hex = malloc(2 * rec.publen + 3)) != NULL)
			dpk_hex_encode(rec.pubkey, rec.publen, 1, hex, 2 * rec.publen + 3);
		dpk_idkey_onchain_to_openssh((enum dpk_idkey_alg)rec.algorithm, rec.pubkey, rec.publen, rec.identity, &ssh);
	}
	if (openssh) {
		if (rec.status == 1 && ssh.len > 0)
			puts((char *)ssh.data);
	} else if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "identity", rec.identity);
		cJSON_AddStringToObject(j, "status", rec.status <= 2 ? status_names[rec.status] : "unknown");
		if (rec.status != 0) {
			cJSON_AddStringToObject(j, "algorithm", alg_name(rec.algorithm));
			cJSON_AddStringToObject(j, "controller", controller);
			cJSON_AddNumberToObject(j, "version", rec.version);
			cJSON_AddNumberToObject(j, "valid_from", (double)rec.valid_from);
			if (rec.valid_until)
				cJSON_AddNumberToObject(j, "revoked_at", (double)rec.valid_until);
		}
		if (hex != NULL)
			cJSON_AddStringToObject(j, "public_key", hex);
		if (ssh.len > 0)
			cJSON_AddStringToObject(j, "openssh", (char *)ssh.data);
		cJSON_AddBoolToObject(j, "stale", rec.stale);
		cJSON_AddNumberToObject(j, "age_ms", rec.age_ms);
		{
			uint64_t block;
			uint8_t bh[32];
			char bhx[67];
			int proven = dpk_client_lookup_proof(c, &block, bh);

			cJSON_AddBoolToObject(j, "proven", proven);
			if (proven) {
				dpk_hex_encode(bh, 32, 1, bhx, sizeof(bhx));
				cJSON_AddNumberToObject(j, "block_number", (double)block);
				cJSON_AddStringToObject(j, "block_hash", bhx);
			}
		}
		print_json(j);
	} else {
		printf("identity:   %s\n", rec.identity);
		printf("status:     %s%s\n", rec.status <= 2 ? status_names[rec.status] : "unknown",
		    rec.stale ? " (STALE: the chain is unreachable; this is the last answer seen)" : "");
		if (rec.status != 0) {
			printf("algorithm:  %s\n", alg_name(rec.algorithm));
			printf("controller: %s\n", controller);
			printf("version:    %u\n", rec.version);
		}
		if (ssh.len > 0)
			printf("openssh:    %s\n", (char *)ssh.data);
		if (hex != NULL)
			printf("public key: %s\n", hex);
		printf("read from the chain %.1f s ago\n", rec.age_ms / 1000.0);
		{
			uint64_t block;
			uint8_t bh[32];
			char bhx[67];

			if (dpk_client_lookup_proof(c, &block, bh)) {
				dpk_hex_encode(bh, 32, 1, bhx, sizeof(bhx));
				printf("proven at block %llu (%s)\n", (unsigned long long)block, bhx);
			} else {
				printf("not proven (verify_reads = no): as the RPC endpoint said\n");
			}
		}
	}
	r = rec.status == 1 ? 0 : EXIT_REFUSED;
	free(hex);
	dpk_buf_free(&ssh);
	dpk_client_record_free(&rec);
	return r;
}

static const char *const origin_names[] = {"?", "initiator", "responder", "ticket"};

static void
print_psk(const struct dpkctl_opts *o, const struct dpk_client_psk *psk, const uint8_t *ticket, size_t ticketlen)
{
	char key[2 * DPK_CLIENT_PSK_KEY_MAX + 1] = "", *thex = NULL;
	const char *origin = psk->origin <= 3 ? origin_names[psk->origin] : "?";

	if (psk->has_key)
		dpk_hex_encode(psk->key, psk->keylen, 0, key, sizeof(key));
	if (ticket != NULL && (thex = malloc(2 * ticketlen + 1)) != NULL)
		dpk_hex_encode(ticket, ticketlen, 0, thex, 2 * ticketlen + 1);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "psk_identity", psk->identity);
		cJSON_AddStringToObject(j, "peer", psk->peer);
		if (ticket == NULL)
			cJSON_AddStringToObject(j, "origin", origin);
		cJSON_AddNumberToObject(j, "expires", (double)psk->expires);
		if (psk->has_key)
			cJSON_AddStringToObject(j, "key", key);
		if (thex != NULL)
			cJSON_AddStringToObject(j, "ticket", thex);
		print_json(j);
	} else {
		printf("psk_identity: %s\n", psk->identity);
		printf("peer:         %s\n", psk->peer);
		if (ticket == NULL)
			printf("origin:       %s\n", origin);
		printf("expires:      %llu\n", (unsigned long long)psk->expires);
		if (psk->has_key)
			printf("key:          %s\n", key);
		if (thex != NULL)
			printf("ticket:       %s\n", thex);
	}
	fflush(stdout);
	explicit_bzero(key, sizeof(key));
	free(thex);
}

/* user-check USER: the admission decision, rule by rule (compare sssctl
 * user-checks). Exit 0 when USER may log in here, 1 when not. */
static int
cmd_user_check(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	static const char *const results[] = {"a DPK user", "not admitted by the policy", "record not read",
	    "not registered or revoked", "no uid in range", "another source has its name or uid"};
	struct dpk_client_user_check u;
	int r;

	if (argc != 1)
		return dpkctl_usage_error("user-check", "takes one user name");
	if ((r = dpk_client_user_check(c, argv[0], &u)) != 0)
		return dpkctl_client_exit(c, r, "user-check");
	if (o->json) {
		cJSON *j = cJSON_CreateObject(), *steps = cJSON_AddArrayToObject(j, "steps");

		cJSON_AddStringToObject(j, "user", argv[0]);
		cJSON_AddStringToObject(j, "identity", u.identity);
		cJSON_AddStringToObject(j, "result", results[u.result]);
		cJSON_AddBoolToObject(j, "may_log_in", u.login);
		if (u.result == 0)
			cJSON_AddNumberToObject(j, "uid", u.uid);
		for (size_t i = 0; i < u.n; i++) {
			cJSON *s = cJSON_CreateObject();

			cJSON_AddStringToObject(s, "rule", u.step[i].rule);
			cJSON_AddBoolToObject(s, "ok", u.step[i].ok);
			cJSON_AddStringToObject(s, "detail", u.step[i].detail);
			cJSON_AddItemToArray(steps, s);
		}
		if (print_json(j) != 0)
			return EXIT_REFUSED;
	} else {
		printf("user %s: identity %s\n", argv[0], u.identity[0] != '\0' ? u.identity : "(none)");
		for (size_t i = 0; i < u.n; i++)
			printf("  %-4s %-14s %s\n", u.step[i].ok ? "ok" : "FAIL", u.step[i].rule, u.step[i].detail);
		if (u.login)
			printf("=> %s may log in here as uid %u\n", argv[0], u.uid);
		else if (u.result == 0)
			printf("=> %s is a user here (uid %u) but may not log in now\n", argv[0], u.uid);
		else
			printf("=> %s is no DPK user of this host: %s\n", argv[0], results[u.result]);
	}
	return u.login ? 0 : EXIT_REFUSED;
}

static int
cmd_psk(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_psk psk;
	const char *peer = NULL, *connect = NULL;
	int show = 0, r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--show-key") == 0)
			show = 1;
		else if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc)
			connect = argv[++i];
		else if (argv[i][0] != '-' && peer == NULL)
			peer = argv[i];
		else
			peer = NULL, argc = -1;
	}
	if (peer == NULL || argc < 0) {
		return dpkctl_usage_error("psk", "takes one peer identity, --connect HOST:PORT and --show-key");
	}
	if ((r = dpk_client_psk_handshake(c, peer, connect, show, &psk)) != 0)
		return dpkctl_client_exit(c, r, "psk");
	print_psk(o, &psk, NULL, 0);
	dpk_client_psk_clear(&psk);
	return 0;
}

static int
cmd_psk_get(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_psk psk;
	const char *peer = NULL, *id = NULL;
	int show = 0, bad = 0, r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--show-key") == 0)
			show = 1;
		else if (strcmp(argv[i], "--identity") == 0 && i + 1 < argc && id == NULL)
			id = argv[++i];
		else if (argv[i][0] != '-' && peer == NULL)
			peer = argv[i];
		else
			bad = 1;
	}
	if (bad || (peer == NULL) == (id == NULL)) {
		return dpkctl_usage_error("psk-get", "takes a peer identity or --identity PSK_IDENTITY (one of them), "
		    "and --show-key");
	}
	r = peer != NULL ? dpk_client_psk_get(c, peer, show, &psk) : dpk_client_psk_get_by_identity(c, id, show, &psk);
	if (r != 0)
		return dpkctl_client_exit(c, r, "psk-get");
	print_psk(o, &psk, NULL, 0);
	dpk_client_psk_clear(&psk);
	return 0;
}

/* A ticket file: its bytes in hex, white space around allowed. */
static int
read_ticket(const char *path, uint8_t **t, size_t *tlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *text;
	size_t n, a = 0, b;
	int r = -1;

	if (f == NULL) {
		dpkctl_fail(EXIT_USAGE, "ticket redeem: cannot open %s", path);
		return -1;
	}
	text = malloc(2 * DPK_CLIENT_MAX_FRAME + 2);
	n = text != NULL ? fread(text, 1, 2 * DPK_CLIENT_MAX_FRAME + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (text == NULL)
		return -1;
	for (b = n; b > 0 && strchr(" \t\r\n", text[b - 1]) != NULL; b--)
		;
	while (a < b && strchr(" \t\r\n", text[a]) != NULL)
		a++;
	*t = malloc(DPK_CLIENT_MAX_FRAME);
	if (n > 2 * DPK_CLIENT_MAX_FRAME)
		dpkctl_fail(EXIT_USAGE, "ticket redeem: %s is too large to be a ticket", path);
	else if (*t == NULL || b == a || dpk_hex_decode(text + a, b - a, *t, DPK_CLIENT_MAX_FRAME - 16, tlen) != 0)
		dpkctl_fail(EXIT_USAGE, "ticket redeem: %s does not hold a ticket in hex (as dpkctl ticket issue writes it)",
		    path);
	else
		r = 0;
	if (r != 0) {
		free(*t);
		*t = NULL;
	}
	free(text);
	return r;
}

static int
cmd_ticket(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_psk psk;
	uint8_t *t = NULL;
	size_t tlen = 0;
	int r;

	if (argc >= 3 && strcmp(argv[0], "issue") == 0) {
		const char *out = NULL;
		long life = 300;
		char *end;

		for (int i = 3; i < argc; i++) {
			if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc &&
			    (life = strtol(argv[++i], &end, 10)) >= 1 && *end == '\0' && life <= 86400)
				continue;
			if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
				out = argv[++i];
				continue;
			}
			argc = -1;
			break;
		}
		if (argc < 0) {
			return dpkctl_usage_error("ticket", "issue takes DEVICE SERVER, --lifetime 1..86400 and --out FILE");
		}
		if ((r = dpk_client_ticket_issue(c, argv[1], argv[2], (uint32_t)life, &t, &tlen, &psk)) != 0)
			return dpkctl_client_exit(c, r, "ticket issue");
		if (out != NULL) {
			FILE *f = fopen(out, "w");
			char *hex = malloc(2 * tlen + 1);

			if (f == NULL || hex == NULL) {
				dpkctl_fail(EXIT_REFUSED, "ticket issue: cannot write %s", out);
				if (f != NULL)
					fclose(f);
				free(hex);
				free(t);
				dpk_client_psk_clear(&psk);
				return EXIT_REFUSED;
			}
			dpk_hex_encode(t, tlen, 0, hex, 2 * tlen + 1);
			fprintf(f, "%s\n", hex);
			fclose(f);
			free(hex);
		}
		print_psk(o, &psk, out == NULL ? t : NULL, tlen);
		free(t);
		dpk_client_psk_clear(&psk);
		return 0;
	}
	if ((argc == 2 || argc == 3) && strcmp(argv[0], "redeem") == 0 &&
	    (argc == 2 || strcmp(argv[2], "--show-key") == 0)) {
		if (read_ticket(argv[1], &t, &tlen) != 0)
			return EXIT_USAGE;
		r = dpk_client_ticket_redeem(c, t, tlen, argc == 3, &psk);
		free(t);
		if (r != 0)
			return dpkctl_client_exit(c, r, "ticket redeem");
		print_psk(o, &psk, NULL, 0);
		dpk_client_psk_clear(&psk);
		return 0;
	}
	return dpkctl_usage_error("ticket", "takes 'issue DEVICE SERVER' or 'redeem FILE|-'");
}

/* dpkctl help [COMMAND] */
static int
cmd_help(struct dpk_client *c, const struct dpkctl_opts *o, int argc, char **argv)
{
	const struct dpkctl_command *cmd = NULL;

	(void)c;
	(void)o;
	if (argc > 1)
		return dpkctl_usage_error("help", "takes at most one command name");
	if (argc == 1 && (cmd = dpkctl_find(argv[0])) == NULL)
		return dpkctl_usage_error("help", "'%s' is no dpkctl command", argv[0]);
	dpkctl_help(stdout, cmd);
	return 0;
}

/* The commands. A new one is a handler (dpkctl.h) and a line here; the man
 * page dpkctl(1) and the bash completion (completion/dpkctl) list it too. */
const struct dpkctl_command dpkctl_commands[] = {
	{"join", dpkctl_join, 0, 0, "TOKEN_FILE --rpc URL [--config FILE] [--force]",
	    "first run: write /etc/dpk/dpk.conf from an enrolment token and check it with dpk-agent --check-config\n"
	    "  --rpc URL      the JSON-RPC endpoint to write as rpc_url (http:// or https://)\n"
	    "  --config FILE  where to write the configuration (default /etc/dpk/dpk.conf)\n"
	    "  --force        replace an existing configuration and token\n", "--rpc --config --force"},
	{"status", cmd_status, 1, 0, "",
	    "the agent's chain (id, reachability, head), registry, registration, wallet (balance), identity and cache\n", ""},
	{"pubkey", cmd_pubkey, 1, 0, "[--pem] [--openssh] [--onchain]",
	    "this host's identity public key (default: PEM and OpenSSH)\n"
	    "  --pem, --openssh, --onchain  print only these forms (on-chain: hex)\n", "--pem --openssh --onchain"},
	{"lookup", cmd_lookup, 1, 0, "IDENTITY [--openssh]",
	    "an identity's key on chain; exit 0 only if it is active\n"
	    "  --openssh  print only its authorized_keys line (nothing if not active)\n", "--openssh"},
	{"register", cmd_register, 1, 0, "[--no-wait | --wait SECONDS]",
	    "register this host's key (root or admin_group), showing each step until it is done\n"
	    "  --no-wait       start it (or report on it) and return at once\n"
	    "  --wait SECONDS  give up following after SECONDS (default 600); it goes on in the agent\n", "--no-wait --wait"},
	{"respond", dpkctl_respond, 0, 0, "[--yes] [CHALLENGE | -]",
	    "answer a pam_dpk login challenge (from stdin without CHALLENGE) after asking on the terminal\n"
	    "  --yes, -y  sign without asking (only when you know you are logging in to that host)\n", "--yes -y"},
	{"psk", cmd_psk, 1, 15000, "PEER [--connect HOST:PORT] [--show-key]",
	    "negotiate a PSK with PEER's agent; prints its PSK identity\n"
	    "  --connect HOST:PORT  where PEER's agent listens (default: PEER's own address and psk_port)\n"
	    "  --show-key           print the key too (root, admin_group, psk_group)\n", "--connect --show-key"},
	{"psk-get", cmd_psk_get, 1, 0, "PEER | --identity PSK_IDENTITY [--show-key]",
	    "a PSK made before, by peer or by PSK identity\n"
	    "  --identity ID  the PSK named ID (what a TLS server's PSK callback receives)\n"
	    "  --show-key     print the key too (root, admin_group, psk_group)\n", "--identity --show-key"},
	{"ticket", cmd_ticket, 1, 0, "issue DEVICE SERVER [--lifetime S] [--out FILE] | redeem FILE|- [--show-key]",
	    "delegated mode: a gateway's ticket for DEVICE to talk to SERVER, and its redemption at SERVER (once)\n"
	    "  --lifetime S  seconds the ticket is valid (1..86400, default 300)\n"
	    "  --out FILE    write the ticket to FILE instead of printing it\n"
	    "  --show-key    print the key too\n", "--lifetime --out --show-key"},
	{"user-check", cmd_user_check, 1, 0, "USER",
	    "why USER may or may not log in here: each rule of the agent's admission decision; exit 0 if it may\n", ""},
	{"cache", dpkctl_cache, 1, 0, "flush",
	    "flush: drop the agent's cached records, \"not registered\" answers and NSS cache file entries (root)\n", ""},
	{"rotate", dpkctl_rotate, 1, 0, "[--yes] [--algorithm p256|rsa] [--status] [--no-wait | --wait SECONDS]",
	    "a new identity key for this host, on chain (root; asks on the terminal first; restart-safe)\n"
	    "  --yes, -y             do not ask\n"
	    "  --algorithm p256|rsa  the new key's algorithm (default: the one in use)\n"
	    "  --status              only report the last rotation or revocation\n"
	    "  --no-wait             start it and return at once\n"
	    "  --wait SECONDS        give up following after SECONDS (default 600); it goes on in the agent\n",
	    "--yes -y --algorithm --status --no-wait --wait"},
	{"revoke", dpkctl_revoke, 1, 0, "[--yes] [--status] [--no-wait | --wait SECONDS]",
	    "revoke this host's identity on chain (root; asks on the terminal first): peers then refuse its key\n"
	    "  --yes, -y       do not ask\n"
	    "  --status        only report the last rotation or revocation\n"
	    "  --no-wait       start it and return at once\n"
	    "  --wait SECONDS  give up following after SECONDS (default 600); it goes on in the agent\n",
	    "--yes -y --status --no-wait --wait"},
	{"metrics", dpkctl_metrics, 1, 0, "",
	    "the agent's counters and gauges in the Prometheus text format (root, admin_group; doc/metrics.md)\n", ""},
	{"help", cmd_help, 0, 0, "[COMMAND]", "the commands, or what COMMAND does\n", ""},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};

int
main(int argc, char **argv)
{
	/* the commands' options that take a value, so that it is not taken for a command */
	static const char *const valued[] = {"--rpc", "--config", "--wait", "--connect", "--identity", "--lifetime",
		"--out", "--algorithm", NULL};
	const struct dpkctl_command *cmd;
	struct dpkctl_line l;
	struct dpk_client *c = NULL;
	int r;

	/* PSKs and tickets' keys pass through this process: no core dumps of it */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if ((r = dpkctl_parse_line(argc, argv, valued, &l)) != 0) {
		free(l.argv);
		return r < 0 ? 0 : r;
	}
	if (l.cmd == NULL) {
		dpkctl_help(l.help ? stdout : stderr, NULL);
		free(l.argv);
		return l.help ? 0 : EXIT_USAGE;
	}
	if ((cmd = dpkctl_find(l.cmd)) == NULL) {
		r = dpkctl_usage_error(NULL, "unknown command '%s'", l.cmd);
		free(l.argv);
		return r;
	}
	if (l.help) {
		dpkctl_help(stdout, cmd);
		free(l.argv);
		return 0;
	}
	if ((r = dpkctl_check_options(cmd, &l)) != 0) {
		free(l.argv);
		return r;
	}
	if (!l.timeout_set && cmd->timeout_ms > 0)
		l.o.timeout_ms = cmd->timeout_ms;
	if (!cmd->needs_agent || (r = dpkctl_open(l.o.socket, l.o.timeout_ms, &c)) == 0)
		r = cmd->run(c, &l.o, l.argc, l.argv);
	dpk_client_close(c);
	free(l.argv);
	return r;
}
