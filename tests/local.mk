# tests/: unit (cmocka), integration (real anvil), cross-checks (cast), fuzz.
noinst_LIBRARIES += tests/harness/libharness.a
tests_harness_libharness_a_SOURCES = tests/harness/harness.c tests/harness/harness.h \
	tests/harness/chain.c tests/harness/chain.h \
	tests/harness/agent.c tests/harness/agent.h \
	tests/harness/sshd.c tests/harness/sshd.h \
	tests/harness/rpcproxy.c tests/harness/rpcproxy.h \
	tests/harness/flood.c tests/harness/flood.h \
	tests/harness/promtext.c tests/harness/promtext.h
# PSK handshake and ticket tests' vectors and parties
tests_harness_libharness_a_SOURCES += tests/harness/pskvec.c tests/harness/pskvec.h
tests_harness_libharness_a_CPPFLAGS = $(AM_CPPFLAGS) $(CMOCKA_CFLAGS) $(CJSON_CFLAGS) $(CURL_CFLAGS) -I$(srcdir)/include

TEST_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/tests/harness $(CMOCKA_CFLAGS) \
	$(OPENSSL_CFLAGS) $(CJSON_CFLAGS) $(SECP256K1_CFLAGS) $(NETTLE_CFLAGS) $(CURL_CFLAGS)
TEST_LIBS = tests/harness/libharness.a $(DPKCORE_LIBS) $(CMOCKA_LIBS)

# Tests find vectors and the npm tools through the environment.
AM_TESTS_ENVIRONMENT = \
	DPK_TEST_DATA='$(abs_top_srcdir)/tests/data'; export DPK_TEST_DATA; \
	DPK_ANVIL='$(ANVIL)'; export DPK_ANVIL; \
	DPK_CAST='$(CAST)'; export DPK_CAST; \
	DPK_GANACHE='$(GANACHE)'; export DPK_GANACHE; \
	DPK_TOP_BUILDDIR='$(abs_top_builddir)'; export DPK_TOP_BUILDDIR;

unit_tests = \
	tests/unit/eth/test_primitives \
	tests/unit/eth/test_rlp \
	tests/unit/eth/test_abi \
	tests/unit/eth/test_wallet \
	tests/unit/eth/test_tx \
	tests/unit/eth/test_fees \
	tests/unit/eth/test_keystore \
	tests/unit/eth/test_rpc \
	tests/unit/eth/test_mpt \
	tests/unit/eth/test_header \
	tests/unit/client/test_client \
	tests/unit/dpk-agent/test_config \
	tests/unit/crypto/test_idkey \
	tests/unit/enrol/test_token \
	tests/unit/enrol/test_tlspsk \
	tests/unit/pkm/test_pkm_store \
	tests/unit/registry/test_identity \
	tests/unit/registry/test_slots \
	tests/unit/registry/test_registry_codec \
	tests/unit/nss_dpk/test_nss_module \
	tests/unit/dpk-agent/test_nss_map \
	tests/unit/dpk-agent/test_admit \
	tests/unit/dpk-agent/test_events \
	tests/unit/dpk-agent/test_userdb \
	tests/unit/dpk-agent/test_sshagent \
	tests/unit/dpk-agent/test_nss_cachefile \
	tests/unit/nss_dpk/test_cache_race \
	tests/unit/pam_dpk/test_pam_module \
	tests/unit/dpk-agent/test_login_msg \
	tests/unit/crypto/test_hpke \
	tests/unit/crypto/test_pke \
	tests/unit/pkm/test_pkm_web \
	tests/unit/daemon/test_notify \
	tests/unit/dpkctl/test_join
integration_tests = \
	tests/integration/test_anvil_transfer \
	tests/integration/test_agent_socket \
	tests/integration/test_agent_fair \
	tests/integration/test_txsend \
	tests/integration/test_chaincheck \
	tests/integration/test_agent_lookup \
	tests/integration/test_dpkctl \
	tests/integration/test_operator_cli \
	tests/integration/test_verified_reads \
	tests/integration/test_reorg \
	tests/integration/test_registration \
	tests/integration/test_registry \
	tests/integration/test_pkm \
	tests/integration/test_nss_getent \
	tests/integration/test_admission \
	tests/integration/test_authorized_keys \
	tests/integration/test_ssh_login \
	tests/integration/test_nss_threads \
	tests/integration/test_ssh_agent \
	tests/integration/test_pam_login \
	tests/integration/test_pam_nolockout \
	tests/integration/test_ssh_kbdint \
	tests/integration/test_pkm_web

check_PROGRAMS += $(unit_tests) $(integration_tests)
TESTS += $(unit_tests) $(integration_tests) tests/banned-functions.sh tests/check-layers.sh
# The integration tests on the second node (ganache), instant blocks as on
# anvil (tests that control the chain need it; slow-blocks.sh runs 1 s and
# 12 s blocks on both nodes); scripts/test runs it after make check.
check-second-node:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(integration_tests)' DPK_TEST_NODE=ganache DPK_TEST_BLOCK_TIME=1
print-integration-tests:
	@echo $(integration_tests)
