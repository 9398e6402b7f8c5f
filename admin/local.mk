# admin/: dpk-admin, the registry owner's tool (deploy, approvers, ownership).
sbin_PROGRAMS += admin/dpk-admin
admin_dpk_admin_SOURCES = admin/dpk-admin.c
admin_dpk_admin_CPPFLAGS = $(AM_CPPFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) $(NETTLE_CFLAGS)
admin_dpk_admin_LDADD = $(DPKCORE_LIBS)
