#include "commands.h"

namespace mpq::cli {

// One line per subcommand (defined in cmd_<name>.cc).
#define MPQ_COMMANDS(X) X(info)

#define MPQ_DECLARE(name) void register_##name(CLI::App&, std::function<int()>&);
MPQ_COMMANDS(MPQ_DECLARE)
#undef MPQ_DECLARE

const std::vector<Registrar>& commands() {
#define MPQ_ENTRY(name) Registrar(register_##name),
  static const std::vector<Registrar> kList = {MPQ_COMMANDS(MPQ_ENTRY)};
#undef MPQ_ENTRY
  return kList;
}

}  // namespace mpq::cli
