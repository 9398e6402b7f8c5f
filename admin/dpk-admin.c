/* dpk-admin: the platform's (registry owner's) tool (man page dpk-admin(8)):
 * deploy the registry, name and remove approvers (PKMs), hand over
 * ownership, fund wallets, look identities up and revoke them. The owner's key comes from a
 * keystore v3 file with a password file, or a raw hex key file (mode 0600):
 * never from the command line. */
#include "autoconfig.h"

#include "base/err.h"
#include "base/hex.h"
#include "daemon/cli.h"
#include "daemon/conffile.h"
#include "registry/check.h"
#include "registry/identity.h"
#include "eth/keystore.h"
#include "registry/registry.h"
#include "eth/rpc.h"
#include "eth/fees.h"
#include "eth/txsend.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_MAX_RPC 8

struct admin {
	const char *rpc_urls[ADMIN_MAX_RPC];
	size_t n_rpc;
	const char *key_file, *keystore, *password_file;
	int has_contract;
	uint8_t contract[20];
	uint64_t chain_id;
	uint64_t timeout_ms;
	struct dpk_fee_policy fees; /* --max-fee-per-gas, --max-priority-fee-per-gas */
	int quiet;
	int progress_shown;
	uint64_t progress_lines;
	struct dpk_rpc *rpc;
	struct dpk_wallet w;
	int have_wallet;
	struct dpk_rpc_depth depth; /* --confirmations */
	const char *write_config;   /* deploy --write-config */
};

static const struct dpk_cli_cmd commands[] = {
	{"chain-id", "", "print the chain id of the endpoints\n"},
	{"check", "", "the node's chain and the registry at --contract (code, dpkVersion()); every command on a\n"
	    "  registry checks it first; --chain-id N: refuse a node of another chain (every command)\n"},
	{"deploy", "", "deploy the registry (the key's address becomes its owner); print its address and its block\n"
	    "  --write-config FILE  append the contract and deploy_block lines to FILE (e.g. dpk.conf)\n"},
	{"add-approver", "ADDR", "let ADDR (a PKM's wallet) approve identities\n"},
	{"remove-approver", "ADDR", "withdraw ADDR's right to approve\n"},
	{"transfer-ownership", "ADDR", "offer the registry's ownership to ADDR (it accepts with accept-ownership)\n"},
	{"accept-ownership", "", "accept the ownership offered to the key's address\n"},
	{"fund", "ADDR WEI", "send WEI (decimal) to ADDR\n"},
	{"lookup", "IDENTITY", "the identity's record: status, key, controller, approver, serial; exit 0 if active\n"},
	{"revoke", "IDENTITY", "revoke (as the owner, the controller, or the approver that approved the record)\n"},
	{"help", "[COMMAND]", "the commands, or what COMMAND does\n"},
	{NULL, NULL, NULL},
};

static const char common_help[] =
    "endpoints (never only on the command line, where ps shows them and their API keys):\n"
    "  --rpc-file FILE     URLs, one per line ('#' comments); other users may not read it\n"
    "  DPK_RPC_URL         the environment: URLs separated by spaces or commas\n"
    "  --rpc URL           (repeatable) also accepted, but visible to every local user\n"
    "key (for commands that send transactions), never on the command line:\n"
    "  --private-key-file FILE                hex private key, mode 0600\n"
    "  --keystore FILE --password-file FILE   keystore v3 (geth, cast)\n"
    "options, anywhere on the line (\"--\" ends them): --contract ADDR, --json (one JSON object on stdout),\n"
    "  --timeout SECONDS (waiting for a receipt, default 120), --quiet, --help, --version\n"
    "  --chain-id N                       refuse an endpoint of another chain\n"
    "  --confirmations N|safe|finalized   a transaction counts, and state is read, that deep (default 0)\n"
    "  --write-config FILE                deploy: append the contract and deploy_block lines to FILE\n"
    "  --max-fee-per-gas FEE, --max-priority-fee-per-gas FEE   fee caps (none by default; FEE in wei, gwei\n"
    "                                     or ether): nothing is sent while the base fee is above the cap\n";

