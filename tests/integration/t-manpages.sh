# Every tool has a man page that lints clean with mandoc, and every long
# option that --help lists is documented in it.
. "$PA_ROOT/tests/integration/lib.sh"

check "pa-records.5 lints" mandoc -Tlint -Wwarning "$PA_ROOT/man/pa-records.5"

# A quoting macro swallows the rest of its line, so ".Qq kept or Qq full"
# renders as ("kept or "full""): two closing quotes before punctuation.
# A source line ending in a bare backslash joins the next line, where a
# shell example needs "\e" to show its line continuation.
for page in "$PA_ROOT"/man/*.[1-9]; do
	p=${page##*/}
	check "$p has no nested quotes" sh -c \
		'! mandoc -Tascii "$1" 2>/dev/null | sed "s/.\x08//g" | grep -nE "(\"\"|'"''"')[),.;]"' \
		sh "$page"
	check "$p has no trailing backslash" sh -c '! grep -n "\\\\$" "$1"' sh "$page"
done

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

	# Every tool cuts a line longer than --max-line to that length in its
	# --rejects file, so the --rejects item says so and does not claim
	# that each line is kept as read.
	check "$t --rejects item tells of --max-line" sh -c \
		'mandoc -Tascii "$1" 2>/dev/null | sed "s/.\x08//g" |
			awk "/^     --rejects [A-Za-z]+(,|\$)/ { item = 1; next }
				item && /^     -/ { exit }
				item" | tr -s " \n" "  " | grep -q "kept only up to its first --max-line bytes"' \
		sh "$page"
done

finish
