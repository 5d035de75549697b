# Shared by the CLI test scripts (sourced once MPQ is set; enter_workdir makes the work folder).
fails=0
# enter_workdir DIR: DIR, emptied, as the current folder; one OpenMP thread (ctest runs in parallel).
enter_workdir() {
  rm -rf "$1" && mkdir -p "$1" && cd "$1" || exit 1
  export OMP_NUM_THREADS=1
}
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect CODE PATTERN OUTPUT -- args...: runs `mpq args...` and checks the exit code, that stderr
# matches PATTERN (when not empty) and, for OUTPUT other than "-": a failing run leaves no OUTPUT
# (nor a temp file) behind, a successful one writes it.
expect() {
  local code=$1 pat=$2 out=$3
  shift 4
  rm -f "$out"
  "$MPQ" "$@" >out.txt 2>err.txt
  local rc=$?
  [ "$rc" = "$code" ] || fail "mpq $* -> exit $rc, expected $code: $(cat err.txt)"
  [ -z "$pat" ] || grep -q -- "$pat" err.txt || fail "mpq $* -> stderr lacks '$pat': $(cat err.txt)"
  if [ "$code" != 0 ] && [ "$out" != - ] && [ -e "$out" ]; then fail "mpq $* left $out behind"; fi
  if [ "$code" = 0 ] && [ "$out" != - ] && [ ! -s "$out" ]; then fail "mpq $* wrote no $out"; fi
  if [ "$code" != 0 ] && ls | grep -q '\.tmp'; then fail "mpq $* left a temp file: $(ls)"; fi
}
