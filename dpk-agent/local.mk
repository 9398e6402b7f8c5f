# dpk-agent/: the daemon dpk-agent and the CLI dpkctl. Their internals are a
# small static library so the tests and fuzzers link the same code.
noinst_LIBRARIES += dpk-agent/libdpkagent.a
dpk_agent_libdpkagent_a_SOURCES = \
	dpk-agent/config.c dpk-agent/config.h \
	dpk-agent/agent.h \
	dpk-agent/server.c \
	dpk-agent/requests.c \
	dpk-agent/cache.c dpk-agent/cache.h \
	dpk-agent/chain.c dpk-agent/chain.h \
	dpk-agent/lookup.c \
	dpk-agent/nss.c dpk-agent/nss_map.c dpk-agent/nss_map.h \
	dpk-agent/nss_cache.c dpk-agent/nss_cache.h dpk-agent/nss_cachebuild.c nss_dpk/cachefile.c nss_dpk/pack.c \
	dpk-agent/register.c dpk-agent/register.h \
	dpk-agent/sshagent.c dpk-agent/sshagent.h \
	dpk-agent/sshagent_msg.c dpk-agent/sshagent_msg.h \
	dpk-agent/login.c dpk-agent/login_msg.c dpk-agent/login_msg.h \
	dpk-agent/peer.c dpk-agent/peer.h dpk-agent/psk.c \
	dpk-agent/psk_store.c dpk-agent/psk_store.h dpk-agent/psk_listen.c
dpk_agent_libdpkagent_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client -I$(srcdir)/nss_dpk \
	$(OPENSSL_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
DPKAGENT_LIBS = dpk-agent/libdpkagent.a $(DPKCORE_LIBS)

sbin_PROGRAMS = dpk-agent/dpk-agent
dpk_agent_dpk_agent_SOURCES = dpk-agent/main.c
dpk_agent_dpk_agent_CPPFLAGS = $(dpk_agent_libdpkagent_a_CPPFLAGS)
dpk_agent_dpk_agent_LDADD = $(DPKAGENT_LIBS) -lpthread

bin_PROGRAMS += dpk-agent/dpkctl
dpk_agent_dpkctl_SOURCES = dpk-agent/dpkctl.c dpk-agent/dpkctl_respond.c dpk-agent/dpkctl.h
dpk_agent_dpkctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include $(CJSON_CFLAGS) $(NETTLE_CFLAGS)
dpk_agent_dpkctl_LDADD = client/libdpkclient.la $(DPKCORE_LIBS)

systemdsystemunitdir = $(prefix)/lib/systemd/system
dist_systemdsystemunit_DATA = dpk-agent/dpk-agent.service
