# dpk-agent/: the daemon dpk-agent and the CLI dpkctl. Their internals are a
# small static library so the tests and fuzzers link the same code.
noinst_LIBRARIES += dpk-agent/libdpkagent.a
dpk_agent_libdpkagent_a_SOURCES = dpk-agent/config.c dpk-agent/config.h
dpk_agent_libdpkagent_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include
DPKAGENT_LIBS = dpk-agent/libdpkagent.a $(DPKCORE_LIBS)
