"""Company settings (``crm-audit.yaml``): load, validate with file:line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm_audit import yamlsrc
from crm_audit.errors import Problem, SettingsError
from crm_audit.i18n import N_, _
from crm_audit.yamlsrc import MsgError
from crm_audit.sources.config import CrmApiSettings
from crm_audit.warehouse.config import EngineSettings
from crm_audit.textnorm import norm

#: The audit history database next to the settings file unless `ledger:` says otherwise.
LEDGER_FILE = "crm-audit.db"

SETTINGS_FILE = "crm-audit.yaml"

#: the entities a rule's field reference names (deal.X, org.X, person.X, tasks.X)
RULE_ENTITIES = ("deal", "org", "person", "tasks")


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bundled: bool = True  # load rules/critical_1.yaml and rules/critical_2.yaml
    files: list[str] = Field(default_factory=list)  # the company's own rule files
    disable: list[str] = Field(default_factory=list)  # rule ids to switch off
    # rule id -> why it is off (this export lacks what it reads): the rule is
    # reported as skipped with the reason (terminal, its sheet, FAQ), never run
    skip: dict[str, str] = Field(default_factory=dict)


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    xlsx: str | None = None
    violations_csv: str | None = None
    due_days: int = Field(3, ge=0, le=60)


# ---- notify: digests by e-mail and Telegram (crm_audit/notify; `crm-audit notify`, `run --notify`)

class SmtpConfig(BaseModel):
    """The outgoing mail server. The password is never in this file: it is read from the environment variable ``password_env``."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int | None = Field(None, ge=1, le=65535)  # default: 587 (starttls), 465 (ssl), 25 (none)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None  # log in when set (password from ``password_env``)
    password_env: str = "CRM_AUDIT_SMTP_PASSWORD"
    sender: str  # From:, e.g. "CRM-аудит <audit@example.com>"
    ca_file: str | None = None  # a company CA to trust (PEM), besides the system's
    timeout: float = Field(30, gt=0, le=600)

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class TelegramConfig(BaseModel):
    """The Telegram bot: its token is read from the environment variable ``token_env`` (never from this file)."""

    model_config = ConfigDict(extra="forbid")
    token_env: str = "CRM_AUDIT_TELEGRAM_TOKEN"
    api_url: str = "https://api.telegram.org"
    timeout: float = Field(30, gt=0, le=600)