.PHONY: check-second-node print-integration-tests
# registration, lookup and login with 1 s and 12 s blocks on anvil and on ganache
TESTS += tests/integration/slow-blocks.sh
dist_check_SCRIPTS += tests/integration/slow-blocks.sh
dist_check_SCRIPTS += tests/banned-functions.sh tests/check-layers.sh

tests_unit_eth_test_primitives_SOURCES = tests/unit/eth/test_primitives.c
tests_unit_eth_test_primitives_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_primitives_LDADD = $(TEST_LIBS)
tests_unit_registry_test_slots_SOURCES = tests/unit/registry/test_slots.c
tests_unit_registry_test_slots_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_registry_test_slots_LDADD = $(TEST_LIBS)
tests_unit_eth_test_mpt_SOURCES = tests/unit/eth/test_mpt.c
tests_unit_eth_test_mpt_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_mpt_LDADD = $(TEST_LIBS)
tests_unit_eth_test_header_SOURCES = tests/unit/eth/test_header.c
tests_unit_eth_test_header_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_header_LDADD = $(TEST_LIBS)
tests_unit_eth_test_rlp_SOURCES = tests/unit/eth/test_rlp.c
tests_unit_eth_test_rlp_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_rlp_LDADD = $(TEST_LIBS)
tests_unit_eth_test_abi_SOURCES = tests/unit/eth/test_abi.c
tests_unit_eth_test_abi_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_abi_LDADD = $(TEST_LIBS)
tests_unit_eth_test_wallet_SOURCES = tests/unit/eth/test_wallet.c
tests_unit_eth_test_wallet_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_wallet_LDADD = $(TEST_LIBS)
tests_unit_eth_test_tx_SOURCES = tests/unit/eth/test_tx.c
tests_unit_eth_test_tx_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_tx_LDADD = $(TEST_LIBS)
tests_unit_eth_test_fees_SOURCES = tests/unit/eth/test_fees.c
tests_unit_eth_test_fees_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_fees_LDADD = $(TEST_LIBS)
tests_unit_eth_test_keystore_SOURCES = tests/unit/eth/test_keystore.c
tests_unit_eth_test_keystore_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_keystore_LDADD = $(TEST_LIBS)
tests_unit_eth_test_rpc_SOURCES = tests/unit/eth/test_rpc.c
tests_unit_eth_test_rpc_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_eth_test_rpc_LDADD = $(TEST_LIBS) -lpthread
tests_unit_client_test_client_SOURCES = tests/unit/client/test_client.c
tests_unit_client_test_client_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_unit_client_test_client_LDADD = client/libdpkclient.la $(TEST_LIBS) -lpthread
tests_unit_dpk_agent_test_config_SOURCES = tests/unit/dpk-agent/test_config.c
tests_unit_dpk_agent_test_config_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_config_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
tests_unit_crypto_test_idkey_SOURCES = tests/unit/crypto/test_idkey.c
tests_unit_crypto_test_idkey_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_crypto_test_idkey_LDADD = $(TEST_LIBS)
tests_unit_enrol_test_token_SOURCES = tests/unit/enrol/test_token.c
tests_unit_enrol_test_token_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_enrol_test_token_LDADD = $(TEST_LIBS)
tests_unit_registry_test_identity_SOURCES = tests/unit/registry/test_identity.c
tests_unit_registry_test_identity_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_registry_test_identity_LDADD = $(TEST_LIBS)
tests_unit_enrol_test_tlspsk_SOURCES = tests/unit/enrol/test_tlspsk.c
tests_unit_enrol_test_tlspsk_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_enrol_test_tlspsk_LDADD = $(TEST_LIBS) -lpthread
tests_unit_pkm_test_pkm_store_SOURCES = tests/unit/pkm/test_pkm_store.c
tests_unit_pkm_test_pkm_store_CPPFLAGS = $(TEST_CPPFLAGS) $(SQLITE_CFLAGS)
tests_unit_pkm_test_pkm_store_LDADD = tests/harness/libharness.a $(PKM_LIBS) $(CMOCKA_LIBS)
tests_unit_pkm_test_pkm_web_SOURCES = tests/unit/pkm/test_pkm_web.c
tests_unit_pkm_test_pkm_web_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/pkm
tests_unit_pkm_test_pkm_web_LDADD = tests/harness/libharness.a $(PKM_LIBS) $(CMOCKA_LIBS)
tests_unit_crypto_test_hpke_SOURCES = tests/unit/crypto/test_hpke.c
tests_unit_crypto_test_hpke_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_crypto_test_hpke_LDADD = $(TEST_LIBS)
tests_unit_crypto_test_pke_SOURCES = tests/unit/crypto/test_pke.c
tests_unit_crypto_test_pke_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_crypto_test_pke_LDADD = $(TEST_LIBS)
tests_unit_daemon_test_notify_SOURCES = tests/unit/daemon/test_notify.c
tests_unit_daemon_test_notify_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_daemon_test_notify_LDADD = $(TEST_LIBS)
# runs the built dpkctl join and checks its file with the built dpk-agent
tests_unit_dpkctl_test_join_SOURCES = tests/unit/dpkctl/test_join.c
tests_unit_dpkctl_test_join_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_dpkctl_test_join_LDADD = $(TEST_LIBS)
tests_integration_test_anvil_transfer_SOURCES = tests/integration/test_anvil_transfer.c
tests_integration_test_anvil_transfer_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_anvil_transfer_LDADD = $(TEST_LIBS)

