"""The portable subset of regular expressions for ``matches:``, translated per SQL dialect.

Rules are written in RE2 syntax (DuckDB's, the reference). Engines differ:
PostgreSQL has no ``\\pL`` and no ``\\x{…}``, and its ``.`` matches a newline;
Java (Spark) ends ``$`` before a final line break and its ``.`` stops at
``\\r`` too; ClickHouse lets ``.`` match a newline; Snowflake has no Unicode
classes, so ``\\pL`` is written there as the class of every letter's range
(:func:`letter_ranges`, from Python's Unicode database). A pattern is parsed into tokens of the subset below and written
again for each engine so that it matches the same strings everywhere:

* characters (``\\x{00A0}`` and escaped punctuation included), ``.`` (any
  character but a newline), ``^`` and ``$`` (the ends of the value);
* classes ``[…]`` / ``[^…]`` with ranges and ``\\s``, ``\\d``, ``\\w``,
  ``\\pL`` inside; ``\\s \\S \\d \\D \\w \\W \\pL \\PL`` outside (``\\s`` is RE2's:
  space, tab, newline, form feed, carriage return; ``\\d`` ASCII digits;
  ``\\w`` ASCII letters, digits, ``_``; ``\\pL`` any letter);
* groups ``(…)`` / ``(?:…)``, ``|``, quantifiers ``* + ? {n} {n,} {n,m}``.

Anything else (back-references, look-around, ``\\b``, flags, other Unicode
classes) is refused with :class:`PatternError`, which ``validate --engine``
reports with the rule and its line. DuckDB runs the pattern as written.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from dataclasses import dataclass

from crm_audit.i18n import N_
from crm_audit.textnorm import norm

#: RE2's \s
_SPACE = " \t\n\f\r"
_DIGIT = "0-9"
_WORD = "0-9A-Za-z_"
_SETS = {"s": ("space", False), "S": ("space", True), "d": ("digit", False), "D": ("digit", True),
         "w": ("word", False), "W": ("word", True)}
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}
_META = set("\\.^$|?*+()[]{}-/")


class PatternError(ValueError):
    """A pattern outside the portable subset, or one the engine cannot run: ``template`` (an English msgid) filled
    with ``params``; :meth:`text` says it in the CLI's language."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template.format(**params))

    def text(self) -> str:
        from crm_audit.i18n import _

        return _(self.template).format(**self.params)


@dataclass(frozen=True)
class Tok:
    kind: str  # lit | any | set | class | bol | eol | open | close | alt | quant
    value: object = None
    negated: bool = False


def _hex_escape(p: str, i: int) -> tuple[str, int]:
    """``\\x{HHHH}`` or ``\\xHH`` at p[i] == 'x': the character and the index after it."""
    m = re.match(r"x\{([0-9A-Fa-f]{1,6})\}|x([0-9A-Fa-f]{2})", p[i:])
    if not m:
        raise PatternError(N_("bad \\x escape at position {i}"), i=i)
    return chr(int(m.group(1) or m.group(2), 16)), i + m.end()


def _escape(p: str, i: int, in_class: bool) -> tuple[Tok, int]:
    """The escape starting after the backslash at p[i]."""
    if i >= len(p):
        raise PatternError(N_("the pattern ends with a backslash"))
    c = p[i]
    if c in _SETS:
        name, neg = _SETS[c]
        if in_class and neg:
            raise PatternError(N_("\\{c} inside [...] is not portable; write the characters out"), c=c)
        return Tok("set", name, neg), i + 1
    if c in "pP":
        m = re.match(r"[pP](L|\{L\})", p[i:])
        if not m:
            raise PatternError(N_("\\{seq}…: only \\pL (any letter) is portable among Unicode classes"), seq=p[i:i + 4])
        if in_class and c == "P":
            raise PatternError(N_("\\PL inside [...] is not portable"))
        return Tok("set", "letter", c == "P"), i + m.end()
    if c == "x":
        ch, j = _hex_escape(p, i)
        return Tok("lit", ch), j
    if c in _ESCAPES:
        return Tok("lit", _ESCAPES[c]), i + 1
    if c in _META or (not c.isalnum() and c.isascii()):
        return Tok("lit", c), i + 1
    raise PatternError(N_("\\{c} is not in the portable subset of regular expressions (see README: Writing rules)"), c=c)


