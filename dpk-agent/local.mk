# dpk-agent/: the daemon dpk-agent. Its internals are a small static library
# so the tests and fuzzers link the same code.
noinst_LIBRARIES += dpk-agent/libdpkagent.a
dpk_agent_libdpkagent_a_SOURCES = \
	dpk-agent/agent.h \
	dpk-agent/server.c dpk-agent/server.h \
	dpk-agent/requests.c dpk-agent/requests.h \
	dpk-agent/metrics_request.c dpk-agent/metrics_request.h \
	dpk-agent/backup_cmd.c dpk-agent/backup_cmd.h \
	dpk-agent/timers.c dpk-agent/timers.h \
	dpk-agent/common/config.c dpk-agent/common/config.h \
	dpk-agent/common/log.c dpk-agent/common/log.h \
	dpk-agent/common/clock.c dpk-agent/common/clock.h \
	dpk-agent/common/idle.c dpk-agent/common/idle.h \
	dpk-agent/common/conn.c dpk-agent/common/conn.h \
	dpk-agent/common/metrics.c dpk-agent/common/metrics.h \
	dpk-agent/common/sock.c dpk-agent/common/sock.h \
	dpk-agent/common/nss_map.c dpk-agent/common/nss_map.h \
	dpk-agent/common/selector.c dpk-agent/common/selector.h \
	dpk-agent/common/psk_listen.c dpk-agent/common/psk_listen.h \
	dpk-agent/chain/cache.c dpk-agent/chain/cache.h \
	dpk-agent/chain/ops.c dpk-agent/chain/ops.h dpk-agent/chain/opsview.h \
	dpk-agent/chain/chain.c dpk-agent/chain/chain.h \
	dpk-agent/chain/poll.c dpk-agent/chain/events.c dpk-agent/chain/events.h \
	dpk-agent/chain/lookup.c dpk-agent/chain/lookup.h \
	dpk-agent/chain/endpoints_check.c dpk-agent/chain/endpoints_check.h \
	dpk-agent/chain/register.c dpk-agent/chain/register.h \
	dpk-agent/chain/registration.c dpk-agent/chain/registration.h \
	dpk-agent/chain/rotate.c dpk-agent/chain/rotate.h \
	dpk-agent/login/admit.c dpk-agent/login/admit.h \
	dpk-agent/login/userdb.c dpk-agent/login/userdb.h \
	dpk-agent/login/nss.c dpk-agent/login/nss.h \
	dpk-agent/login/nss_cache.c dpk-agent/login/nss_cache.h dpk-agent/login/nss_cachebuild.c \
	nss_dpk/cachefile.c nss_dpk/pack.c \
	dpk-agent/login/login.c dpk-agent/login/login.h \
	dpk-agent/login/login_msg.c dpk-agent/login/login_msg.h \
	dpk-agent/login/sshagent.c dpk-agent/login/sshagent.h \
	dpk-agent/login/sshagent_msg.c dpk-agent/login/sshagent_msg.h \
	dpk-agent/peers/peer.c dpk-agent/peers/peer.h \
	dpk-agent/peers/psk.c dpk-agent/peers/psk.h \
	dpk-agent/peers/psk_store.c dpk-agent/peers/psk_store.h \
	dpk-agent/peers/ticket_seen.c dpk-agent/peers/ticket_seen.h
dpk_agent_libdpkagent_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/dpk-agent -I$(srcdir)/include -I$(srcdir)/client -I$(srcdir)/nss_dpk \
	$(OPENSSL_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS)
DPKAGENT_LIBS = dpk-agent/libdpkagent.a $(DPKCORE_LIBS)

sbin_PROGRAMS = dpk-agent/dpk-agent
dpk_agent_dpk_agent_SOURCES = dpk-agent/main.c
dpk_agent_dpk_agent_CPPFLAGS = $(dpk_agent_libdpkagent_a_CPPFLAGS)
dpk_agent_dpk_agent_LDADD = $(DPKAGENT_LIBS) -lpthread

if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA = dpk-agent/dpk-agent.service
tmpfiles_DATA = dpk-agent/tmpfiles.d/dpk-agent.conf
endif
EXTRA_DIST += dpk-agent/dpk-agent.service.in dpk-agent/tmpfiles.d/dpk-agent.conf
dpk-agent/dpk-agent.service: $(srcdir)/dpk-agent/dpk-agent.service.in Makefile
	$(AM_V_GEN)mkdir -p dpk-agent && $(do_subst) $(srcdir)/dpk-agent/dpk-agent.service.in > $@
CLEANFILES += dpk-agent/dpk-agent.service

# a commented example; the agent reads /etc/dpk/dpk.conf (dpk.conf(5))
dpkconfdir = $(sysconfdir)/dpk
dist_dpkconf_DATA = dpk-agent/dpk.conf.example
