"""`${NAME}` placeholders in spec and targets files: the grammar, pure.

`${NAME}` is filled from the variables (--var NAME=VALUE, then the environment); `$${` is a literal `${` (as
Terraform writes it); any other `${` is a problem (`${team-name}`, `${{ x }}`), never text passed on as written: in
a filter it would match nothing. A name is letters, digits and `_`, not a digit first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
VARIABLE_NAME = re.compile(NAME)
_TOKEN = re.compile(r"\$\$\{|\$\{(" + NAME + r")\}|\$\{")
_WHOLE = re.compile(r"\$\{" + NAME + r"\}")
NOT_ONE = "is not a placeholder: a variable's name is letters, digits and _ (not first); write $${ for a literal ${"


def fill(text: str, variables: Mapping[str, str]) -> tuple[str, list[str], list[str]]:
    """`text` with its placeholders filled and `$${` made `${`; the `${` that open no placeholder (as written, one
    line at most); the names without a value. What is not filled is left as written."""
    bad: list[str] = []
    missing: list[str] = []

    def value_of(m: re.Match) -> str:
        name = m.group(1)
        if m.group(0) == "$${":
            return "${"
        if name is None:
            line = re.split(r"[\r\n]", m.string[m.start():m.start() + 40], maxsplit=1)[0]
            bad.append(line[:line.find("}") + 1] if "}" in line else line[:12])
        elif name in variables:
            return variables[name]
        else:
            missing.append(name)
        return m.group(0)

    return _TOKEN.sub(value_of, text), bad, missing


def whole(text: str) -> bool:
    """Whether `text` is one placeholder and nothing else (a plain scalar so written is typed as its value)."""
    return _WHOLE.fullmatch(text) is not None