def _class(p: str, i: int) -> tuple[Tok, int]:
    """The bracket expression whose '[' is at p[i - 1]."""
    negated = False
    if i < len(p) and p[i] == "^":
        negated, i = True, i + 1
    items: list[tuple] = []
    first = True
    while True:
        if i >= len(p):
            raise PatternError(N_("unclosed ["))
        c = p[i]
        if c == "]" and not first:
            return Tok("class", tuple(items), negated), i + 1
        first = False
        if c == "[":
            if p.startswith("[:", i):
                raise PatternError(N_("POSIX classes like [:alpha:] are not portable; use \\pL or a range"))
            tok, i = Tok("lit", "["), i + 1
        elif c == "\\":
            tok, i = _escape(p, i + 1, True)
        else:
            tok, i = Tok("lit", c), i + 1
        if tok.kind == "set":
            items.append(("set", tok.value))
            continue
        # a range a-b
        if i + 1 < len(p) and p[i] == "-" and p[i + 1] != "]":
            j = i + 1
            if p[j] == "\\":
                end, j = _escape(p, j + 1, True)
                if end.kind != "lit":
                    raise PatternError(N_("a range must end in a character"))
                hi = end.value
            else:
                hi, j = p[j], j + 1
            if ord(hi) < ord(tok.value):
                raise PatternError(N_("bad range {lo}-{hi}"), lo=tok.value, hi=hi)
            items.append(("range", tok.value, hi))
            i = j
        else:
            items.append(("ch", tok.value))


def parse(pattern: str) -> list[Tok]:
    """The tokens of ``pattern``; :class:`PatternError` when it leaves the portable subset."""
    toks: list[Tok] = []
    i, depth, p = 0, 0, pattern
    while i < len(p):
        c = p[i]
        if c == "\\":
            tok, i = _escape(p, i + 1, False)
        elif c == "[":
            tok, i = _class(p, i + 1)
        elif c == "(":
            if p.startswith("(?:", i):
                i += 3
            elif p.startswith("(?", i):
                raise PatternError(N_("{seq}…: flags, look-around and named groups are not portable"), seq=p[i:i + 3])
            else:
                i += 1
            depth += 1
            tok = Tok("open")
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise PatternError(N_("unbalanced )"))
            tok, i = Tok("close"), i + 1
        elif c == "|":
            tok, i = Tok("alt"), i + 1
        elif c == ".":
            tok, i = Tok("any"), i + 1
        elif c == "^":
            tok, i = Tok("bol"), i + 1
        elif c == "$":
            tok, i = Tok("eol"), i + 1
        elif c in "*+?":
            if not toks or toks[-1].kind in ("open", "alt", "bol", "quant"):
                if toks and toks[-1].kind == "quant" and c == "?" and not toks[-1].value.endswith("?"):
                    toks[-1] = Tok("quant", toks[-1].value + "?")
                    i += 1
                    continue
                raise PatternError(N_("nothing to repeat before «{c}» at position {i}"), c=c, i=i)
            tok, i = Tok("quant", c), i + 1
        elif c == "{":
            m = re.match(r"\{(\d+)(,(\d*))?\}", p[i:])
            if not m:
                tok, i = Tok("lit", "{"), i + 1
            else:
                if not toks or toks[-1].kind in ("open", "alt", "bol", "quant"):
                    raise PatternError(N_("nothing to repeat before «{c}»"), c=m.group(0))
                tok, i = Tok("quant", m.group(0)), i + m.end()
        else:
            tok, i = Tok("lit", c), i + 1
        toks.append(tok)
    if depth:
        raise PatternError(N_("unclosed ("))
    return toks


@dataclass(frozen=True)
class Flavor:
    """How one engine writes the subset."""

    name: str
    letter: str | None  # \pL outside a class (None: the engine has none)
    letter_in_class: str | None
    any_char: str = r"[^\n]"
    end: str = "$"
    #: how an invisible non-ASCII character (no-break space, BOM) is written; None: as itself
    hex: str | None = None
    control_escapes: bool = True  # \t \n \f \r as escapes (else as themselves)
    letters_listed: bool = False  # no letter class: \pL is written as the ranges of every letter

    def letter_body(self) -> str:
        """What stands for «any letter» inside a bracket class."""
        if self.letters_listed:
            return letter_ranges()
        if self.letter_in_class is None:
            raise PatternError(N_("\\pL (any letter) cannot run on {engine}: list the letters, e.g. [A-Za-zА-Яа-яЁё]"), engine=self.name)
        return self.letter_in_class

    def char(self, ch: str, in_class: bool) -> str:
        if ch in _META or (in_class and ch in "]^"):
            return "\\" + ch
        if ch in _CONTROL and self.control_escapes:
            return _CONTROL[ch]
        if self.hex and ord(ch) > 127 and unicodedata.category(ch)[0] in "ZC":
            return self.hex % ord(ch)
        return ch


def letter_ranges() -> str:
    """Every letter (Unicode category L*) as the body of a bracket class: ``A-Za-zª…``.

    For an engine without Unicode classes (Snowflake's POSIX ERE): the same set
    ``\\pL`` matches on the others, as of Python's Unicode database."""
    global _LETTERS
    if _LETTERS is None:
        parts, start, prev = [], None, None
        for cp in range(0x110000):
            if unicodedata.category(chr(cp)).startswith("L"):
                if start is None:
                    start = cp
                prev = cp
            elif start is not None:
                parts.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
                start = None
        _LETTERS = "".join(parts)
    return _LETTERS


