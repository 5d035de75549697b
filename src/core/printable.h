// Text from a user's file, made safe for a one-line message: bytes outside printable ASCII are
// shown as \xNN, and at most `max_chars` characters are kept ("..." marks a cut).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mpq {

std::string printable(std::string_view s, size_t max_chars = std::string::npos);

}  // namespace mpq
