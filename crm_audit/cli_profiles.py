"""CLI pieces for CRM profiles: ``crm-audit inspect`` and ``init --from-export``.

``inspect_cmd`` is a click command that :mod:`crm_audit.cli` adds to its
group; :func:`settings_from_export` / :func:`write_settings_from_export` are
what ``crm-audit init --crm NAME --from-export DIR`` calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from crm_audit.errors import InputError, Problem, UsageError


@click.command("inspect")
@click.argument("directory", type=click.Path())
@click.option("--crm", default=None, help="CRM export profile (default: detected from the headers).")
@click.option("--config", "-c", "config", default=None, type=click.Path(dir_okay=False),
              help="Settings file: its crm, pipelines and rules are used (default: the bundled rules).")
def inspect_cmd(directory, crm, config):
    """Show how an export is read: profile, files, columns, rules that can run."""
    from crm_audit.engine.inspect import format_report, inspect_export

    if config is not None and not Path(config).exists():
        raise UsageError(f"{config}: settings file not found")
    click.echo(format_report(inspect_export(directory, crm=crm, config=config)))


# --------------------------------------------------------------------------- init --from-export


def pipelines_from_export(export_dir: str | Path, crm: str) -> dict[str, list[str]]:
    """Pipelines and their stages found in an export, for ``crm-audit init``.

    Stages are ordered by the CRM's stage-order column when it exports one
    (Salesforce: probability), else by first appearance in the file; the
    stages that encode won / lost (amoCRM «Успешно реализовано», HubSpot
    "Closed won", ...) come last. Names are as exported (first spelling seen).
    Raises :class:`~crm_audit.errors.InputError` when the export can't be read.
    """
    from crm_audit.engine.loading import load_export
    from crm_audit.engine.profile import load_profile
    from crm_audit.textnorm import norm

    profile = load_profile(crm)
    export = load_export(export_dir, profile, on_bad_value="warn")
    try:
        deals = export.entities["deals"]
        if "stage" not in deals.fields:
            raise InputError(problems=[Problem("the deals file has no stage column; list the stages in crm-audit.yaml by hand",
                                               file=str(deals.file), reason="missing-column")])
        pipe = "pipeline" if "pipeline" in deals.fields else "NULL"
        order = "stage_order" if "stage_order" in deals.fields else "NULL"
        rows = export.con.execute(
            f"SELECT {pipe} AS p, stage AS s, min(_row) AS first, min({order}) AS ord FROM deals "
            "WHERE NOT is_blank(stage) GROUP BY ALL ORDER BY ord NULLS LAST, first"
        ).fetchall()
    finally:
        export.close()
        export.con.close()
    terminal = [norm(s) for s in profile.terminal_stages()]
    out: dict[str, list[str]] = {}
    keys: dict[str, str] = {}
    seen: dict[str, set[str]] = {}
    for p, s, _first, _ord in rows:
        pname = (p or "").strip() or "Основная воронка"
        key = keys.setdefault(norm(pname), pname)
        stages = out.setdefault(key, [])
        if norm(s) not in seen.setdefault(key, set()):
            seen[key].add(norm(s))
            stages.append(s.strip())
    fs = profile.derive_status.from_stage if profile.derive_status else None
    for key, stages in out.items():
        body = [s for s in stages if norm(s) not in terminal]
        ends: list[str] = []
        if fs is not None:
            # the closed stages exist in every pipeline of such a CRM: list
            # them even when no deal of this pipeline is closed that way yet
            for names in (fs.won, fs.lost):
                seen_names = [s for s in stages if norm(s) in {norm(n) for n in names}]
                ends += seen_names or names[:1]
        out[key] = body + ends
    return out


def _yaml_scalar(text: str) -> str:
    """A flow-YAML-safe spelling of a name (quoted only when needed)."""
    if not text or any(c in text for c in ":,[]{}#&*!|>'\"%@`") or text != text.strip() or text.lower() in ("yes", "no", "true", "false", "null", "on", "off"):
        return json.dumps(text, ensure_ascii=False)
    return text


def settings_from_export(export_dir: str | Path, crm: str) -> dict:
    """Values for :func:`crm_audit.initfile.render_settings` read from an export:
    ``pipelines`` (YAML-safe names), the profile's example ``deal_url`` and the
    example ``trial_stages`` kept only where the export has such a stage."""
    from crm_audit.initfile import EXAMPLE
    from crm_audit.engine.profile import load_profile
    from crm_audit.textnorm import norm

    pipelines = pipelines_from_export(export_dir, crm)
    if not pipelines:
        raise InputError(problems=[Problem("no deal has a stage; list the pipelines in crm-audit.yaml by hand", file=str(export_dir), reason="no-stages")])
    found = {norm(s) for stages in pipelines.values() for s in stages}
    out = {
        "pipelines": {_yaml_scalar(p): [_yaml_scalar(s) for s in stages] for p, stages in pipelines.items()},
        "trial_stages": [_yaml_scalar(s) for s in EXAMPLE["trial_stages"] if norm(s) in found],
    }
    url = load_profile(crm).deal_url
    if url:
        out["deal_url"] = url
    return out


def write_settings_from_export(directory: str | Path, crm: str, export_dir: str | Path, force: bool = False) -> Path:
    """``crm-audit init --crm NAME --from-export DIR``: write crm-audit.yaml
    with the pipelines and stages found in the export."""
    from crm_audit.initfile import render_settings
    from crm_audit.settings import SETTINGS_FILE

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / SETTINGS_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; edit it, or pass --force to overwrite it")
    text = render_settings(crm, **settings_from_export(export_dir, crm))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
