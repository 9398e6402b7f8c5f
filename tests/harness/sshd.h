/* Stock /usr/sbin/sshd for the end-to-end tests, in a private mount
 * namespace (unshare -m, and -n when asked) where the test's nsswitch.conf
 * covers /etc/nsswitch.conf, a tmpfs covers /run (for /run/sshd) and the
 * build tree is bind-mounted at the root-owned /run/dpk-build (sshd demands
 * root-owned paths above AuthorizedKeysCommand and PAM modules; the
 * checkout may sit under /tmp). The machine's /etc and /run never change. */
#ifndef DPK_TEST_SSHD_H
#define DPK_TEST_SSHD_H

#include <stddef.h>
#include <sys/types.h>

struct dpk_test_sshd {
	char dir[64], log[128], hostkey[128];
	char netns[64]; /* "--net=/proc/PID/ns/net" for nsenter when in its own network namespace, else "" */
	int port;
	int own_netns;
	pid_t pid;
};

/* Set up in dir: an ed25519 host key (dir/host_ed25519), dir/nsswitch.conf
 * ("passwd: files dpk") and the log path dir/sshd.log. With own_netns the
 * port is 2222 in sshd's own network namespace, else a free loopback port. */
void dpk_test_sshd_prepare(struct dpk_test_sshd *s, const char *dir, int own_netns);

/* Write dir/sshd_config (Port, ListenAddress 127.0.0.1, HostKey, PidFile
 * none, then config) and start sshd -D. The library module (a path under
 * the build tree) decides whether a sanitizer runtime must be preloaded into
 * the uninstrumented sshd; sshd and, through SetEnv, its sessions get
 * DPK_AGENT_SOCKET=agent_sock and LD_LIBRARY_PATH to the built nss_dpk.
 * extra: shell lines run inside the namespace after /run is set up and
 * before sshd starts ($1 is dir; may be ""). Waits for sshd to listen;
 * fails the test (naming its log) if it does not. */
void dpk_test_sshd_start(struct dpk_test_sshd *s, const char *config, const char *module, const char *agent_sock,
    const char *extra);

/* SIGTERM it and reap it (nothing if not running). */
void dpk_test_sshd_stop(struct dpk_test_sshd *s);

/* A stock ssh client logging in as user@127.0.0.1 on sshd's port (inside
 * its network namespace, through nsenter, when it has one) and running
 * `id -un`; no config file, no host key checking, a 10 s connect timeout.
 * pre: words before ssh (e.g. env VAR=value), opts: more ssh arguments;
 * both NULL-terminated, pre may be NULL. Its exit status (255 when
 * refused); the remote command's stdout, chomped, in out. */
int dpk_test_ssh_id(const struct dpk_test_sshd *s, char *const pre[], char *const opts[], const char *user,
    char *out, size_t outsz);

#endif