tests_integration_test_txsend_SOURCES = tests/integration/test_txsend.c
tests_integration_test_txsend_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_txsend_LDADD = $(TEST_LIBS)
tests_integration_test_chaincheck_SOURCES = tests/integration/test_chaincheck.c
tests_integration_test_chaincheck_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_chaincheck_LDADD = $(TEST_LIBS) client/libdpkclient.la
tests_unit_registry_test_registry_codec_SOURCES = tests/unit/registry/test_registry_codec.c
tests_unit_registry_test_registry_codec_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_registry_test_registry_codec_LDADD = $(TEST_LIBS)
tests_integration_test_registry_SOURCES = tests/integration/test_registry.c
tests_integration_test_registry_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_registry_LDADD = $(TEST_LIBS)
tests_integration_test_verified_reads_SOURCES = tests/integration/test_verified_reads.c
tests_integration_test_verified_reads_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_verified_reads_LDADD = client/libdpkclient.la $(TEST_LIBS)
# the built dpk-admin and dpk-pkm on anvil: --json everywhere, help per command, endpoints from a file or the environment
tests_integration_test_operator_cli_SOURCES = tests/integration/test_operator_cli.c
tests_integration_test_operator_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_operator_cli_LDADD = $(TEST_LIBS)
# the built dpkctl against a real agent: --json everywhere, options anywhere, status, cache flush
tests_integration_test_dpkctl_SOURCES = tests/integration/test_dpkctl.c
tests_integration_test_dpkctl_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_dpkctl_LDADD = client/libdpkclient.la $(TEST_LIBS)
tests_integration_test_reorg_SOURCES = tests/integration/test_reorg.c
tests_integration_test_reorg_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_reorg_LDADD = client/libdpkclient.la $(TEST_LIBS)
tests_integration_test_agent_lookup_SOURCES = tests/integration/test_agent_lookup.c
tests_integration_test_agent_lookup_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_agent_lookup_LDADD = client/libdpkclient.la $(TEST_LIBS)
tests_integration_test_registration_SOURCES = tests/integration/test_registration.c
tests_integration_test_registration_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_registration_LDADD = client/libdpkclient.la $(TEST_LIBS)
tests_integration_test_pkm_SOURCES = tests/integration/test_pkm.c
tests_integration_test_pkm_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_pkm_LDADD = $(TEST_LIBS)
# dlopen()s nss_dpk/.libs/libnss_dpk.so.2 (built by "all", which check runs first)
tests_unit_nss_dpk_test_nss_module_SOURCES = tests/unit/nss_dpk/test_nss_module.c
tests_unit_nss_dpk_test_nss_module_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/nss_dpk -I$(srcdir)/dpk-agent -I$(srcdir)/client
tests_unit_nss_dpk_test_nss_module_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS) -ldl -lpthread
tests_unit_dpk_agent_test_nss_cachefile_SOURCES = tests/unit/dpk-agent/test_nss_cachefile.c
tests_unit_dpk_agent_test_nss_cachefile_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/nss_dpk -I$(srcdir)/dpk-agent -I$(srcdir)/client
tests_unit_dpk_agent_test_nss_cachefile_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
# threads read the cache file while the agent's writer changes it, under helgrind: the
# reader and writer compiled here with NSS_DPK_HELGRIND (nss_dpk/cachefile.h)
tests_unit_nss_dpk_test_cache_race_SOURCES = tests/unit/nss_dpk/test_cache_race.c nss_dpk/cachefile.c nss_dpk/pack.c \
	nss_dpk/fastpath.c dpk-agent/login/nss_cache.c dpk-agent/login/nss_cachebuild.c
# helgrind.supp: the exit handlers of a library it links but never calls (p11-kit, through libcurl and GnuTLS)
tests_unit_nss_dpk_test_cache_race_CPPFLAGS = $(dpk_agent_libdpkagent_a_CPPFLAGS) -DNSS_DPK_HELGRIND \
	-DHELGRIND_SUPP='"$(abs_srcdir)/tests/unit/nss_dpk/helgrind.supp"'