_LETTERS: str | None = None

_CONTROL = {"\t": r"\t", "\n": r"\n", "\r": r"\r", "\f": r"\f", "\v": r"\v"}

FLAVORS = {
    "re2": Flavor("re2", r"\pL", r"\pL", hex=r"\x{%04X}"),
    "postgres": Flavor("postgres", "[[:alpha:]]", "[:alpha:]", hex=r"\u%04X"),
    "java": Flavor("java", r"\p{L}", r"\p{L}", end=r"\z", hex=r"\x{%04X}"),
    "snowflake": Flavor("snowflake", None, None, any_char=".", control_escapes=False, letters_listed=True),
}


def _set_body(name: str, fl: Flavor) -> str:
    if name == "space":
        return "".join(fl.char(c, True) for c in _SPACE)
    if name == "digit":
        return _DIGIT
    if name == "word":
        return _WORD
    return fl.letter_body()


def render(toks: list[Tok], fl: Flavor) -> str:
    out = []
    for t in toks:
        k = t.kind
        if k == "lit":
            out.append(fl.char(t.value, False))
        elif k == "any":
            out.append(fl.any_char)
        elif k == "bol":
            out.append("^")
        elif k == "eol":
            out.append(fl.end)
        elif k == "open":
            out.append("(")
        elif k == "close":
            out.append(")")
        elif k == "alt":
            out.append("|")
        elif k == "quant":
            out.append(t.value)
        elif k == "set":
            if t.value == "letter":
                if t.negated:
                    out.append("[^" + fl.letter_body() + "]")
                else:
                    out.append(fl.letter or "[" + fl.letter_body() + "]")
            else:
                out.append(("[^" if t.negated else "[") + _set_body(t.value, fl) + "]")
        elif k == "class":
            body = []
            for item in t.value:
                if item[0] == "ch":
                    body.append(fl.char(item[1], True))
                elif item[0] == "range":
                    body.append(fl.char(item[1], True) + "-" + fl.char(item[2], True))
                else:
                    body.append(_set_body(item[1], fl))
            out.append(("[^" if t.negated else "[") + "".join(body) + "]")
    return "".join(out)


def placeholder_pattern(words: list[str]) -> str:
    """The whole (normalised) name is one of ``words``, optionally followed by digits."""
    alts = "|".join(re.escape(norm(w)).replace("\\ ", " ") for w in words)
    return "(?:" + alts + r")(?:\s?[0-9]+)?"


def translate(pattern: str, flavor: str) -> str:
    """``pattern`` (RE2, the portable subset) written for ``flavor``; :class:`PatternError` if it cannot be."""
    return render(parse(pattern), FLAVORS[flavor])


_LOOKAROUND = re.compile(r"(?<!\\)\(\?<?[=!]")
_BACKREF = re.compile(r"(?<!\\)\\(?:[1-9]|k<|g\{?\d)")


_RE2_LOCK = threading.Lock()


@functools.cache
def _re2_connection():
    """One in-memory DuckDB for every pattern checked in this process (a connection each took ~15 ms)."""
    import duckdb

    return duckdb.connect()


def _re2_compiles(pattern: str) -> str | None:
    """DuckDB's (RE2's) own reason it cannot compile ``pattern`` (None: it can)."""
    import duckdb

    with _RE2_LOCK:  # a DuckDB connection is used by one thread at a time
        try:
            _re2_connection().execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
        except duckdb.Error as exc:
            return " ".join(str(exc).split()).split(": ", 1)[-1]
    return None


def re2_problem(pattern: str, engine: str = "duckdb") -> PatternError | None:
    """Why DuckDB (RE2: no look-around, no back-references) cannot run ``pattern``; None: it can."""
    why = _re2_compiles(pattern)
    if why is None:
        return None
    m = _LOOKAROUND.search(pattern)
    if m:
        return PatternError(N_("look-around «{seq}…» cannot run on {engine} (its regular expressions have none); match "
                               "the text itself, or write two conditions under all: / not:"), seq=m.group(0), engine=engine)
    m = _BACKREF.search(pattern)
    if m:
        return PatternError(N_("back-reference «{seq}» cannot run on {engine} (its regular expressions have none)"),
                            seq=m.group(0), engine=engine)
    return PatternError(N_("{engine} cannot compile it: {why}"), engine=engine, why=why)


def check(pattern: str, flavor: str | None) -> str | None:
    """Why ``pattern`` cannot run on ``flavor`` in the CLI's language (None: it can; ``flavor`` None is DuckDB, which
    runs RE2 as written: only what RE2 cannot compile is refused)."""
    if flavor is None:
        err = re2_problem(pattern)
        return err.text() if err is not None else None
    try:
        translate(pattern, flavor)
    except PatternError as exc:
        return exc.text()
    return None