class Recipient(BaseModel):
    """Where one person gets the digest: an e-mail address and/or a Telegram chat id."""

    model_config = ConfigDict(extra="forbid")
    email: list[str] = Field(default_factory=list)
    telegram: list[str] = Field(default_factory=list)

    @field_validator("email", "telegram", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        """One value or a list; Telegram chat ids may be written as numbers (``-1001234567890``)."""
        if v is None:
            return []
        v = [v] if isinstance(v, (str, int)) else v
        return [str(x) if isinstance(x, int) else x for x in v] if isinstance(v, list) else v

    @field_validator("email")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        from email.utils import parseaddr

        for a in v:
            addr = parseaddr(a)[1]
            if not addr or "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
                raise MsgError(N_("«{address}» is not an e-mail address (expected name@company.com)"), address=a)
        return v

    @field_validator("telegram")
    @classmethod
    def _chats(cls, v: list[str]) -> list[str]:
        """A chat id is a number (a person's, a group's negative -100…) or a public channel's @name."""
        import re

        out = []
        for chat in v:
            text = str(chat).strip()
            if not re.fullmatch(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}", text):
                raise MsgError(N_("«{chat}» is not a Telegram chat id (expected a number such as 123456789, a group's "
                                  "negative id such as -1001234567890, or a channel's @name)"), chat=chat)
            out.append(text)
        return out


def _recipient(v: Any) -> Any:
    """``Иван Петров: ivan@example.com`` is short for ``{email: ivan@example.com}``."""
    return {"email": v} if isinstance(v, str) else v


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smtp: SmtpConfig | None = None
    telegram: TelegramConfig | None = None
    head: Recipient = Field(default_factory=Recipient)  # the head of sales: the team summary
    managers: dict[str, Recipient] = Field(default_factory=dict)  # CRM owner name (as exported) -> where their to-do goes
    # a manager of the audits with nothing open gets nothing (the default: no noise), or with true a short «нарушений
    # нет» (what changed since the last audit, what the head accepted)
    all_clear: bool = False

    @field_validator("head", mode="before")
    @classmethod
    def _head(cls, v: Any) -> Any:
        return _recipient(v)

    @field_validator("managers", mode="before")
    @classmethod
    def _managers(cls, v: Any) -> Any:
        return {k: _recipient(x) for k, x in v.items()} if isinstance(v, dict) else v


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    crm: str = "pipedrive"
    deal_url: str = ""
    pipelines: dict[str, list[str]]
    frozen_lost_reasons: list[str] = Field(default_factory=list)
    partner_managers: list[str] = Field(default_factory=list)
    trial_stages: list[str] = Field(default_factory=list)
    lists: dict[str, list[str]] = Field(default_factory=dict)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    on_bad_value: Literal["error", "warn"] = "error"
    # how a date such as 10/01/2026 reads: auto (from the export's values — a day above 12, a 12-hour
    # clock «am/pm» — else the CRM's usual order, with a note), dmy (day first) or mdy (month first)
    date_order: Literal["auto", "dmy", "mdy"] = "auto"
    # how an amount such as 15.000 or 1,500 reads: auto (cells with decimals — 1.234,56, 15,5, 1,234.56 — decide,
    # else the decimal mark of the export's interface language, with a note), "," (15.000 = 15000) or "." (15.000 = 15)
    decimal_mark: Literal["auto", ",", "."] = "auto"
    google_sheet: str | None = None  # spreadsheet URL or key to publish to
    google_credentials: str | None = None  # service-account JSON key (else GOOGLE_APPLICATION_CREDENTIALS, else OAuth)
    ledger: str | None = None  # the audit history database; default crm-audit.db next to this file
    # reading the CRM through its API (`crm-audit sync`, `run --from-crm`): crm_audit/sources/config.py
    crm_api: CrmApiSettings | None = None
    notify: NotifyConfig | None = None  # digests by e-mail / Telegram (`crm-audit notify`)
    # audit the CRM where a connector replicated it (`run --engine URL`): crm_audit/warehouse/config.py
    engine: EngineSettings | None = None
    # the CLI's messages, errors and summaries: ru | en (default: the locale; Russian without one). What managers and
    # the head of sales receive is Russian either way (crm_audit/i18n)
    language: Literal["ru", "en"] | None = None
    # this export's own headers for the profile's canonical fields, per entity
    # (deals / organizations / persons / activities): {deals: {stage: Fase}}
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    # written by `init` when it could not read the export (a required column it could not find): why; `validate` and
    # `run` stop on it until `init --from-export … --force` writes the settings whole (the line goes with it)
    unfinished: str = ""
    # a field the rules name -> this team's column: {deal.Источник сделки: Origem}
    fields: dict[str, str] = Field(default_factory=dict)
    # a stage / pipeline the rules name -> this team's own: {Отправлено КП: Proposta enviada}
    stage_names: dict[str, str] = Field(default_factory=dict)
    pipeline_names: dict[str, str] = Field(default_factory=dict)
    # whose stage order in `pipelines` the team confirmed: true (every pipeline), false (none: init guessed it), or the
    # pipelines confirmed, by name ([Sales, Partners]: the others' order is a guess) — `validate` and `run` warn of
    # every pipeline not confirmed whose order can matter (stage_guess.unconfirmed_pipelines)
    stage_order_confirmed: bool | list[str] = True
    # closed stages whose outcome the export does not tell (a renamed won stage «Оплачено», a custom failure stage
    # «Отказ клиента»: the CRM's closed flag or close date says closed, the name is none of the CRM's won / lost
    # stages): won_stages: are won, lost_stages: lost, in every pipeline. `init --from-export` writes the closed
    # stages it saw under lost_stages: with closed_stages_confirmed: false — `validate` and `run` name them until it is
    # true, or names them ([Оплачено, Отказ клиента]: the stages whose list the team checked; init --force writes the
    # team's confirmed ones so when a new closed stage appears); a closed deal in a stage neither names is audited as
    # lost, with a warning naming the stage
    won_stages: list[str] = Field(default_factory=list)
    lost_stages: list[str] = Field(default_factory=list)
    closed_stages_confirmed: bool | list[str] = True
    # an API-shaped dump's stage / pipeline ids -> their names ({C2:NEW: Новая заявка, "142": Успешно реализовано});
    # they win over a dumped stage list (stages.csv) and the profile's own names
    stage_ids: dict[str, str] = Field(default_factory=dict)
    pipeline_ids: dict[str, str] = Field(default_factory=dict)
    # an API dump's owner (user) ids -> names ({"12345": Анна Петрова}): deal, organization and person owners alike;
    # they win over a dumped users list (users.csv)
    owner_ids: dict[str, str] = Field(default_factory=dict)
    # this export's own cell texts for the values of the profile's fields with a set of values (enum / yes-no), per
    # entity and field — an interface language the profile does not know: {deals: {status: {진행 중: open, 성사: won,
    # 실패: lost}}, activities: {done: {완료: true, 미완료: false}}}; `yes_no:` the words of a yes/no field a rule reads
    # ({예: yes, 아니요: no}). They win over the profile's own values (crm_audit/engine/profile.py with_values);
    # :func:`read_values` checks them against the profile (at their lines)
    values: dict[str, Any] = Field(default_factory=dict)
    # false while `values:` is init's inference from the export's own data (or lists commented out the values it could
    # not tell): `validate` and `run` warn until it is set to true
    values_confirmed: bool = True

    # where the settings came from (not part of the YAML)
    file: str | None = Field(default=None, exclude=True)
    base_dir: Path | None = Field(default=None, exclude=True)
    marks: dict[Any, Any] = Field(default_factory=dict, exclude=True, repr=False)
    # pipelines: keys / stages that were ids `pipeline_ids:` / `stage_ids:` name (read as the names; validate warns)
    ids_in_pipelines: list[tuple[str, str, str]] = Field(default_factory=list, exclude=True, repr=False)

    @model_validator(mode="after")
    def _pipelines_by_id(self) -> "Settings":
        """`pipelines:` written by init for an API dump is keyed by ids («"1": ["1", "3", "2"]»); once the user names
        the ids in `pipeline_ids:` / `stage_ids:`, the deals carry the names: read pipelines: through the same names."""
        if not (self.stage_ids or self.pipeline_ids) or self.ids_in_pipelines:
            return self
        found: list[tuple[str, str, str]] = []
        out: dict[str, list[str]] = {}
        for key, stages in self.pipelines.items():
            name = self.pipeline_ids.get(str(key).strip())
            if name is not None and norm(name) != norm(key):
                found.append(("pipeline", str(key), name))
            renamed = []
            for st in stages:
                sname = self.stage_ids.get(str(st).strip())
                if sname is not None and norm(sname) != norm(st):
                    found.append(("stage", str(st), sname))
                renamed.append(sname if sname is not None else st)
            out[name if name is not None else key] = renamed
        if found:
            self.pipelines = out
            self.ids_in_pipelines = found
        return self

    @field_validator("crm")
    @classmethod
    def _crm(cls, v: str) -> str:
        """A profile's alias («HubSpot», «Kommo», «Битрикс24») read as its name; an unknown name stays for `validate`
        to report at its line with «did you mean …» (crm_audit/engine/profile.py)."""
        from crm_audit.engine.profile import canonical_name

        return canonical_name(v)

    @field_validator("deal_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and "{id}" not in v:
            raise MsgError(N_("deal_url must contain {{id}}, e.g. https://company.pipedrive.com/deal/{{id}}"))
        return v

    @field_validator("columns", "values", mode="before")
    @classmethod
    def _blank_entities(cls, v: Any) -> Any:
        """`columns:` / `values:` written with nothing under them, or an entity whose every line is commented out
        (what a user does to a line not wanted yet), read as empty instead of «null is not a mapping»."""
        if v is None:
            return {}
        if isinstance(v, dict):
            return {k: ({} if x is None else x) for k, x in v.items()}
        return v

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for ent, fields in v.items():  # an unknown entity is said with the block's other problems (columns_problems)
            by_header: dict[str, list[str]] = {}
            for name, header in (fields or {}).items():
                if not isinstance(header, str) or not header.strip():
                    raise MsgError(N_("columns.{entity}.{name}: give the export's header as text"), entity=ent, name=name)
                by_header.setdefault(" ".join(header.casefold().split()), []).append(name)
            for names in by_header.values():
                if len(names) > 1:  # a yes/no column read as «closed», «won» and «lost» at once turns a won deal lost
                    raise MsgError(N_("columns.{entity}: «{header}» is given for {names}; a column feeds one field — "
                                      "keep it under the one field it is and remove it from the others"),
                                   entity=ent, header=fields[names[0]], names=", ".join(names))
        return v

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, str]) -> dict[str, str]:
        for ref, column in v.items():
            if not isinstance(column, str) or not column.strip():
                raise MsgError(N_("fields: «{ref}» needs this export's column name, e.g. «{ref}: Origem»"), ref=ref)
        return v

    @field_validator("stage_ids", "pipeline_ids", "owner_ids", mode="before")
    @classmethod
    def _ids(cls, v: Any, info) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for key, name in v.items():  # YAML reads a bare id 142 as a number: the id is its text
            if not isinstance(name, (str, int)) or not str(name).strip():
                raise MsgError(N_("{key}: the id «{id}» needs the name it stands for, e.g. «{id}: <name>»"), key=info.field_name, id=key)
            out[str(key).strip()] = str(name).strip()
        return out

    @field_validator("pipelines")
    @classmethod
    def _pipelines(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        # `pipelines: {}` is what init writes for an export without a stage column (the rules reading the stage are
        # under rules: skip:); a rule still comparing stages names its unknown stage in validate
        for name, stages in v.items():
            if not stages:
                raise MsgError(N_("pipeline «{name}» has no stages"), name=name)
            seen: set[str] = set()
            for s in stages:
                if norm(s) in seen:
                    raise MsgError(N_("stage «{stage}» is listed twice in pipeline «{name}»"), stage=s, name=name)
                seen.add(norm(s))
        return v

    # ---- helpers used by the plan
    def setting_list(self, name: str) -> list[str] | None:
        if name in ("frozen_lost_reasons", "partner_managers", "trial_stages"):
            return list(getattr(self, name))
        if name in self.lists:
            return list(self.lists[name])
        if name.startswith("lists.") and name[6:] in self.lists:
            return list(self.lists[name[6:]])
        return None

    def closed_unconfirmed(self) -> list[str]:
        """The stages of `won_stages:` / `lost_stages:` the team has not confirmed (`closed_stages_confirmed:` false: all
        of them; a list: those it does not name)."""
        closed = [*self.won_stages, *self.lost_stages]
        if isinstance(self.closed_stages_confirmed, bool):
            return [] if self.closed_stages_confirmed else closed
        confirmed = {norm(x) for x in self.closed_stages_confirmed}
        return [x for x in closed if norm(x) not in confirmed]

    def order_confirmed(self, pipeline: str) -> bool:
        """Whether the team confirmed the stage order of ``pipeline`` (`stage_order_confirmed:` true, or naming it)."""
        if isinstance(self.stage_order_confirmed, bool):
            return self.stage_order_confirmed
        return norm(pipeline) in {norm(p) for p in self.stage_order_confirmed}

    def pipeline_key(self, name: str) -> str | None:
        n = norm(name)
        for p in self.pipelines:
            if norm(p) == n:
                return p
        return None

    def stage_positions(self, stage: str) -> dict[str, int]:
        """norm(pipeline) -> 0-based position of ``stage`` in that pipeline."""
        n = norm(stage)
        out = {}
        for p, stages in self.pipelines.items():
            for i, s in enumerate(stages):
                if norm(s) == n:
                    out[norm(p)] = i
        return out

    def rule_field(self, ref: str) -> str:
        """A field reference of a rule (``deal.Источник сделки``) as this team's export names it (`fields:`).

        A key is ``ENTITY.NAME`` or just ``NAME`` (that name in any entity); the
        value is the column's name as exported (without the entity prefix such
        as «Negócio - »)."""
        ent, _, name = ref.partition(".")
        for key, column in self.fields.items():
            k_ent, dot, k_name = key.partition(".")
            same = norm(k_name) == norm(name) and norm(k_ent) == norm(ent) if dot and k_ent.strip() in RULE_ENTITIES else norm(key) == norm(name)
            if same:
                return f"{ent}.{column.strip()}"
        return ref

    def stage_name(self, stage: str) -> str:
        """A stage a rule names, as this team calls it (`stage_names:`)."""
        return next((v for k, v in self.stage_names.items() if norm(k) == norm(stage)), stage)

    def pipeline_name(self, pipeline: str) -> str:
        """A pipeline a rule names, as this team calls it (`pipeline_names:`)."""
        return next((v for k, v in self.pipeline_names.items() if norm(k) == norm(pipeline)), pipeline)

    def where(self, *path: Any) -> tuple[int | None, int | None]:
        p = tuple(path)
        while p and p not in self.marks:
            p = p[:-1]
        return self.marks.get(p, (None, None))

    def problem(self, path: tuple, message: str, reason: str = "invalid", params: dict[str, Any] | None = None) -> Problem:
        """A problem at ``path`` of the settings file: ``message`` is the msgid (marked with ``N_``) that ``params``
        fill in (a finished text when ``params`` is None)."""
        line, col = self.where(*path)
        if params is not None:
            return Problem(template=message, params=params, file=self.file, line=line, col=col, reason=reason)
        return Problem(message, file=self.file, line=line, col=col, reason=reason)

    def ledger_path(self) -> Path:
        return self.resolve(self.ledger) if self.ledger else (self.base_dir or Path.cwd()) / LEDGER_FILE

    def resolve(self, rel: str) -> Path:
        p = Path(rel).expanduser()
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        return p


def _semantic_problems(s: Settings) -> list[Problem]:
    out = []
    all_stages = {norm(x) for stages in s.pipelines.values() for x in stages}
    for i, st in enumerate(s.trial_stages):
        if norm(st) not in all_stages:
            from crm_audit.rules.ruleset import did_you_mean

            hint = did_you_mean(st, [x for stages in s.pipelines.values() for x in stages])
            out.append(s.problem(("trial_stages", i), N_("trial stage «{stage}» is not a stage of any pipeline{hint}"),
                                 "unknown-stage", {"stage": st, "hint": hint}))
    won = {norm(x) for x in s.won_stages}
    for i, st in enumerate(s.lost_stages):  # a closed stage is won or lost, not both
        if norm(st) in won:
            out.append(s.problem(("lost_stages", i), N_("stage «{stage}» is in both won_stages: and lost_stages:; keep it in the one "
                                                        "it is"), "closed-stage-twice", {"stage": st}))
    return out


def from_dict(data: dict[str, Any], file: str | None = None, base_dir: Path | None = None) -> Settings:
    """Build settings from a mapping (library use and tests)."""
    try:
        s = Settings.model_validate(data)
    except ValidationError as exc:
        doc = yamlsrc.YamlDoc(file or "<settings>", data)
        raise SettingsError(problems=yamlsrc.pydantic_problems(doc, exc, model=Settings)) from None
    s.file, s.base_dir = file, base_dir
    probs = _semantic_problems(s)
    if probs:
        raise SettingsError(problems=probs)
    return s


def collect(path: str | Path) -> tuple[Settings | None, list[Problem]]:
    """Load settings, returning every problem instead of raising."""
    p = Path(path)
    doc = yamlsrc.load(p)
    if doc.problems:
        if any(pr.reason == "not-found" for pr in doc.problems):
            first = doc.problems[0]
            first.template, first.params = N_("settings file not found; create one with `crm-audit init`"), {}
            first.message = first.text()
        return None, doc.problems
    if not isinstance(doc.data, dict):
        return None, [Problem(template=N_("the settings file must be a YAML mapping (key: value lines)"), file=str(p), line=1,
                             reason="structure")]
    problems: list[Problem] = []
    crm = _crm_problem(doc)  # said beside every other problem of the file, and by `run` at its line as well
    try:
        s = Settings.model_validate(doc.data)
    except ValidationError as exc:
        problems = yamlsrc.pydantic_problems(doc, exc, model=Settings)
        # keep going without the bad keys so rule files can still be checked
        bad = {e["loc"][0] for e in exc.errors() if e.get("loc")}
        try:
            s = Settings.model_validate({k: v for k, v in doc.data.items() if k not in bad})
        except ValidationError:
            return None, problems + ([crm] if crm is not None and "crm" not in bad else [])
    s.file, s.base_dir, s.marks = str(p), p.resolve().parent, doc.marks
    return s, problems + ([crm] if crm is not None else []) + _semantic_problems(s)


def _crm_problem(doc: yamlsrc.YamlDoc) -> Problem | None:
    """`crm:` naming no profile (a bundled one's name or alias, or a profile file): «unknown CRM profile … (did you
    mean …)» at the value's line:column. Found as the file loads, so `run` says where as `validate` does, and
    `validate` says it beside the file's other problems (a missing `pipelines:` too); nothing is read but names."""
    crm = doc.data.get("crm") if isinstance(doc.data, dict) else None
    if not isinstance(crm, str) or not crm.strip():
        return None  # not a text: the model says what it must be
    from crm_audit.engine.profile import profile_path, unknown_profile

    if profile_path(crm) is not None:
        return None
    p = unknown_profile(crm)
    p.file = doc.file
    p.line, p.col = doc.value_where(("crm",))
    return p


def load(path: str | Path) -> Settings:
    s, problems = collect(path)
    errors = [p for p in problems if p.severity == "error"]
    if errors or s is None:
        raise SettingsError(problems=errors or problems)
    return s


#: the warning while `closed_stages_confirmed: false` (init wrote the closed stages it could not tell won or lost)
CLOSED_STAGES_GUESSED = N_("the closed stages {stages} are not confirmed (`closed_stages_confirmed: false`): the export does not "
                           "say whether a deal closed in them is won or lost: deals in won_stages: ({won}) are audited as won, "
                           "in lost_stages: ({lost}) as lost; move each to the list it belongs to, then set "
                           "`closed_stages_confirmed: true`")


#: … of some of them (`closed_stages_confirmed:` names the others)
CLOSED_STAGES_GUESSED_SOME = N_("the closed stages {stages} are not confirmed (`closed_stages_confirmed:` does not name them): "
                                "the export does not say whether a deal closed in them is won or lost: deals in won_stages: "
                                "({won}) are audited as won, in lost_stages: ({lost}) as lost; move each to the list it belongs "
                                "to, then add it to `closed_stages_confirmed:` (or set it to true)")


def closed_stages_message(s: Settings) -> tuple[str, dict[str, str]]:
    """The warning while closed stages are not confirmed (msgid, params); the stages it names: those not confirmed."""
    quote = lambda names: ", ".join(f"«{n}»" for n in names) or "—"  # noqa: E731
    template = CLOSED_STAGES_GUESSED if isinstance(s.closed_stages_confirmed, bool) else CLOSED_STAGES_GUESSED_SOME
    return template, {"stages": quote(s.closed_unconfirmed()), "won": quote(s.won_stages), "lost": quote(s.lost_stages)}


# ---- `values:`: the export's own words for the values of a field with a set of values

#: the entities `values:` may name (the profile's), and its key for the words of a yes/no field a rule reads
VALUE_ENTITIES = ("deals", "organizations", "persons", "activities")
YES_NO_KEY = "yes_no"
#: how a yes/no field's value may be written under `values:` (YAML reads an unquoted yes / no / true / false as a
#: boolean: taken as that value)
_BOOL_WORDS = {"true": "true", "false": "false", "yes": "true", "no": "false"}

#: the warning while `values_confirmed: false` (init inferred `values:` from the export's own data)
VALUES_GUESSED = N_("`values:` was written by `init` from the export's own data ({pairs}): check what each cell text means "
                    "(and fill in any left commented out), then set `values_confirmed: true`")
#: … and while it is false with no value inferred (init listed the values commented out, it could not tell them)
VALUES_TO_FILL = N_("`values:` lists commented out the values init could not tell of a field with a set of values (the "
                    "status, a task's done): write what each cell text means, then set `values_confirmed: true` — until "
                    "then the rows holding them are read as blank")


@dataclass
class SettingsValues:
    """The settings' `values:` read against a CRM profile (:func:`read_values`)."""

    fields: dict[tuple[str, str], dict[str, str]] = dc_field(default_factory=dict)  # (entity, field) -> {cell text: value}
    yes_no: dict[str, str] = dc_field(default_factory=dict)  # word -> "yes" / "no"
    problems: list[Problem] = dc_field(default_factory=list)


def _meaning_text(v: Any) -> str | None:
    """A value under `values:` as text: YAML's true / false (an unquoted yes / no too) as «true» / «false»."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)) and str(v).strip():
        return str(v).strip()
    return None


def read_values(s: "Settings", profile=None) -> SettingsValues:
    """The settings' `values:` — (entity, field) -> {cell text: the field's value}, the yes/no words — and every
    problem with them at its line: an unknown entity or field, a field without a set of values, a value the field does
    not have (the ones it has listed), a cell text given twice. Without ``profile`` only the shape is checked."""
    from crm_audit.rules.ruleset import did_you_mean

    out = SettingsValues()
    crm = (profile.title or profile.name) if profile is not None else s.crm
    for ent, fields in (s.values or {}).items():
        if ent == YES_NO_KEY:
            _read_yes_no(s, fields, out)
            continue
        if ent not in VALUE_ENTITIES:
            out.problems.append(s.problem(("values", ent), N_("unknown entity «{entity}» under values; use one of: {known}"),
                                          "unknown-entity", {"entity": ent, "known": ", ".join((*VALUE_ENTITIES, YES_NO_KEY))}))
            continue
        if not isinstance(fields, dict):
            out.problems.append(s.problem(("values", ent), N_("values: {entity}: expected its fields, each with «cell text: "
                                                              "value» lines under it, e.g. {example}"), "values-shape",
                                          {"entity": ent, "example": "values: {deals: {status: {Aperta: open}}}"}))
            continue
        spec = profile.entities.get(ent) if profile is not None else None
        if profile is not None and spec is None and fields:
            out.problems.append(s.problem(("values", ent), N_("the {crm} profile reads no {entity} file"), "unknown-entity",
                                          {"crm": crm, "entity": ent}))
            continue
        for fname, pairs in fields.items():
            path = ("values", ent, fname)
            fs = spec.fields.get(str(fname)) if spec is not None else None
            if spec is not None:
                with_values = [n for n, f in spec.fields.items() if f.type in ("enum", "bool") and f.values]
                if fs is None:
                    out.problems.append(s.problem(path, N_("«{name}» is not a field of {entity}{hint}; fields with a set of "
                                                           "values: {known}"), "unknown-field",
                                                  {"name": fname, "entity": ent, "hint": did_you_mean(str(fname), with_values),
                                                   "known": ", ".join(with_values) or "—"}))
                    continue
                if (fs.type not in ("enum", "bool") or not fs.values) and with_values:
                    out.problems.append(s.problem(path, N_("«{name}» of {entity} has no set of values (its cells are read as "
                                                           "{type}): values: maps the cells of {known}"), "values-not-enum",
                                                  {"name": fname, "entity": ent, "type": fs.type,
                                                   "known": ", ".join(with_values)}))
                    continue
                if fs.type not in ("enum", "bool") or not fs.values:
                    out.problems.append(s.problem(path, N_("«{name}» of {entity} has no set of values (its cells are read as "
                                                           "{type}), nor has any field of {entity} in the {crm} profile"),
                                                  "values-not-enum", {"name": fname, "entity": ent, "type": fs.type, "crm": crm}))
                    continue
            if pairs is None:  # every line under it commented out (init's texts left to fill in)
                continue
            if not isinstance(pairs, dict):
                out.problems.append(s.problem(path, N_("values: {entity}: {field}: expected «cell text: value» lines, e.g. "
                                                       "{example}"), "values-shape",
                                              {"entity": ent, "field": fname, "example": "{Aperta: open, Vinta: won}"}))
                continue
            _read_pairs(s, ent, str(fname), fs, pairs, out)
    return out


def _read_pairs(s: "Settings", ent: str, fname: str, fs, pairs: dict, out: SettingsValues) -> None:
    """One field's «cell text: value» lines into ``out`` (``fs``: the profile's field, None when not checked)."""
    allowed = list(fs.values) if fs is not None else None
    by_fold = {k.casefold(): k for k in allowed or []}
    if fs is not None and fs.type == "bool":
        by_fold.update({w: _BOOL_WORDS[w] for w in _BOOL_WORDS if _BOOL_WORDS[w] in fs.values})
    got = out.fields.setdefault((ent, fname), {})
    seen: dict[str, str] = {}
    for raw, meaning in pairs.items():
        path = ("values", ent, fname, raw)
        if isinstance(raw, bool) or raw is None or not str(raw).strip():
            out.problems.append(s.problem(("values", ent, fname), N_(
                "values: {entity}: {field}: a cell text written as yes, no, true, false, on, off or left empty must be in "
                "quotes, e.g. «\"Yes\": true» — unquoted, YAML reads it as true / false or as nothing, not as the text"),
                "values-unquoted", {"entity": ent, "field": fname}))
            continue
        text = str(raw).strip()
        value = _meaning_text(meaning)
        key = by_fold.get(value.casefold()) if value is not None and allowed is not None else value
        if key is None:
            from crm_audit.rules.ruleset import did_you_mean

            known = " | ".join(allowed or [])
            out.problems.append(s.problem(path, N_("values: {entity}: {field}: «{text}» is given as «{value}», which is not a "
                                                   "value of {field}{hint}; use one of: {known}"), "unknown-value",
                                          {"entity": ent, "field": fname, "text": text, "value": value if value is not None else "",
                                           "hint": did_you_mean(value or "", allowed or []), "known": known}))
            continue
        n = norm(text)
        if n in seen and seen[n] != key:
            out.problems.append(s.problem(path, N_("values: {entity}: {field}: «{text}» is given twice, as «{first}» and as "
                                                   "«{second}»; keep the one it is"), "value-twice",
                                          {"entity": ent, "field": fname, "text": text, "first": seen[n], "second": key}))
            continue
        seen[n] = key
        got[text] = key


def _read_yes_no(s: "Settings", words: Any, out: SettingsValues) -> None:
    """`values: {yes_no: {예: yes, 아니요: no}}` into ``out``."""
    if not isinstance(words, dict):
        out.problems.append(s.problem(("values", YES_NO_KEY), N_("values: yes_no: expected «word: yes» / «word: no» lines, "
                                                                 "e.g. {example}"), "values-shape",
                                      {"example": "{Sì: yes, No: no}"}))
        return
    seen: dict[str, str] = {}
    for raw, meaning in words.items():
        if isinstance(raw, bool) or raw is None or not str(raw).strip():
            out.problems.append(s.problem(("values", YES_NO_KEY), N_(
                "values: yes_no: a word written as yes, no, true, false, on, off or left empty must be in quotes, e.g. "
                "«\"Yes\": yes» — unquoted, YAML reads it as true / false or as nothing, not as the word"),
                "values-unquoted", {}))
            continue
        text, value = str(raw).strip(), _meaning_text(meaning)
        key = {"true": "yes", "false": "no", "yes": "yes", "no": "no"}.get((value or "").casefold())
        if key is None:
            out.problems.append(s.problem(("values", YES_NO_KEY, raw), N_("values: yes_no: «{text}» is given as «{value}»; "
                                                                         "use yes or no"), "unknown-value",
                                          {"text": text, "value": value or ""}))
            continue
        if seen.get(norm(text), key) != key:
            out.problems.append(s.problem(("values", YES_NO_KEY, raw), N_("values: yes_no: «{text}» is given both as yes "
                                                                          "and as no; keep the one it is"), "value-twice",
                                          {"text": text}))
            continue
        seen[norm(text)] = key
        out.yes_no[text] = key


def values_pairs(s: "Settings") -> str:
    """The settings' `values:` for a message: «deals.status: «진행 중» = open, «성사» = won; yes_no: «예» = yes»."""
    got = read_values(s)
    parts = [f"{ent}.{fld}: " + ", ".join(f"«{t}» = {v}" for t, v in pairs.items())
             for (ent, fld), pairs in got.fields.items() if pairs]
    if got.yes_no:
        parts.append(f"{YES_NO_KEY}: " + ", ".join(f"«{t}» = {v}" for t, v in got.yes_no.items()))
    return "; ".join(parts)


