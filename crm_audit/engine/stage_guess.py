"""Rules that compare stages by an order nobody confirmed: said next to each of them.

While a pipeline's order is not confirmed (``stage_order_confirmed: false``, or a list of the confirmed pipelines
without it: ``init`` guessed the order of its stages), a rule with a
«stage ≥ X» condition compares deals' stages by that guess: a deal in an earlier stage may count as «at or
after X» (issue 13 acceptance J, J2). Each such rule that runs gets a warning (terminal, FAQ) and a note on its
sheet naming the pipelines its comparison reads and the key that confirms them.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_audit.i18n import N_
from crm_audit.textnorm import norm

#: a rule comparing stages by a guessed order (the terminal in the CLI's language, the FAQ in Russian)
RULE_ON_GUESSED_ORDER = N_("{code} {rule}: compares stages («stage ≥ {stage}») by the order of {pipelines}, which "
                           "was guessed from the export: its findings may be wrong until you check that order in "
                           "`pipelines:` and set `stage_order_confirmed: true`")


@dataclass
class GuessedComparison:
    """A rule comparing ``stages`` in ``pipelines`` (their settings' names) whose order is a guess."""

    rule_id: str
    code: str
    title: str
    stages: list[str]
    pipelines: list[str]

    def note(self) -> str:
        """Russian, for the rule's sheet."""
        stages = ", ".join(f"«{s}»" for s in self.stages)
        pipes = ", ".join(f"«{p}»" for p in self.pipelines)
        return (f"Внимание: правило сравнивает этапы («этап не раньше {stages}») по порядку воронки {pipes}, а этот "
                "порядок угадан по выгрузке: находки могут быть ошибочными, пока вы не проверите порядок в pipelines: "
                "и не укажете stage_order_confirmed: true.")

    def warning(self):
        from crm_audit.report import DataWarning, rule_name

        return DataWarning("rule-stage-order-guessed", "", template=RULE_ON_GUESSED_ORDER,
                           params={"code": self.code, "rule": rule_name(self.rule_id, self.title),
                                   "stage": ", ".join(self.stages),
                                   "pipelines": ", ".join(f"«{p}»" for p in self.pipelines)})


def _stage_plans(cond) -> list:
    from crm_audit.engine.plan import StagePlan

    if cond is None:
        return []
    if isinstance(cond, StagePlan):
        return [cond]
    out = []
    for c in (getattr(cond, "items", None) or []):
        out += _stage_plans(c)
    item = getattr(cond, "item", None)
    if item is not None:
        out += _stage_plans(item)
    return out


def compares_stages(plan) -> bool:
    """The plan's condition compares deals' stages («stage ≥ X»): a deal in a stage the settings lack is not judged."""
    return bool(_stage_plans(plan.condition))


def open_stages(stages: list[str], settings, profile=None) -> list[str]:
    """The stages of a pipeline a deal is open in: less the settings' won_stages: / lost_stages: and the CRM's won /
    lost / deleted stages (the profile's `derive_status.from_stage`, names and patterns); ``profile``: the settings'
    CRM's when None (none when it does not load: every stage the settings do not close counts as open)."""
    import re

    if profile is None:
        from crm_audit.engine.profile import load_profile

        try:
            profile = load_profile(settings.crm)
        except Exception:  # an unknown or broken profile: validate / run name it themselves
            profile = None
    fs = profile.derive_status.from_stage if profile is not None and profile.derive_status is not None else None
    closed = {norm(x) for x in (*settings.won_stages, *settings.lost_stages, *((*fs.won, *fs.lost, *fs.deleted) if fs else ()))}
    patterns = [p for p in ((fs.won_pattern, fs.lost_pattern) if fs else ()) if p]
    return [s for s in stages if norm(s) not in closed and not any(re.fullmatch(p, s.strip(), re.I) for p in patterns)]


def ordered_pipelines(settings, profile=None) -> list[str]:
    """The pipelines of the settings whose stage order can matter: two open stages or more (:func:`open_stages`). A
    pipeline with one open stage (or none) has no order to confirm: «stage ≥ X» reads it alike whatever the order."""
    return [name for name, stages in settings.pipelines.items() if len(open_stages(stages, settings, profile)) > 1]


def unconfirmed_pipelines(settings, profile=None) -> list[str]:
    """The pipelines whose order can matter (:func:`ordered_pipelines`) and the team did not confirm
    (`stage_order_confirmed:` false, or a list not naming them)."""
    return [p for p in ordered_pipelines(settings, profile) if not settings.order_confirmed(p)]


def order_unconfirmed(settings, profile=None) -> bool:
    """A pipeline whose order can matter is not confirmed (:func:`unconfirmed_pipelines`): what `validate` and `run`
    warn about. A hand-written false on pipelines of one open stage each needs no confirmation."""
    return bool(unconfirmed_pipelines(settings, profile))


def guessed_comparisons(plans, settings) -> list[GuessedComparison]:
    """Each plan comparing stages in a pipeline whose order is not confirmed: the stages it compares and those
    pipelines (in its scope, of two open stages or more) where they are — none when every order is confirmed."""
    ordered = {norm(p) for p in unconfirmed_pipelines(settings)}
    if not ordered:
        return []
    names = {norm(p): p for p in settings.pipelines if norm(p) in ordered}
    out = []
    for p in plans:
        found = _stage_plans(p.condition)
        scope = set(p.pipelines)
        pipes = list(dict.fromkeys(names[k] for sp in found for k in sp.positions if k in names and (not scope or k in scope)))
        if found and pipes:
            out.append(GuessedComparison(p.rule.id, p.rule.code, p.rule.title,
                                         list(dict.fromkeys(sp.stage for sp in found)), pipes))
    return out
