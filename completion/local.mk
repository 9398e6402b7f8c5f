# completion/: bash completion of the CLIs, installed where bash-completion
# loads them on demand (its completionsdir).
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = completion/dpkctl completion/dpk-admin completion/dpk-pkm
TESTS += tests/completion-check.sh
dist_check_SCRIPTS += tests/completion-check.sh
