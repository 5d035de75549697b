#!/usr/bin/env bash
# mpq as a subproject: a parent project with its own flags adds mpq's source tree with
# add_subdirectory and links mpq::mpq. It must configure, keep the parent's settings (C++
# standard, flags), give the parent no tests or install rules of mpq's, and compile the app against
# mpq's include/ only (not src/, not the parent's tree, no flags of mpq's
# dependencies). Configure only: building would compile the library again.
# Usage: add_subdirectory.sh MPQ_SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work" && mkdir -p "$work/parent"
cat >"$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(parent LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_FLAGS "-DPARENT_FLAG")
enable_testing()
add_subdirectory("$src" mpq)
foreach(target mpq::mpq mpq::mpq_static mpq)
  if(NOT TARGET \${target})
    message(FATAL_ERROR "add_subdirectory(mpq) gives no target \${target}")
  endif()
endforeach()
if(NOT CMAKE_CXX_STANDARD EQUAL 17 OR NOT CMAKE_CXX_FLAGS STREQUAL "-DPARENT_FLAG")
  message(FATAL_ERROR "mpq changed the parent's CMAKE_CXX_STANDARD/CMAKE_CXX_FLAGS")
endif()
get_directory_property(mpq_tests DIRECTORY "$src" TESTS)
get_directory_property(mpq_subdirs DIRECTORY "$src" SUBDIRECTORIES)
if(mpq_tests OR mpq_subdirs)
  message(FATAL_ERROR "mpq added tests/subprojects to its parent: \${mpq_tests} \${mpq_subdirs}")
endif()
add_executable(app app.cc)
target_link_libraries(app PRIVATE mpq::mpq)
CMAKE
printf '#include "mpq/mpq.h"\nint main() { return mpq::Model::zoo("mnist_naive").num_inputs() == 1 ? 0 : 1; }\n' \
  >"$work/parent/app.cc"
cmake -S "$work/parent" -B "$work/build" -G Ninja >"$work/configure.log" 2>&1 || {
  cat "$work/configure.log" >&2; exit 1; }
# The app compiles against mpq's include/ and with the parent's flags.
line=$(cd "$work/build" && ninja -t commands app | grep -- '-o CMakeFiles/app.dir/app.cc.o')
for want in "-I$src/include" "-DPARENT_FLAG"; do
  case "$line" in *"$want"*) ;; *) echo "add_subdirectory: app's compile line lacks $want: $line" >&2; exit 1;; esac
done
# ... and sees neither mpq's internals nor its dependencies' settings.
for unwanted in "-I$src/src" "-fopenmp" "MPQ_HAVE_DNNL"; do
  case "$line" in *"$unwanted"*) echo "add_subdirectory: app's compile line has $unwanted: $line" >&2; exit 1;; esac
done
echo "parent project configured; app compiles with: $line"
