#!/bin/sh
# test.sh: the demo project's test suite. Prints one line per case; exits 1 if any case fails.
failed=0
check() {
  got=$(sh ./calc.sh "$1" "$2" "$3")
  if [ "$got" = "$4" ]; then
    echo "ok    calc $1 $2 $3 = $4"
  else
    echo "FAIL  calc $1 $2 $3 = $got, want $4"
    failed=1
  fi
}
check add 2 3 5
check add -4 4 0
check mul 6 7 42
check mul 0 9 0
[ $failed -eq 0 ] && echo "all tests passed" || echo "some tests failed"
exit $failed
