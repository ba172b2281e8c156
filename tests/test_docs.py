"""Every command and option is documented in README.md (as sqlite-utils does)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from crm_audit.cli import cli

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        yield full, cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, full + " ")


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_documented(name, cmd):
    leaf = name.split(" ")[-1]
    assert f"crm-audit {name}" in README or (f" {leaf} " in README and f"crm-audit {name.split(' ')[0]}" in README)


@pytest.mark.parametrize("name, cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_options_documented(name, cmd):
    for p in cmd.params:
        if isinstance(p, click.Option) and not p.hidden:
            longest = max(p.opts, key=len)
            if longest in ("--help", "--config"):
                continue
            assert longest in README, f"{name}: option {longest} is not in README.md"
