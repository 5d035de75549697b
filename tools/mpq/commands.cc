#include "commands.h"

namespace mpq::cli {

std::vector<Registrar>& commands() {
  static std::vector<Registrar> list;
  return list;
}

}  // namespace mpq::cli