static int json_out; /* --json */

#define print_json dpk_cli_print_json
/* A failure, said on stderr (and as JSON with --json); returns code. */
#define complain(code, ...) dpk_cli_fail("dpk-admin", json_out, code, __VA_ARGS__)

static int
fail(const char *what, const char *msg)
{
	return complain(1, "%s: %s", what, msg);
}

/* Read a small secret file that only its owner may read. */
static int
read_secret_file(const char *path, char *out, size_t outsz, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return complain(1, "%s: %s", path, strerror(errno)), -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		complain(1, "%s must be a regular file readable only by its owner (chmod 600)", path);
		return -1;
	}
	n = read(fd, out, outsz - 1);
	close(fd);
	if (n < 0 || (size_t)n >= outsz - 1)
		return complain(1, "%s: cannot read it, or it is too large", path), -1;
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	out[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static int
load_wallet(struct admin *a)
{
	char text[256];
	size_t len;
	int r;

	if (a->have_wallet)
		return 0;
	if (a->key_file != NULL) {
		uint8_t priv[32];

		if (read_secret_file(a->key_file, text, sizeof(text), &len) != 0)
			return -1;
		r = dpk_hex_decode_exact(text, priv, 32);
		if (r == 0)
			r = dpk_wallet_from_private(&a->w, priv);
		explicit_bzero(priv, sizeof(priv));
		explicit_bzero(text, sizeof(text));
		if (r != 0)
			return complain(1, "%s: not a secp256k1 private key (64 hex digits)", a->key_file), -1;
	} else if (a->keystore != NULL && a->password_file != NULL) {
		const char *detail = "";

		if (read_secret_file(a->password_file, text, sizeof(text), &len) != 0)
			return -1;
		r = dpk_keystore_read_file(a->keystore, (const uint8_t *)text, len, NULL, &a->w, &detail);
		explicit_bzero(text, sizeof(text));
		if (r != 0)
			return complain(1, "%s: %s%s%s", a->keystore, dpk_strerror(r),
			    *detail ? ": " : "", detail), -1;
	} else {
		complain(1, "this command sends a transaction: give --private-key-file, "
		    "or --keystore with --password-file");
		return -1;
	}
	a->have_wallet = 1;
	return 0;
}

/* On a terminal, one line kept up to date; otherwise a line every 5 s. */
static void
progress(void *ctx, uint64_t blocks, uint64_t elapsed_ms)
{
	struct admin *a = ctx;

	if (a->quiet)
		return;
	if (isatty(2)) {
		fprintf(stderr, "\r\033[Kdpk-admin: waiting for the transaction to be mined: %llu block(s), %.1f s",
		    (unsigned long long)blocks, (double)elapsed_ms / 1000);
		a->progress_shown = 1;
	} else if (elapsed_ms / 5000 > a->progress_lines) {
		a->progress_lines = elapsed_ms / 5000;
		fprintf(stderr, "dpk-admin: waiting for the transaction to be mined: %llu block(s), %.1f s\n",
		    (unsigned long long)blocks, (double)elapsed_ms / 1000);
	}
}

static void
progress_end(struct admin *a)
{
	if (a->progress_shown)
		fputs("\r\033[K", stderr);
	a->progress_shown = 0;
	a->progress_lines = 0;
}

/* Send calldata to the contract (or create it with data when to is NULL). */
static int
send_tx(struct admin *a, const char *what, const uint8_t *to, const struct dpk_u256 *value,
    const struct dpk_buf *data, struct dpk_rpc_receipt *rc)
{
	struct dpk_txsend req = {.to = to, .data = data ? data->data : NULL, .data_len = data ? data->len : 0};
	struct dpk_fee_offer offer;
	char reason[512];
	int r;

	if (value != NULL)
		req.value = *value;
	if (load_wallet(a) != 0)
		return -1;
	if (dpk_fees_offer(a->rpc, &a->fees, &offer, reason, sizeof(reason)) != 0)
		return fail(what, reason), -1;
	req.fees = &offer;
	r = dpk_txsend(a->rpc, &a->w, a->chain_id, &req, a->timeout_ms, progress, a, rc);
	progress_end(a);
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(a->rpc, reason, sizeof(reason)) == 0)
		return fail(what, reason), -1;
	if (r != 0)
		return fail(what, *dpk_rpc_last_error(a->rpc) ? dpk_rpc_last_error(a->rpc) : dpk_strerror(r)), -1;
	if (rc->status != 1) {
		dpk_rpc_receipt_free(rc);
		return fail(what, "the transaction was mined but reverted"), -1;
	}
	return 0;
}

