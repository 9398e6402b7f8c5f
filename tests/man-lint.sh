#!/bin/sh
# Every man page passes mandoc's lint (warnings count as failures).
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for page in "$top"/man/*.[1-8]; do
	out=$(mandoc -Tlint -W warning "$page" 2>&1)
	if [ -n "$out" ]; then
		echo "$out"
		status=1
	else
		echo "ok: ${page##*/}"
	fi
done
exit $status
