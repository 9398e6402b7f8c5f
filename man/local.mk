# man/: one page per program, module and configuration file.
dist_man_MANS = man/dpkctl.1 man/dpk.conf.5 man/dpk-agent.8 man/dpk-admin.8 man/dpk-pkm.8 man/nss_dpk.8 man/dpk-authorized-keys.8 man/pam_dpk.8
TESTS += tests/man-lint.sh
dist_check_SCRIPTS += tests/man-lint.sh
