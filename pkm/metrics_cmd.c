/* dpk-pkm metrics (doc/metrics.md): the PKM's state for an operator's
 * graphs, in the Prometheus text format, read from its database and the
 * chain. A command, not a network endpoint: it needs the PKM's state
 * directory (root or the dpk-pkm user), so nobody else can read who was
 * enrolled or how much the wallet holds, and the PKM's listeners gain
 * nothing to attack. A scrape runs it from a timer into node_exporter's
 * textfile collector. */
#include "autoconfig.h"
#include "metrics_cmd.h"

#include "daemon/cli.h"

#include "serve.h"
#include "base/err.h"
#include "eth/rpc.h"
#include "eth/u256.h"
#include "pkm.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct counts {
	uint64_t now;
	unsigned long tokens[4]; /* issued, expired (issued, past its validity), approved, revoked */
	unsigned long txs[3];    /* signed, mined, failed */
};

static void
count_token(void *ctx, const struct pkm_token_row *t)
{
	struct counts *c = ctx;

	if (t->state == PKM_TOKEN_ISSUED)
		c->tokens[t->expires < c->now ? 1 : 0]++;
	else if (t->state == PKM_TOKEN_APPROVED)
		c->tokens[2]++;
	else
		c->tokens[3]++;
}

static void
count_tx(void *ctx, const struct pkm_tx_row *tx)
{
	struct counts *c = ctx;

	if ((unsigned)tx->state < 3)
		c->txs[tx->state]++;
}

static void
head(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int
write_metrics(struct pkm *p, FILE *out, int json)
{
	static const char *const token_state[] = {"issued", "expired", "approved", "revoked"};
	static const char *const tx_state[] = {"signed", "mined", "failed"};
	struct counts c = {.now = (uint64_t)time(NULL)};
	struct dpk_rpc *rpc = NULL;
	uint64_t max_nonce = 0, head_block = 0, nonce = 0;
	struct dpk_u256 bal;
	int have_nonce, up = 0;

	if (pkm_store_list(p->store, count_token, &c) != 0 ||
	    pkm_store_list_tx(p->store, PKM_TX_SIGNED, count_tx, &c) != 0 ||
	    pkm_store_list_tx(p->store, PKM_TX_MINED, count_tx, &c) != 0 ||
	    pkm_store_list_tx(p->store, PKM_TX_FAILED, count_tx, &c) != 0) {
		return dpk_cli_fail("dpk-pkm", json, 1, "metrics: cannot read the database");
	}
	have_nonce = pkm_store_max_nonce(p->store, &max_nonce) == 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && pkm_rpc_new(p, &rpc) == 0)
		up = dpk_rpc_block_number(rpc, &head_block) == 0 &&
		    dpk_rpc_balance(rpc, p->sd.wallet.addr, DPK_RPC_LATEST, &bal) == 0 &&
		    dpk_rpc_nonce(rpc, p->sd.wallet.addr, DPK_RPC_LATEST, &nonce) == 0;

	head(out, "dpk_pkm_info", "Always 1: the PKM's version and configured chain id.");
	fprintf(out, "dpk_pkm_info{version=\"%s\",chain_id=\"%llu\"} 1\n", PACKAGE_VERSION,
	    (unsigned long long)p->cfg.chain_id);
	head(out, "dpk_pkm_tokens", "Enrolment tokens by state (expired: issued, never used, past its validity).");
	for (int i = 0; i < 4; i++)
		fprintf(out, "dpk_pkm_tokens{state=\"%s\"} %lu\n", token_state[i], c.tokens[i]);
	head(out, "dpk_pkm_transactions", "The PKM's journalled transactions by state (signed: sent or to send, not yet mined).");
	for (int i = 0; i < 3; i++)
		fprintf(out, "dpk_pkm_transactions{state=\"%s\"} %lu\n", tx_state[i], c.txs[i]);
	head(out, "dpk_pkm_journal_next_nonce", "One more than the highest nonce in the transaction journal (0: none yet).");
	fprintf(out, "dpk_pkm_journal_next_nonce %llu\n", have_nonce ? (unsigned long long)max_nonce + 1 : 0ULL);
	head(out, "dpk_pkm_chain_up", "1 when an rpc_url endpoint answered the reads below, else 0 (and they are left out).");
	fprintf(out, "dpk_pkm_chain_up %d\n", up);
	if (up) {
		char dec[79];

		dpk_u256_to_dec(&bal, dec);
		head(out, "dpk_pkm_chain_head_block", "The chain's head block, as an rpc_url endpoint answered.");
		fprintf(out, "dpk_pkm_chain_head_block %llu\n", (unsigned long long)head_block);
		head(out, "dpk_pkm_wallet_balance_wei", "The PKM wallet's balance in wei: what it has left to pay for registrations.");
		fprintf(out, "dpk_pkm_wallet_balance_wei %s\n", dec);
		head(out, "dpk_pkm_wallet_nonce", "The PKM wallet's transaction count on chain; below dpk_pkm_journal_next_nonce "
		    "while transactions wait.");
		fprintf(out, "dpk_pkm_wallet_nonce %llu\n", (unsigned long long)nonce);
	}
	dpk_rpc_free(rpc);
	curl_global_cleanup();
	return 0;
}

int
pkm_metrics_command(struct pkm *p, int json)
{
	char *text = NULL;
	size_t n = 0;
	FILE *out = json ? open_memstream(&text, &n) : stdout;
	int r;

	if (out == NULL)
		return dpk_cli_fail("dpk-pkm", json, 1, "metrics: out of memory");
	r = write_metrics(p, out, json);
	if (json) {
		if (fclose(out) != 0 || text == NULL) {
			r = dpk_cli_fail("dpk-pkm", json, 1, "metrics: out of memory");
		} else if (r == 0) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "format", "prometheus-text-0.0.4");
			cJSON_AddStringToObject(j, "metrics", text);
			dpk_cli_print_json(j);
		}
		free(text);
		return r;
	}
	if (r == 0 && fflush(stdout) != 0)
		r = dpk_cli_fail("dpk-pkm", json, 1, "metrics: cannot write to stdout");
	return r;
}
