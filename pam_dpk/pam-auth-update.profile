Name: DPK login with the user's device key (pam_dpk)
Default: no
Priority: 300
Auth-Type: Primary
Auth:
	[success=end user_unknown=ignore ignore=ignore default=die] pam_dpk.so
Auth-Initial:
	[success=end user_unknown=ignore ignore=ignore default=die] pam_dpk.so
Account-Type: Additional
Account:
	[success=ok user_unknown=ignore ignore=ignore default=bad] pam_dpk.so
Account-Initial:
	[success=ok user_unknown=ignore ignore=ignore default=bad] pam_dpk.so
