/* dpk-agent: the DPK daemon (man page dpk-agent(8)). */
#include "autoconfig.h"
#include "agent.h"
#include "backup_cmd.h"

#include "base/err.h"
#include "chain/endpoints_check.h"
#include "common/idle.h"
#include "common/log.h"
#include "common/nss_map.h"
#include "daemon/chaincheck.h"
#include "daemon/notify.h"
#include "daemon/statedir.h"
#include "chain/rotate.h"
#include "login/nss_cache.h"
#include "login/sshagent.h"
#include "peers/peer.h"
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <unistd.h>

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dpk-agent [-c FILE] [--syslog] [--check-config [--offline] | --backup FILE | --restore FILE]\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "      --syslog        log to syslog instead of standard error\n"
	    "      --check-config  check the configuration and each rpc_url (chain id, registry, head, checkpoint)\n"
	    "                      and exit: 0 good, 1 the file is refused, 3 an endpoint or the registry is not\n"
	    "      --offline       with --check-config: the file only (no network)\n"
	    "      --backup FILE   write the state directory to FILE (new, mode 0600) and exit\n"
	    "      --restore FILE  restore a backup into the state directory (agent stopped, no state files) and exit\n"
	    "  -V, --version       print the version and exit\n",
	    DPK_CONFIG_DEFAULT_PATH);
}

static int
load_config(struct agent *a, struct dpk_config *cfg)
{
	char err[512];
	int r;

	dpk_config_defaults(cfg);
	if ((r = dpk_config_load(cfg, a->config_path, err, sizeof(err))) != 0 ||
	    (r = agent_nss_range_check(cfg->nss_uid_min, cfg->nss_uid_max, a->config_path, err, sizeof(err))) != 0 ||
	    (r = dpk_config_resolve_groups(cfg, a->config_path, err, sizeof(err))) != 0) {
		agent_log(LOG_ERR, "%s", err);
		dpk_config_free(cfg);
		return r;
	}
	if (cfg->state_dir == NULL && (cfg->state_dir = strdup("/var/lib/dpk")) == NULL)
		return DPK_ERR_NOMEM;
	if (cfg->socket_path == NULL && (cfg->socket_path = strdup("/run/dpk/agent.sock")) == NULL)
		return DPK_ERR_NOMEM;
	return 0;
}

static int
resolve_admin_group(struct agent *a)
{
	struct group gr, *res = NULL;
	char buf[16384];

	a->have_admin_gid = 0;
	if (a->cfg.admin_group == NULL)
		return 0;
	if (getgrnam_r(a->cfg.admin_group, &gr, buf, sizeof(buf), &res) != 0 || res == NULL) {
		agent_log(LOG_ERR, "%s: admin_group '%s' does not exist", a->config_path, a->cfg.admin_group);
		return DPK_ERR_NOTFOUND;
	}
	a->admin_gid = gr.gr_gid;
	a->have_admin_gid = 1;
	return 0;
}

/* SIGHUP: take the new configuration if it is valid, else keep the old one.
 * Paths and the identity are bound at start: changing them needs a restart. */
