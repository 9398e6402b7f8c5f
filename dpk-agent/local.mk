# dpk-agent/: the daemon dpk-agent. Its internals are a small static library
# so the tests and fuzzers link the same code.
noinst_LIBRARIES += dpk-agent/libdpkagent.a
dpk_agent_libdpkagent_a_SOURCES = \
	dpk-agent/config.c dpk-agent/config.h \
	dpk-agent/agent.h \
	dpk-agent/server.c \
	dpk-agent/requests.c \
	dpk-agent/chain/cache.c dpk-agent/chain/cache.h \
	dpk-agent/chain/chain.c dpk-agent/chain/chain.h \
	dpk-agent/chain/lookup.c \
	dpk-agent/login/nss.c dpk-agent/login/nss_map.c dpk-agent/login/nss_map.h \
	dpk-agent/login/nss_cache.c dpk-agent/login/nss_cache.h dpk-agent/login/nss_cachebuild.c nss_dpk/cachefile.c nss_dpk/pack.c \
	dpk-agent/chain/register.c dpk-agent/chain/register.h \
	dpk-agent/login/sshagent.c dpk-agent/login/sshagent.h \
	dpk-agent/login/sshagent_msg.c dpk-agent/login/sshagent_msg.h \
	dpk-agent/login/login.c dpk-agent/login/login_msg.c dpk-agent/login/login_msg.h \
	dpk-agent/peers/peer.c dpk-agent/peers/peer.h dpk-agent/peers/psk.c \
	dpk-agent/peers/psk_store.c dpk-agent/peers/psk_store.h dpk-agent/peers/psk_listen.c
dpk_agent_libdpkagent_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/dpk-agent -I$(srcdir)/include -I$(srcdir)/client -I$(srcdir)/nss_dpk \
	$(OPENSSL_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
DPKAGENT_LIBS = dpk-agent/libdpkagent.a $(DPKCORE_LIBS)

sbin_PROGRAMS = dpk-agent/dpk-agent
dpk_agent_dpk_agent_SOURCES = dpk-agent/main.c
dpk_agent_dpk_agent_CPPFLAGS = $(dpk_agent_libdpkagent_a_CPPFLAGS)
dpk_agent_dpk_agent_LDADD = $(DPKAGENT_LIBS) -lpthread

systemdsystemunitdir = $(prefix)/lib/systemd/system
dist_systemdsystemunit_DATA = dpk-agent/dpk-agent.service
