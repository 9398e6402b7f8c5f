/* dpk-pkm: the Public Key Manager (man page dpk-pkm(8)): enrols devices,
 * funds their wallets and approves their keys. */
#include "autoconfig.h"
#include "pkm.h"
#include "serve.h"
#include "actions.h"

#include "base/err.h"
#include "base/hex.h"
#include "registry/identity.h"
#include "daemon/conffile.h"
#include "enrol/token.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dpk-pkm [-c FILE] COMMAND [ARGS]\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "commands:\n"
	    "  init                       create the PKM's key and wallet; print what to publish\n"
	    "  enrol IDENTITY [--out FILE] [--valid DURATION]\n"
	    "                             issue a single-use token file for a device\n"
	    "  list                       the tokens issued and their state\n"
	    "  revoke-token ID            withdraw an unused token\n"
	    "  publish-key                store the PKM's identity key in the registry (storePKMKey)\n"
	    "  serve                      run the device channel (TLS-PSK) until SIGTERM\n"
	    "  check-config [--offline]   check the file and each rpc_url (chain id, the registry at\n"
	    "                             contract); exit 0 good, 1 file refused, 3 chain check failed\n",
	    PKM_CONFIG_DEFAULT_PATH);
}

static int
cmd_init(struct pkm *p)
{
	struct dpk_buf pub;
	char addr[43];

	dpk_wallet_address_format(p->sd.wallet.addr, addr);
	printf("state:  %s%s\n", p->cfg.state_dir, p->sd.created_key ? " (created)" : "");
	printf("wallet: %s%s\n", addr, p->sd.created_wallet ? " (created)" : "");
	printf("        fund it, and have the registry owner add it as an approver\n");
	dpk_buf_init(&pub, 4096);
	if (dpk_idkey_public_pem(p->sd.idkey, &pub) == 0)
		printf("key:\n%s", (char *)pub.data);
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
cmd_enrol(struct pkm *p, int argc, char **argv)
{
	const char *out = NULL, *idtext = NULL;
	uint32_t valid_ms = p->cfg.token_validity_ms;
	struct pkm_enrolled en;
	struct dpk_buf text;
	char path[PATH_MAX], msg[512];
	int r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			out = argv[++i];
		} else if (strcmp(argv[i], "--valid") == 0 && i + 1 < argc) {
			if (dpk_conffile_duration(argv[++i], 30u * 24 * 3600 * 1000, &valid_ms) != 0 || valid_ms < 1000) {
				fprintf(stderr, "dpk-pkm: enrol: --valid '%s' is not a duration from 1s to 30d\n", argv[i]);
				return 2;
			}
		} else if (idtext == NULL && argv[i][0] != '-') {
			idtext = argv[i];
		} else {
			fprintf(stderr, "dpk-pkm: enrol: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (idtext == NULL) {
		fprintf(stderr, "dpk-pkm: enrol: which identity? (a domain, IPv4, IPv6 or UUID)\n");
		return 2;
	}
	dpk_buf_init(&text, 2 * DPK_TOKEN_MAX_FILE);
	if ((r = pkm_enrol_issue(p, idtext, valid_ms, &text, &en, msg, sizeof(msg))) != 0) {
		fprintf(stderr, "dpk-pkm: enrol: %s\n", msg);
		dpk_buf_free(&text);
		return r;
	}
	if (out == NULL) {
		snprintf(path, sizeof(path), "dpk-token-%s.txt", en.token_hex);
		out = path;
	}
	if (write_new(out, text.data, text.len) != 0) {
		fprintf(stderr, "dpk-pkm: enrol: cannot write %s: %s\n", out, strerror(errno));
		/* nobody has the token: withdraw it */
		pkm_revoke_token(p, en.token_hex, msg, sizeof(msg));
		r = 1;
	}
	dpk_buf_free(&text);
	if (r != 0)
		return 1;
	printf("token %s for %s (%s), valid until %llu, written to %s\n", en.token_hex, en.identity,
	    dpk_identity_kind_name(en.kind), (unsigned long long)en.expires, out);
	printf("copy it to the device as its token_file (mode 0600); it is secret and works once\n");
	return 0;
}

static const char *const state_names[] = {"issued", "approved", "revoked"};

static void
print_row(void *ctx, const struct pkm_token_row *t)
{
	char idhex[33], wallet[43] = "-";
	uint64_t now = *(uint64_t *)ctx;

	dpk_hex_encode(t->id, 16, 0, idhex, sizeof(idhex));
	if (t->has_wallet)
		dpk_wallet_address_format(t->wallet, wallet);
	printf("%s  %-9s %-7s %-42s %s\n", idhex, t->state <= 2 ? state_names[t->state] : "?",
	    t->state == PKM_TOKEN_ISSUED && now >= t->expires ? "expired" : "", wallet, t->identity);
}

static int
cmd_list(struct pkm *p)
{
	uint64_t now = (uint64_t)time(NULL);

	printf("%-32s  %-9s %-7s %-42s %s\n", "TOKEN", "STATE", "", "WALLET", "IDENTITY");
	return pkm_store_list(p->store, print_row, &now) == 0 ? 0 : 1;
}

static int
cmd_revoke_token(struct pkm *p, const char *idhex)
{
	char msg[512];
	int r = pkm_revoke_token(p, idhex, msg, sizeof(msg));

	if (r != 0)
		fprintf(stderr, "dpk-pkm: revoke-token: %s\n", msg);
	if (r == 0)
		return 0;
	return r == PKM_REFUSED && dpk_hex_decode_exact(idhex, (uint8_t[16]){0}, 16) != 0 ? 2 : 1;
}

static int
cmd_publish_key(struct pkm *p)
{
	struct pkm_chain ch;
	struct dpk_rpc *rpc = NULL;
	struct pkm_sent sent;
	char msg[512], hex[67];
	int r, did = 0;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "dpk-pkm: publish-key: cannot initialise libcurl\n");
		return 1;
	}
	if ((r = pkm_rpc_new(p, &rpc)) != 0) {
		fprintf(stderr, "dpk-pkm: publish-key: cannot set up the JSON-RPC client: %s\n", dpk_strerror(r));
		curl_global_cleanup();
		return 1;
	}
	pkm_chain_init(&ch, p);
	r = pkm_chain_publish_key(&ch, rpc, 0, 120000, &did, &sent, msg, sizeof(msg));
	pkm_chain_destroy(&ch);
	dpk_rpc_free(rpc);
	curl_global_cleanup();
	if (r != 0) {
		fprintf(stderr, "dpk-pkm: publish-key: %s\n", msg);
		return 1;
	}
	dpk_hex_encode(sent.hash, 32, 1, hex, sizeof(hex));
	printf("storePKMKey: transaction %s %s\n", hex, sent.mined ? "mined" : "sent, not mined within 2 minutes");
	return sent.mined ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pkm p = {.config_path = PKM_CONFIG_DEFAULT_PATH};
	char err[512];
	const char *cmd;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "+c:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': p.config_path = optarg; break;
		case 'V': printf("dpk-pkm %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* the PKM's wallet key, identity key and the tokens' secrets live in this
	 * process: no core dumps, no ptrace by other processes of its uid */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "dpk-pkm: warning: prctl(PR_SET_DUMPABLE, 0): %s\n", strerror(errno));
	if (strcmp(cmd, "init") != 0 && strcmp(cmd, "enrol") != 0 && strcmp(cmd, "list") != 0 &&
	    strcmp(cmd, "revoke-token") != 0 && strcmp(cmd, "serve") != 0 && strcmp(cmd, "publish-key") != 0 &&
	    strcmp(cmd, "check-config") != 0) {
		fprintf(stderr, "dpk-pkm: unknown command '%s' (see dpk-pkm --help)\n", cmd);
		return 2;
	}
	pkm_config_defaults(&p.cfg);
	err[0] = '\0';
	if (strcmp(cmd, "check-config") == 0) /* the file and the chain; opens no state */
		return pkm_check_config(&p, argc - optind, argv + optind);
	if (pkm_config_load(&p.cfg, p.config_path, err, sizeof(err)) != 0 || pkm_open(&p, err, sizeof(err)) != 0) {
		fprintf(stderr, "dpk-pkm: %s\n", err);
		pkm_close(&p);
		return 1;
	}
	if (strcmp(cmd, "init") == 0) {
		r = optind == argc ? cmd_init(&p) : 2;
	} else if (strcmp(cmd, "enrol") == 0) {
		r = cmd_enrol(&p, argc - optind, argv + optind);
	} else if (strcmp(cmd, "list") == 0) {
		r = optind == argc ? cmd_list(&p) : 2;
	} else if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "publish-key") == 0) {
		static const uint8_t zero[20];

		if (optind != argc) {
			r = 2;
		} else if (memcmp(p.cfg.contract, zero, 20) == 0) {
			fprintf(stderr, "dpk-pkm: %s: %s has no contract address\n", cmd, p.config_path);
			r = 1;
		} else {
			r = strcmp(cmd, "serve") == 0 ? pkm_serve(&p) : cmd_publish_key(&p);
		}
	} else {
		r = optind + 1 == argc ? cmd_revoke_token(&p, argv[optind]) : 2;
	}
	if (r == 2)
		fprintf(stderr, "dpk-pkm: see dpk-pkm --help\n");
	pkm_close(&p);
	return r;
}
