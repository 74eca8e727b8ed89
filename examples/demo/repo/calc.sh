#!/bin/sh
# calc.sh: the demo project, a tiny calculator. `calc.sh add 2 3` prints 5.
op=$1 a=$2 b=$3
case $op in
  add) echo $((a + b)) ;;
  mul) echo $((a * b)) ;;
  *) echo "usage: calc.sh add|mul A B" >&2; exit 64 ;;
esac