static int
need_contract(const struct admin *a, const char *cmd)
{
	if (!a->has_contract)
		return complain(1, "%s: give the registry with --contract ADDR", cmd), -1;
	return 0;
}

static int
parse_addr(const char *s, uint8_t out[20], const char *what)
{
	int r = dpk_wallet_address_parse(s, out);

	if (r == DPK_ERR_CHECKSUM)
		return complain(1, "%s: '%s' has a wrong EIP-55 checksum", what, s), -1;
	if (r != 0)
		return complain(1, "%s: '%s' is not an address (0x and 40 hex digits)", what, s), -1;
	return 0;
}

static int
cmd_address_call(struct admin *a, const char *cmd, const char *arg)
{
	struct dpk_rpc_receipt rc;
	struct dpk_buf data;
	uint8_t addr[20];
	int r = -1;

	if (need_contract(a, cmd) != 0 || (arg != NULL && parse_addr(arg, addr, cmd) != 0))
		return 1;
	dpk_buf_init(&data, 4096);
	if (strcmp(cmd, "add-approver") == 0)
		r = dpk_registry_encode_add_approver(&data, addr);
	else if (strcmp(cmd, "remove-approver") == 0)
		r = dpk_registry_encode_remove_approver(&data, addr);
	else if (strcmp(cmd, "transfer-ownership") == 0)
		r = dpk_registry_encode_transfer_ownership(&data, addr);
	else
		r = dpk_registry_encode_accept_ownership(&data);
	if (r == 0)
		r = send_tx(a, cmd, a->contract, NULL, &data, &rc);
	dpk_buf_free(&data);
	if (r != 0)
		return 1;
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "command", cmd);
		if (arg != NULL)
			cJSON_AddStringToObject(j, "address", arg);
		cJSON_AddNumberToObject(j, "block", (double)rc.block_number);
		print_json(j);
	} else if (!a->quiet) {
		printf("%s: done in block %llu\n", cmd, (unsigned long long)rc.block_number);
	}
	dpk_rpc_receipt_free(&rc);
	return 0;
}

static int
cmd_deploy(struct admin *a)
{
	char addr[43], reason[512];
	uint8_t contract[20];
	uint64_t block = 0;
	int r;

	if (load_wallet(a) != 0)
		return 1;
	r = dpk_registry_deploy_at(a->rpc, &a->w, a->chain_id, a->timeout_ms, progress, a, contract, &block);
	progress_end(a);
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(a->rpc, reason, sizeof(reason)) == 0)
		return fail("deploy", reason);
	if (r != 0)
		return fail("deploy", *dpk_rpc_last_error(a->rpc) ? dpk_rpc_last_error(a->rpc) : dpk_strerror(r));
	dpk_wallet_address_format(contract, addr);
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "contract", addr);
		cJSON_AddNumberToObject(j, "chain_id", (double)a->chain_id);
		cJSON_AddNumberToObject(j, "deploy_block", (double)block);
		print_json(j);
	} else {
		puts(addr); /* stdout holds the address alone: scripts read it */
		fprintf(stderr, "dpk-admin: deployed in block %llu; the agents' dpk.conf needs:\n"
		    "contract = %s\ndeploy_block = %llu\n", (unsigned long long)block, addr, (unsigned long long)block);
	}
	if (a->write_config != NULL) {
		FILE *f = fopen(a->write_config, "a");

		if (f == NULL || fprintf(f, "contract = %s\ndeploy_block = %llu\n", addr, (unsigned long long)block) < 0 ||
		    fclose(f) != 0)
			return complain(1, "--write-config %s: %s (the registry is deployed at %s)", a->write_config,
			    strerror(errno), addr);
		if (!json_out)
			fprintf(stderr, "dpk-admin: appended them to %s\n", a->write_config);
	}
	return 0;
}

