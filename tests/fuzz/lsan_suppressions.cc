// LeakSanitizer's suppressions for the fuzz targets: the OpenMP runtime keeps the per-thread data
// of every team size an input asks for (an engine file's thread count) for the life of the
// process, and LeakSanitizer reports it as leaked when the run ends. mpq's own allocations, and
// oneDNN's, are still checked.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libomp.so\n";
}
