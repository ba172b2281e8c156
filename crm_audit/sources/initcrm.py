"""``crm-audit init --crm X --from-crm``: settings written from the live CRM.

One full sync (into the cache next to the new settings, so the first audit is
already incremental) gives the facts: pipelines with their stages in the CRM's
own order (never guessed), users with their active flag, the team's custom
fields (Pipedrive dealFields, amoCRM custom_fields). The snapshot is then read
like an export by :mod:`crm_audit.exportdraft` (issue 13's drafting): the
custom fields mapped to the fields the rules use (``fields:``), the rules no
data feeds switched off with a comment (``rules: skip:``). The ``crm_api:``
block says where the token is (never the token itself).
"""

from __future__ import annotations

import json
from pathlib import Path

from crm_audit.errors import UsageError
from crm_audit.i18n import _


def _api_block(api, crm: str) -> str:
    from crm_audit.sources.config import CrmApiSettings

    lines = ["", "# API CRM (crm-audit sync / run --from-crm). Токена здесь НЕТ: он читается из переменной",
             "# окружения или из файла ниже (держите файл вне папки проекта).", "crm_api:"]
    defaults = CrmApiSettings()
    for key in ("token_env", "token_file", "auth", "domain", "base_url", "timezone", "client_id", "username", "private_key_file",
                "private_key_env", "login_url"):
        v = getattr(api, key)
        jwt = crm == "salesforce" and api.auth not in ("token", "oauth2")  # the secret is a private key, not a token
        if key == "token_env" and v is None and not jwt:
            v = api.token_env_for(crm)
        if key == "private_key_env" and v is None and jwt and not (api.private_key_file or api.token_file):
            v = "SALESFORCE_PRIVATE_KEY"
        if v is not None and v != getattr(defaults, key) or key == "token_env" and v is not None:
            lines.append(f"  {key}: {json.dumps(v, ensure_ascii=False)}")
    lines += ["  overlap_minutes: 10        # каждая синхронизация заново читает столько минут до места, где остановилась прошлая",
              "  id_check_days: 7           # объекты без фильтра удалённых: раз в столько дней перечитываются все идентификаторы",
              "  keep_snapshots: 12         # сколько снимков хранить, кроме прочитанных аудитом (те хранятся всегда)"]
    return "\n".join(lines) + "\n"


def _facts_block(values) -> str:
    lines = ["", "# Прочитано из CRM командой `init --from-crm` (для справки; это не настройки):", "# пользователи:"]
    for name, active in values.users:
        lines.append(f"#   - {name}" + ("" if active else "   (отключён)"))
    if values.custom_fields:
        lines.append("# свои поля (правило читает их как deal.<имя>, org.<имя>, person.<имя>):")
        for f in values.custom_fields:
            opts = f" — {', '.join(o for o in f.options[:8] if o)}" if f.options else ""
            lines.append(f"#   - {f.entity}: «{f.name}» ({f.type}){opts}")
    return "\n".join(lines) + "\n"


def settings_text_from_crm(directory: Path, crm: str, api, *, progress=None, **conn_kw) -> str:
    """The crm-audit.yaml text for the live CRM (syncing it fully into ``directory``'s cache on the way)."""
    from crm_audit import settings as settings_mod
    from crm_audit.initfile import EXAMPLE, render_settings
    from crm_audit.sources import connector_for
    from crm_audit.sources.cache import SyncCache, cache_path, snapshots_dir
    from crm_audit.sources.snapshot import SyncedSource
    from crm_audit.sources.incremental import run_sync
    from crm_audit.textnorm import norm

    stub = settings_mod.from_dict({"crm": crm, "pipelines": {"-": ["-"]}, "crm_api": api.model_dump()}, base_dir=directory)
    connector = connector_for(stub, **conn_kw)
    path = cache_path(directory / settings_mod.LEDGER_FILE)
    try:
        with SyncCache(path) as cache:
            result = run_sync(connector, cache, full=True, snapshots=snapshots_dir(path), progress=progress)
            values = connector.init_values(cache)
    finally:
        connector.core.close()
    if not values.pipelines:
        raise UsageError(_("{crm}: the account has no pipelines; create them in the CRM first").format(crm=crm))
    source = SyncedSource.open(result.snapshot)
    found = {norm(s) for stages in values.pipelines.values() for s in stages}
    active = {norm(n) for n, a in values.users if a}
    try:
        from crm_audit import exportdraft as xd
    except ImportError:  # issue 13's drafting not installed: pipelines and lists only
        xd = None
    if xd is None:
        text = render_settings(crm, pipelines=values.pipelines, deal_url=values.deal_url,
                               trial_stages=[s for s in EXAMPLE["trial_stages"] if norm(s) in found])
    else:
        draft = xd.Draft(crm=crm, deal_url=values.deal_url)
        draft.pipelines = [xd.PipelineDraft(name, stages, "порядок этапов из CRM", False) for name, stages in values.pipelines.items()]
        draft.trial_stages = [s for s in EXAMPLE["trial_stages"] if norm(s) in found]
        draft.lost_reasons = values.lost_reasons
        draft.frozen_lost_reasons = [r for r in EXAMPLE["frozen_lost_reasons"] if norm(r) in {norm(x) for x in values.lost_reasons}]
        draft.partner_managers = [m for m in EXAMPLE["partner_managers"] if norm(m) in active]
        profile = source.profile
        export = source.load_export("warn", None, profile)
        try:
            draft.apply(xd.rules_that_cannot_run(draft, export, profile))  # custom fields -> `fields:`, rules without data -> `rules: skip:`
        finally:
            export.close()
            export.con.close()
        text = render_settings(crm, **xd.template_values(draft))
    return text + _api_block(api, crm) + _facts_block(values)


def write_settings_from_crm(directory: Path, crm: str, force: bool = False, *, domain: str | None = None, token_env: str | None = None,
                            token_file: str | None = None, base_url: str | None = None, progress=None, api_options: dict | None = None,
                            **conn_kw) -> Path:
    """``api_options``: more ``crm_api:`` keys (Salesforce: client_id, username, private_key_file, login_url)."""
    from crm_audit.settings import SETTINGS_FILE
    from crm_audit.sources.config import CrmApiSettings

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SETTINGS_FILE
    if path.exists() and not force:
        raise UsageError(_("{path} already exists; edit it, or pass --force to overwrite it").format(path=path))
    api = CrmApiSettings(domain=domain, token_env=token_env, token_file=str(Path(token_file).expanduser().resolve()) if token_file else None,
                         base_url=base_url, **(api_options or {}))
    text = settings_text_from_crm(directory, crm, api, progress=progress, **conn_kw)
    from crm_audit.initfile import write_text_atomically

    write_text_atomically(path, text)
    return path