static void
reload(struct agent *a)
{
	struct dpk_config cfg;

	dpk_notify_reloading();
	if (load_config(a, &cfg) != 0) {
		agent_log(LOG_ERR, "configuration not reloaded: keeping the running one");
		dpk_notify_reloaded("new configuration refused: running with the previous one");
		return;
	}
	if (strcmp(cfg.state_dir, a->cfg.state_dir) != 0 || strcmp(cfg.socket_path, a->cfg.socket_path) != 0 ||
	    (cfg.identity == NULL) != (a->cfg.identity == NULL) ||
	    (cfg.identity != NULL && strcmp(cfg.identity, a->cfg.identity) != 0) ||
	    cfg.key_algorithm != a->cfg.key_algorithm)
		agent_log(LOG_WARNING, "state_dir, socket, identity and key_algorithm changes take effect on restart");
	/* keep the bound values, take the rest */
	char *keep_state = a->cfg.state_dir, *keep_socket = a->cfg.socket_path, *keep_id = a->cfg.identity;
	enum dpk_config_keyalg keep_alg = a->cfg.key_algorithm;

	a->cfg.state_dir = cfg.state_dir;
	a->cfg.socket_path = cfg.socket_path;
	a->cfg.identity = cfg.identity;
	cfg.state_dir = keep_state;
	cfg.socket_path = keep_socket;
	cfg.identity = keep_id;
	cfg.key_algorithm = keep_alg;
	dpk_config_free(&a->cfg);
	a->cfg = cfg;
	agent_nss_cache_clear(a); /* the policy or the naming may have changed */
	if (resolve_admin_group(a) != 0)
		agent_log(LOG_WARNING, "only root may make privileged requests until admin_group exists");
	agent_sshagent_reload(a);
	agent_log(LOG_INFO, "configuration reloaded from %s", a->config_path);
	dpk_notify_reloaded("configuration reloaded");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"syslog", no_argument, NULL, 's'},
		{"check-config", no_argument, NULL, 'k'},
		{"backup", required_argument, NULL, 'b'},
		{"restore", required_argument, NULL, 'r'},
		{"offline", no_argument, NULL, 'o'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* static, not on the stack: its 70 kB are zero pages the kernel maps only
	 * where they are written (most of the read slots never are) */
	static struct agent a = {.config_path = (char *)DPK_CONFIG_DEFAULT_PATH, .listen_fd = -1, .users = {.fd = -1}};
	struct dpk_statedir sd = {0};
	char err[512];
	int opt, check_only = 0, offline = 0, r, resuming;
	const char *backup_file = NULL, *restore_file = NULL;

	while ((opt = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': a.config_path = optarg; break;
		case 's': agent_log_to_syslog(); break;
		case 'k': check_only = 1; break;
		case 'b': backup_file = optarg; break;
		case 'r': restore_file = optarg; break;
		case 'o': offline = 1; break;
		case 'V': printf("dpk-agent %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* the identity key, the wallet key and PSKs live in this process: no core
	 * dumps of it, and no ptrace or /proc/PID/mem by other processes of its uid */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		agent_log(LOG_WARNING, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	/* nss_dpk answers UNAVAIL at once in this process: the agent never asks itself */
	setenv("DPK_NSS_BYPASS", "1", 1);
	agent_idle_init();
	/* Block the signals the event loop reads from its signalfd before any
	 * thread starts: threads inherit the mask, so none of them can take a
	 * SIGTERM or SIGHUP with its default action (ending the process). */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (load_config(&a, &a.cfg) != 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread starts */
	if (backup_file != NULL || restore_file != NULL) {
		r = backup_file != NULL && restore_file != NULL ? (usage(stderr), 2) : backup_file != NULL ?
		    agent_backup_command(&a.cfg, backup_file) : agent_restore_command(&a.cfg, restore_file);
		dpk_config_free(&a.cfg);
		return r;
	}
	if (check_only) {
		/* the file is valid; now each endpoint: its chain and the registry,
		 * then its head and the checkpoint block */
		r = offline ? 0 : dpk_chaincheck_endpoints(a.cfg.rpc_url, a.cfg.n_rpc, a.cfg.rpc_timeout_ms,
		    a.cfg.chain_id, a.cfg.contract, "dpk-agent", stdout);
		if (!offline && r == 0 && agent_check_endpoints(&a.cfg, stdout) != 0)
			r = 1;
		if (r == 0)
			printf("%s: OK\n", a.config_path);
		else
			fprintf(stderr, "%s: the file is good, but %s (above)\n", a.config_path,
			    r < 0 ? "rpc_url cannot be used" : "an endpoint, the registry or the checkpoint is not");
		dpk_config_free(&a.cfg);
		return r == 0 ? 0 : 3;
	}
	err[0] = '\0';
	if (resolve_admin_group(&a) != 0 ||
	    dpk_statedir_open(a.cfg.state_dir, a.cfg.key_algorithm == DPK_KEYALG_RSA ? DPK_IDKEY_RSA : DPK_IDKEY_P256,
	    a.cfg.rsa_bits, &sd, err, sizeof(err)) != 0) {
		if (err[0] != '\0')
			agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	a.idkey = sd.idkey;
	{
		size_t skipped = 0;

		if (agent_userdb_open(&a.users, a.cfg.state_dir, &skipped, err, sizeof(err)) != 0) {
			agent_log(LOG_ERR, "%s", err);
			r = 1;
			goto out;
		}
		if (skipped > 0)
			agent_log(LOG_WARNING, "%s/users: skipped %zu malformed lines (they are found again by name)",
			    a.cfg.state_dir, skipped);
	}
	a.wallet = sd.wallet;
	dpk_wallet_clear(&sd.wallet);
	if (sd.created_key)
		agent_log(LOG_NOTICE, "created a new identity key in %s/identity.pem", a.cfg.state_dir);
	if (sd.created_wallet) {
		char addr[43];

		dpk_wallet_address_format(a.wallet.addr, addr);
		agent_log(LOG_NOTICE, "created a new wallet %s in %s/wallet.json", addr, a.cfg.state_dir);
	}
	err[0] = '\0';
	if (agent_server_listen(&a, err, sizeof(err)) != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	err[0] = '\0';
	if (agent_sshagent_start(&a, err, sizeof(err)) != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	cache_init(&a.cache, 65536);
	a.on_record_changed = agent_nss_cache_changed; /* the NSS cache file drops what the chain changed */
	{
		struct chain_trust t = {
			.verify_reads = a.cfg.verify_reads,
			.quorum = a.cfg.rpc_quorum,
			.confirmations = a.cfg.confirmations,
			.finalized = a.cfg.anchor_finalized,
			.chain_id = a.cfg.chain_id,
			.has_checkpoint = a.cfg.has_checkpoint,
			.checkpoint_number = a.cfg.checkpoint_number,
			.max_proof_age_ms = a.cfg.max_proof_age_ms,
			.deploy_block = a.cfg.deploy_block,
			.log_range = a.cfg.log_range,
		};

		memcpy(t.checkpoint_hash, a.cfg.checkpoint_hash, 32);

		r = chain_start(&a.chain, a.cfg.rpc_url, a.cfg.n_rpc, a.cfg.rpc_timeout_ms, a.cfg.contract, &t,
		    err, sizeof(err));
	}
	if (r != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	/* the registration's reads and receipts count at the same depth (no proofs) */
	if (chain_start(&a.regchain, a.cfg.rpc_url, a.cfg.n_rpc, a.cfg.rpc_timeout_ms, a.cfg.contract,
	    &(struct chain_trust){.confirmations = a.cfg.confirmations, .finalized = a.cfg.anchor_finalized},
	    err, sizeof(err)) != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	err[0] = '\0';
	if (agent_peer_start(&a, err, sizeof(err)) != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	resuming = reg_init(&a.reg, a.cfg.state_dir, &a.wallet, a.idkey);
	reg_set_fees(&a.reg, a.cfg.max_fee_per_gas, a.cfg.max_priority_fee_per_gas, a.cfg.replace_after_ms);
	if (resuming == 1)
		agent_log(LOG_NOTICE, "resuming the registration of %s (%s)", a.cfg.identity ? a.cfg.identity : "?",
		    reg_step_name(a.reg.step));
	err[0] = '\0';
	if (agent_keyop_init(&a, err, sizeof(err)) != 0) {
		agent_log(LOG_ERR, "%s", err);
		r = 1;
		goto out;
	}
	agent_log(LOG_INFO, "listening on %s", a.cfg.socket_path);
	dpk_notify_ready("serving");
	while ((r = agent_server_run(&a)) == 1)
		reload(&a);
	r = r == 0 ? 0 : 1;
	dpk_notify_stopping();
	agent_log(LOG_INFO, "stopping");
out:
	agent_nss_cache_close(&a);
	agent_peer_stop(&a);
	agent_server_close(&a);
	agent_sshagent_stop(&a);
	chain_stop(&a.chain);
	chain_stop(&a.regchain);
	agent_keyop_stop(&a);
	reg_free(&a.reg);
	cache_clear(&a.cache);
	agent_userdb_close(&a.users);
	dpk_idkey_free(a.idkey);
	dpk_wallet_clear(&a.wallet);
	dpk_config_free(&a.cfg);
	return r;
}