def values_warning(s: "Settings") -> tuple[str, dict[str, str]] | None:
    """The warning (msgid, values) while `values_confirmed: false`; None when confirmed."""
    if s.values_confirmed:
        return None
    pairs = values_pairs(s)
    return (VALUES_GUESSED, {"pairs": pairs}) if pairs else (VALUES_TO_FILL, {})


#: `deal_url:` still the profile's example (init writes it until told the account): every link in the report is dead
DEAL_URL_EXAMPLE = N_("deal_url «{url}» is an example («{example}» is not your account): the deal links in the report open no "
                      "deal — write your CRM's address in crm-audit.yaml (deal_url:, the address of any deal with its number "
                      "replaced by {{id}}) or run `crm-audit init --from-export DIR --domain ACCOUNT --force`, ACCOUNT being "
                      "what stands for «{example}» in your CRM's address")


def deal_url_example_of(crm: str, url: str) -> str | None:
    """The example part of ``url`` under the profile ``crm`` (see Profile.deal_url_example); None when it names an
    account or the profile is unknown."""
    from crm_audit.engine.profile import load_profile

    try:
        return load_profile(crm).deal_url_example(url)
    except SettingsError:
        return None


def deal_url_example_text(crm: str, url: str) -> str | None:
    """:data:`DEAL_URL_EXAMPLE` in the CLI's language, or None when ``url`` names the team's account."""
    example = deal_url_example_of(crm, url)
    return _(DEAL_URL_EXAMPLE).format(url=url, example=example) if example else None


