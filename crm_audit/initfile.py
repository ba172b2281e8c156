"""``crm-audit init``: render the commented settings template."""

from __future__ import annotations

from pathlib import Path

from crm_audit.errors import UsageError
from crm_audit.settings import SETTINGS_FILE

EXAMPLE = {
    "deal_url": "https://example.pipedrive.com/deal/{id}",
    "pipelines": {
        "Клиенты": ["Принял в работу", "Квалификация", "Проведено демо", "Отправлено КП",
                    "Тестовый период", "Согласование договора", "Выставлен счет"],
        "Партнеры": ["Принял в работу", "Знакомство", "Проведено демо", "Отправлено КП", "Подписание договора"],
        "Повторные продажи": ["Принял в работу", "Отправлено КП", "Выставлен счет"],
    },
    "frozen_lost_reasons": ["Сайт в разработке", "Несезон", "Смена маркетолога", "Согласование бюджета"],
    "partner_managers": ["Ольга Партнерова"],
    "trial_stages": ["Тестовый период"],
}


def render_settings(crm: str = "pipedrive", **overrides) -> str:
    import jinja2

    from crm_audit.engine.profile import available
    from crm_audit.resources import templates_dir

    if crm not in available():
        raise UsageError(f"unknown CRM «{crm}»; available: {', '.join(available())}")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), keep_trailing_newline=True)
    values = {**EXAMPLE, **overrides, "crm": crm, "profiles": ", ".join(available()), "filename": SETTINGS_FILE}
    if "deal_url_example" not in values:  # a link to an example account: the file says so (and how to set it)
        from crm_audit.engine.profile import load_profile

        values["deal_url_example"] = load_profile(crm).deal_url_example(values["deal_url"])
    return env.get_template("crm-audit.yaml.j2").render(**values)


def write_settings(directory: Path, crm: str = "pipedrive", force: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SETTINGS_FILE
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; edit it, or pass --force to overwrite it")
    write_text_atomically(path, render_settings(crm))
    return path


def write_text_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file beside it: a crash leaves the previous file whole (every
    settings file a command writes)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