EXTRA_DIST += tests/unit/nss_dpk/helgrind.supp
tests_unit_nss_dpk_test_cache_race_LDADD = $(DPKAGENT_LIBS) -lpthread
# dlopen()s pam_dpk/.libs/pam_dpk.so and links its logic (pamdpk.c) too
tests_unit_pam_dpk_test_pam_module_SOURCES = tests/unit/pam_dpk/test_pam_module.c pam_dpk/pamdpk.c client/hostconf.c
tests_unit_pam_dpk_test_pam_module_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/pam_dpk $(PAM_CFLAGS)
tests_unit_pam_dpk_test_pam_module_LDADD = $(TEST_LIBS) $(PAM_LIBS) -ldl -lpthread
tests_unit_dpk_agent_test_login_msg_SOURCES = tests/unit/dpk-agent/test_login_msg.c
tests_unit_dpk_agent_test_login_msg_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_login_msg_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
tests_unit_dpk_agent_test_events_SOURCES = tests/unit/dpk-agent/test_events.c
tests_unit_dpk_agent_test_events_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_events_LDADD = $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
tests_unit_dpk_agent_test_admit_SOURCES = tests/unit/dpk-agent/test_admit.c
tests_unit_dpk_agent_test_admit_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_admit_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
tests_unit_dpk_agent_test_userdb_SOURCES = tests/unit/dpk-agent/test_userdb.c
tests_unit_dpk_agent_test_userdb_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_userdb_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
tests_unit_dpk_agent_test_nss_map_SOURCES = tests/unit/dpk-agent/test_nss_map.c
tests_unit_dpk_agent_test_nss_map_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_nss_map_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
# real getent and id through the module, in a private mount namespace
tests_integration_test_admission_SOURCES = tests/integration/test_admission.c
tests_integration_test_admission_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client
tests_integration_test_admission_LDADD = client/libdpkclient.la $(TEST_LIBS)
tests_integration_test_nss_getent_SOURCES = tests/integration/test_nss_getent.c
tests_integration_test_nss_getent_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client
tests_integration_test_nss_getent_LDADD = client/libdpkclient.la $(TEST_LIBS) -ldl
# dpk-authorized-keys as sshd runs it, against a real agent and chain
tests_integration_test_authorized_keys_SOURCES = tests/integration/test_authorized_keys.c
tests_integration_test_authorized_keys_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_authorized_keys_LDADD = $(TEST_LIBS)
# stock sshd and ssh through nss_dpk and dpk-authorized-keys (unshare -m)
tests_integration_test_ssh_login_SOURCES = tests/integration/test_ssh_login.c
tests_integration_test_ssh_login_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_ssh_login_LDADD = $(TEST_LIBS) client/libdpkclient.la
# many threads through the real module and agent, once under helgrind
tests_integration_test_nss_threads_SOURCES = tests/integration/test_nss_threads.c
tests_integration_test_nss_threads_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client
tests_integration_test_nss_threads_LDADD = $(TEST_LIBS) -lpthread
# the ssh-agent messages of dpk-agent (sshagent_msg.c)
tests_unit_dpk_agent_test_sshagent_SOURCES = tests/unit/dpk-agent/test_sshagent.c
tests_unit_dpk_agent_test_sshagent_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_sshagent_LDADD = $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
# stock ssh-add, ssh-keygen and ssh (with sshd in unshare -m -n) through dpk-agent's ssh-agent socket
tests_integration_test_ssh_agent_SOURCES = tests/integration/test_ssh_agent.c
tests_integration_test_ssh_agent_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_integration_test_ssh_agent_LDADD = $(TEST_LIBS) client/libdpkclient.la
# stock pamtester through pam_dpk against real agents (unshare -m)
tests_integration_test_pam_login_SOURCES = tests/integration/test_pam_login.c
tests_integration_test_pam_login_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/dpk-agent
tests_integration_test_pam_login_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS) client/libdpkclient.la
# the documented PAM stacks with the agent up, stopped, hung and flooded: local users log in
tests_integration_test_pam_nolockout_SOURCES = tests/integration/test_pam_nolockout.c
tests_integration_test_pam_nolockout_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_pam_nolockout_LDADD = $(TEST_LIBS) client/libdpkclient.la
# stock sshd and ssh by keyboard-interactive through pam_dpk (unshare -m)
tests_integration_test_ssh_kbdint_SOURCES = tests/integration/test_ssh_kbdint.c
tests_integration_test_ssh_kbdint_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_ssh_kbdint_LDADD = $(TEST_LIBS) client/libdpkclient.la
# fair shares: floods by an unprivileged uid, challenge floods, a full backlog, a hung node (rpcproxy)
tests_integration_test_agent_fair_SOURCES = tests/integration/test_agent_fair.c
tests_integration_test_agent_fair_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_agent_fair_LDADD = client/libdpkclient.la $(TEST_LIBS) -ldl
tests_integration_test_agent_socket_SOURCES = tests/integration/test_agent_socket.c
tests_integration_test_agent_socket_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_agent_socket_LDADD = client/libdpkclient.la $(TEST_LIBS)

