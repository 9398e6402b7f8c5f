#include "common/psk_listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return -1;
	for (; *s; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* PORT (all addresses), IPv4:PORT or [IPv6]:PORT, numeric only. */
int
agent_psk_listen_parse(const char *v, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *colon;
	char host[64];
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (strchr(v, ':') == NULL) {
		if (parse_port(v, &port) != 0)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons(port);
		*sl = sizeof(*s6);
		return 0;
	}
	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (close == NULL || close[1] != ':' || (size_t)(close - v - 1) >= sizeof(host))
			return -1;
		memcpy(host, v + 1, (size_t)(close - v - 1));
		host[close - v - 1] = '\0';
		if (parse_port(close + 2, &port) != 0 || inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sl = sizeof(*s6);
		return 0;
	}
	colon = strchr(v, ':');
	if (strchr(colon + 1, ':') != NULL || (size_t)(colon - v) >= sizeof(host))
		return -1;
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	if (parse_port(colon + 1, &port) != 0 || inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*sl = sizeof(*s4);
	return 0;
}

int
agent_psk_listen_check(const char *v)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	return agent_psk_listen_parse(v, &ss, &sl);
}

