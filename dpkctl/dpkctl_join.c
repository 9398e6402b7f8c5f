/* dpkctl join TOKEN_FILE --rpc URL: the first run on a host. The enrolment
 * token already names the identity, the chain, the registry and the PKM, so
 * the configuration is written from it; the token is copied beside it (0600,
 * it holds the enrolment secret). Nothing is started: the next steps are
 * printed. */
#include "autoconfig.h"

#include "dpkctl.h"
#include "enrol/token.h"
#include "eth/wallet.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Read at most DPK_TOKEN_MAX_FILE bytes of path into buf (NUL-terminated). */
static int
read_token_file(const char *path, char *buf, size_t bufsz, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while ((r = read(fd, buf + n, bufsz - 1 - n)) > 0)
		if ((n += (size_t)r) == bufsz - 1)
			break;
	close(fd);
	if (r < 0 || n == bufsz - 1) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: %s: %s", path, r < 0 ? strerror(errno) :
		    "larger than a token file");
		return -1;
	}
	buf[n] = '\0';
	*len = n;
	return 0;
}

/* Write text to path through a temporary file and rename, with mode; refuse
 * to replace an existing file unless force. */
static int
write_file(const char *path, const char *text, size_t len, mode_t mode, int force)
{
	char tmp[PATH_MAX];
	int fd;

	if (!force && access(path, F_OK) == 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: %s exists; move it away or use --force", path);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* dpk-agent --check-config -c config: its exit status, or -1 if it could not
 * run. With quiet_stdout its stdout goes to stderr (stdout is for dpkctl's
 * JSON alone). */
static int
check_config(const char *agent, const char *config, int quiet_stdout)
{
	char *argv[] = {(char *)agent, (char *)"--check-config", (char *)"-c", (char *)config, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (quiet_stdout && posix_spawn_file_actions_adddup2(&fa, 2, 1) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	r = posix_spawnp(&pid, agent, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}


int
dpkctl_join(struct dpk_client *unused, const struct dpkctl_opts *o, int argc, char **argv)
{
	const char *token_path = NULL, *rpc = NULL, *config = "/etc/dpk/dpk.conf";
	const char *agent = getenv("DPK_AGENT");
	char text[DPK_TOKEN_MAX_FILE + 1], err[256], dir[PATH_MAX], token_dest[PATH_MAX];
	char contract[43], pkm[43], conf[4096];
	struct dpk_token t = {0};
	size_t len;
	int force = 0, r = DPKCTL_EXIT_REFUSED, rc, n;

	(void)unused;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--rpc") == 0 && i + 1 < argc)
			rpc = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (argv[i][0] != '-' && token_path == NULL)
			token_path = argv[i];
		else
			return dpkctl_usage_error("join", "'%s' is not TOKEN_FILE, --rpc URL, --config FILE or --force", argv[i]);
	}
	if (token_path == NULL || rpc == NULL)
		return dpkctl_usage_error("join", "needs a token file and --rpc URL");
	if ((strncmp(rpc, "http://", 7) != 0 && strncmp(rpc, "https://", 8) != 0) || strpbrk(rpc, " \t\r\n#") != NULL) {
		return dpkctl_fail(DPKCTL_EXIT_USAGE, "join: --rpc '%s' is not an http:// or https:// URL", rpc);
	}
	if (read_token_file(token_path, text, sizeof(text), &len) != 0)
		return DPKCTL_EXIT_REFUSED;
	if (dpk_token_parse(text, len, &t, err, sizeof(err)) != 0) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: %s: %s", token_path, err);
		goto out;
	}
	/* the token goes beside the configuration */
	snprintf(dir, sizeof(dir), "%s", config);
	if ((size_t)snprintf(token_dest, sizeof(token_dest), "%s/token", dirname(dir)) >= sizeof(token_dest))
		goto out;
	if (!force && (access(config, F_OK) == 0 || access(token_dest, F_OK) == 0)) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: %s exists; move it away or use --force",
		    access(config, F_OK) == 0 ? config : token_dest);
		goto out;
	}
	dpk_wallet_address_format(t.contract, contract);
	dpk_wallet_address_format(t.pkm_address, pkm);
	n = snprintf(conf, sizeof(conf),
	    "# written by dpkctl join from %s; see dpk.conf(5) for the other keys\n"
	    "rpc_url = %s\n"
	    "chain_id = %llu\n"
	    "contract = %s\n"
	    "identity = %s\n"
	    "pkm_address = %s\n"
	    "pkm_endpoint = %s\n"
	    "token_file = %s\n",
	    token_path, rpc, (unsigned long long)t.chain_id, contract, t.identity, pkm, t.pkm_endpoint, token_dest);
	if (n < 0 || (size_t)n >= sizeof(conf)) {
		dpkctl_fail(DPKCTL_EXIT_REFUSED, "join: the configuration would be too long (--rpc?)");
		goto out;
	}
	if (write_file(token_dest, text, len, 0600, force) != 0 || write_file(config, conf, (size_t)n, 0644, force) != 0)
		goto out;
	if (!o->json)
		printf("wrote %s (identity %s, chain %llu, registry %s) and %s\n", config, t.identity,
		    (unsigned long long)t.chain_id, contract, token_dest);
	rc = check_config(agent != NULL && *agent != '\0' ? agent : "dpk-agent", config, o->json);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(j, "config", config);
		cJSON_AddStringToObject(j, "token_file", token_dest);
		cJSON_AddStringToObject(j, "identity", t.identity);
		cJSON_AddNumberToObject(j, "chain_id", (double)t.chain_id);
		cJSON_AddStringToObject(j, "contract", contract);
		cJSON_AddStringToObject(j, "check_config", rc == 0 ? "ok" : rc == 3 ? "chain check failed" :
		    rc > 0 ? "refused" : "not run");
		if ((s = cJSON_Print(j)) != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
	}
	if (rc == 3) { /* the file is good; the chain was not reached, or is not the token's */
		if (!o->json)
			printf("the chain check failed (above): the agent starts with this file, but reaches no registry "
			    "until --rpc is a node of chain %llu\n", (unsigned long long)t.chain_id);
	} else if (rc > 0) {
		fprintf(stderr, "dpkctl: join: dpk-agent refuses %s (above); fix it, then start the agent\n", config);
		goto out;
	}
	if (rc < 0 && !o->json)
		printf("could not run dpk-agent --check-config; check %s with it before starting the agent\n", config);
	if (!o->json)
		printf("next: add who may log in (nss_allow, login_allow: dpk.conf(5)) to %s, then\n"
		    "  systemctl enable --now dpk-agent    # or: dpk-agent -c %s\n"
		    "  dpkctl register                     # funding by the PKM, approval, one transaction\n",
		    config, config);
	r = 0;
out:
	explicit_bzero(text, sizeof(text));
	dpk_token_clear(&t);
	return r;
}