static int
cmd_fund(struct admin *a, const char *to_s, const char *wei_s)
{
	struct dpk_rpc_receipt rc;
	struct dpk_u256 wei;
	uint8_t to[20];

	if (parse_addr(to_s, to, "fund") != 0)
		return 1;
	if (dpk_u256_from_dec(&wei, wei_s) != 0)
		return fail("fund", "the amount must be a whole number of wei, in decimal");
	if (send_tx(a, "fund", to, &wei, NULL, &rc) != 0)
		return 1;
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "to", to_s);
		cJSON_AddStringToObject(j, "wei", wei_s);
		cJSON_AddNumberToObject(j, "block", (double)rc.block_number);
		print_json(j);
	} else if (!a->quiet) {
		printf("fund: sent %s wei to %s in block %llu\n", wei_s, to_s, (unsigned long long)rc.block_number);
	}
	dpk_rpc_receipt_free(&rc);
	return 0;
}

static const char *const status_names[] = {"none", "active", "revoked"};

static int
cmd_lookup(struct admin *a, const char *text)
{
	struct dpk_registry_record rec;
	struct dpk_identity id;
	char controller[43], approver[43], reason[512];
	int r;

	if (need_contract(a, "lookup") != 0)
		return 1;
	if ((r = dpk_identity_parse(text, strlen(text), &id)) != 0) {
		complain(2, "lookup: '%s' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)", text);
		return 2;
	}
	r = dpk_registry_get_client(a->rpc, a->contract, &id, &rec);
	if (r == DPK_ERR_NOTFOUND) {
		if (json_out) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "identity", text);
			cJSON_AddStringToObject(j, "status", "not registered");
			print_json(j);
		} else {
			printf("%s: not registered\n", text);
		}
		return 1;
	}
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(a->rpc, reason, sizeof(reason)) == 0)
		return fail("lookup", reason);
	if (r != 0)
		return fail("lookup", *dpk_rpc_last_error(a->rpc) ? dpk_rpc_last_error(a->rpc) : dpk_strerror(r));
	dpk_wallet_address_format(rec.controller, controller);
	dpk_wallet_address_format(rec.approver, approver);
	char *hex = malloc(2 * rec.publen + 3);

	if (hex != NULL)
		dpk_hex_encode(rec.pubkey, rec.publen, 1, hex, 2 * rec.publen + 3);
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "identity", text);
		cJSON_AddStringToObject(j, "kind", dpk_identity_kind_name(id.kind));
		cJSON_AddStringToObject(j, "status", rec.status <= 2 ? status_names[rec.status] : "unknown");
		cJSON_AddStringToObject(j, "algorithm", rec.alg == 1 ? "ecdsa-p256" : rec.alg == 2 ? "rsa" : "unknown");
		cJSON_AddNumberToObject(j, "version", rec.version);
		cJSON_AddStringToObject(j, "controller", controller);
		cJSON_AddStringToObject(j, "approver", approver);
		cJSON_AddNumberToObject(j, "serial", (double)rec.serial);
		cJSON_AddNumberToObject(j, "valid_from", (double)rec.valid_from);
		if (rec.valid_until != 0)
			cJSON_AddNumberToObject(j, "revoked_at", (double)rec.valid_until);
		if (hex != NULL)
			cJSON_AddStringToObject(j, "public_key", hex);
		print_json(j);
	} else {
		printf("identity:   %s (%s)\n", text, dpk_identity_kind_name(id.kind));
		printf("status:     %s\n", rec.status <= 2 ? status_names[rec.status] : "unknown");
		printf("algorithm:  %s\n", rec.alg == 1 ? "ecdsa-p256" : rec.alg == 2 ? "rsa" : "unknown");
		printf("version:    %u\n", rec.version);
		printf("controller: %s\n", controller);
		printf("approver:   %s\n", approver);
		printf("serial:     %llu\n", (unsigned long long)rec.serial);
		printf("valid from: %llu\n", (unsigned long long)rec.valid_from);
		if (rec.valid_until != 0)
			printf("revoked at: %llu\n", (unsigned long long)rec.valid_until);
		if (hex != NULL)
			printf("public key: %s\n", hex);
	}
	free(hex);
	r = rec.status == DPK_REGISTRY_ACTIVE ? 0 : 1; /* read before the free zeroes rec */
	dpk_registry_record_free(&rec);
	return r;
}

