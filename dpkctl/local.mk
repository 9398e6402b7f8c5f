# dpkctl/: dpkctl, the command line of dpk-agent (a client of its socket,
# through libdpkclient; it holds no keys).
bin_PROGRAMS += dpkctl/dpkctl
dpkctl_dpkctl_SOURCES = dpkctl/dpkctl.c dpkctl/dpkctl_respond.c dpkctl/dpkctl_join.c dpkctl/dpkctl.h
dpkctl_dpkctl_SOURCES += dpkctl/dpkctl_cli.c dpkctl/dpkctl_cache.c
dpkctl_dpkctl_SOURCES += dpkctl/dpkctl_key.c dpkctl/dpkctl_metrics.c
dpkctl_dpkctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client $(CJSON_CFLAGS) $(NETTLE_CFLAGS)
dpkctl_dpkctl_LDADD = client/libdpkclient.la $(DPKCORE_LIBS)
