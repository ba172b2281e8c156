"""Rules that compare stages by an order nobody confirmed: said next to each of them.

While ``stage_order_confirmed: false`` (``init`` guessed the order of a pipeline's stages), a rule with a
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


def guessed_comparisons(plans, settings) -> list[GuessedComparison]:
    """Each plan comparing stages while the settings' stage order is not confirmed: the stages it compares and the
    pipelines (in its scope) where they are — none when the order is confirmed."""
    if settings.stage_order_confirmed:
        return []
    names = {norm(p): p for p in settings.pipelines}
    out = []
    for p in plans:
        found = _stage_plans(p.condition)
        scope = set(p.pipelines)
        pipes = list(dict.fromkeys(names[k] for sp in found for k in sp.positions if k in names and (not scope or k in scope)))
        if found and pipes:
            out.append(GuessedComparison(p.rule.id, p.rule.code, p.rule.title,
                                         list(dict.fromkeys(sp.stage for sp in found)), pipes))
    return out
