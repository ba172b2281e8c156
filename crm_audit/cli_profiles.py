"""CLI pieces for CRM profiles: ``crm-audit inspect`` and ``init --from-export``.

``inspect_cmd`` is a click command that :mod:`crm_audit.cli` adds to its
group; :func:`settings_from_export` / :func:`write_settings_from_export` are
what ``crm-audit init --crm NAME --from-export DIR`` calls.
"""

from __future__ import annotations

from pathlib import Path

import click

from crm_audit.errors import InputError, Problem, UsageError
from crm_audit.clihelp import HelpCommand
from crm_audit.i18n import N_, _


@click.command("inspect", cls=HelpCommand, help=N_('Show how an export is read: profile, files, columns, rules that can run.'))
@click.argument("directory", type=click.Path(), required=False)
@click.option("--crm", default=None, help=N_("CRM export profile (default: detected from the headers)."))
@click.option("--config", "-c", "config", default=None, type=click.Path(dir_okay=False),
              help=N_("Settings file: its crm, pipelines and rules are used (default: crm-audit.yaml here, as run reads it, else the bundled rules)."))
@click.option("--engine", "engine_url", default=None, help=N_("Inspect the CRM's tables in a warehouse instead of an export: an engine URL (see `crm-audit run --engine`)."))
def inspect_cmd(directory, crm, config, engine_url):
    from crm_audit.engine.inspect import format_report, inspect_export

    if engine_url:  # the warehouse's tables, as a run --engine would read them
        from crm_audit.warehouse.cli import inspect_engine

        return inspect_engine(config, engine_url)
    if directory is None:
        raise UsageError(_("give the export folder to inspect, or --engine URL"))

    from crm_audit.settings import SETTINGS_FILE

    if config is not None and not Path(config).exists():
        raise UsageError(_("{config}: settings file not found").format(config=config))
    if config is None and Path(SETTINGS_FILE).exists():  # as `run` does: the settings here decide which rules run and how
        config = SETTINGS_FILE
    rep = inspect_export(directory, crm=crm, config=config)
    click.echo(format_report(rep))
    if rep.error:  # the export cannot be loaded (run would stop): an input error, as run's exit code says
        raise SystemExit(2)


# --------------------------------------------------------------------------- init --from-export


def detected_crm(export_dir: str | Path) -> str:
    """``init --from-export`` without ``--crm``: the profile `inspect` detects from the headers, said with how sure
    that is (and which ``--crm`` to try otherwise); a usage error naming the ``--crm`` values when no profile wins."""
    from crm_audit.engine.inspect import detection

    det = detection(export_dir)
    others = ", ".join(f"--crm {n}" for n in det.try_also)
    if not det.decided:
        if max(det.scores.values(), default=0) == 0:
            raise UsageError(_("could not tell the CRM from the export's headers (no header of any profile matched): "
                               "run init again with one of {options}").format(options=others))
        raise UsageError(_("could not tell the CRM from the export's headers (scores: {scores}): run init again with "
                           "one of {options}").format(scores=det.scores_text(),
                                                      options=", ".join(f"--crm {n}" for n in (det.name, *det.try_also))))
    if det.sure:
        click.echo(_("CRM: {name}, detected from the export's headers (scores: {scores})").format(
            name=det.name, scores=det.scores_text()))
    else:
        line = _("CRM: {name}, detected from the export's headers, but not surely (scores: {scores})").format(
            name=det.name, scores=det.scores_text())
        from crm_audit.engine.profile import available

        others = others or ", ".join(f"--crm {n}" for n in available() if n != det.name)
        line += "; " + _("if the export is from another CRM, run init again with one of {options} and --force").format(
            options=others)
        click.echo(line)
    return det.name


def pipelines_from_export(export_dir: str | Path, crm: str) -> dict[str, list[str]]:
    """Pipelines and their stages found in an export, in the order
    :mod:`crm_audit.exportdraft` finds (the CRM's own, else guessed)."""
    from crm_audit.exportdraft import draft_from_export

    return {p.name: p.stages for p in draft_from_export(export_dir, crm).pipelines}