# PSK exchange in dpk-agent: real agents, dpkctl and openssl s_server / s_client
unit_tests += tests/unit/dpk-agent/test_psk_store
tests_unit_dpk_agent_test_psk_store_SOURCES = tests/unit/dpk-agent/test_psk_store.c
tests_unit_dpk_agent_test_psk_store_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_psk_store_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
integration_tests += tests/integration/test_psk_exchange
tests_integration_test_psk_exchange_SOURCES = tests/integration/test_psk_exchange.c \
	tests/integration/psk_env.c tests/integration/psk_env.h
tests_integration_test_psk_exchange_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_psk_exchange_LDADD = client/libdpkclient.la $(TEST_LIBS)
# dpkctl rotate / revoke: real anvil, real agents controlling their own records
integration_tests += tests/integration/test_rotate
tests_integration_test_rotate_SOURCES = tests/integration/test_rotate.c \
	tests/integration/psk_env.c tests/integration/psk_env.h
tests_integration_test_rotate_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_rotate_LDADD = client/libdpkclient.la $(TEST_LIBS)
integration_tests += tests/integration/test_psk_ticket
tests_integration_test_psk_ticket_SOURCES = tests/integration/test_psk_ticket.c \
	tests/integration/psk_env.c tests/integration/psk_env.h
tests_integration_test_psk_ticket_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_psk_ticket_LDADD = client/libdpkclient.la $(TEST_LIBS)
integration_tests += tests/integration/test_psk_mitm
tests_integration_test_psk_mitm_SOURCES = tests/integration/test_psk_mitm.c \
	tests/integration/psk_env.c tests/integration/psk_env.h
tests_integration_test_psk_mitm_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_psk_mitm_LDADD = client/libdpkclient.la $(TEST_LIBS) -lpthread

# benchmarks (tests/bench/*.sh print figures; never part of make check)
EXTRA_PROGRAMS = tests/bench/lookup-bench
tests_bench_lookup_bench_SOURCES = tests/bench/lookup-bench.c
tests_bench_lookup_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/include
tests_bench_lookup_bench_LDADD = client/libdpkclient.la
CLEANFILES += tests/bench/lookup-bench
# pam_dpk's agent side, timed (by hand: tests/bench/login-bench [N])
EXTRA_PROGRAMS += tests/bench/login-bench
tests_bench_login_bench_SOURCES = tests/bench/login-bench.c
tests_bench_login_bench_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_bench_login_bench_LDADD = $(TEST_LIBS) client/libdpkclient.la
CLEANFILES += tests/bench/login-bench
# root's getpwnam and STATUS while uid nobody floods the socket (by hand: tests/bench/socket-flood.sh)
EXTRA_PROGRAMS += tests/bench/flood-bench
tests_bench_flood_bench_SOURCES = tests/bench/flood-bench.c
tests_bench_flood_bench_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_bench_flood_bench_LDADD = $(TEST_LIBS) client/libdpkclient.la -ldl
CLEANFILES += tests/bench/flood-bench
# the NSS cache file at scale, as tests/bench/scale-bench.sh runs it
EXTRA_PROGRAMS += tests/bench/cache-bench
tests_bench_cache_bench_SOURCES = tests/bench/cache-bench.c
tests_bench_cache_bench_CPPFLAGS = $(AM_CPPFLAGS) -I$(srcdir)/nss_dpk -I$(srcdir)/dpk-agent -I$(srcdir)/client
tests_bench_cache_bench_LDADD = $(DPKAGENT_LIBS) -ldl
CLEANFILES += tests/bench/cache-bench
# getpwnam() through the system's NSS, as tests/bench/nss-bench.sh runs it
EXTRA_PROGRAMS += tests/bench/getpw-bench
tests_bench_getpw_bench_SOURCES = tests/bench/getpw-bench.c
CLEANFILES += tests/bench/getpw-bench

EXTRA_DIST += tests/data tests/fuzz/corpus
# the operator pages' browser test (test_pkm_web runs it with node)
EXTRA_DIST += tests/integration/pkm_web_browser.js

# libFuzzer targets: ./configure CC=clang --enable-fuzzing; make fuzz-run FUZZ_SECONDS=N
fuzz_targets = \
	tests/fuzz/fuzz_rlp \
	tests/fuzz/fuzz_mpt \
	tests/fuzz/fuzz_proof \
	tests/fuzz/fuzz_abi \
	tests/fuzz/fuzz_tx \
	tests/fuzz/fuzz_keystore \
	tests/fuzz/fuzz_rpc \
	tests/fuzz/fuzz_client \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_idkey \
	tests/fuzz/fuzz_token \
	tests/fuzz/fuzz_identity \
	tests/fuzz/fuzz_registry \
	tests/fuzz/fuzz_nss_reply \
	tests/fuzz/fuzz_sshagent \
	tests/fuzz/fuzz_nss_cache \
	tests/fuzz/fuzz_login \
	tests/fuzz/fuzz_userdb \
	tests/fuzz/fuzz_pkm_form \
	tests/fuzz/fuzz_pke \
	tests/fuzz/fuzz_rpc_list
