/* dpk-pkm: the Public Key Manager (man page dpk-pkm(8)): enrols devices,
 * funds their wallets and approves their keys. */
#include "autoconfig.h"
#include "pkm.h"
#include "backup_cmd.h"
#include "metrics_cmd.h"
#include "serve.h"
#include "actions.h"

#include "base/err.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "daemon/cli.h"
#include "daemon/conffile.h"
#include "enrol/token.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

int
pkm_open(struct pkm *p, char *err, size_t errsz)
{
	char db[PATH_MAX];
	int r;

	if ((r = dpk_statedir_open(p->cfg.state_dir, DPK_IDKEY_P256, 0, &p->sd, err, errsz)) != 0)
		return r;
	snprintf(db, sizeof(db), "%s/pkm.db", p->cfg.state_dir);
	return pkm_store_open(db, &p->store, err, errsz);
}

void
pkm_close(struct pkm *p)
{
	pkm_store_close(p->store);
	p->store = NULL;
	dpk_statedir_close(&p->sd);
	pkm_config_free(&p->cfg);
}

static const struct dpk_cli_cmd commands[] = {
	{"init", "", "create the PKM's key and wallet (once); print what to publish\n"},
	{"enrol", "IDENTITY [--out FILE] [--valid DURATION]",
	    "issue a single-use token file (0600) for the device IDENTITY\n"
	    "  --out FILE        where to write it (default dpk-token-ID.txt here; never replaced)\n"
	    "  --valid DURATION  how long it may be used (1s to 30d; default token_validity)\n"},
	{"list", "", "the tokens issued, newest first: state, wallet, identity\n"},
	{"revoke-token", "ID", "withdraw an unused token\n"},
	{"publish-key", "", "store the PKM's identity key in the registry (storePKMKey)\n"},
	{"serve", "", "run the device channel (TLS-PSK) and the web interface until SIGTERM (--json: no effect)\n"},
	{"check-config", "[--offline]", "check the file and each rpc_url (chain id, the registry at contract)\n"
	    "  opens no state; exit 0 good, 1 file refused, 3 chain check failed\n"
	    "  --offline  the file only (no network)\n"},
	{"backup", "FILE", "the state directory and the database (SQLite's online backup) into FILE (new, mode 0600)\n"},
	{"restore", "FILE", "a backup into an empty state directory (dpk-pkm stopped)\n"},
	{"metrics", "", "tokens, transactions, wallet and chain in the Prometheus text format (doc/metrics.md)\n"},
	{"help", "[COMMAND]", "the commands, or what COMMAND does\n"},
	{NULL, NULL, NULL},
};

static const char common_help[] =
    "options, anywhere on the line (\"--\" ends them):\n"
    "  -c, --config FILE   configuration (default " PKM_CONFIG_DEFAULT_PATH "); rpc_url is read from it, never\n"
    "                      from the command line\n"
    "  --json              one JSON object on stdout ({\"error\", \"exit\"} on a failure)\n"
    "  --help, --version\n";

static int json_out; /* --json */

#define print_json dpk_cli_print_json
/* A failure, said on stderr (and as JSON with --json); returns code. */
#define complain(code, ...) dpk_cli_fail("dpk-pkm", json_out, code, __VA_ARGS__)

static int
cmd_init(struct pkm *p)
{
	struct dpk_buf pub;
	char addr[43];

	dpk_wallet_address_format(p->sd.wallet.addr, addr);
	dpk_buf_init(&pub, 4096);
	if (dpk_idkey_public_pem(p->sd.idkey, &pub) != 0 || dpk_buf_cstr(&pub) != 0) {
		dpk_buf_free(&pub);
		return complain(1, "init: cannot export the identity key");
	}
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "state_dir", p->cfg.state_dir);
		cJSON_AddStringToObject(j, "wallet", addr);
		cJSON_AddBoolToObject(j, "created_key", p->sd.created_key);
		cJSON_AddBoolToObject(j, "created_wallet", p->sd.created_wallet);
		cJSON_AddStringToObject(j, "public_key_pem", (char *)pub.data);
		print_json(j);
	} else {
		printf("state:  %s%s\n", p->cfg.state_dir, p->sd.created_key ? " (created)" : "");
		printf("wallet: %s%s\n", addr, p->sd.created_wallet ? " (created)" : "");
		printf("        fund it, and have the registry owner add it as an approver\n");
		printf("key:\n%s", (char *)pub.data);
	}
	dpk_buf_free(&pub);
	return 0;
}

/* Write text to path, new file only, mode 0600. */
static int
write_new(const char *path, const void *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	if (n != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return -1;
	}
	return close(fd);
}

