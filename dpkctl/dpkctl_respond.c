/* dpkctl respond (dpkctl(1)): answer a pam_dpk login challenge with this
 * device's identity key. A host can show the user another host's challenge
 * and relay the response there, so the agent first says what the challenge
 * asks without signing (LOGIN_RESPOND describe: it also refuses a host that
 * is not registered and active on chain), the user confirms on the terminal
 * (/dev/tty, not stdin, which may hold the challenge), and only then does
 * the agent sign. The response alone goes to stdout. */
#include "dpkctl.h"

#include "dpk/client.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The challenge from stdin: one line, surrounding white space dropped. */
static int
read_challenge(char *out, size_t outsz)
{
	size_t n;
	char *s;

	if (fgets(out, (int)outsz, stdin) == NULL)
		return -1;
	n = strlen(out);
	if (n == outsz - 1 && out[n - 1] != '\n')
		return -1; /* longer than any challenge */
	while (n > 0 && strchr(" \t\r\n", out[n - 1]) != NULL)
		out[--n] = '\0';
	s = out + strspn(out, " \t");
	memmove(out, s, strlen(s) + 1);
	return out[0] != '\0' ? 0 : -1;
}

static void
describe(const struct dpk_client_login_response *d, char *out, size_t outsz)
{
	long long left = (long long)d->expiry - (long long)time(NULL);

	snprintf(out, outsz, "Host %s asks to log you in as %s for %s (the challenge expires in %lld s).\n", d->host,
	    d->user, d->service, left > 0 ? left : 0);
}

static int
write_all(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
dpkctl_confirm(const char *question)
{
	char answer[16];
	size_t n = 0;
	int fd, yes = 0;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return -1;
	if (write_all(fd, question) != 0) {
		close(fd);
		return -1;
	}
	for (;;) { /* one line, the rest of a long one dropped */
		char ch;
		ssize_t r = read(fd, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n')
			break;
		if (n < sizeof(answer) - 1)
			answer[n++] = ch;
	}
	answer[n] = '\0';
	while (n > 0 && strchr(" \t\r", answer[n - 1]) != NULL)
		answer[--n] = '\0';
	yes = strcasecmp(answer, "y") == 0 || strcasecmp(answer, "yes") == 0;
	close(fd);
	return yes;
}

/* Ask on the terminal whether to sign what d describes: 1 yes, 0 no, -1
 * no terminal. */
static int
confirm(const struct dpk_client_login_response *d)
{
	char text[1024];

	describe(d, text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "Sign only if you are logging in to %s yourself, now. Sign? [y/N] ", d->host);
	return dpkctl_confirm(text);
}

int
dpkctl_respond(struct dpk_client *unused, const struct dpkctl_opts *o, int argc, char **argv)
{
	struct dpk_client_login_response desc, resp;
	struct dpk_client *c;
	char line[DPK_CLIENT_LOGIN_TEXT_MAX + 2], text[1024];
	const char *challenge = NULL;
	int yes = 0, r;

	(void)unused;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			yes = 1;
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && challenge == NULL) {
			challenge = argv[i];
		} else {
			return dpkctl_usage_error("respond", "takes --yes and one challenge (or reads it from stdin), not '%s'",
			    argv[i]);
		}
	}
	if (challenge == NULL || strcmp(challenge, "-") == 0) {
		if (read_challenge(line, sizeof(line)) != 0) {
			return dpkctl_fail(DPKCTL_EXIT_USAGE, "respond: no challenge on stdin (paste the text that starts "
			    "with DPK-LOGIN-v1.)");
		}
		challenge = line;
	}
	if (strlen(challenge) > DPK_CLIENT_LOGIN_TEXT_MAX) {
		return dpkctl_fail(DPKCTL_EXIT_USAGE, "respond: the challenge is too long to be a DPK login challenge");
	}
	if ((r = dpkctl_open(o->socket, o->timeout_ms, &c)) != 0)
		return r;
	memset(&resp, 0, sizeof(resp));
	if ((r = dpk_client_login_describe(c, challenge, &desc)) != 0) {
		r = dpkctl_client_exit(c, r, "respond");
		goto out;
	}
	if (yes) {
		describe(&desc, text, sizeof(text));
		fputs(text, stderr);
	} else if ((r = confirm(&desc)) < 0) {
		r = dpkctl_fail(DPKCTL_EXIT_REFUSED, "respond: no terminal to ask on whether to sign the challenge of host "
		    "%s: run it in a terminal, or pass --yes once you know that you are logging in to %s", desc.host, desc.host);
		goto out;
	} else if (r == 0) {
		r = dpkctl_fail(DPKCTL_EXIT_REFUSED, "respond: not signed");
		goto out;
	}
	if ((r = dpk_client_login_respond(c, challenge, &resp)) != 0) {
		r = dpkctl_client_exit(c, r, "respond");
		goto out;
	}
	if (strcmp(resp.host, desc.host) != 0 || strcmp(resp.user, desc.user) != 0 ||
	    strcmp(resp.service, desc.service) != 0 || resp.expiry != desc.expiry) {
		r = dpkctl_fail(DPKCTL_EXIT_PROTOCOL, "respond: the agent signed another challenge than it described");
		goto out;
	}
	fprintf(stderr, "Enter this response at the login prompt of %s:\n", resp.host);
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(j, "host", resp.host);
		cJSON_AddStringToObject(j, "user", resp.user);
		cJSON_AddStringToObject(j, "service", resp.service);
		cJSON_AddNumberToObject(j, "expiry", (double)resp.expiry);
		cJSON_AddStringToObject(j, "response", resp.response);
		if ((s = cJSON_Print(j)) != NULL)
			printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
	} else {
		printf("%s\n", resp.response);
	}
	r = fflush(stdout) == 0 ? 0 : DPKCTL_EXIT_REFUSED;
out:
	explicit_bzero(&resp, sizeof(resp));
	dpk_client_close(c);
	return r;
}
