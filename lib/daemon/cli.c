/* The operator CLIs' shared pieces (daemon/cli.h). */
#include "daemon/cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct dpk_cli_cmd *
dpk_cli_find(const struct dpk_cli_cmd *cmds, const char *name)
{
	for (; name != NULL && cmds->name != NULL; cmds++)
		if (strcmp(cmds->name, name) == 0)
			return cmds;
	return NULL;
}

void
dpk_cli_help(FILE *f, const char *prog, const char *synopsis, const struct dpk_cli_cmd *cmds,
    const struct dpk_cli_cmd *one, const char *common)
{
	if (one != NULL) {
		fprintf(f, "usage: %s %s%s%s\n%s%s", prog, one->name, *one->usage ? " " : "", one->usage, one->help, common);
		return;
	}
	fprintf(f, "usage: %s %s\n       %s COMMAND --help | %s help COMMAND\ncommands:\n", prog, synopsis, prog, prog);
	for (; cmds->name != NULL; cmds++) {
		const char *nl = strchr(cmds->help, '\n');
		int len = nl != NULL ? (int)(nl - cmds->help) : (int)strlen(cmds->help);

		fprintf(f, "  %s%s%s\n      %.*s\n", cmds->name, *cmds->usage ? " " : "", cmds->usage, len, cmds->help);
	}
	fputs(common, f);
}

void
dpk_cli_print_json(cJSON *j)
{
	char *s = j != NULL ? cJSON_Print(j) : NULL;

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(j);
	fflush(stdout);
}

int
dpk_cli_dispatch_help(const char *prog, const char *synopsis, const struct dpk_cli_cmd *cmds,
    const char *common, int json, int help, char *const *args, int nargs, const char **cmd)
{
	const struct dpk_cli_cmd *one;

	*cmd = nargs > 0 ? args[0] : NULL;
	if (*cmd != NULL && strcmp(*cmd, "help") == 0) { /* "help CMD"; "help --help" is help's own */
		if (nargs > 2)
			return dpk_cli_fail(prog, json, 2, "help: takes at most one command name");
		*cmd = nargs > 1 ? args[1] : help ? "help" : NULL;
		help = 1;
	}
	if (!help && *cmd != NULL) {
		if (dpk_cli_find(cmds, *cmd) == NULL)
			return dpk_cli_fail(prog, json, 2, "unknown command '%s' (%s --help lists them)", *cmd, prog);
		return -1;
	}
	one = dpk_cli_find(cmds, *cmd);
	if (*cmd != NULL && one == NULL)
		return dpk_cli_fail(prog, json, 2, "'%s' is no %s command (%s --help lists them)", *cmd, prog, prog);
	dpk_cli_help(help ? stdout : stderr, prog, synopsis, cmds, one, common);
	return help ? 0 : 2;
}

void
dpk_cli_json_error(const char *msg, int code)
{
	cJSON *j = cJSON_CreateObject();

	if (j == NULL)
		return;
	cJSON_AddStringToObject(j, "error", msg);
	cJSON_AddNumberToObject(j, "exit", code);
	dpk_cli_print_json(j);
}

int
dpk_cli_fail(const char *prog, int json, int code, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, msg);
	if (json)
		dpk_cli_json_error(msg, code);
	return code;
}

int
dpk_cli_rpc_parse(char *text, const char **urls, size_t max, size_t *n, char *err, size_t errsz)
{
	static const char sep[] = " \t\r\n,";
	char *p;

	*n = 0;
	for (p = text; (p = strchr(p, '#')) != NULL;) { /* comments become white space */
		size_t l = strcspn(p, "\n");

		memset(p, ' ', l);
		p += l;
	}
	for (p = text;;) {
		size_t len;

		p += strspn(p, sep);
		if (*p == '\0')
			break;
		len = strcspn(p, sep);
		if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
			snprintf(err, errsz, "'%.*s' is not an http:// or https:// URL", (int)(len > 64 ? 64 : len), p);
			return -1;
		}
		if (*n == max) {
			snprintf(err, errsz, "more than %zu endpoints", max);
			return -1;
		}
		urls[(*n)++] = p;
		p += len;
		if (*p != '\0')
			*p++ = '\0';
	}
	if (*n == 0) {
		snprintf(err, errsz, "no endpoint URL in it");
		return -1;
	}
	return 0;
}

int
dpk_cli_rpc_file(const char *path, char *buf, size_t bufsz, const char **urls, size_t max, size_t *n,
    char *err, size_t errsz)
{
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 006) != 0) {
		close(fd);
		snprintf(err, errsz, "%s must be a regular file that other users cannot read or write (its URL may "
		    "carry an API key): chmod o-rw %s", path, path);
		return -1;
	}
	got = read(fd, buf, bufsz - 1);
	close(fd);
	if (got < 0 || (size_t)got == bufsz - 1) {
		snprintf(err, errsz, "%s: %s", path, got < 0 ? strerror(errno) : "too large for a list of endpoints");
		return -1;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', (size_t)got) != NULL) {
		snprintf(err, errsz, "%s: has a NUL byte: not a list of URLs", path);
		return -1;
	}
	if (dpk_cli_rpc_parse(buf, urls, max, n, err, errsz) != 0) {
		size_t l = strlen(err);

		snprintf(err + l, errsz - l, " (in %s)", path);
		return -1;
	}
	return 0;
}
