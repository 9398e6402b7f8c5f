/* Message type numbers of the agent protocol (doc/protocol.md), shared by
 * libdpkclient and dpk-agent. A reply's type is the request's | 0x80. */
#ifndef DPK_PROTO_H
#define DPK_PROTO_H

/* The default uid range of DPK users (dpk.conf nss_uid_min/nss_uid_max;
 * nss_dpk(8) says why): above SSSD's id-mapping range (200000..2000200000),
 * inside what systemd leaves unused (1879048192..2147483647, below its
 * foreign-UID range at 2147352576), clear of Debian's subordinate ids
 * (100000..600100000) and below 2^31. */
#define DPK_NSS_UID_MIN_DEFAULT 2001000000u
#define DPK_NSS_UID_MAX_DEFAULT 2099999999u

#define DPK_MSG_HELLO 0x01
#define DPK_MSG_STATUS 0x02
#define DPK_MSG_LOOKUP 0x03
#define DPK_MSG_PUBKEY 0x04
#define DPK_MSG_REGISTER 0x05
#define DPK_MSG_GETPWNAM 0x06
#define DPK_MSG_GETPWUID 0x07
#define DPK_MSG_GETGRNAM 0x08
#define DPK_MSG_GETGRGID 0x09
#define DPK_MSG_INITGROUPS 0x0a
/* host login (pam_dpk), doc/protocol.md "Host login" */
#define DPK_MSG_LOGIN_CHALLENGE 0x0b
#define DPK_MSG_LOGIN_RESPOND 0x0c
#define DPK_MSG_LOGIN_VERIFY 0x0d
#define DPK_MSG_LOGIN_ACCOUNT 0x0e
#define DPK_MSG_USER_CHECK 0x0f
/* NSS enumeration (nss_enumerate): the i-th known user / group */
#define DPK_MSG_PWENT 0x20
#define DPK_MSG_GRENT 0x21
/* Ranges kept for the work in flight (doc/protocol.md lists what is used):
 * 0x0b-0x0f host login (pam_dpk challenge / verify / respond / account),
 * 0x10-0x1f PSK exchange and delegated tickets, 0x20-0x27 NSS additions
 * (enumeration), 0x28-0x2f ssh-agent and other key use. */
/* PSK exchange and delegated tickets (dpk-agent/peers/psk.c) */
#define DPK_MSG_PSK_HANDSHAKE 0x10
#define DPK_MSG_PSK_GET 0x11
#define DPK_MSG_TICKET_ISSUE 0x12
#define DPK_MSG_TICKET_REDEEM 0x13
/* operations (dpkctl) */
#define DPK_MSG_CACHE_FLUSH 0x30
/* this host's own key (root only): dpk-agent/chain/rotate.c */
#define DPK_MSG_ROTATE 0x31
#define DPK_MSG_REVOKE 0x32
/* Operations (doc/metrics.md): the agent's metrics in the Prometheus text format */
#define DPK_MSG_METRICS 0x33
#define DPK_MSG_FAILURE 0x7f
#define DPK_MSG_REPLY(t) ((t) | 0x80)

#endif
