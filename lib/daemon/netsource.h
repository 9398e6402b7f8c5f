/* Where a TCP connection comes from, for per-source caps in the daemons'
 * listeners (dpk-agent's PSK listener, dpk-pkm). A source is an IPv4
 * address, or an IPv6 /64: one host or one customer's network is usually
 * given a whole /64, so counting IPv6 addresses one by one would let a single
 * attacker open as many slots as it has addresses (2^64). An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d, a dual-stack listener) is the IPv4 source. */
#ifndef DPK_NETSOURCE_H
#define DPK_NETSOURCE_H

#include <stddef.h>
#include <sys/socket.h>

struct dpk_netsource {
	unsigned char b[16]; /* IPv4: ::ffff:a.b.c.d; IPv6: the /64 prefix, then zeros */
};

/* The source of sa (AF_INET or AF_INET6; anything else is one source, all
 * zeros). */
void dpk_netsource_of(const struct sockaddr *sa, struct dpk_netsource *out);
/* 1 if a and b are the same source. */
int dpk_netsource_equal(const struct dpk_netsource *a, const struct dpk_netsource *b);
/* "192.0.2.7" or "2001:db8:1:2::/64", for log lines (out: at least 48 bytes). */
void dpk_netsource_format(const struct dpk_netsource *s, char *out, size_t outsz);

#endif
