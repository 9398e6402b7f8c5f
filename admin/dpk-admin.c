/* dpk-admin: the platform's (registry owner's) tool (man page dpk-admin(8)):
 * deploy the registry, name and remove approvers (PKMs), hand over
 * ownership, fund wallets, look identities up and revoke them. The owner's key comes from a
 * keystore v3 file with a password file, or a raw hex key file (mode 0600):
 * never from the command line. */
#include "autoconfig.h"

#include "base/err.h"
#include "base/hex.h"
#include "registry/check.h"
#include "registry/identity.h"
#include "eth/keystore.h"
#include "registry/registry.h"
#include "eth/rpc.h"
#include "eth/txsend.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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
	int quiet;
	int progress_shown;
	uint64_t progress_lines;
	struct dpk_rpc *rpc;
	struct dpk_wallet w;
	int have_wallet;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dpk-admin --rpc URL [--rpc URL...] [KEY] [--contract ADDR] COMMAND [ARGS]\n"
	    "key (for commands that send transactions), never on the command line:\n"
	    "  --private-key-file FILE        hex private key, mode 0600\n"
	    "  --keystore FILE --password-file FILE   keystore v3 (geth, cast)\n"
	    "commands:\n"
	    "  chain-id                       print the chain id\n"
	    "  check                          the node's chain and the registry at --contract (code,\n"
	    "                                 dpkVersion()); every command on a registry checks it first\n"
	    "  deploy                         deploy the registry; print its address\n"
	    "  add-approver ADDR | remove-approver ADDR\n"
	    "  transfer-ownership ADDR | accept-ownership\n"
	    "  fund ADDR WEI                  send Ether (wei, decimal)\n"
	    "  lookup IDENTITY                the identity's record: status, key, controller, approver, serial\n"
	    "  revoke IDENTITY                revoke (as the owner, the controller, or the approver that\n"
	    "                                 approved the record)\n"
	    "options: --timeout SECONDS (waiting for a receipt, default 120), --quiet,\n"
	    "  --chain-id N (refuse a node of another chain)\n");
}

static int
fail(const char *what, const char *msg)
{
	fprintf(stderr, "dpk-admin: %s: %s\n", what, msg);
	return 1;
}

/* Read a small secret file that only its owner may read. */
static int
read_secret_file(const char *path, char *out, size_t outsz, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return fprintf(stderr, "dpk-admin: %s: %s\n", path, strerror(errno)), -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		fprintf(stderr, "dpk-admin: %s must be a regular file readable only by its owner (chmod 600)\n", path);
		return -1;
	}
	n = read(fd, out, outsz - 1);
	close(fd);
	if (n < 0 || (size_t)n >= outsz - 1)
		return fprintf(stderr, "dpk-admin: %s: cannot read it, or it is too large\n", path), -1;
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
			return fprintf(stderr, "dpk-admin: %s: not a secp256k1 private key (64 hex digits)\n", a->key_file), -1;
	} else if (a->keystore != NULL && a->password_file != NULL) {
		const char *detail = "";

		if (read_secret_file(a->password_file, text, sizeof(text), &len) != 0)
			return -1;
		r = dpk_keystore_read_file(a->keystore, (const uint8_t *)text, len, NULL, &a->w, &detail);
		explicit_bzero(text, sizeof(text));
		if (r != 0)
			return fprintf(stderr, "dpk-admin: %s: %s%s%s\n", a->keystore, dpk_strerror(r),
			    *detail ? ": " : "", detail), -1;
	} else {
		fprintf(stderr, "dpk-admin: this command sends a transaction: give --private-key-file, "
		    "or --keystore with --password-file\n");
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
	char reason[512];
	int r;

	if (value != NULL)
		req.value = *value;
	if (load_wallet(a) != 0)
		return -1;
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
		return fprintf(stderr, "dpk-admin: %s: give the registry with --contract ADDR\n", cmd), -1;
	return 0;
}