if ENABLE_FUZZING
noinst_PROGRAMS += $(fuzz_targets)
FUZZ_CPP_FLAGS = $(TEST_CPPFLAGS)
FUZZ_LINK_FLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_pkm_form_SOURCES = tests/fuzz/fuzz_pkm_form.c
tests_fuzz_fuzz_pkm_form_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/pkm
tests_fuzz_fuzz_pkm_form_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_pkm_form_LDADD = $(PKM_LIBS)
tests_fuzz_fuzz_rlp_SOURCES = tests/fuzz/fuzz_rlp.c
tests_fuzz_fuzz_rlp_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_rlp_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_rlp_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_mpt_SOURCES = tests/fuzz/fuzz_mpt.c
tests_fuzz_fuzz_mpt_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_mpt_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_mpt_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_proof_SOURCES = tests/fuzz/fuzz_proof.c
tests_fuzz_fuzz_proof_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_proof_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_proof_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_abi_SOURCES = tests/fuzz/fuzz_abi.c
tests_fuzz_fuzz_abi_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_abi_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_abi_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_tx_SOURCES = tests/fuzz/fuzz_tx.c
tests_fuzz_fuzz_tx_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_tx_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_tx_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_keystore_SOURCES = tests/fuzz/fuzz_keystore.c
tests_fuzz_fuzz_keystore_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_keystore_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_keystore_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_rpc_SOURCES = tests/fuzz/fuzz_rpc.c
tests_fuzz_fuzz_rpc_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_rpc_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_rpc_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_client_SOURCES = tests/fuzz/fuzz_client.c client/client.c
tests_fuzz_fuzz_client_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/include
tests_fuzz_fuzz_client_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_config_LDADD = $(DPKAGENT_LIBS)
tests_fuzz_fuzz_idkey_SOURCES = tests/fuzz/fuzz_idkey.c
tests_fuzz_fuzz_idkey_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_idkey_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_idkey_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_token_SOURCES = tests/fuzz/fuzz_token.c
tests_fuzz_fuzz_token_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_token_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_token_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_identity_SOURCES = tests/fuzz/fuzz_identity.c
tests_fuzz_fuzz_identity_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_identity_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_identity_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_registry_SOURCES = tests/fuzz/fuzz_registry.c
tests_fuzz_fuzz_registry_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_registry_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_registry_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_nss_reply_SOURCES = tests/fuzz/fuzz_nss_reply.c nss_dpk/pack.c
tests_fuzz_fuzz_nss_reply_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/nss_dpk -I$(srcdir)/client
tests_fuzz_fuzz_nss_reply_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sshagent_SOURCES = tests/fuzz/fuzz_sshagent.c
tests_fuzz_fuzz_sshagent_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_sshagent_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sshagent_LDADD = $(DPKAGENT_LIBS)
tests_fuzz_fuzz_nss_cache_SOURCES = tests/fuzz/fuzz_nss_cache.c nss_dpk/cachefile.c nss_dpk/pack.c
tests_fuzz_fuzz_nss_cache_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/nss_dpk -I$(srcdir)/client
tests_fuzz_fuzz_nss_cache_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_userdb_SOURCES = tests/fuzz/fuzz_userdb.c
tests_fuzz_fuzz_userdb_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_userdb_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_userdb_LDADD = $(DPKAGENT_LIBS)
tests_fuzz_fuzz_login_SOURCES = tests/fuzz/fuzz_login.c client/client.c
tests_fuzz_fuzz_login_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/include -I$(srcdir)/dpk-agent -I$(srcdir)/client
tests_fuzz_fuzz_login_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_login_LDADD = $(DPKAGENT_LIBS)
tests_fuzz_fuzz_pke_SOURCES = tests/fuzz/fuzz_pke.c
tests_fuzz_fuzz_pke_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_pke_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_pke_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_rpc_list_SOURCES = tests/fuzz/fuzz_rpc_list.c
tests_fuzz_fuzz_rpc_list_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_rpc_list_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_rpc_list_LDADD = $(DPKCORE_LIBS)
endif

FUZZ_SECONDS ?= 20
# Each target runs from its seed corpus for FUZZ_SECONDS; a crash fails the run.
# FUZZ_JOBS targets at a time (each fuzzer uses one core); the first failure
# stops the run (xargs stops on an exit status of 255) with its log's tail
FUZZ_JOBS = 2
fuzz-run: $(fuzz_targets)
	@printf '%s\n' $(fuzz_targets) | xargs -n 1 -P $(FUZZ_JOBS) sh -c '\
	  t=$$1; name=$${t##*/}; corpus=$(srcdir)/tests/fuzz/corpus/$${name#fuzz_}; \
	  work=$$(mktemp -d); cp -r $$corpus/. $$work/ 2>/dev/null || true; \
	  if ./$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 $$work > $$name.fuzzlog 2>&1; then \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s: $$(grep -E "^stat::number_of_executed_units" $$name.fuzzlog)"; \
	    rm -rf $$work; \
	  else \
	    echo "fuzz: $$name FAILED:"; tail -50 $$name.fuzzlog; rm -rf $$work; exit 255; \
	  fi' sh
