#!/usr/bin/env bash
# The README's "Supported ops" table is `mpq ops --markdown` of a build without CUDA, verbatim:
# when an op or kernel is added, this fails until the README is regenerated (the command is in
# the message).
# Usage: readme_ops_table.sh MPQ_BINARY README
set -euo pipefail
table=$("$1" ops --markdown)
if ! /usr/bin/python3 -c 'import sys; sys.exit(0 if sys.argv[1] in open(sys.argv[2]).read() else 1)' \
  "$table" "$2"; then
  echo "readme_ops_table: $2's op table differs from \`mpq ops --markdown\`; replace it with that" \
    "command's output (a build without CUDA)"
  diff <(echo "$table") <(grep '^|' "$2" | sed -n '/^| op | ONNX binding/,$p' | head -n "$(echo "$table" | wc -l)") | head -20
  exit 1
fi
echo "readme_ops_table: the README's table matches ($(echo "$table" | wc -l) lines)"
