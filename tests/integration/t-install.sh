# make install puts every tool and man page under DESTDIR and PREFIX, and
# make uninstall removes them again.
. "$PA_ROOT/tests/integration/lib.sh"

dest=$T_TMP/dest
make -s -C "$PA_ROOT" install DESTDIR="$dest" PREFIX=/opt/pa >"$T_TMP/install.out" 2>&1
check "install exit status" test $? -eq 0

missing=""
for tool in "$PA_ROOT"/tools/pa-*.c; do
	t=$(basename "$tool" .c)
	[ -x "$dest/opt/pa/bin/$t" ] || missing="$missing $t"
done
for page in "$PA_ROOT"/man/*.[1-8]; do
	p=${page##*/}
	[ -f "$dest/opt/pa/share/man/man${p##*.}/$p" ] || missing="$missing $p"
done
[ -x "$dest/opt/pa/share/pa/cron-example" ] || missing="$missing cron-example"
check "every tool and page installed" test -z "$missing"
check "installed tool runs" sh -c "'$dest/opt/pa/bin/pa-ingest' --version | grep -q '^pa-ingest (pa) '"

make -s -C "$PA_ROOT" uninstall DESTDIR="$dest" PREFIX=/opt/pa >/dev/null 2>&1
check "uninstall removes the files" sh -c "test -z \"\$(find '$dest' -type f)\""

finish