static int
cmd_revoke(struct admin *a, const char *text)
{
	struct dpk_identity id;
	struct dpk_rpc_receipt rc;
	struct dpk_buf data;
	uint8_t h[32];
	int r;

	if (need_contract(a, "revoke") != 0)
		return 1;
	if (dpk_identity_parse(text, strlen(text), &id) != 0 || dpk_identity_hash(&id, h) != 0) {
		complain(2, "revoke: '%s' is not a DPK identity", text);
		return 2;
	}
	dpk_buf_init(&data, 4096);
	r = dpk_registry_encode_revoke(&data, h);
	if (r == 0)
		r = send_tx(a, "revoke", a->contract, NULL, &data, &rc);
	dpk_buf_free(&data);
	if (r != 0)
		return 1;
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "identity", text);
		cJSON_AddStringToObject(j, "status", "revoked");
		cJSON_AddNumberToObject(j, "block", (double)rc.block_number);
		print_json(j);
	} else if (!a->quiet) {
		printf("revoke: %s revoked in block %llu\n", text, (unsigned long long)rc.block_number);
	}
	dpk_rpc_receipt_free(&rc);
	return 0;
}

/* Where the endpoints come from: --rpc (argv), else --rpc-file, else
 * $DPK_RPC_URL. 0 or the exit code after a message. */
static int
find_endpoints(struct admin *a, const char *rpc_file, char *buf, size_t bufsz)
{
	const char *env = getenv("DPK_RPC_URL");
	char err[512];

	if (a->n_rpc > 0)
		return 0;
	if (rpc_file != NULL) {
		if (dpk_cli_rpc_file(rpc_file, buf, bufsz, a->rpc_urls, ADMIN_MAX_RPC, &a->n_rpc, err, sizeof(err)) != 0)
			return complain(2, "--rpc-file: %s", err);
		return 0;
	}
	if (env != NULL && *env != '\0') {
		if (strlen(env) >= bufsz)
			return complain(2, "DPK_RPC_URL: too long");
		snprintf(buf, bufsz, "%s", env);
		if (dpk_cli_rpc_parse(buf, a->rpc_urls, ADMIN_MAX_RPC, &a->n_rpc, err, sizeof(err)) != 0)
			return complain(2, "DPK_RPC_URL: %s", err);
		return 0;
	}
	return complain(2, "give the chain's JSON-RPC endpoints in a file (--rpc-file FILE) or in DPK_RPC_URL");
}

