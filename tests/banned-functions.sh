#!/bin/sh
# The house style bans unbounded or unchecked libc calls; this keeps them out.
top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
pattern='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|sscanf|strtok|strncpy|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -rnE "$pattern" "$top"/lib "$top"/tests --include='*.c' --include='*.h' 2>/dev/null)
if [ -n "$hits" ]; then
	echo "banned functions used (use the bounded helpers instead):"
	echo "$hits"
	exit 1
fi
echo "no banned functions in lib/ or tests/"
exit 0
