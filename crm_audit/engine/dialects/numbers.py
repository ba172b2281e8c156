"""Number parsing as a dialect-neutral expression: the rule-side twin of the loader's ``parse_num`` macro.

A rule comparing a custom text field with a number (``{field: deal.Бюджет,
gt: 100000}``) reads ``1 500,00``, ``1,500.00``, ``1.500,00``, ``1500 руб.``
the way the export loader reads amounts (:mod:`crm_audit.engine.sqlfuncs`);
here it is built from the dialect's primitives, so every engine parses alike.
"""

from __future__ import annotations

from sqlglot import exp

from crm_audit.engine.dialects import Dialect, S, fn, num
from crm_audit.engine.sqlfuncs import _CURRENCY
from crm_audit.textnorm import WS_CLASS

WS = WS_CLASS


def _rep(d: Dialect, x, old: str, new: str):
    return d.replace(x, S(old), S(new))


def parse_num(d: Dialect, x: exp.Expression) -> exp.Expression:
    body = d.replace_all(d.lower(d.strip(x.copy())), f"^{_CURRENCY}{WS}*|{WS}*{_CURRENCY}$", "")
    nd = lambda: d.replace_all(body.copy(), f"[{WS[1:-1]}']", "")  # noqa: E731  the digits and separators
    dbl = lambda e: exp.Cast(this=e, to=exp.DataType.build("DOUBLE"))  # noqa: E731
    count = lambda ch: exp.Sub(this=d.length(nd()), expression=d.length(_rep(d, nd(), ch, "")))  # noqa: E731
    branches = [
        (exp.Is(this=x.copy(), expression=exp.Null()), exp.Null()),
        (d.full_match(x.copy(), r"-?[0-9]{1,15}(\.[0-9]{1,6})?"), dbl(x.copy())),
        (d.full_match(x.copy(), r"-?[0-9]{1,15},[0-9]{1,2}"), dbl(_rep(d, x.copy(), ",", "."))),
        (d.full_match(x.copy(), "-?[0-9]{1,3}([ \u00a0][0-9]{3}){1,4}(,[0-9]{1,2})?"),
         dbl(_rep(d, _rep(d, _rep(d, x.copy(), " ", ""), "\u00a0", ""), ",", "."))),
        (d.is_blank(x.copy()), exp.Null()),
        (exp.Not(this=d.full_match(nd(), r"[-+]?([0-9]+[.,]?)*[0-9]+([.,][0-9]+)?|[-+]?[0-9]*[.,][0-9]+")), exp.Null()),
        (exp.and_(exp.GT(this=d.strpos(nd(), ","), expression=num(0)), exp.GT(this=d.strpos(nd(), "."), expression=num(0))),
         exp.Case(ifs=[exp.If(this=exp.LT(this=d.strpos(fn("reverse", nd()), ","), expression=d.strpos(fn("reverse", nd()), ".")),
                              true=d.to_double(_rep(d, _rep(d, nd(), ".", ""), ",", ".")))],
                  default=d.to_double(_rep(d, nd(), ",", "")))),
        (exp.GT(this=count(","), expression=num(1)), d.to_double(_rep(d, nd(), ",", ""))),
        (exp.GT(this=count("."), expression=num(1)), d.to_double(_rep(d, nd(), ".", ""))),
        (d.full_match(nd(), r"[-+]?[0-9]{1,3},[0-9]{3}"), d.to_double(_rep(d, nd(), ",", ""))),
    ]
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in branches], default=d.to_double(_rep(d, nd(), ",", ".")))
