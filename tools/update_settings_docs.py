"""Rewrite the generated settings docs: deploy/servicekonto.env.example and the README table.

Run through `make settings-docs` after changing a setting; tests fail until both are current.
"""

from __future__ import annotations

import re
from pathlib import Path

from servicekonto.config import render_env_example, render_settings_table

REPOSITORY = Path(__file__).resolve().parents[1]
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def main() -> None:
    (REPOSITORY / "deploy" / "servicekonto.env.example").write_text(
        render_env_example(), encoding="utf-8"
    )
    readme = REPOSITORY / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"{START}\n{render_settings_table()}{END}"
    updated, count = re.subn(
        re.escape(START) + r".*?" + re.escape(END), block, text, flags=re.DOTALL
    )
    if count != 1:
        raise SystemExit(f"README.md needs exactly one {START} … {END} block")
    readme.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