.PHONY: fuzz-run
CLEANFILES += *.fuzzlog

# PSK handshake and delegated tickets (lib/psk/handshake.c, lib/psk/ticket.c; doc/psk-protocol.md)
unit_tests += tests/unit/psk/test_handshake tests/unit/psk/test_ticket
tests_unit_psk_test_handshake_SOURCES = tests/unit/psk/test_handshake.c
tests_unit_psk_test_handshake_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_psk_test_handshake_LDADD = $(TEST_LIBS)
tests_unit_psk_test_ticket_SOURCES = tests/unit/psk/test_ticket.c
tests_unit_psk_test_ticket_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_psk_test_ticket_LDADD = $(TEST_LIBS)
fuzz_targets += tests/fuzz/fuzz_handshake tests/fuzz/fuzz_ticket
if ENABLE_FUZZING
tests_fuzz_fuzz_handshake_SOURCES = tests/fuzz/fuzz_handshake.c
tests_fuzz_fuzz_handshake_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_handshake_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_handshake_LDADD = $(DPKCORE_LIBS)
tests_fuzz_fuzz_ticket_SOURCES = tests/fuzz/fuzz_ticket.c
tests_fuzz_fuzz_ticket_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_ticket_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_ticket_LDADD = $(DPKCORE_LIBS)
endif
# in-memory PSK handshake and ticket costs (tests/bench/hs-bench.sh)
EXTRA_PROGRAMS += tests/bench/hs-bench
tests_bench_hs_bench_SOURCES = tests/bench/hs-bench.c
tests_bench_hs_bench_LDADD = $(DPKCORE_LIBS)
CLEANFILES += tests/bench/hs-bench

# Promela models of the PSK message flow, checked with spin (tests/model/README.md)
TESTS += tests/model/spin-check.sh
dist_check_SCRIPTS += tests/model/spin-check.sh
EXTRA_DIST += tests/model/dpk-paper.pml tests/model/dpk-nsl.pml tests/model/README.md
# public-key encryption costs (tests/bench/pke-bench.sh)
EXTRA_PROGRAMS += tests/bench/pke-bench
tests_bench_pke_bench_SOURCES = tests/bench/pke-bench.c
tests_bench_pke_bench_LDADD = $(DPKCORE_LIBS)
CLEANFILES += tests/bench/pke-bench
# libdpkclient reading PSK and ticket replies (dpk-agent PSK exchange)
fuzz_targets += tests/fuzz/fuzz_psk_reply
if ENABLE_FUZZING
tests_fuzz_fuzz_psk_reply_SOURCES = tests/fuzz/fuzz_psk_reply.c client/client.c
tests_fuzz_fuzz_psk_reply_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/include
tests_fuzz_fuzz_psk_reply_LDFLAGS = $(FUZZ_LINK_FLAGS)
endif
# PSK exchange between two agents vs openssl s_time TLS 1.3 (tests/bench/psk-bench.sh)
EXTRA_PROGRAMS += tests/bench/psk-bench
tests_bench_psk_bench_SOURCES = tests/bench/psk-bench.c tests/integration/psk_env.c tests/integration/psk_env.h
tests_bench_psk_bench_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/tests/integration
tests_bench_psk_bench_LDADD = client/libdpkclient.la $(TEST_LIBS)
CLEANFILES += tests/bench/psk-bench
# dpk-agent reading PSK and ticket requests (dpk-agent/peers/psk.c)
fuzz_targets += tests/fuzz/fuzz_psk_request
if ENABLE_FUZZING
tests_fuzz_fuzz_psk_request_SOURCES = tests/fuzz/fuzz_psk_request.c
tests_fuzz_fuzz_psk_request_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/client -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_psk_request_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_psk_request_LDADD = $(DPKAGENT_LIBS) -lpthread
endif
# dpk-agent reading its key-operation journal (dpk-agent/chain/rotate.c)
unit_tests += tests/unit/dpk-agent/test_keyop_journal
tests_unit_dpk_agent_test_keyop_journal_SOURCES = tests/unit/dpk-agent/test_keyop_journal.c
tests_unit_dpk_agent_test_keyop_journal_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent
tests_unit_dpk_agent_test_keyop_journal_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS) -lpthread
fuzz_targets += tests/fuzz/fuzz_keyop_journal
if ENABLE_FUZZING
tests_fuzz_fuzz_keyop_journal_SOURCES = tests/fuzz/fuzz_keyop_journal.c
tests_fuzz_fuzz_keyop_journal_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_keyop_journal_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_keyop_journal_LDADD = $(DPKAGENT_LIBS) -lpthread
endif
# dpk-agent reading its ticket replay cache file (dpk-agent/peers/ticket_seen.c)
fuzz_targets += tests/fuzz/fuzz_ticket_seen
if ENABLE_FUZZING
tests_fuzz_fuzz_ticket_seen_SOURCES = tests/fuzz/fuzz_ticket_seen.c
tests_fuzz_fuzz_ticket_seen_CPPFLAGS = $(FUZZ_CPP_FLAGS) -I$(srcdir)/dpk-agent
tests_fuzz_fuzz_ticket_seen_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_ticket_seen_LDADD = $(DPKAGENT_LIBS)
endif
# the source of a connection for per-source caps (lib/daemon/netsource.c)
unit_tests += tests/unit/daemon/test_netsource
tests_unit_daemon_test_netsource_SOURCES = tests/unit/daemon/test_netsource.c
tests_unit_daemon_test_netsource_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_daemon_test_netsource_LDADD = $(TEST_LIBS)
# dpk-admin's endpoint lists (--rpc-file, DPK_RPC_URL) and the CLIs' help table
unit_tests += tests/unit/daemon/test_cli
tests_unit_daemon_test_cli_SOURCES = tests/unit/daemon/test_cli.c
tests_unit_daemon_test_cli_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_daemon_test_cli_LDADD = $(TEST_LIBS)
# the PSK listener under load: inbound and outbound budgets, per-source caps (IPv6 by /64)
integration_tests += tests/integration/test_psk_load
tests_integration_test_psk_load_SOURCES = tests/integration/test_psk_load.c \
	tests/integration/psk_env.c tests/integration/psk_env.h