#: settings `init` wrote without reading the export (`unfinished:`): `validate` and `run` stop on them
UNFINISHED = N_("this file is unfinished: init could not read the export ({why}). Do what the comments at its top say, then "
                "run `crm-audit init --from-export <export folder> --force`: it keeps your columns: and writes the rest")


def unfinished_problem(s: Settings) -> Problem | None:
    """The error of settings `init` left unfinished (their `unfinished:` line), None for finished ones."""
    return s.problem(("unfinished",), UNFINISHED, "unfinished-settings", {"why": s.unfinished}) if s.unfinished else None


#: `validate`'s warning while the stage order of every pipeline whose order matters is a guess
ORDER_GUESSED_ALL = N_("the order of the stages in `pipelines:` was guessed from the export: check it, then set "
                       "`stage_order_confirmed: true` (until then rules that compare stages may flag or miss deals)")
#: … of some pipelines (`stage_order_confirmed:` names the others)
ORDER_GUESSED_SOME = N_("the order of the stages of {pipelines} in `pipelines:` was guessed from the export: check it, "
                        "then add them to `stage_order_confirmed:` (or set it to true once every order is checked); until "
                        "then rules that compare stages may flag or miss those pipelines' deals")


def order_guessed_message(s: Settings) -> tuple[str, dict]:
    """The stage-order warning (msgid, params): every pipeline whose order matters unconfirmed, or the ones named."""
    from crm_audit.engine.stage_guess import ordered_pipelines, unconfirmed_pipelines

    guessed = unconfirmed_pipelines(s)
    if isinstance(s.stage_order_confirmed, bool) or guessed == ordered_pipelines(s):
        return ORDER_GUESSED_ALL, {}
    return ORDER_GUESSED_SOME, {"pipelines": ", ".join(f"«{p}»" for p in guessed)}


