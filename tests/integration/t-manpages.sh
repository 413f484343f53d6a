# Every tool has a man page that lints clean with mandoc, and every long
# option that --help lists is documented in it.
. "$PA_ROOT/tests/integration/lib.sh"

check "pa-records.5 lints" mandoc -Tlint -Wwarning "$PA_ROOT/man/pa-records.5"

for tool in "$BIN"/pa-*; do
	[ -x "$tool" ] || continue
	t=${tool##*/}
	page=$PA_ROOT/man/$t.1

	check "$t man page exists" test -f "$page"
	[ -f "$page" ] || continue
	check "$t man page lints" mandoc -Tlint -Wwarning "$page"

	missing=""
	for opt in $("$tool" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		mandoc -Tascii "$page" 2>/dev/null | sed 's/.\x08//g' | grep -q -- "$opt" ||
			missing="$missing $opt"
	done
	if [ -n "$missing" ]; then
		echo "$t: options in --help but not in the man page:$missing"
	fi
	check "$t man page covers --help" test -z "$missing"
done

finish
