# Sanitizer and fuzzing builds (docs/testing.md). Each goes in its own build folder, configured
# with clang-14 (CC=clang-14 CXX=clang++-14):
#   -DMPQ_SANITIZE=address,undefined -DMPQ_FUZZ=ON   the library, tests and fuzz targets (ASan+UBSan)
#   -DMPQ_SANITIZE=thread                            the library and the TSan test (built alone)
# The flags apply to every target of the build (a sanitizer must see the whole library).
set(MPQ_SANITIZE "" CACHE STRING "Sanitizers for every target (e.g. address,undefined or thread)")
option(MPQ_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)

if(MPQ_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MPQ_FUZZ needs clang (libFuzzer): configure with CXX=clang++-14")
endif()
if(MPQ_SANITIZE)
  # -O1 keeps the instrumented build and its runs fast enough for CI; frame pointers give whole
  # stacks in reports. A UBSan finding aborts (so tests and fuzzers fail on it).
  add_compile_options(-O1 -g -fno-omit-frame-pointer -fsanitize=${MPQ_SANITIZE})
  add_link_options(-fsanitize=${MPQ_SANITIZE})
  if(MPQ_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
if(MPQ_FUZZ)
  # Coverage instrumentation everywhere; only the fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
