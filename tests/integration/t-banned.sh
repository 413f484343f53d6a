# Unbounded string functions and unchecked number parsing are banned from
# the sources: every copy is bounded and every number goes through a
# parser that reports errors.
. "$PA_ROOT/tests/integration/lib.sh"

banned='\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|atof|gets)[[:space:]]*\('
check "no banned functions" sh -c "! grep -nE '$banned' '$PA_ROOT'/lib/*.c '$PA_ROOT'/lib/*.h '$PA_ROOT'/tools/*.c 2>/dev/null"
finish