def settings_from_export(export_dir: str | Path, crm: str, columns: dict[str, dict[str, str]] | None = None,
                         domain: str | None = None, values: dict | None = None, values_confirmed: bool = True,
                         team=None) -> dict:
    """Values for :func:`crm_audit.initfile.render_settings` read from an export
    (see :func:`crm_audit.exportdraft.draft_from_export`); ``columns`` / ``values``: the team's own `columns:` /
    `values:` to keep; ``team``: the rest of its lines (:class:`crm_audit.team_settings.TeamSettings`), kept too —
    what of them no longer fits the export comes back under ``team_kept`` (said by the caller)."""
    from crm_audit.exportdraft import draft_from_export, template_values

    draft = draft_from_export(export_dir, crm, columns, domain, values, values_confirmed, team)
    if not draft.pipelines and not draft.no_stage_column:  # the stage column is there, every cell of it blank
        raise InputError(problems=[Problem(template=N_("no deal has a stage, or no column of the deals file is the stage: name "
                                                       "it in crm-audit.yaml (columns: {{deals: {{stage: <header>}}}}) and run "
                                                       "init --force again"),
                                           file=str(export_dir), reason="no-stages")])
    return {**template_values(draft), "team_kept": draft.team}


def existing_columns(path: Path) -> dict[str, dict[str, str]]:
    """The `columns:` of a settings file init is about to overwrite (a team's own mapping stands); {} when unreadable."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    cols = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(cols, dict):
        return {}
    return {str(e): {str(k): str(v) for k, v in fs.items() if v is not None} for e, fs in cols.items() if isinstance(fs, dict)}


def existing_values(path: Path) -> tuple[dict, bool]:
    """The `values:` of a settings file init is about to overwrite (the team's own words for the status / done values
    stand), as written, and whether they were confirmed (`values_confirmed:`); ({}, True) when unreadable."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}, True
    vals = data.get("values") if isinstance(data, dict) else None
    confirmed = data.get("values_confirmed", True) is not False if isinstance(data, dict) else True
    return ({e: fs for e, fs in vals.items() if isinstance(fs, dict)} if isinstance(vals, dict) else {}), confirmed


#: `init --force` over the team's finished settings on an export it cannot read: the file stays as it was
TEAM_FILE_KEPT = N_("{path} was left as it was: {file} has no column «{header}» ({entity}: {name}), without which it cannot "
                    "be read. If the file has it under another name, write that name in {path} (columns: {{{entity}: "
                    "{{{name}: <header>}}}}) and run `crm-audit init --from-export {export} --force` again; else export the "
                    "file again with that column")


