#!/usr/bin/env bash
# find_package(mpq) where a dependency of the package cannot be found: the configure must fail
# with CMake's message naming that dependency, not later with an unknown target.
# Usage: missing_dependency.sh PREFIX WORK_DIR DEPENDENCY
set -euo pipefail
prefix=$1 work=$2 dep=$3
rm -rf "$work" && mkdir -p "$work/src"
# Without REQUIRED, because CMake refuses CMAKE_DISABLE_FIND_PACKAGE_<dep> (below) for a
# find_dependency() that inherits REQUIRED; the message is the one REQUIRED would stop on.
cat >"$work/src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES CXX)
find_package(mpq)
if(NOT mpq_FOUND)
  message(FATAL_ERROR "find_package(mpq): ${mpq_NOT_FOUND_MESSAGE}")
endif()
CMAKE
# CMAKE_DISABLE_FIND_PACKAGE_<dep> makes the dependency unfindable, as on a machine without it.
if cmake -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_DISABLE_FIND_PACKAGE_"$dep"=ON >"$work/log" 2>&1; then
  echo "missing_dependency: find_package(mpq) succeeded without $dep" >&2
  exit 1
fi
grep -q "mpq could not be found because dependency $dep could not be found" "$work/log" || {
  echo "missing_dependency: the error does not name $dep:" >&2
  cat "$work/log" >&2
  exit 1
}
grep "could not be found" "$work/log"
