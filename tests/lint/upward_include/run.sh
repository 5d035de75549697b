#!/bin/sh
# A source of the ir layer compiled against ir's include root (<build>/layers/ir, CMakeLists.txt):
# including a plan header must fail on that header, including core and ir headers must compile.
#   run.sh CXX IR_ROOT INCLUDE_DIR
cxx=$1 root=$2 inc=$3 here=$(dirname "$0")
if err=$("$cxx" -std=c++20 -fsyntax-only -I"$root" -I"$inc" "$here/ir_includes_plan.cc" 2>&1); then
  echo "FAILED: ir_includes_plan.cc compiled: an include that runs up the layers was not refused"
  exit 1
fi
case $err in
  *plan/plan.h*) ;;
  *) echo "FAILED: ir_includes_plan.cc failed, but not on plan/plan.h:"; echo "$err" | head -5; exit 1 ;;
esac
if ! err=$("$cxx" -std=c++20 -fsyntax-only -I"$root" -I"$inc" "$here/ir_includes_core.cc" 2>&1); then
  echo "FAILED: ir_includes_core.cc did not compile against the ir root:"; echo "$err" | head -5
  exit 1
fi
echo "passed: plan/plan.h is out of the ir layer's reach; core and ir headers are in it"
