# ssh/: dpk-authorized-keys, sshd's AuthorizedKeysCommand for DPK users
# (dpk-authorized-keys(8)). It asks dpk-agent through libdpkclient and formats
# the key with lib/crypto/idkey.c.
sbin_PROGRAMS += ssh/dpk-authorized-keys
ssh_dpk_authorized_keys_SOURCES = ssh/dpk-authorized-keys.c
ssh_dpk_authorized_keys_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client $(OPENSSL_CFLAGS)
ssh_dpk_authorized_keys_LDADD = client/libdpkclient.la $(DPKCORE_LIBS)
# an sshd_config.d drop-in, installed as an example only (dpk-authorized-keys(8))
EXTRA_DIST += ssh/sshd_config.d-dpk.conf
