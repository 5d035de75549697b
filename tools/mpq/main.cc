// mpq: the command line (tools/mpq/cli_main.cc); mpq_gpu runs the same CLI as `mpq_gpu mpq ...`.
#include "commands.h"

int main(int argc, char** argv) {
  return mpq::cli::run_main(argc, argv);
}
