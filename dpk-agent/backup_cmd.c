/* dpk-agent --backup / --restore (backup_cmd.h). They run as a command, not
 * as a request to the running agent: the state directory is root's, and the
 * keys never have to cross the socket. */
#include "autoconfig.h"
#include "backup_cmd.h"

#include "base/err.h"
#include "common/config.h"
#include "daemon/backup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define KIND "dpk-agent"

static void
list_files(const struct dpk_backup *b, char *out, size_t outsz)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < b->n && n < outsz; i++) {
		int k = snprintf(out + n, outsz - n, "%s%s", i ? " " : "", b->files[i].name);

		if (k < 0)
			break;
		n += (size_t)k;
	}
}

int
agent_backup_command(const struct dpk_config *cfg, const char *file)
{
	struct dpk_backup b;
	char err[600], names[1024];
	int r;

	if (dpk_backup_init(&b, KIND) != 0)
		return 1;
	if ((r = dpk_backup_add_dir(&b, cfg->state_dir, NULL, err, sizeof(err))) != 0 ||
	    (r = dpk_backup_save(&b, file, err, sizeof(err))) != 0) {
		fprintf(stderr, "dpk-agent: backup: %s\n", err);
		dpk_backup_free(&b);
		return 1;
	}
	list_files(&b, names, sizeof(names));
	printf("backed up %zu files of %s to %s: %s\n", b.n, cfg->state_dir, file, names);
	printf("the file holds this host's private keys: keep it as safe as %s itself\n", cfg->state_dir);
	dpk_backup_free(&b);
	return 0;
}

/* Whether something accepts connections on path (a running agent). */
static int
socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path) || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return r;
}

int
agent_restore_command(const struct dpk_config *cfg, const char *file)
{
	struct dpk_backup b;
	char err[600], names[1024];
	int r;

	if (socket_answers(cfg->socket_path)) {
		fprintf(stderr, "dpk-agent: restore: an agent answers on %s: stop it first (systemctl stop dpk-agent); "
		    "nothing was restored\n", cfg->socket_path);
		return 1;
	}
	if ((r = dpk_backup_load(file, KIND, &b, err, sizeof(err))) != 0) {
		fprintf(stderr, "dpk-agent: restore: %s; nothing was restored\n", err);
		dpk_backup_free(&b);
		return 1;
	}
	if ((r = dpk_backup_restore(&b, cfg->state_dir, err, sizeof(err))) != 0) {
		fprintf(stderr, "dpk-agent: restore: %s\n", err);
		dpk_backup_free(&b);
		return 1;
	}
	list_files(&b, names, sizeof(names));
	printf("restored %zu files into %s: %s\n", b.n, cfg->state_dir, names);
	printf("start the agent; run the backup's host under one agent only (two agents with one key would "
	    "both answer for it)\n");
	dpk_backup_free(&b);
	return 0;
}
