#include "daemon/netsource.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void
dpk_netsource_of(const struct sockaddr *sa, struct dpk_netsource *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		memcpy(out->b, v4mapped, 12);
		memcpy(out->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, v4mapped, 12) == 0)
			memcpy(out->b, a, 16); /* an IPv4 peer on a dual-stack socket */
		else
			memcpy(out->b, a, 8); /* the /64 */
	}
}

int
dpk_netsource_equal(const struct dpk_netsource *a, const struct dpk_netsource *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

void
dpk_netsource_format(const struct dpk_netsource *s, char *out, size_t outsz)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (memcmp(s->b, v4mapped, 12) == 0) {
		inet_ntop(AF_INET, s->b + 12, text, sizeof(text));
		snprintf(out, outsz, "%s", text);
	} else {
		inet_ntop(AF_INET6, s->b, text, sizeof(text));
		snprintf(out, outsz, "%s/64", text);
	}
}