tests_integration_test_psk_load_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_psk_load_LDADD = client/libdpkclient.la $(TEST_LIBS)

# EIP-1186 proofs from anvil verified by ours and by @ethereumjs/mpt (npm)
check_PROGRAMS += tests/harness/dpk-proof-check
tests_harness_dpk_proof_check_SOURCES = tests/harness/dpk-proof-check.c
tests_harness_dpk_proof_check_CPPFLAGS = $(TEST_CPPFLAGS)
tests_harness_dpk_proof_check_LDADD = $(DPKCORE_LIBS)
TESTS += tests/integration/proof-crosscheck.sh
dist_check_SCRIPTS += tests/integration/proof-crosscheck.sh
EXTRA_DIST += tests/integration/proof-crosscheck.mjs tests/data/mpt tests/harness/hostile-rpc.mjs

# dpk-pkm's operator interface (/api/v1/) with a real operator device
tests_integration_test_pkm_web_SOURCES = tests/integration/test_pkm_web.c
tests_integration_test_pkm_web_CPPFLAGS = $(TEST_CPPFLAGS)
tests_integration_test_pkm_web_LDADD = $(TEST_LIBS) client/libdpkclient.la $(CURL_LIBS) $(CJSON_LIBS)
# tests/pkg/: the units' sandbox (in make check); install-test.sh is run by
# scripts/build-debs, not here (it needs root, debootstrap and the mirror)
if HAVE_SYSTEMD_UNITS
TESTS += tests/pkg/unit-security.sh
endif
dist_check_SCRIPTS += tests/pkg/unit-security.sh
EXTRA_DIST += tests/pkg/install-test.sh
# metrics (doc/metrics.md): the counters and the Prometheus text; a real agent on anvil
unit_tests += tests/unit/dpk-agent/test_metrics
tests_unit_dpk_agent_test_metrics_SOURCES = tests/unit/dpk-agent/test_metrics.c
tests_unit_dpk_agent_test_metrics_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/dpk-agent -I$(srcdir)/client
tests_unit_dpk_agent_test_metrics_LDADD = tests/harness/libharness.a $(DPKAGENT_LIBS) $(CMOCKA_LIBS)
integration_tests += tests/integration/test_metrics
tests_integration_test_metrics_SOURCES = tests/integration/test_metrics.c
tests_integration_test_metrics_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include -I$(srcdir)/client
tests_integration_test_metrics_LDADD = client/libdpkclient.la $(TEST_LIBS)
# backup and restore (doc/backup.md): the archive format; a registered agent and a PKM restored
unit_tests += tests/unit/daemon/test_backup
tests_unit_daemon_test_backup_SOURCES = tests/unit/daemon/test_backup.c
tests_unit_daemon_test_backup_CPPFLAGS = $(TEST_CPPFLAGS)
tests_unit_daemon_test_backup_LDADD = $(TEST_LIBS)
integration_tests += tests/integration/test_backup
tests_integration_test_backup_SOURCES = tests/integration/test_backup.c
tests_integration_test_backup_CPPFLAGS = $(TEST_CPPFLAGS) -I$(srcdir)/include
tests_integration_test_backup_LDADD = client/libdpkclient.la $(TEST_LIBS)
fuzz_targets += tests/fuzz/fuzz_backup
if ENABLE_FUZZING
tests_fuzz_fuzz_backup_SOURCES = tests/fuzz/fuzz_backup.c
tests_fuzz_fuzz_backup_CPPFLAGS = $(FUZZ_CPP_FLAGS)
tests_fuzz_fuzz_backup_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_backup_LDADD = $(DPKCORE_LIBS)
endif
