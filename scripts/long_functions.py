#!/usr/bin/env python3
"""Reports every function in src/ and tools/ whose body spans more than 100 lines.

A body is counted from the line of its opening brace to the line of its closing brace, inclusive,
comments and blank lines too. Lambdas and local classes count as part of the function that holds
them. The scanner blanks comments, string and character literals and preprocessor lines, matches
braces, and treats a `{` as a function body when what precedes it is a parameter list (`)`,
possibly followed by qualifiers or a trailing return type) or a constructor initializer list.

A function may stay longer when the comment just above it has a line
`// long-function: <why>` (a reason is required): GPU kernels whose split into device functions
costs registers and speed, measured, are the intended use.

Usage: long_functions.py [ROOT] [--limit N] [--dirs DIR...]   (ROOT defaults to the repository)
       long_functions.py --self-test   (checks the scanner on tests/lint/fixtures)
Exit status: 0 when nothing is over the limit, 1 when something is, 2 when a file cannot be parsed.
"""

import argparse
import io
import os
import re
import sys
from contextlib import redirect_stdout

EXTENSIONS = (".cc", ".cu", ".cuh", ".h")
DEFAULT_DIRS = ("src", "tools")
DEFAULT_LIMIT = 100

# Words that may follow a parameter list before the body.
QUALIFIERS = {
    "const", "volatile", "override", "final", "noexcept", "mutable", "constexpr", "try",
    "__restrict__", "&", "&&",
}
# Words whose parenthesised argument may follow a parameter list.
QUALIFIER_CALLS = {"noexcept", "throw", "__attribute__"}
# Tokens a trailing return type is made of (besides parenthesised groups).
TYPE_TOKENS = {"::", "<", ">", ",", "*", "&", "&&", "const", "volatile"}

IDENT = re.compile(r"[A-Za-z_]\w*")
EXEMPT = re.compile(r"//\s*long-function:\s*\S")
TOKEN = re.compile(r"[A-Za-z_]\w*|\d[\w.']*|::|->|&&|\.\.\.|\S")


class ParseError(Exception):
    pass


def blank(text, start, end):
    """`text[start:end]` with everything but newlines replaced by spaces."""
    return re.sub(r"[^\n]", " ", text[start:end])


