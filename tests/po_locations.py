"""Which module asks for which msgid, and the catalogue's ``#:`` lines that say so.

``python tests/po_locations.py`` rewrites the ``#:`` lines of the Turkish catalogue in place:
each entry names every module that uses its msgid (file names only, no line numbers, so a line
changes only when a message moves to another module). tests/test_i18n.py fails when they are
stale; nothing else in the file is touched.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.pofile import unescape

import kolaybi_xl

PACKAGE = Path(kolaybi_xl.__file__).parent
PO = PACKAGE / "locale" / "tr" / "LC_MESSAGES" / "kolaybi_xl.po"
# Calls whose first argument is a msgid: gettext's own names, Message, and our error classes.
KEYWORDS = {"_", "N_", "ngettext", "Message"}
ERRORS = {"UserError", "JobError", "CommandError", "WorkbookError", "OutcomesNotSaved"}

_MSGID = re.compile(r'^msgid (".*")$')
_CONTINUED = re.compile(r'^(".*")$')


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def msgid_args(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    """(line, the argument) of every place in ``tree`` where a msgid goes."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = _name(node.func)
        if name not in KEYWORDS | ERRORS:
            continue
        ids = [node.args[0]]
        if name == "ngettext" and len(node.args) > 1:
            ids.append(node.args[1])
        for kw in node.keywords:
            if kw.arg == "plural" and isinstance(kw.value, ast.Tuple):
                ids.append(kw.value.elts[0])
        for arg in ids:
            yield node.lineno, arg


def msgid_modules() -> dict[str, list[str]]:
    """msgid -> the modules (``kolaybi_xl/...py``) that use it, in path order."""
    modules: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent).as_posix()
        for _line, arg in msgid_args(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                places = modules.setdefault(arg.value, [])
                if where not in places:
                    places.append(where)
    return modules


def with_locations(text: str, modules: dict[str, list[str]]) -> str:
    """``text`` (a .po file) with each entry's ``#:`` lines replaced by where its msgid is used."""
    lines = [line for line in text.split("\n") if not line.startswith("#:")]
    out: list[str] = []
    for index, line in enumerate(lines):
        match = _MSGID.match(line)
        if match:
            msgid = _msgid_at(lines, index, match.group(1))
            out += [f"#: {where}" for where in modules.get(msgid, [])]
        out.append(line)
    return "\n".join(out)


def _msgid_at(lines: list[str], index: int, first: str) -> str:
    parts = [first]
    for line in lines[index + 1 :]:
        continued = _CONTINUED.match(line)
        if continued is None:
            break
        parts.append(continued.group(1))
    return "".join(unescape(part) for part in parts)


def main() -> int:
    text = PO.read_text(encoding="utf-8")
    updated = with_locations(text, msgid_modules())
    if updated != text:
        PO.write_text(updated, encoding="utf-8")
        print(f"updated the #: lines of {PO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
