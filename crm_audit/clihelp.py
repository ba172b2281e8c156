"""``--help`` in the CLI's language: click command and group classes that translate when the help is shown.

Click stores every help text when the module is imported, before the language of the run is known (the settings
are read in :func:`crm_audit.cli.main`). So the texts are marked with :func:`~crm_audit.i18n.N_` (their English
msgid, extracted into the catalogues) and translated here, at the moment the help page is written: the command's
text, each option's text and its ``[default: …]``, the section headings and the usage line, click's own help and
version options. Nothing is translated at import, so ``crm-audit --help`` stays as fast as before.

Use :class:`HelpGroup` for a group (its sub-commands and sub-groups get these classes too) and
:class:`HelpCommand` for a command declared on its own (``@click.command(cls=HelpCommand)``).
"""

from __future__ import annotations

import inspect

import click

from crm_audit.i18n import N_, _

#: click's own texts on a help page (click does not translate them into our catalogue's language)
CLICK_TEXTS = (N_("Usage:"), N_("Options"), N_("Commands"), N_("default: {default}"), N_("required"),
               N_("Show this message and exit."), N_("Show the version and exit."), N_("[OPTIONS]"),
               N_("COMMAND [ARGS]..."), N_("[COMMAND] [ARGS]..."))


def text(message: str | None) -> str:
    """A help text (its English msgid, as the code gives it) in the CLI's language, indentation removed."""
    return inspect.cleandoc(_(message)) if message else ""


def option_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """An option's line on the help page: its flags and its translated text with ``[default: …; required]``."""
    if getattr(param, "hidden", False) or not isinstance(param, click.Option):
        return None
    help_text = text(param.help)
    if not hasattr(param, "get_help_extra"):  # click < 8.2: its own line, the bracket in English
        spec, _untranslated = param.get_help_record(ctx) or ("", "")
        return spec, help_text
    extra = param.get_help_extra(ctx)
    items = []
    if "envvars" in extra:
        items.append(", ".join(extra["envvars"]))
    if "default" in extra:
        items.append(_("default: {default}").format(default=extra["default"]))
    if "range" in extra:
        items.append(extra["range"])
    if "required" in extra:
        items.append(_("required"))
    if items:
        help_text = f"{help_text}  [{'; '.join(items)}]" if help_text else f"[{'; '.join(items)}]"
    # click 8.5.1 named the left column's maker; before it, the help record's first half is the same text
    spec = param.get_help_spec(ctx) if hasattr(param, "get_help_spec") else (param.get_help_record(ctx) or ("",))[0]
    return spec, help_text


class TranslatedHelp:
    """What :class:`HelpCommand` and :class:`HelpGroup` share (a mixin over :class:`click.Command`)."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)  # type: ignore[misc]
        return [_(p) if p in ("[OPTIONS]", "COMMAND [ARGS]...", "[COMMAND] [ARGS]...") else p for p in pieces]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=_("Usage:") + " ")

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        body = text(self.help).partition("\f")[0]  # type: ignore[attr-defined]
        if body:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(body)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = [r for r in (option_record(p, ctx) for p in self.get_params(ctx)) if r is not None]  # type: ignore[attr-defined]
        if records:
            with formatter.section(_("Options")):
                formatter.write_dl(records)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def get_short_help_str(self, limit: int = 45) -> str:
        from click.utils import _make_default_short_help

        if self.short_help:  # type: ignore[attr-defined]
            return text(self.short_help).strip()  # type: ignore[attr-defined]
        return _make_default_short_help(text(self.help), limit).strip() if self.help else ""  # type: ignore[attr-defined]


class HelpCommand(TranslatedHelp, click.Command):
    """A command whose ``--help`` speaks the CLI's language."""


class HelpGroup(TranslatedHelp, click.Group):
    """A group whose ``--help`` (and its commands' and sub-groups') speaks the CLI's language."""

    command_class = HelpCommand
    group_class = type  # sub-groups are HelpGroups too

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(name, cmd) for name in self.list_commands(ctx)
                    if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if not commands:
            return
        limit = formatter.width - 6 - max(len(name) for name, _cmd in commands)
        rows = [(name, cmd.get_short_help_str(limit) if isinstance(cmd, TranslatedHelp) else text(cmd.get_short_help_str(limit)))
                for name, cmd in commands]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)
