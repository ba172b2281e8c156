"""`--help` on every click `pyproject.toml` admits (click>=8.1): an option's line is made with `get_help_spec` where
click has it (8.5.1 on), else from its help record — `crm-audit inspect --help` had stopped with «непредвиденная
AttributeError: 'Option' object has no attribute 'get_help_spec'» under click 8.4."""

from __future__ import annotations

import click

from crm_audit import clihelp


class _OldOption(click.Option):
    """An option as click < 8.5.1 makes it: no `get_help_spec` (attribute lookups for it fail)."""

    def __getattribute__(self, name):
        if name == "get_help_spec":
            raise AttributeError(name)
        return super().__getattribute__(name)

    def get_help_record(self, ctx):  # what click < 8.5.1 returns: its left column, then its (English) text
        return "-c, --config PATH", "Settings file."


def test_an_option_line_without_get_help_spec():
    cmd = click.Command("x", params=[_OldOption(["-c", "--config"], type=click.Path(), help="Settings file.")])
    ctx = click.Context(cmd)
    spec, text = clihelp.option_record(cmd.params[0], ctx)
    assert spec == "-c, --config PATH" and text.startswith("Settings file.")
