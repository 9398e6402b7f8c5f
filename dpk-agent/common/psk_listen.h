/* psk_listen values (dpk.conf(5)): numeric only, so that reading the
 * configuration never waits for a resolver. Apart from peers/peer.c so that
 * the configuration parser (and its tests and fuzzer) need nothing else. */
#ifndef DPK_AGENT_PSK_LISTEN_H
#define DPK_AGENT_PSK_LISTEN_H

struct sockaddr_storage;

/* 0 if v is a psk_listen value (PORT, IPv4:PORT or [IPv6]:PORT). */
int agent_psk_listen_check(const char *v);
/* The same, into a socket address (PORT alone: all IPv6 and IPv4 addresses). */
int agent_psk_listen_parse(const char *v, struct sockaddr_storage *ss, unsigned *sl);

#endif