static int
cmd_enrol(struct pkm *p, const char *idtext, const char *out, const char *valid)
{
	uint32_t valid_ms = p->cfg.token_validity_ms;
	struct pkm_enrolled en;
	struct dpk_buf text;
	char path[PATH_MAX], msg[512];
	int r;

	if (valid != NULL && (dpk_conffile_duration(valid, 30u * 24 * 3600 * 1000, &valid_ms) != 0 || valid_ms < 1000))
		return complain(2, "enrol: --valid '%s' is not a duration from 1s to 30d", valid);
	dpk_buf_init(&text, 2 * DPK_TOKEN_MAX_FILE);
	if ((r = pkm_enrol_issue(p, idtext, valid_ms, &text, &en, msg, sizeof(msg))) != 0) {
		dpk_buf_free(&text);
		return complain(r, "enrol: %s", msg);
	}
	if (out == NULL) {
		snprintf(path, sizeof(path), "dpk-token-%s.txt", en.token_hex);
		out = path;
	}
	if (write_new(out, text.data, text.len) != 0) {
		r = complain(1, "enrol: cannot write %s: %s", out, strerror(errno));
		/* nobody has the token: withdraw it */
		pkm_revoke_token(p, en.token_hex, msg, sizeof(msg));
	}
	dpk_buf_free(&text);
	if (r != 0)
		return 1;
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "token", en.token_hex);
		cJSON_AddStringToObject(j, "identity", en.identity);
		cJSON_AddStringToObject(j, "kind", dpk_identity_kind_name(en.kind));
		cJSON_AddNumberToObject(j, "expires", (double)en.expires);
		cJSON_AddStringToObject(j, "file", out);
		print_json(j);
		return 0;
	}
	printf("token %s for %s (%s), valid until %llu, written to %s\n", en.token_hex, en.identity,
	    dpk_identity_kind_name(en.kind), (unsigned long long)en.expires, out);
	printf("copy it to the device as its token_file (mode 0600); it is secret and works once\n");
	return 0;
}

static const char *const state_names[] = {"issued", "approved", "revoked"};

struct list_ctx {
	uint64_t now;
	cJSON *rows; /* --json */
};

static void
print_row(void *ctx, const struct pkm_token_row *t)
{
	struct list_ctx *l = ctx;
	char idhex[33], wallet[43] = "-";
	uint64_t now = l->now;

	dpk_hex_encode(t->id, 16, 0, idhex, sizeof(idhex));
	if (t->has_wallet)
		dpk_wallet_address_format(t->wallet, wallet);
	if (l->rows != NULL) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "token", idhex);
		cJSON_AddStringToObject(r, "state", t->state <= 2 ? state_names[t->state] : "?");
		cJSON_AddBoolToObject(r, "expired", t->state == PKM_TOKEN_ISSUED && now >= t->expires);
		cJSON_AddNumberToObject(r, "expires", (double)t->expires);
		if (t->has_wallet)
			cJSON_AddStringToObject(r, "wallet", wallet);
		else
			cJSON_AddNullToObject(r, "wallet");
		cJSON_AddStringToObject(r, "identity", t->identity);
		cJSON_AddItemToArray(l->rows, r);
		return;
	}
	printf("%s  %-9s %-7s %-42s %s\n", idhex, t->state <= 2 ? state_names[t->state] : "?",
	    t->state == PKM_TOKEN_ISSUED && now >= t->expires ? "expired" : "", wallet, t->identity);
}

static int
cmd_list(struct pkm *p)
{
	struct list_ctx l = {.now = (uint64_t)time(NULL)};
	cJSON *j = NULL;

	if (json_out) {
		j = cJSON_CreateObject();
		l.rows = cJSON_AddArrayToObject(j, "tokens");
	} else {
		printf("%-32s  %-9s %-7s %-42s %s\n", "TOKEN", "STATE", "", "WALLET", "IDENTITY");
	}
	if (pkm_store_list(p->store, print_row, &l) != 0) {
		cJSON_Delete(j);
		return complain(1, "list: cannot read the token database");
	}
	if (j != NULL)
		print_json(j);
	return 0;
}

static int
cmd_revoke_token(struct pkm *p, const char *idhex)
{
	char msg[512];
	int r = pkm_revoke_token(p, idhex, msg, sizeof(msg));

	if (r != 0)
		return complain(r == PKM_REFUSED && dpk_hex_decode_exact(idhex, (uint8_t[16]){0}, 16) != 0 ? 2 : 1,
		    "revoke-token: %s", msg);
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "token", idhex);
		cJSON_AddStringToObject(j, "state", "revoked");
		print_json(j);
	}
	return 0;
}