def _unknown_confirmed(s: Settings) -> list[Problem]:
    """A pipeline `stage_order_confirmed:` names that `pipelines:` lacks, a stage `closed_stages_confirmed:` names that
    neither `won_stages:` nor `lost_stages:` has (a typo): it confirms nothing."""
    from crm_audit.rules.ruleset import did_you_mean

    out = []
    for i, name in enumerate([] if isinstance(s.stage_order_confirmed, bool) else s.stage_order_confirmed):
        if s.pipeline_key(name) is None:
            p = s.problem(("stage_order_confirmed", i), N_("stage_order_confirmed: «{name}» is no pipeline of `pipelines:`{hint}: "
                                                           "it confirms nothing"), "unknown-pipeline",
                          {"name": name, "hint": did_you_mean(name, list(s.pipelines))})
            p.severity = "warning"
            out.append(p)
    if not isinstance(s.closed_stages_confirmed, bool):  # a closed stage confirmed that neither list names (a typo)
        closed = [*s.won_stages, *s.lost_stages]
        for i, name in enumerate(s.closed_stages_confirmed):
            if norm(name) not in {norm(x) for x in closed}:
                p = s.problem(("closed_stages_confirmed", i), N_("closed_stages_confirmed: «{name}» is in neither won_stages: "
                                                                 "nor lost_stages:{hint}: it confirms nothing"),
                              "unknown-stage", {"name": name, "hint": did_you_mean(name, closed)})
                p.severity = "warning"
                out.append(p)
    return out


