"""Writes (or, with --check, compares) python/COMPATIBILITY.md from the @compat rows of the
test modules in this folder.

    PYTHONPATH=build/python:python/tests python3 python/tests/make_compat_table.py [--check]
"""

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TABLE = HERE.parent / "COMPATIBILITY.md"

HEADER = """# transformers compatibility of the xclip Python package

What xclip does with each attribute, method and keyword of transformers' X-CLIP classes that
a user may touch. **same**: behaves as transformers does; **differs**: works, with the
difference said; **refuses**: raises an error that says why and what to do instead.

This file is generated from the tests (`python/tests/make_compat_table.py`): every row names
the test that runs the transformers-style code, and `test_compat_table_is_current` fails when
the file and the tests disagree.

| surface | xclip | what it does | test |
| --- | --- | --- | --- |
"""


def rows():
    sys.path.insert(0, str(HERE))
    from compat import ROWS

    for path in sorted(HERE.glob("test_*.py")):
        importlib.import_module(path.stem)
    return sorted(ROWS, key=lambda r: (r["surface"].lower(), r["test"]))


def cell(text):
    return text.replace("|", "\\|")  # a pipe inside a cell would end it


def render():
    lines = [f"| `{cell(r['surface'])}` | {r['status']} | {cell(r['note'])} | `{r['test']}` |" for r in rows()]
    return HEADER + "\n".join(lines) + "\n"


def main():
    text = render()
    if "--check" in sys.argv:
        if not TABLE.is_file() or TABLE.read_text() != text:
            sys.exit(f"{TABLE} is out of date: run python/tests/make_compat_table.py")
        return
    TABLE.write_text(text)
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