def is_digit_separator(text, i):
    """Whether the quote at `i` separates digits (1'000) rather than opening a char literal."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_'."):
        j -= 1
    return j < i and text[j].isdigit()


def raw_string_prefix(text, i):
    """Whether the quote at `i` opens a raw string literal (R"x(...)x", u8R"(...)" and so on)."""
    if i == 0 or text[i - 1] != "R":
        return False
    j = i - 1
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_"):
        j -= 1
    return text[j:i] in ("R", "u8R", "uR", "UR", "LR")


def strip_code(text):
    """`text` with comments, literals and preprocessor lines blanked; line numbers are kept."""
    out = []
    i, n = 0, len(text)
    line_start = True  # only whitespace since the last newline
    while i < n:
        c = text[i]
        if c == "\n":
            out.append(c)
            i += 1
            line_start = True
            continue
        if line_start and c == "#":
            end = i
            while True:  # a directive runs on through backslash-newlines and block comments
                nl = text.find("\n", end)
                nl = n if nl < 0 else nl
                comment = text.find("/*", end, nl)
                if comment >= 0 and text.find("//", end, comment) < 0:
                    close = text.find("*/", comment + 2)
                    end = n if close < 0 else close + 2
                    continue
                if nl > 0 and text[nl - 1] == "\\" and nl < n:
                    end = nl + 1
                    continue
                end = nl
                break
            out.append(blank(text, i, end))
            i = end
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ParseError("unterminated comment")
            end += 2
        elif c == '"' and raw_string_prefix(text, i):
            paren = text.find("(", i)
            delimiter = ")" + text[i + 1:paren] + '"'
            end = text.find(delimiter, paren)
            if paren < 0 or end < 0:
                raise ParseError("unterminated raw string")
            end += len(delimiter)
        elif c == '"' or (c == "'" and not is_digit_separator(text, i)):
            end = i + 1
            while end < n and text[end] != c:
                if text[end] == "\n":
                    raise ParseError("newline in a literal")
                end += 2 if text[end] == "\\" else 1
            if end >= n:
                raise ParseError("unterminated literal")
            end += 1
        else:
            out.append(c)
            i += 1
            continue
        out.append(blank(text, i, end))
        i = end
    return "".join(out)


class Tokens:
    """The tokens of stripped code, with their lines and the partners of matched brackets."""

    def __init__(self, code):
        self.text, self.line, self.partner = [], [], {}
        line, pos = 1, 0
        stack = []
        for m in TOKEN.finditer(code):
            line += code.count("\n", pos, m.start())
            pos = m.start()
            index = len(self.text)
            self.text.append(m.group())
            self.line.append(line)
            t = m.group()
            if t in "([{":
                stack.append(index)
            elif t in ")]}":
                if not stack or "([{"[")]}".index(t)] != self.text[stack[-1]]:
                    raise ParseError(f"unmatched '{t}' on line {line}")
                opener = stack.pop()
                self.partner[opener] = index
                self.partner[index] = opener
        if stack:
            raise ParseError(f"unclosed '{self.text[stack[-1]]}' on line {self.line[stack[-1]]}")

    def at(self, i):
        return self.text[i] if 0 <= i < len(self.text) else ""

    def is_ident(self, i):
        return bool(IDENT.fullmatch(self.at(i)))


def skip_angles_back(toks, k):
    """The index of the `<` matching the `>` at `k`, or -1."""
    depth = 0
    while k >= 0:
        t = toks.at(k)
        if t == ">":
            depth += 1
        elif t == "<":
            depth -= 1
            if depth == 0:
                return k
        elif t in (";", "{", "}", "(", ")"):
            return -1
        k -= 1
    return -1


def name_start(toks, k):
    """The first token of the (possibly qualified) name ending at `k`, or -1 if none ends there."""
    if toks.at(k) == ">":  # a template-id: Foo<T>
        k = skip_angles_back(toks, k) - 1
        if k < 0 or not toks.is_ident(k):
            return -1
    if toks.is_ident(k) and toks.at(k) != "operator":
        if toks.at(k - 1) in ("operator", "~"):  # conversion operator, destructor
            k -= 1
    else:  # operator==, operator(), operator[] ...
        for back in (1, 2, 3):
            if toks.at(k - back) == "operator":
                if any(toks.is_ident(x) for x in range(k - back + 1, k + 1)):
                    return -1
                k -= back
                break
        else:
            return -1
    while toks.at(k - 1) == "::":
        before = k - 2
        if toks.at(before) == ">":
            before = skip_angles_back(toks, before) - 1
        if before >= 0 and toks.is_ident(before):
            k = before
        else:
            return k - 1  # ::name in the global namespace
    return k


def skip_qualifiers_back(toks, j):
    """Steps back from `j` over qualifiers (and a trailing return type) that may follow `)`."""
    while True:
        t = toks.at(j)
        if t in QUALIFIERS:
            j -= 1
        elif t == ")" and toks.at(toks.partner[j] - 1) in QUALIFIER_CALLS:
            j = toks.partner[j] - 2
        else:
            break
    if toks.at(j) in (")", "}", "]"):
        return j
    # A trailing return type: `-> Type` with Type made of names, templates and decltype(...).
    k = j
    while k >= 0:
        t = toks.at(k)
        if t == "->":
            return skip_qualifiers_back(toks, k - 1)
        if t == ")":
            k = toks.partner[k] - 1
        elif toks.is_ident(k) or t in TYPE_TOKENS:
            k -= 1
        else:
            break
    return j


def lambda_name(toks, close_bracket):
    """`name` for `name = [...]`, else `<lambda>`."""
    k = toks.partner[close_bracket] - 1
    if toks.at(k) == "=" and toks.is_ident(k - 1):
        return toks.at(k - 1) + " (lambda)"
    return "<lambda>"


def function_at(toks, brace):
    """(name, name's line) when the `{` at `brace` opens a function body, else None."""
    j = skip_qualifiers_back(toks, brace - 1)
    if toks.at(j) == "]":
        return lambda_name(toks, j), toks.line[j]
    while toks.at(j) in (")", "}"):
        opener = toks.partner[j]
        if toks.at(opener - 1) == "]":  # [captures](params) { ... }
            return lambda_name(toks, opener - 1), toks.line[opener]
        start = name_start(toks, opener - 1)
        if start < 0:
            return None if toks.at(j) == "}" else ("<unnamed>", toks.line[j])
        before = toks.at(start - 1)
        if before == ",":  # one item of a constructor initializer list
            j = start - 2
            continue
        if before == ":":
            params = skip_qualifiers_back(toks, start - 2)
            if toks.at(params) == ")":  # the first item: `Type(params) : a_(x)`
                j = params
                continue
        if toks.at(j) == "}":  # a braced initializer, not a body
            return None
        return "".join(toks.text[start:opener]), toks.line[start]
    return None


def functions(code):
    """Yields (name, line of the name, lines spanned by the body) for every function in `code`."""
    toks = Tokens(code)
    i = 0
    while i < len(toks.text):
        if toks.text[i] == "{":
            found = function_at(toks, i)
            if found:
                close = toks.partner[i]
                yield found[0], found[1], toks.line[close] - toks.line[i] + 1
                i = close  # everything inside belongs to this function
        i += 1


def source_files(root, dirs):
    for d in dirs:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(EXTENSIONS):
                    yield os.path.join(dirpath, f)


def exempt(lines, line):
    """Whether the comment block just above the function (past at most three lines of template and
    attribute text above its name, at 1-based `line`) holds a `// long-function: why` line."""
    k = line - 2
    for _ in range(3):
        if k >= 0 and not lines[k].lstrip().startswith("//"):
            k -= 1
    while k >= 0 and lines[k].lstrip().startswith("//"):
        if EXEMPT.search(lines[k]):
            return True
        k -= 1
    return False


def check(root, dirs, limit):
    """Prints the offenders (and parse errors); returns the exit status."""
    offenders, errors, files, count, exempted = 0, 0, 0, 0, 0
    for path in source_files(root, dirs):
        rel = os.path.relpath(path, root)
        files += 1
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            found = list(functions(strip_code(text)))
        except ParseError as e:
            print(f"{rel}: cannot parse: {e}")
            errors += 1
            continue
        for name, line, lines in found:
            count += 1
            if lines > limit and exempt(text.splitlines(), line):
                exempted += 1
            elif lines > limit:
                print(f"{rel}:{line}: function {name} is {lines} lines (limit {limit})")
                offenders += 1
    if errors:
        return 2
    if offenders:
        return 1
    print(f"long_functions: {count} functions in {files} files, none over {limit} lines"
          + (f" ({exempted} marked long-function)" if exempted else ""))
    return 0


def self_test(root):
    """The scanner on tests/lint/fixtures must report exactly these functions (just_fits, at 100
    lines, and the braces that open no function body must not be reported)."""
    fixtures = os.path.join("tests", "lint", "fixtures")
    out = io.StringIO()
    with redirect_stdout(out):
        status = check(root, [fixtures], DEFAULT_LIMIT)
    expected = {
        os.path.join(fixtures, "long_function.cc") + f":{line}: function {name} is {n} lines "
        f"(limit {DEFAULT_LIMIT})"
        for line, name, n in [
            (15, "too_long", 101),
            (225, "Widget::Widget", 102),
            (328, "Widget::operator()", 101),
            (432, "make_table (lambda)", 101),
        ]
    }
    got = set(out.getvalue().splitlines())
    ok = status == 1 and got == expected
    for line in sorted(expected - got):
        print(f"self-test: missing: {line}")
    for line in sorted(got - expected):
        print(f"self-test: unexpected: {line}")
    print(f"self-test: exit status {status} (expected 1): {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


def main():
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", default=default_root)
    p.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    p.add_argument("--dirs", nargs="+", default=list(DEFAULT_DIRS))
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args()
    if args.self_test:
        return self_test(args.root)
    return check(args.root, args.dirs, args.limit)


if __name__ == "__main__":
    sys.exit(main())