#: the entities `columns:` may name (each an export file a profile reads)
COLUMN_ENTITIES = ("deals", "organizations", "persons", "activities")


def column_entity_problems(s: Settings) -> list[Problem]:
    """Each entity under `columns:` that is none of :data:`COLUMN_ENTITIES`, at its line with the closest one. Said
    beside the block's other problems (its fields, its headers), never instead of them (acceptance V2)."""
    from crm_audit.rules.ruleset import did_you_mean

    return [s.problem(("columns", ent), N_("unknown entity «{entity}» under columns{hint}; use one of: {known}"), "unknown-entity",
                      {"entity": ent, "hint": did_you_mean(ent, COLUMN_ENTITIES), "known": ", ".join(COLUMN_ENTITIES)})
            for ent in s.columns if ent not in COLUMN_ENTITIES]


def column_field_problems(s: Settings, profile) -> list[Problem]:
    """Each field under a known entity of `columns:` that is none of the profile's fields of it (did you mean …), and
    a known entity the profile reads no file of — every one at its line (an unknown entity: :func:`column_entity_problems`)."""
    from crm_audit.rules.ruleset import did_you_mean

    out: list[Problem] = []
    for ent, fields in s.columns.items():
        if ent not in COLUMN_ENTITIES:
            continue
        spec = profile.entities.get(ent)
        if spec is None:
            out.append(s.problem(("columns", ent), N_("the {crm} profile reads no {entity} file"), "unknown-entity",
                                 {"crm": profile.title or profile.name, "entity": ent}))
            continue
        keys = spec.column_keys()
        out += [s.problem(("columns", ent, name), N_("«{name}» is not a field of {entity}{hint}; fields: {known}"), "unknown-field",
                          {"name": name, "entity": ent, "hint": did_you_mean(name, keys), "known": ", ".join(keys)})
                for name in fields if name not in keys]
    return out