static int
parse_addr(const char *s, uint8_t out[20], const char *what)
{
	int r = dpk_wallet_address_parse(s, out);

	if (r == DPK_ERR_CHECKSUM)
		return fprintf(stderr, "dpk-admin: %s: '%s' has a wrong EIP-55 checksum\n", what, s), -1;
	if (r != 0)
		return fprintf(stderr, "dpk-admin: %s: '%s' is not an address (0x and 40 hex digits)\n", what, s), -1;
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
	if (!a->quiet)
		printf("%s: done in block %llu\n", cmd, (unsigned long long)rc.block_number);
	dpk_rpc_receipt_free(&rc);
	return 0;
}

static int
cmd_deploy(struct admin *a)
{
	char addr[43], reason[512];
	uint8_t contract[20];
	int r;

	if (load_wallet(a) != 0)
		return 1;
	r = dpk_registry_deploy(a->rpc, &a->w, a->chain_id, a->timeout_ms, progress, a, contract);
	progress_end(a);
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(a->rpc, reason, sizeof(reason)) == 0)
		return fail("deploy", reason);
	if (r != 0)
		return fail("deploy", *dpk_rpc_last_error(a->rpc) ? dpk_rpc_last_error(a->rpc) : dpk_strerror(r));
	dpk_wallet_address_format(contract, addr);
	puts(addr);
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
	if (!a->quiet)
		printf("fund: sent %s wei to %s in block %llu\n", wei_s, to_s, (unsigned long long)rc.block_number);
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
		fprintf(stderr, "dpk-admin: lookup: '%s' is not a DPK identity (a domain name, IPv4 or IPv6 address, or UUID)\n", text);
		return 2;
	}
	r = dpk_registry_get_client(a->rpc, a->contract, &id, &rec);
	if (r == DPK_ERR_NOTFOUND) {
		printf("%s: not registered\n", text);
		return 1;
	}
	if (r == DPK_ERR_REVERT && dpk_registry_last_revert(a->rpc, reason, sizeof(reason)) == 0)
		return fail("lookup", reason);
	if (r != 0)
		return fail("lookup", *dpk_rpc_last_error(a->rpc) ? dpk_rpc_last_error(a->rpc) : dpk_strerror(r));
	dpk_wallet_address_format(rec.controller, controller);
	dpk_wallet_address_format(rec.approver, approver);
	printf("identity:   %s (%s)\n", text, dpk_identity_kind_name(id.kind));
	printf("status:     %s\n", rec.status <= 2 ? status_names[rec.status] : "unknown");
	printf("algorithm:  %s\n", rec.alg == 1 ? "ecdsa-p256" : rec.alg == 2 ? "rsa" : "unknown");
	printf("version:    %u\n", rec.version);
	printf("controller: %s\n", controller);
	printf("approver:   %s\n", approver);
	printf("serial:     %llu\n", (unsigned long long)rec.serial);
	printf("valid from: %llu%s\n", (unsigned long long)rec.valid_from, "");
	if (rec.valid_until != 0)
		printf("revoked at: %llu\n", (unsigned long long)rec.valid_until);
	char *hex = malloc(2 * rec.publen + 3);
	if (hex != NULL) {
		dpk_hex_encode(rec.pubkey, rec.publen, 1, hex, 2 * rec.publen + 3);
		printf("public key: %s\n", hex);
		free(hex);
	}
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
		fprintf(stderr, "dpk-admin: revoke: '%s' is not a DPK identity\n", text);
		return 2;
	}
	dpk_buf_init(&data, 4096);
	r = dpk_registry_encode_revoke(&data, h);
	if (r == 0)
		r = send_tx(a, "revoke", a->contract, NULL, &data, &rc);
	dpk_buf_free(&data);
	if (r != 0)
		return 1;
	if (!a->quiet)
		printf("revoke: %s revoked in block %llu\n", text, (unsigned long long)rc.block_number);
	dpk_rpc_receipt_free(&rc);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"rpc", required_argument, NULL, 'r'},
		{"contract", required_argument, NULL, 'C'},
		{"private-key-file", required_argument, NULL, 'k'},
		{"keystore", required_argument, NULL, 's'},
		{"password-file", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"chain-id", required_argument, NULL, 'i'},
		{"quiet", no_argument, NULL, 'q'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct admin a = {.timeout_ms = 120000};
	const char *cmd;
	uint64_t want_chain = 0;
	int opt, r = 2, nargs;

	while ((opt = getopt_long(argc, argv, "+qVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (a.n_rpc == ADMIN_MAX_RPC)
				return fail("--rpc", "at most 8 endpoints"), 2;
			a.rpc_urls[a.n_rpc++] = optarg;
			break;
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
				return fail("--timeout", "give seconds, 1 to 86400"), 2;
			a.timeout_ms = (uint64_t)v * 1000;
			break;
		}
		case 'i': {
			char *end;

			errno = 0;
			want_chain = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] < '1' || optarg[0] > '9')
				return fail("--chain-id", "give the chain's id, a positive decimal number"), 2;
			break;
		}
		case 'q': a.quiet = 1; break;
		case 'V': printf("dpk-admin %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (a.n_rpc == 0) {
		fprintf(stderr, "dpk-admin: give the chain's JSON-RPC endpoint with --rpc URL\n");
		return 2;
	}
	cmd = argv[optind++];
	nargs = argc - optind;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (dpk_rpc_new(&a.rpc, a.rpc_urls, a.n_rpc, NULL) != 0) {
		fprintf(stderr, "dpk-admin: --rpc: an endpoint is not an http:// or https:// URL\n");
		return 2;
	}
	if (dpk_rpc_chain_id(a.rpc, &a.chain_id) != 0) {
		r = fail("chain id", dpk_rpc_last_error(a.rpc));
		goto out;
	}
	if (want_chain != 0 && a.chain_id != want_chain) {
		fprintf(stderr, "dpk-admin: %s is on chain %llu, not --chain-id %llu\n", dpk_rpc_endpoint(a.rpc),
		    (unsigned long long)a.chain_id, (unsigned long long)want_chain);
		r = 1;
		goto out;
	}
	/* a command on a registry: say so now if --contract holds none on this
	 * chain, not later as an answer that does not decode */
	if (a.has_contract && strcmp(cmd, "deploy") != 0 && strcmp(cmd, "fund") != 0 &&
	    strcmp(cmd, "chain-id") != 0) {
		char why[512];

		if (dpk_registry_check(a.rpc, a.chain_id, a.contract, why, sizeof(why)) != 0) {
			fprintf(stderr, "dpk-admin: %s\n", why);
			r = 1;
			goto out;
		}
	}
	if (strcmp(cmd, "chain-id") == 0 && nargs == 0) {
		printf("%llu\n", (unsigned long long)a.chain_id);
		r = 0;
	} else if (strcmp(cmd, "check") == 0 && nargs == 0) {
		if ((r = need_contract(&a, cmd)) == 0)
			printf("%s: chain %llu, DPK registry (interface %u)\n", dpk_rpc_endpoint(a.rpc),
			    (unsigned long long)a.chain_id, DPK_REGISTRY_INTERFACE_VERSION);
		else
			r = 2;
	} else if (strcmp(cmd, "deploy") == 0 && nargs == 0) {
		r = cmd_deploy(&a);
	} else if ((strcmp(cmd, "add-approver") == 0 || strcmp(cmd, "remove-approver") == 0 ||
	    strcmp(cmd, "transfer-ownership") == 0) && nargs == 1) {
		r = cmd_address_call(&a, cmd, argv[optind]);
	} else if (strcmp(cmd, "accept-ownership") == 0 && nargs == 0) {
		r = cmd_address_call(&a, cmd, NULL);
	} else if (strcmp(cmd, "fund") == 0 && nargs == 2) {
		r = cmd_fund(&a, argv[optind], argv[optind + 1]);
	} else if (strcmp(cmd, "lookup") == 0 && nargs == 1) {
		r = cmd_lookup(&a, argv[optind]);
	} else if (strcmp(cmd, "revoke") == 0 && nargs == 1) {
		r = cmd_revoke(&a, argv[optind]);
	} else {
		fprintf(stderr, "dpk-admin: unknown command or wrong arguments: '%s' (see dpk-admin --help)\n", cmd);
		r = 2;
	}
out:
	dpk_rpc_free(a.rpc);
	dpk_wallet_clear(&a.w);
	curl_global_cleanup();
	return r;
}
