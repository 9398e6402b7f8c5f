# after files and systemd: local users never depend on DPK
passwd last dpk
group last dpk