def columns_problems(s: Settings, profile) -> list[Problem]:
    """Every problem of the `columns:` block the settings and the profile tell (`run` says them with the headers the
    export lacks, all at once)."""
    return column_entity_problems(s) + column_field_problems(s, profile)


def validate_problems(s: Settings) -> list[Problem]:
    """What `crm-audit validate` adds to loading: the settings against their CRM
    profile (`crm:` names one — else a problem at its line —, every `columns:`
    field is one of the profile's, every export field a rule reads is one the
    profile or `columns:` provides) and a warning while the stage order is a guess."""
    from crm_audit.engine.profile import load_profile

    out: list[Problem] = [p for p in [unfinished_problem(s)] if p is not None]
    if s.ids_in_pipelines:  # init wrote pipelines: by id; the ids now have names
        pairs = ", ".join(f"«{i}» = «{n}»" for _k, i, n in s.ids_in_pipelines[:8])
        p = s.problem(("pipelines",), N_("`pipelines:` names ids that pipeline_ids: / stage_ids: name ({pairs}): they are read "
                                         "as those names; write the names in pipelines: instead of the ids"), "pipelines-by-id",
                      {"pairs": pairs})
        p.severity = "warning"
        out.append(p)
    example = deal_url_example_of(s.crm, s.deal_url)
    if example:
        p = s.problem(("deal_url",), DEAL_URL_EXAMPLE, "deal-url-example", {"url": s.deal_url, "example": example})
        p.severity = "warning"
        out.append(p)
    if s.closed_unconfirmed():
        template, params = closed_stages_message(s)
        p = s.problem(("closed_stages_confirmed",), template, "closed-stages-guessed", params)
        p.severity = "warning"
        out.append(p)
    guessed = values_warning(s)
    if guessed is not None:  # init inferred `values:` (or listed the values it could not tell)
        p = s.problem(("values_confirmed",), guessed[0], "values-guessed", guessed[1])
        p.severity = "warning"
        out.append(p)
    from crm_audit.engine.stage_guess import order_unconfirmed

    if order_unconfirmed(s):  # a pipeline of one open stage has no order to confirm
        template, params = order_guessed_message(s)
        p = s.problem(("stage_order_confirmed",), template, "stage-order-guessed", params)
        p.severity = "warning"
        out.append(p)
    out += _unknown_confirmed(s)
    out += column_entity_problems(s)  # said whether the profile loads or not
    try:
        profile = load_profile(s.crm)
    except SettingsError as exc:  # an unknown profile is one problem among the others, at its line
        if any(p.file and p.line and p.file != s.file for p in exc.problems):  # the profile file itself is broken
            raise
        if s.marks and all(p.reason == "unknown-profile" for p in exc.problems):
            return out  # loaded from a file: collect() said it at the value's line:column already
        first = exc.problems[0] if exc.problems else None
        if first is not None and first.template is not None:
            out.append(s.problem(("crm",), first.template, "unknown-profile", first.params))
        else:
            out.append(s.problem(("crm",), first.message if first is not None else str(exc), "unknown-profile"))
        return out
    out += column_field_problems(s, profile)
    out += read_values(s, profile).problems  # an unknown field or value under `values:`, at its line
    for fld in ("stage", "pipeline"):
        ids = getattr(s, f"{fld}_ids")
        # no list of the profile reads such ids (Salesforce's stage list is keyed by the names: its id_like fits none)
        if ids and not any(re.fullmatch(lk.id_like, str(k).strip(), re.I) for lk in profile.lookups if lk.field == fld for k in ids):
            msg = (N_("the {crm} profile reads stage names, not ids: stage_ids: names nothing (remove it, or map the column "
                      "of names under columns:)") if fld == "stage" else
                   N_("the {crm} profile reads pipeline names, not ids: pipeline_ids: names nothing (remove it, or map the "
                      "column of names under columns:)"))
            p = s.problem((f"{fld}_ids",), msg, "ids-unused", {"crm": profile.title or profile.name})
            p.severity = "warning"
            out.append(p)
    from crm_audit.rules import ruleset

    rules, _problems = ruleset.collect(s)  # their own problems are reported by `validate` already
    out += ruleset.unprovided_fields(rules, s, profile)
    out += ruleset.misspelt_fields(rules, s)  # a custom column misspelt in a team rule: «did you mean …» (a warning)
    return out