static int
cmd_publish_key(struct pkm *p)
{
	struct pkm_chain ch;
	struct dpk_rpc *rpc = NULL;
	struct pkm_sent sent;
	char msg[512], hex[67];
	int r, did = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return complain(1, "publish-key: cannot initialise libcurl");
	if ((r = pkm_rpc_new(p, &rpc)) != 0) {
		curl_global_cleanup();
		return complain(1, "publish-key: cannot set up the JSON-RPC client: %s", dpk_strerror(r));
	}
	pkm_chain_init(&ch, p);
	r = pkm_chain_publish_key(&ch, rpc, 0, 120000, &did, &sent, msg, sizeof(msg));
	pkm_chain_destroy(&ch);
	dpk_rpc_free(rpc);
	curl_global_cleanup();
	if (r != 0)
		return complain(1, "publish-key: %s", msg);
	dpk_hex_encode(sent.hash, 32, 1, hex, sizeof(hex));
	if (json_out) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "transaction", hex);
		cJSON_AddBoolToObject(j, "mined", sent.mined);
		print_json(j);
		return sent.mined ? 0 : 1;
	}
	printf("storePKMKey: transaction %s %s\n", hex, sent.mined ? "mined" : "sent, not mined within 2 minutes");
	return sent.mined ? 0 : 1;
}

/* The number of arguments each command takes. */
static int
command_args(const char *cmd)
{
	return strcmp(cmd, "enrol") == 0 || strcmp(cmd, "revoke-token") == 0 || strcmp(cmd, "backup") == 0 ||
	    strcmp(cmd, "restore") == 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"out", required_argument, NULL, 'o'},
		{"valid", required_argument, NULL, 'v'},
		{"offline", no_argument, NULL, 'O'},
		{"json", no_argument, NULL, 'j'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pkm p = {.config_path = PKM_CONFIG_DEFAULT_PATH};
	const char *out = NULL, *valid = NULL;
	char err[512];
	const char *cmd;
	int opt, r, help = 0, nargs, offline = 0;

	for (int i = 1; i < argc; i++) /* --json first, so that every failure below is JSON too */
		if (strcmp(argv[i], "--") == 0)
			break;
		else if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
	/* options anywhere on the line (GNU getopt permutes); "--" ends them */
	while ((opt = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': p.config_path = optarg; break;
		case 'o': out = optarg; break;
		case 'v': valid = optarg; break;
		case 'O': offline = 1; break;
		case 'j': json_out = 1; break;
		case 'V': printf("dpk-pkm %s\n", PACKAGE_VERSION); return 0;
		case 'h': help = 1; break;
		default: return complain(2, "usage: dpk-pkm [-c FILE] [--json] COMMAND [ARGS] (dpk-pkm --help lists them)");
		}
	}
	if ((r = dpk_cli_dispatch_help("dpk-pkm", "[-c FILE] [--json] COMMAND [ARGS]", commands, common_help, json_out,
	    help, argv + optind, argc - optind, &cmd)) >= 0)
		return r;
	optind++;
	nargs = argc - optind;
	if (nargs != command_args(cmd) || ((out != NULL || valid != NULL) && strcmp(cmd, "enrol") != 0) ||
	    (offline && strcmp(cmd, "check-config") != 0))
		return complain(2, "usage: dpk-pkm %s%s%s", cmd, *dpk_cli_find(commands, cmd)->usage ? " " : "",
		    dpk_cli_find(commands, cmd)->usage);
	/* the PKM's wallet key, identity key and the tokens' secrets live in this
	 * process: no core dumps, no ptrace by other processes of its uid */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "dpk-pkm: warning: prctl(PR_SET_DUMPABLE, 0): %s\n", strerror(errno));
	pkm_config_defaults(&p.cfg);
	err[0] = '\0';
	if (strcmp(cmd, "check-config") == 0) /* the file and the chain; opens no state */
		return pkm_check_config(&p, offline, json_out);
	if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0) {
		/* before pkm_open, which would make a new key and database */
		if (pkm_config_load(&p.cfg, p.config_path, err, sizeof(err)) != 0) {
			pkm_config_free(&p.cfg);
			return complain(1, "%s", err);
		}
		r = strcmp(cmd, "backup") == 0 ? pkm_backup_command(&p.cfg, argv[optind], json_out) :
		    pkm_restore_command(&p.cfg, argv[optind], json_out);
		pkm_config_free(&p.cfg);
		return r;
	}
	if (pkm_config_load(&p.cfg, p.config_path, err, sizeof(err)) != 0 || pkm_open(&p, err, sizeof(err)) != 0) {
		pkm_close(&p);
		return complain(1, "%s", err);
	}
	if (strcmp(cmd, "init") == 0) {
		r = cmd_init(&p);
	} else if (strcmp(cmd, "enrol") == 0) {
		r = cmd_enrol(&p, argv[optind], out, valid);
	} else if (strcmp(cmd, "list") == 0) {
		r = cmd_list(&p);
	} else if (strcmp(cmd, "metrics") == 0) {
		r = pkm_metrics_command(&p, json_out);
	} else if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "publish-key") == 0) {
		static const uint8_t zero[20];

		if (memcmp(p.cfg.contract, zero, 20) == 0)
			r = complain(1, "%s: %s has no contract address", cmd, p.config_path);
		else
			r = strcmp(cmd, "serve") == 0 ? pkm_serve(&p) : cmd_publish_key(&p);
	} else {
		r = cmd_revoke_token(&p, argv[optind]);
	}
	pkm_close(&p);
	return r;
}
