"""Number parsing as a dialect-neutral expression: the rule-side twin of the loader's ``parse_num`` macro.

A rule comparing a custom text field with a number (``{field: deal.Бюджет,
gt: 100000}``) reads ``1 500,00``, ``1,500.00``, ``1.500,00``, ``1500 руб.``,
``R$ 15.000,00``, ``CHF 1'500.00``, ``(1,234.00)`` the way the export loader
reads amounts (:mod:`crm_audit.engine.sqlfuncs`, currency marks and patterns
from :mod:`crm_audit.engine.amounts`); here it is built from the dialect's
primitives, so every engine parses alike.
"""

from __future__ import annotations

from sqlglot import exp

from crm_audit.engine import amounts
from crm_audit.engine.dialects import Dialect, S, fn, num
from crm_audit.textnorm import WS_CLASS

WS = WS_CLASS


def _rep(d: Dialect, x, old: str, new: str):
    return d.replace(x, S(old), S(new))


def parse_num(d: Dialect, x: exp.Expression, mark: str = amounts.DEFAULT_MARK) -> exp.Expression:
    """``x`` as a number; ``mark``: the decimal mark of a cell that reads either way (``15.000``, ``1,500``)."""
    if mark not in amounts.MARKS:
        raise ValueError(f"decimal mark {mark!r}")
    neg = d.full_match(d.strip(x.copy()), amounts.NEGATIVE)
    core = exp.Case(ifs=[exp.If(this=neg.copy(), true=d.replace_all(d.strip(x.copy()), amounts.SIGN_MARKS, ""))],
                    default=d.strip(x.copy()))
    body = d.replace_all(d.lower(core), amounts.CURRENCY_AROUND, "")
    nd = lambda: d.replace_all(body.copy(), amounts.GROUPING, "")  # noqa: E731  the digits and separators
    dbl = lambda e: exp.Cast(this=e, to=exp.DataType.build("DOUBLE"))  # noqa: E731
    count = lambda ch: exp.Sub(this=d.length(nd()), expression=d.length(_rep(d, nd(), ch, "")))  # noqa: E731
    both_marks_out = lambda e: _rep(d, _rep(d, e, ",", ""), ".", "")  # noqa: E731

    def either_way(digits, cast):  # 15.000 / 1,500: the column's decimal mark decides
        return exp.Case(ifs=[exp.If(this=exp.GT(this=d.strpos(digits(), mark), expression=num(0)),
                                    true=cast(_rep(d, digits(), mark, ".")))],
                        default=cast(both_marks_out(digits())))

    general = exp.Case(ifs=[exp.If(this=c, true=v) for c, v in [
        (exp.Not(this=d.full_match(nd(), amounts.SHAPE)), exp.Null()),
        (exp.and_(exp.GT(this=d.strpos(nd(), ","), expression=num(0)), exp.GT(this=d.strpos(nd(), "."), expression=num(0))),
         exp.Case(ifs=[exp.If(this=exp.LT(this=d.strpos(fn("reverse", nd()), ","), expression=d.strpos(fn("reverse", nd()), ".")),
                              true=d.to_double(_rep(d, _rep(d, nd(), ".", ""), ",", ".")))],
                  default=d.to_double(_rep(d, nd(), ",", "")))),
        (exp.GT(this=count(","), expression=num(1)), d.to_double(_rep(d, nd(), ",", ""))),
        (exp.GT(this=count("."), expression=num(1)), d.to_double(_rep(d, nd(), ".", ""))),
        (d.full_match(nd(), amounts.AMBIGUOUS), either_way(nd, d.to_double)),
    ]], default=d.to_double(_rep(d, nd(), ",", ".")))
    signed = exp.Mul(this=exp.paren(general), expression=exp.paren(
        exp.Case(ifs=[exp.If(this=neg, true=num(-1))], default=num(1))))
    branches = [
        (exp.Is(this=x.copy(), expression=exp.Null()), exp.Null()),
        (d.full_match(x.copy(), r"-?[1-9][0-9]{0,2}[.,][0-9]{3}"), either_way(x.copy, dbl)),
        (d.full_match(x.copy(), r"-?[0-9]{1,15}(\.[0-9]{1,6})?"), dbl(x.copy())),
        (d.full_match(x.copy(), r"-?[0-9]{1,15},[0-9]{1,2}"), dbl(_rep(d, x.copy(), ",", "."))),
        (d.full_match(x.copy(), "-?[0-9]{1,3}([ \u00a0][0-9]{3}){1,4}(,[0-9]{1,2})?"),
         dbl(_rep(d, _rep(d, _rep(d, x.copy(), " ", ""), "\u00a0", ""), ",", "."))),
        (d.is_blank(x.copy()), exp.Null()),
    ]
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=signed)
