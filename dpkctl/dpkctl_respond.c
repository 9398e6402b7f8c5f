/* dpkctl respond (dpkctl(1)): answer a pam_dpk login challenge with this
 * device's identity key. A host can show the user another host's challenge
 * and relay the response there, so the agent first says what the challenge
 * asks without signing (LOGIN_RESPOND describe: it also refuses a host that
 * is not registered and active on chain), the user confirms on the terminal
 * (/dev/tty, not stdin, which may hold the challenge), and only then does
 * the agent sign. The response alone goes to stdout. */
#include "dpkctl.h"

#include "dpk/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* A refusal of the agent or the client library, printed; the exit code. */
static int
failed(struct dpk_client *c, int r)
{
	const char *msg = "";

	if (r == DPK_CLIENT_EAGENT) {
		dpk_client_agent_error(c, &msg);
		fprintf(stderr, "dpkctl: respond: %s\n", msg);
		return DPKCTL_EXIT_REFUSED;
	}
	fprintf(stderr, "dpkctl: respond: %s\n", dpk_client_strerror(r));
	return r == DPK_CLIENT_EPROTO ? DPKCTL_EXIT_PROTOCOL : DPKCTL_EXIT_UNREACHABLE;
}

int
dpkctl_respond(const char *socket, int timeout_ms, int argc, char **argv)
{
	struct dpk_client_login_response desc, resp;
	struct dpk_client *c;
	char line[DPK_CLIENT_LOGIN_TEXT_MAX + 2], text[1024];
	const char *challenge = NULL;
	int yes = 0, r;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
			yes = 1;
		} else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && challenge == NULL) {
			challenge = argv[i];
		} else {
			fprintf(stderr, "dpkctl: respond takes [--yes] and one challenge (or reads it from stdin), not '%s'\n",
			    argv[i]);
			return DPKCTL_EXIT_USAGE;
		}
	}
	if (challenge == NULL || strcmp(challenge, "-") == 0) {
		if (read_challenge(line, sizeof(line)) != 0) {
			fprintf(stderr, "dpkctl: respond: no challenge on stdin (paste the text that starts with DPK-LOGIN-v1.)\n");
			return DPKCTL_EXIT_USAGE;
		}
		challenge = line;
	}
	if (strlen(challenge) > DPK_CLIENT_LOGIN_TEXT_MAX) {
		fprintf(stderr, "dpkctl: respond: the challenge is too long to be a DPK login challenge\n");
		return DPKCTL_EXIT_USAGE;
	}
	if ((r = dpkctl_open(socket, timeout_ms, &c)) != 0)
		return r;
	memset(&resp, 0, sizeof(resp));
	if ((r = dpk_client_login_describe(c, challenge, &desc)) != 0) {
		r = failed(c, r);
		goto out;
	}
	if (yes) {
		describe(&desc, text, sizeof(text));
		fputs(text, stderr);
	} else if ((r = confirm(&desc)) < 0) {
		fprintf(stderr, "dpkctl: respond: no terminal to ask on whether to sign the challenge of host %s: run it in "
		    "a terminal, or pass --yes once you know that you are logging in to %s\n", desc.host, desc.host);
		r = DPKCTL_EXIT_REFUSED;
		goto out;
	} else if (r == 0) {
		fprintf(stderr, "dpkctl: respond: not signed\n");
		r = DPKCTL_EXIT_REFUSED;
		goto out;
	}
	if ((r = dpk_client_login_respond(c, challenge, &resp)) != 0) {
		r = failed(c, r);
		goto out;
	}
	if (strcmp(resp.host, desc.host) != 0 || strcmp(resp.user, desc.user) != 0 ||
	    strcmp(resp.service, desc.service) != 0 || resp.expiry != desc.expiry) {
		fprintf(stderr, "dpkctl: respond: the agent signed another challenge than it described\n");
		r = DPKCTL_EXIT_PROTOCOL;
		goto out;
	}
	fprintf(stderr, "Enter this response at the login prompt of %s:\n", resp.host);
	printf("%s\n", resp.response);
	r = fflush(stdout) == 0 ? 0 : DPKCTL_EXIT_REFUSED;
out:
	explicit_bzero(&resp, sizeof(resp));
	dpk_client_close(c);
	return r;
}