/* The number of arguments each command takes, or -1 for an unknown command. */
static int
command_args(const char *cmd)
{
	static const char *const one[] = {"add-approver", "remove-approver", "transfer-ownership", "lookup", "revoke",
		NULL};

	for (size_t i = 0; one[i] != NULL; i++)
		if (strcmp(cmd, one[i]) == 0)
			return 1;
	if (strcmp(cmd, "fund") == 0)
		return 2;
	return dpk_cli_find(commands, cmd) != NULL ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"rpc", required_argument, NULL, 'r'},
		{"rpc-file", required_argument, NULL, 'R'},
		{"contract", required_argument, NULL, 'C'},
		{"private-key-file", required_argument, NULL, 'k'},
		{"keystore", required_argument, NULL, 's'},
		{"password-file", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"confirmations", required_argument, NULL, 'c'},
		{"write-config", required_argument, NULL, 'w'},
		{"max-fee-per-gas", required_argument, NULL, 'F'},
		{"max-priority-fee-per-gas", required_argument, NULL, 'P'},
		{"chain-id", required_argument, NULL, 'i'},
		{"quiet", no_argument, NULL, 'q'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char synopsis[] = "[--rpc-file FILE] [KEY] [--contract ADDR] [--json] COMMAND [ARGS]";
	struct admin a = {.timeout_ms = 120000};
	const char *cmd, *rpc_file = NULL;
	char rpc_buf[4096];
	int opt, r = 2, nargs, help = 0;
	uint64_t want_chain = 0;

	/* options anywhere on the line (GNU getopt permutes); "--" ends them */
	for (int i = 1; i < argc; i++) /* --json first, so that every failure below is JSON too */
		if (strcmp(argv[i], "--") == 0)
			break;
		else if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
	while ((opt = getopt_long(argc, argv, "qVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (a.n_rpc == ADMIN_MAX_RPC)
				return complain(2, "--rpc: at most %d endpoints", ADMIN_MAX_RPC);
			a.rpc_urls[a.n_rpc++] = optarg;
			break;
		case 'R': rpc_file = optarg; break;
		case 'C':
			if (parse_addr(optarg, a.contract, "--contract") != 0)
				return 2;
			a.has_contract = 1;
			break;
		case 'k': a.key_file = optarg; break;
		case 's': a.keystore = optarg; break;
		case 'p': a.password_file = optarg; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end != '\0' || v <= 0 || v > 86400)
				return complain(2, "--timeout: give seconds, 1 to 86400");
			a.timeout_ms = (uint64_t)v * 1000;
			break;
		}
		case 'j': json_out = 1; break;
		case 'c': {
			const char *why = "";

			if (dpk_conffile_depth(optarg, &a.depth, &why) != 0)
				return complain(2, "--confirmations: '%s' %s", optarg, why);
			break;
		}
		case 'w': a.write_config = optarg; break;
		case 'F':
		case 'P': {
			const char *why;

			if (dpk_fee_parse(optarg, opt == 'F' ? &a.fees.max_fee : &a.fees.max_tip, &why) != 0)
				return complain(2, "%s '%s' %s", opt == 'F' ? "--max-fee-per-gas" : "--max-priority-fee-per-gas",
				    optarg, why);
			break;
		}
		case 'i': {
			char *end;

			errno = 0;
			want_chain = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] < '1' || optarg[0] > '9')
				return complain(2, "--chain-id: give the chain's id, a positive decimal number");
			break;
		}
		case 'q': a.quiet = 1; break;
		case 'V': printf("dpk-admin %s\n", PACKAGE_VERSION); return 0;
		case 'h': help = 1; break;
		default: return complain(2, "usage: dpk-admin %s (dpk-admin --help says more)", synopsis);
		}
	}
	if ((r = dpk_cli_dispatch_help("dpk-admin", synopsis, commands, common_help, json_out, help, argv + optind,
	    argc - optind, &cmd)) >= 0)
		return r;
	optind++;
	nargs = argc - optind;
	if (command_args(cmd) != nargs) {
		const struct dpk_cli_cmd *one = dpk_cli_find(commands, cmd);

		return complain(2, "%s takes %d argument%s (usage: dpk-admin %s %s)", cmd, command_args(cmd),
		    command_args(cmd) == 1 ? "" : "s", cmd, one->usage);
	}
	if ((r = find_endpoints(&a, rpc_file, rpc_buf, sizeof(rpc_buf))) != 0)
		return r;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dpk_rpc_new(&a.rpc, a.rpc_urls, a.n_rpc, NULL) != 0) {
		curl_global_cleanup();
		return complain(2, "--rpc: an endpoint is not an http:// or https:// URL");
	}
	dpk_rpc_set_depth(a.rpc, &a.depth);
	if (dpk_rpc_chain_id(a.rpc, &a.chain_id) != 0) {
		r = fail("chain id", dpk_rpc_last_error(a.rpc));
		goto out;
	}
	if (want_chain != 0 && a.chain_id != want_chain) {
		r = complain(1, "%s is on chain %llu, not --chain-id %llu", dpk_rpc_endpoint(a.rpc),
		    (unsigned long long)a.chain_id, (unsigned long long)want_chain);
		goto out;
	}
	/* a command on a registry: say so now if --contract holds none on this
	 * chain, not later as an answer that does not decode */
	if (a.has_contract && strcmp(cmd, "deploy") != 0 && strcmp(cmd, "fund") != 0 &&
	    strcmp(cmd, "chain-id") != 0) {
		char why[512];

		if (dpk_registry_check(a.rpc, a.chain_id, a.contract, why, sizeof(why)) != 0) {
			r = complain(1, "%s", why);
			goto out;
		}
	}
	if (strcmp(cmd, "chain-id") == 0) {
		if (json_out) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddNumberToObject(j, "chain_id", (double)a.chain_id);
			print_json(j);
		} else {
			printf("%llu\n", (unsigned long long)a.chain_id);
		}
		r = 0;
	} else if (strcmp(cmd, "check") == 0) {
		if ((r = need_contract(&a, cmd)) != 0) {
			r = 2;
		} else if (json_out) {
			cJSON *j = cJSON_CreateObject();
			char addr[43];

			dpk_wallet_address_format(a.contract, addr);
			cJSON_AddStringToObject(j, "endpoint", dpk_rpc_endpoint(a.rpc));
			cJSON_AddNumberToObject(j, "chain_id", (double)a.chain_id);
			cJSON_AddStringToObject(j, "contract", addr);
			cJSON_AddNumberToObject(j, "interface", DPK_REGISTRY_INTERFACE_VERSION);
			print_json(j);
		} else {
			printf("%s: chain %llu, DPK registry (interface %u)\n", dpk_rpc_endpoint(a.rpc),
			    (unsigned long long)a.chain_id, DPK_REGISTRY_INTERFACE_VERSION);
		}
	} else if (strcmp(cmd, "deploy") == 0) {
		r = cmd_deploy(&a);
	} else if (strcmp(cmd, "add-approver") == 0 || strcmp(cmd, "remove-approver") == 0 ||
	    strcmp(cmd, "transfer-ownership") == 0) {
		r = cmd_address_call(&a, cmd, argv[optind]);
	} else if (strcmp(cmd, "accept-ownership") == 0) {
		r = cmd_address_call(&a, cmd, NULL);
	} else if (strcmp(cmd, "fund") == 0) {
		r = cmd_fund(&a, argv[optind], argv[optind + 1]);
	} else if (strcmp(cmd, "lookup") == 0) {
		r = cmd_lookup(&a, argv[optind]);
	} else {
		r = cmd_revoke(&a, argv[optind]);
	}
out:
	dpk_rpc_free(a.rpc);
	dpk_wallet_clear(&a.w);
	curl_global_cleanup();
	return r;
}