def _unfinished(path: Path) -> bool:
    """Whether the settings at ``path`` are a file a stopped init wrote (their `unfinished:` line)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and bool(data.get("unfinished"))


def write_settings_from_export(directory: str | Path, crm: str, export_dir: str | Path, force: bool = False,
                               domain: str | None = None) -> Path:
    """``crm-audit init --crm NAME --from-export DIR``: write crm-audit.yaml
    that runs on this export (mappings proposed, rules it cannot feed switched off)."""
    from crm_audit.initfile import render_settings, write_text_atomically
    from crm_audit.settings import SETTINGS_FILE

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / SETTINGS_FILE
    if path.exists() and not force:
        raise UsageError(_("{path} already exists; edit it, or pass --force to overwrite it").format(path=path))
    own = existing_columns(path) if path.exists() else None
    own_values, values_confirmed = existing_values(path) if path.exists() else ({}, True)
    from crm_audit.team_settings import read_team_settings

    team = read_team_settings(path) if path.exists() else None
    try:
        values = settings_from_export(export_dir, crm, own, domain, own_values, values_confirmed, team)
        stale = values.pop("stale_columns", [])
        kept = values.pop("team_kept", None)
        text = render_settings(crm, **values)
        if team is not None:  # the team's own comments on the lines kept stay (acceptance V4)
            from crm_audit.team_settings import keep_comments

            text = keep_comments(text, team)
    except InputError as exc:  # a required column missing: the settings to finish, with that column's line to fill
        lack = next((p for p in exc.problems if p.reason == "missing-column" and {"entity", "name", "header"} <= set(p.params)), None)
        if lack is None:
            raise
        params = {"file": lack.file, "export": str(export_dir), "path": str(path),
                  **{k: lack.params[k] for k in ("header", "entity", "name")}}
        if team is not None and not _unfinished(path):  # the team's finished settings: never replaced by a stub
            raise InputError(problems=[*exc.problems, Problem(template=TEAM_FILE_KEPT, params=params, file=str(path),
                                                              reason="settings-kept")]) from None
        write_text_atomically(path, _stub_settings(crm, export_dir, lack, own or {}, own_values, values_confirmed))
        note = Problem(template=N_("written unfinished: {file} has no column «{header}» ({entity}: {name}), without which it "
                                   "cannot be read. If the file has it under another name, write that name in {path} in "
                                   "place of <header> and remove the «#» before that line; else export the file again with "
                                   "that column. Then run `crm-audit init --from-export {export} --force`: your columns: "
                                   "stay and the rest is filled in"),
                       params=params, file=str(path), reason="unfinished-settings")
        raise InputError(problems=[*exc.problems, note]) from None
    write_text_atomically(path, text)
    for entity, name, header, file in stale:  # the team's line would stop the run: said before the file is opened (N6)
        click.echo(_("warning: columns: {entity}: {field}: «{header}» from your {path} is no longer a column of {file}: the "
                     "line is commented out and the field mapped as without it; remove the «#» when the column is back in "
                     "the export").format(entity=entity, field=name, header=header, path=path.name, file=file),
                   err=True)
    if kept is not None:
        say_team_lines(kept, path)
    if values.get("no_stage_column"):  # what the user reads before opening the file: the run works, these rules are off
        from crm_audit.i18n import ngettext

        column, file, n = values["no_stage_column"]
        click.echo(ngettext("{file} has no stage column «{column}»: no pipelines are written and {n} rule that needs the stage "
                            "or the pipeline is switched off in {path} (rules: skip:, the reason next to it); the other rules run",
                            "{file} has no stage column «{column}»: no pipelines are written and {n} rules that need the stage "
                            "or the pipeline are switched off in {path} (rules: skip:, the reason next to each); the other rules "
                            "run", n).format(file=file, column=column, n=n, path=path))
    return path


def say_team_lines(kept, path: Path) -> None:
    """What ``init --force`` did to the team's own lines that no longer fit the export, and the new stages it put into
    a stage order the team had confirmed (:class:`crm_audit.team_settings.TeamKept`)."""
    for st in kept.stale:
        if st.section == "fields":
            text = _("warning: fields: {key}: «{value}» from your {path} is no longer a column of {file}: the line is "
                     "commented out; remove the «#» when the column is back in the export")
        elif st.section == "stage_names":
            text = _("warning: stage_names: {key}: «{value}» from your {path} is no longer a stage of pipelines: (no deal "
                     "of the export is in it): the line is commented out")
        else:
            text = _("warning: pipeline_names: {key}: «{value}» from your {path} is no longer a pipeline of the export: "
                     "the line is commented out")
        click.echo(text.format(key=st.key, value=st.value, path=path.name, file=st.file), err=True)
    for ns in kept.new_stages:
        click.echo(_("pipeline «{pipeline}»: the export has new stages {stages}; they are added to your confirmed order "
                     "where the export puts them, and this pipeline's order is marked to confirm again in "
                     "stage_order_confirmed: (the other pipelines' orders stay confirmed): check their place in {path}, "
                     "then confirm it").format(pipeline=ns.pipeline, stages=", ".join(f"«{s}»" for s in ns.stages),
                                                       path=path.name), err=True)
    if kept.new_closed and kept.closed_kept:
        click.echo(_("the export has new closed stages {stages}; they are added to your won_stages: / lost_stages: where "
                     "init puts them (your split of the other closed stages stays), and closed_stages_confirmed: now names "
                     "the ones you confirmed ({kept}): check the new ones in {path}, then add them to it").format(
                         stages=", ".join(f"«{s}»" for s in kept.new_closed), kept=", ".join(f"«{s}»" for s in kept.closed_kept),
                         path=path.name), err=True)
    elif kept.new_closed:
        click.echo(_("the export has new closed stages {stages}; they are added to your won_stages: / lost_stages: where "
                     "init puts them (your split of the other closed stages stays), and closed_stages_confirmed: is set to "
                     "false: check them in {path}, then set it to true").format(
                         stages=", ".join(f"«{s}»" for s in kept.new_closed), path=path.name), err=True)


def _stub_settings(crm: str, export_dir: str | Path, lack: Problem, own: dict[str, dict[str, str]],
                   own_values: dict | None = None, values_confirmed: bool = True) -> str:
    """crm-audit.yaml for an export whose file lacks a required column (``lack``: its missing-column problem): the
    CRM, that column's `columns:` line to fill (commented) and what to run then — `init --force` keeps the line.
    The file loads as settings (`pipelines: {}`, and an entity whose only line is the commented one reads as empty), but
    its `unfinished:` line stops `validate` and `run` with what to do until `init --force` rewrites it whole; the
    team's own `values:` stay."""
    import yaml

    from crm_audit.exportdraft import _yaml_safe

    ent, name, header = lack.params["entity"], lack.params["name"], lack.params["header"]
    hole = _("<header>")  # the place to write the header, as the message after init names it
    lines = [
        "# crm-audit.yaml не дописан: init не смог прочитать выгрузку.",
        f"# {lack.file}: нет обязательной колонки «{header}» ({ent}: {name}) — без неё файл не прочитать.",
        "# Что сделать:",
        f"#  1) если эта колонка есть в файле под другим названием — впишите его ниже вместо {hole}",
        "#     и уберите «#» в начале той строки;",
        f"#  2) если её в файле нет — выгрузите файл снова вместе с колонкой «{header}»;",
        f"# затем запустите: crm-audit init --from-export {export_dir} --force",
        "# (init оставит ваши columns: и допишет воронки, этапы, списки и правила).",
        f"# Колонки файла: {lack.params.get('found', '')}",
        f"crm: {_yaml_safe(crm)}",
        "# Пока эта строка здесь, validate и run останавливаются: init --force уберёт её.",
        f"unfinished: {_yaml_safe(f'в {Path(lack.file).name} нет колонки «{header}» ({ent}: {name})')}",
        "# Воронки и этапы init запишет, когда прочитает выгрузку (crm-audit init --from-export ... --force).",
        "pipelines: {}",
        "columns:",
    ]
    for e, fs in {ent: {}, **own}.items():  # the team's own `columns:` (a file init --force overwrites) stay
        lines.append(f"  {_yaml_safe(e)}:")
        if e == ent:
            lines.append(f"    # {name}: {hole}    # <- впишите заголовок и уберите «#» в начале строки")
        lines += [f"    {_yaml_safe(k)}: {_yaml_safe(v)}" for k, v in fs.items() if not (e == ent and k == name)]
    if own_values:  # the team's own words for the status / done values stay too (and whether they were confirmed)
        lines.append(yaml.safe_dump({"values": own_values, **({} if values_confirmed else {"values_confirmed": False})},
                                    allow_unicode=True, sort_keys=False, default_flow_style=False, width=1000).rstrip())
    return "\n".join(lines) + "\n"

