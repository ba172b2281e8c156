"""The dialect classes: one small class of SQL primitives per engine (sqlglot expression trees).

Everything that differs between engines is one of the primitives below — trim, normalise case and «ё», blank
test, number parsing, regular-expression search and full match, cast-or-null, days between dates, conditional
counts and minimums, the first value by an order under a filter, UTF-8 lower-casing. DuckDB is the reference:
its primitives are exactly the SQL the engine ran before (the loader's macros, spelled out), and the others are
written to give the same values. Used as :mod:`crm_audit.engine.dialects` (``dialects.get("postgres")``).
"""

from __future__ import annotations

import re

from sqlglot import exp

from crm_audit.engine.dialects import regex
from crm_audit.engine.dialects.names import REGEX_FLAVORS, canonical
from crm_audit.textnorm import WS_CLASS

S = exp.Literal.string


def num(v) -> exp.Literal:
    return exp.Literal.number(v)


def fn(name: str, *args) -> exp.Anonymous:
    """A function call written as named (no transpiling by sqlglot)."""
    return exp.Anonymous(this=name, expressions=list(args))


class Dialect:
    """DuckDB, the reference; the other dialects override what differs."""

    name = "duckdb"
    sqlglot = "duckdb"
    #: how :mod:`regex` writes the portable subset for this engine (None: RE2 as written)
    regex_flavor: str | None = REGEX_FLAVORS["duckdb"]

    # ---------------------------------------------------------------- regular expressions
    def pattern(self, p: str) -> str:
        return p if self.regex_flavor is None else regex.translate(p, self.regex_flavor)

    def search(self, x, p: str):
        return fn("regexp_matches", x, S(self.pattern(p)))

    def full_match(self, x, p: str):
        return fn("regexp_full_match", x, S(self.pattern(p)))

    def replace_all(self, x, p: str, repl: str):
        return fn("regexp_replace", x, S(self.pattern(p)), S(repl), S("g"))

    # ---------------------------------------------------------------- text
    def lower(self, x):
        return fn("lower", x)

    def replace(self, x, old, new):
        return fn("replace", x, old, new)

    def strip(self, x):
        # DuckDB: the replace only where an end is blank (most cells have none: a third less time per cell, issue 17);
        # the other engines would evaluate ``x`` (a JSON path, a cast) up to three times: they take strip_all
        edge = self.search(x, "^" + WS_CLASS + "|" + WS_CLASS + "$")
        return exp.Case(ifs=[exp.If(this=edge, true=self.strip_all(x.copy()))], default=x.copy())

    def strip_all(self, x):
        return self.replace_all(x, "^" + WS_CLASS + "+|" + WS_CLASS + "+$", "")

    def norm(self, x):
        return self.replace(self.lower(self.strip(x)), S("ё"), S("е"))

    def is_blank(self, x):
        return exp.paren(exp.or_(exp.Is(this=x, expression=exp.Null()), self.full_match(x, WS_CLASS + "*")))

    def contains(self, x, s: str):
        return fn("contains", x, S(s))

    def starts_with(self, x, s: str):
        return fn("starts_with", x, S(s))

    def ends_with(self, x, s: str):
        return fn("suffix", x, S(s))

    def length(self, x):
        return fn("length", x)

    def strpos(self, x, s: str):
        """1-based position of ``s`` in ``x``, 0 when absent (only compared with another position or 0)."""
        return fn("strpos", x, S(s))

    def plain_number(self, x):
        """The text ``x`` of a column cast to text, an integral number without its zero decimals: «102.0» (DuckDB's
        and Spark's text of a DOUBLE 102), «5000.00» (a NUMERIC(12, 2)) -> «102», «5000», as PostgreSQL, Snowflake,
        BigQuery and ClickHouse write a DOUBLE and an export writes the value; any other text unchanged. Ids stored as
        floating point then link on every engine, and a number column shows (and fingerprints) alike."""
        return exp.Case(ifs=[exp.If(this=self.full_match(x, r"-?[0-9]+\.0+"), true=self.replace_all(x.copy(), r"\.0+$", ""))],
                        default=x.copy())

    # ---------------------------------------------------------------- numbers and dates
    def to_double(self, x):
        """``x`` (text of digits, a sign, one decimal point) as a double, NULL when it is not a number."""
        return exp.TryCast(this=x, to=exp.DataType.build("DOUBLE"))

    def double(self, v: float):
        return num(repr(float(v)))

    def date(self, iso: str):
        return exp.Cast(this=S(iso), to=exp.DataType.build("DATE"))

    def days_between(self, a, b):
        """Whole days from date ``a`` to date ``b``."""
        return fn("date_diff", S("day"), a, b)

    # ---------------------------------------------------------------- aggregates
    def count_if(self, c):
        return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=c))

    def min_if(self, v, c):
        return exp.Filter(this=exp.Min(this=v), expression=exp.Where(this=c))

    def first_by(self, v, key, tie, c):
        """``v`` of the row with the smallest ``key`` (then ``tie``) among the rows where ``c``."""
        # one BIGINT key (days since 1970, then the row) is cheaper for arg_min than a (date, row) struct
        k = exp.Add(this=exp.Mul(this=exp.paren(exp.Sub(this=key, expression=self.date("1970-01-01"))), expression=num(4294967296)),
                    expression=exp.Coalesce(this=tie, expressions=[num(0)]))
        return exp.Filter(this=fn("arg_min", v, k), expression=exp.Where(this=c))

    # ---------------------------------------------------------------- the query
    def first_per_id(self, q: exp.Select, order) -> exp.Select:
        """``q`` (``SELECT * FROM t WHERE id IS NOT NULL``) keeping the first row by ``order`` of each id."""
        rn = exp.Window(this=exp.RowNumber(), partition_by=[exp.column("id", quoted=True)],
                        order=exp.Order(expressions=[exp.Ordered(this=order)]))
        if self.name == "duckdb":
            return q.qualify(exp.EQ(this=rn, expression=num(1)))
        inner = q.select(exp.alias_(rn, "_first", quoted=False), append=True)
        # the helper column is dropped again: the outer SELECT lists the columns it needs
        return exp.select("*").from_(inner.subquery("_ranked")).where(exp.EQ(this=exp.column("_first"), expression=num(1)))

    def finish(self, select: exp.Select) -> exp.Select:
        """Engine settings a query needs (ClickHouse: NULLs from outer joins)."""
        return select

    # ---------------------------------------------------------------- JSON (a warehouse profile's `->` / `->>`)
    def json_get(self, base, keys: list, text: bool, native: bool | None = None):
        """PostgreSQL's ``base -> k1 -> k2`` (``text``: ending ``->> kn``) on a JSON column: each key is
        ``("key", name)``, ``("index", n)`` (from 0) or ``("index", expression)``; the element's text (a string unquoted),
        NULL when there is none. ``native``: the column is of the engine's JSON type (:func:`json_native`), False: text
        holding JSON, None: not known (a connector's usual type on this engine). None: sqlglot's own rendering is
        right for this engine (DuckDB, PostgreSQL)."""
        return None

    def json_base(self, base, native: bool | None):
        """The column a JSON access starts from as this engine's functions take it (None: as it is)."""
        return None

    def _json_access(self, e: exp.Expression) -> exp.Expression:
        """``e`` with each JSON access of a profile fragment (a chain of ``->``, maybe ending ``->>``) written by
        :meth:`json_get`."""
        e = e.copy()
        kinds = (exp.JSONExtract, exp.JSONExtractScalar)
        outer = [n for n in e.find_all(*kinds) if not (isinstance(n.parent, exp.JSONExtract) and n.arg_key == "this")]
        for node in outer:
            keys, base = [], node
            while isinstance(base, kinds) and (base is node or isinstance(base, exp.JSONExtract)):
                keys.insert(0, _json_key(base.expression))
                base = base.this
            if None in keys:
                continue
            native = base.meta.get(JSON_NATIVE) if isinstance(base, exp.Column) else None
            adjusted = self.json_base(base.copy(), native)
            if adjusted is not None:
                base.replace(adjusted)
                base = adjusted
            new = self.json_get(base, keys, isinstance(node, exp.JSONExtractScalar), native)
            if new is not None:
                if node is e:
                    return new
                node.replace(new)
        return e

    #: a profile's (PostgreSQL's) cast target -> this engine's type of the same meaning, where sqlglot's differs: a
    #: TIMESTAMP is a wall clock (Airbyte's API text holds UTC's); Spark's TIMESTAMP and ClickHouse's DateTime are
    #: instants that read a text in the session's zone
    cast_types: dict = {}

    def _cast_types(self, e: exp.Expression) -> exp.Expression:
        e = e.copy()
        for c in list(e.find_all(exp.Cast)):
            to = c.args.get("to")
            if isinstance(to, exp.DataType) and to.this in self.cast_types:
                c.set("to", exp.DataType.build(self.cast_types[to.this], dialect=self.sqlglot))
        return e

    def render(self, e: exp.Expression, pretty: bool = False) -> str:
        if ((type(self).json_get is not Dialect.json_get or type(self).json_base is not Dialect.json_base)
                and e.find(exp.JSONExtract, exp.JSONExtractScalar)):
            e = self._json_access(e)
        if self.cast_types and any(c.args.get("to") is not None and c.args["to"].this in self.cast_types
                                   for c in e.find_all(exp.Cast)):
            e = self._cast_types(e)
        return e.sql(dialect=self.sqlglot, pretty=pretty)


#: the ``meta`` key of a column a JSON access starts from: True when the warehouse holds it in the engine's JSON type,
#: False when as text (set by :func:`crm_audit.warehouse.entities.mark_json` from the types the driver describes)
JSON_NATIVE = "json_native"
#: type names (as :func:`crm_audit.engine.dialects.timestamps.type_name` gives them) of JSON held natively: PostgreSQL
#: json / jsonb, BigQuery JSON, Snowflake VARIANT / OBJECT / ARRAY, ClickHouse JSON / Object('json'), Spark and
#: Databricks VARIANT, DuckDB JSON
_NATIVE_JSON = re.compile(r"jsonb|variant|array|(?:nullable\()?(?:json|object)(?:\(.*\))?\)?")


def json_native(type_name: str) -> bool:
    """Whether a column of ``type_name`` holds JSON in the engine's own type (not as text)."""
    return bool(_NATIVE_JSON.fullmatch(type_name.strip().lower()))


def _json_key(path) -> tuple[str, object] | None:
    """The one step of a PostgreSQL JSON access (``-> 'name'``, ``-> 0``, ``-> g.i``), None for a longer path."""
    if isinstance(path, exp.JSONPath):
        steps = [s for s in path.expressions if not isinstance(s, exp.JSONPathRoot)]
        if len(steps) != 1:
            return None
        step = steps[0]
        if isinstance(step, exp.JSONPathKey) and isinstance(step.this, str):
            return ("key", step.this)
        if isinstance(step, exp.JSONPathSubscript) and isinstance(step.this, int):
            return ("index", step.this)
        return None
    if isinstance(path, exp.Literal):
        return ("key", path.this) if path.is_string else ("index", int(path.this))
    return ("index", path)  # an expression: an array position (the profile's `stages -> g.i`)


class Postgres(Dialect):
    name = "postgres"
    sqlglot = "postgres"
    regex_flavor = REGEX_FLAVORS["postgres"]
    strip = Dialect.strip_all

    def search(self, x, p):
        return exp.RegexpLike(this=x, expression=S(self.pattern(p)))

    def full_match(self, x, p):
        return exp.RegexpLike(this=x, expression=S("^(" + self.pattern(p) + ")$"))

    def contains(self, x, s):
        return exp.GT(this=fn("strpos", x, S(s)), expression=num(0))

    def ends_with(self, x, s):
        return exp.EQ(this=fn("right", x, num(len(s))), expression=S(s))

    def to_double(self, x):
        ok = self.full_match(x, r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)")
        return exp.Case(ifs=[exp.If(this=ok, true=exp.Cast(this=x, to=exp.DataType.build("DOUBLE")))])

    def days_between(self, a, b):
        return exp.paren(exp.Sub(this=b, expression=a))

    def first_per_id(self, q, order):
        # DISTINCT ON: the planner knows it gives one row per id (a row_number() = 1 filter is estimated at a
        # handful of rows, and the joins on it become nested loops: minutes at 100,000 deals)
        q = q.copy()
        q.set("distinct", exp.Distinct(on=exp.Tuple(expressions=[exp.column("id", quoted=True)])))
        return q.order_by(exp.column("id", quoted=True), order)

    def json_base(self, base, native):
        # -> / ->> are json / jsonb operators: a text column holding JSON is read as json (its numbers as written,
        # as DuckDB's ->> gives them); a connector's json / jsonb column (or one not described) as it is
        return exp.Cast(this=base, to=exp.DataType.build("JSON")) if native is False else None

    def first_by(self, v, key, tie, c):
        agg = exp.Filter(this=exp.ArrayAgg(this=exp.Order(this=v, expressions=[exp.Ordered(this=key), exp.Ordered(this=tie)])),
                         expression=exp.Where(this=c))
        return exp.Bracket(this=exp.paren(agg), expressions=[num(1)], offset=1)  # PostgreSQL arrays start at 1


class ClickHouse(Dialect):
    name = "clickhouse"
    sqlglot = "clickhouse"
    regex_flavor = REGEX_FLAVORS["clickhouse"]
    # a text without a zone is read as UTC (a connector's API text), not in the server's zone
    cast_types = {exp.DataType.Type.TIMESTAMP: "Nullable(DateTime64(6, 'UTC'))",
                  exp.DataType.Type.TIMESTAMPTZ: "Nullable(DateTime64(6, 'UTC'))"}
    strip = Dialect.strip_all

    def search(self, x, p):
        return fn("match", x, S(self.pattern(p)))

    def full_match(self, x, p):
        return fn("match", x, S("^(" + self.pattern(p) + ")$"))

    def replace_all(self, x, p, repl):
        return fn("replaceRegexpAll", x, S(self.pattern(p)), S(repl))

    def lower(self, x):
        # lower() changes only ASCII letters; lowerUTF8() maps with context where DuckDB maps letter by letter:
        # «İ» -> «i̇» (two characters) and a final «Σ» -> «ς»; both are turned first into what DuckDB gives
        return fn("lowerUTF8", fn("replaceAll", fn("replaceAll", x, S("İ"), S("I")), S("Σ"), S("σ")))

    def replace(self, x, old, new):
        return fn("replaceAll", x, old, new)

    def contains(self, x, s):
        return exp.GT(this=fn("position", x, S(s)), expression=num(0))

    def starts_with(self, x, s):
        return fn("startsWith", x, S(s))

    def ends_with(self, x, s):
        return fn("endsWith", x, S(s))

    def length(self, x):
        return fn("lengthUTF8", x)

    def strpos(self, x, s):
        return fn("position", x, S(s))

    def to_double(self, x):
        return fn("toFloat64OrNull", x)

    def days_between(self, a, b):
        return fn("dateDiff", S("day"), a, b)

    def count_if(self, c):
        return fn("countIf", c)

    def min_if(self, v, c):
        return fn("minIf", v, c)

    def first_by(self, v, key, tie, c):
        return fn("argMinIf", v, fn("tuple", key, tie), c)

    def json_base(self, base, native):
        # JSONExtract* read a String: a JSON (or Object('json')) column is written out as its JSON text first
        return fn("toJSONString", base) if native else None

    def json_get(self, base, keys, text, native=None):
        # JSONExtract* take the path as arguments, count array positions from 1 and give '' (not NULL) for a missing
        # element; JSONExtractString gives '' for a number or a boolean, where PostgreSQL's ->> gives its text: the
        # raw JSON of anything not a string
        args = [S(k) if kind == "key" else num(k + 1 if k >= 0 else k) if isinstance(k, int)
                else exp.paren(exp.Add(this=k.copy(), expression=num(1))) for kind, k in keys]

        def call(name):
            return fn(name, base.copy(), *(a.copy() for a in args))

        is_null = exp.EQ(this=call("JSONType"), expression=S("Null"))
        if not text:
            return fn("if", is_null, exp.Null(), call("JSONExtractRaw"))
        return fn("multiIf", exp.EQ(this=call("JSONType"), expression=S("String")), call("JSONExtractString"),
                  is_null, exp.Null(), call("JSONExtractRaw"))

    def finish(self, select):
        # a LEFT JOIN fills a missing row with 0 / '' instead of NULL unless join_use_nulls = 1
        out = select.copy()
        out.set("settings", [exp.EQ(this=exp.column("join_use_nulls"), expression=num(1))])
        return out


class Spark(Dialect):
    """Spark SQL / Databricks (Java regular expressions)."""

    name = "spark"
    sqlglot = "spark"
    regex_flavor = REGEX_FLAVORS["spark"]
    strip = Dialect.strip_all
    cast_types = {exp.DataType.Type.TIMESTAMP: "TIMESTAMP_NTZ"}  # Spark's TIMESTAMP reads a text in the session's zone

    def search(self, x, p):
        return exp.RegexpLike(this=x, expression=S(self.pattern(p)))

    def full_match(self, x, p):
        return exp.RegexpLike(this=x, expression=S("^(" + self.pattern(p) + r")\z"))

    def replace_all(self, x, p, repl):
        return fn("regexp_replace", x, S(self.pattern(p)), S(repl))

    def lower(self, x):
        # Java lower-cases with context: «İ» -> «i̇», a final «Σ» -> «ς»; DuckDB maps letter by letter
        return fn("lower", fn("replace", fn("replace", x, S("İ"), S("I")), S("Σ"), S("σ")))

    def contains(self, x, s):
        return exp.GT(this=fn("instr", x, S(s)), expression=num(0))

    def starts_with(self, x, s):
        return fn("startswith", x, S(s))

    def strpos(self, x, s):
        return fn("instr", x, S(s))

    def ends_with(self, x, s):
        return fn("endswith", x, S(s))

    to_double = Postgres.to_double

    def days_between(self, a, b):
        return fn("datediff", b, a)

    def min_if(self, v, c):
        return exp.Min(this=exp.Case(ifs=[exp.If(this=c, true=v)]))

    def first_by(self, v, key, tie, c):
        return fn("min_by", exp.Case(ifs=[exp.If(this=c, true=v)]), exp.Case(ifs=[exp.If(this=c, true=fn("struct", key, tie))]))

    def json_base(self, base, native):
        # get_json_object reads a STRING: a VARIANT column (Spark 4, Databricks) is written out as its JSON text first
        return fn("to_json", base) if native else None

    def json_get(self, base, keys, text, native=None):
        # get_json_object takes one JSONPath (positions from 0); a string comes unquoted, a missing element NULL
        parts: list = ["$"]
        for kind, k in keys:
            if kind == "key":
                parts.append("." + k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else "['" + k.replace("'", "\\'") + "']")
            elif isinstance(k, int):
                parts.append(f"[{k}]")
            else:
                parts += ["[", exp.Cast(this=k.copy(), to=exp.DataType.build("STRING")), "]"]
        pieces: list = []
        for p in parts:  # adjacent texts as one literal
            if isinstance(p, str) and pieces and isinstance(pieces[-1], str):
                pieces[-1] += p
            else:
                pieces.append(p)
        args = [S(p) if isinstance(p, str) else p for p in pieces]
        return fn("get_json_object", base.copy(), args[0] if len(args) == 1 else fn("concat", *args))


class BigQuery(Dialect):
    name = "bigquery"
    sqlglot = "bigquery"
    regex_flavor = REGEX_FLAVORS["bigquery"]
    strip = Dialect.strip_all

    def search(self, x, p):
        return fn("REGEXP_CONTAINS", x, S(self.pattern(p)))

    def full_match(self, x, p):
        return fn("REGEXP_CONTAINS", x, S("^(" + self.pattern(p) + ")$"))

    def replace_all(self, x, p, repl):
        return fn("REGEXP_REPLACE", x, S(self.pattern(p)), S(repl))

    def contains(self, x, s):
        return exp.GT(this=fn("STRPOS", x, S(s)), expression=num(0))

    def ends_with(self, x, s):
        return fn("ENDS_WITH", x, S(s))

    def to_double(self, x):
        return exp.TryCast(this=x, to=exp.DataType.build("DOUBLE"))  # SAFE_CAST(x AS FLOAT64)

    def days_between(self, a, b):
        return fn("DATE_DIFF", b, a, exp.var("DAY"))

    def count_if(self, c):
        return fn("COUNTIF", c)

    def min_if(self, v, c):
        return exp.Min(this=exp.If(this=c, true=v, false=exp.Null()))

    def first_by(self, v, key, tie, c):
        import sqlglot

        agg = sqlglot.parse_one("ARRAY_AGG(IF(_c, STRUCT(_v AS v), NULL) IGNORE NULLS ORDER BY _k, _t LIMIT 1)[SAFE_OFFSET(0)].v",
                                read="bigquery")
        subst = {"_c": c, "_v": v, "_k": key, "_t": tie}
        return agg.transform(lambda n: subst[n.name].copy() if isinstance(n, exp.Column) and n.name in subst else n)

    # a profile's TIMESTAMP (a connector's API text, UTC's wall clock, maybe ending «Z»): BigQuery's TIMESTAMP reads a
    # text without a zone as UTC and accepts «T» and «Z»; sqlglot's DATETIME refuses a zone suffix
    cast_types = {exp.DataType.Type.TIMESTAMP: "TIMESTAMP"}

    def json_get(self, base, keys, text, native=None):
        # JSON_VALUE / JSON_QUERY take one constant JSONPath (positions from 0; a key that is no identifier in double
        # quotes): a dynamic position is JSON_QUERY_ARRAY(...)[SAFE_OFFSET(i)] (NULL past the end), the path then
        # continues from that element. JSON_VALUE gives a scalar's text (a string unquoted, a number as written), NULL
        # for an object / array, which JSON_QUERY gives as JSON text (->> of an object in PostgreSQL); JSON null: NULL.
        # On a JSON column (Airbyte Destinations V2, native: True) JSON_QUERY gives JSON, not STRING (neither NULLIF
        # with a STRING nor COALESCE with JSON_VALUE's STRING takes it): its text is TO_JSON_STRING's; JSON_VALUE
        # and JSON_QUERY_ARRAY take both types (an element of a JSON column's array is JSON again)
        if any(isinstance(k, int) and k < 0 for _, k in keys):
            return None  # PostgreSQL's «from the end»: not written for this engine
        cur, path = base.copy(), "$"
        for kind, k in keys:
            if kind == "key":
                path += "." + k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) else '."' + k.replace('"', '\\"') + '"'
            elif isinstance(k, int):
                path += f"[{k}]"
            else:
                arr = fn("JSON_QUERY_ARRAY", cur, S(path))
                cur, path = exp.Bracket(this=arr, expressions=[fn("SAFE_OFFSET", k.copy())]), "$"
        found = fn("JSON_QUERY", cur.copy(), S(path))
        query = fn("NULLIF", fn("TO_JSON_STRING", found) if native else found, S("null"))
        if not text:
            return query
        return exp.Coalesce(this=fn("JSON_VALUE", cur.copy(), S(path)), expressions=[query])


class Snowflake(Dialect):
    name = "snowflake"
    sqlglot = "snowflake"
    regex_flavor = REGEX_FLAVORS["snowflake"]
    strip = Dialect.strip_all

    def search(self, x, p):
        # REGEXP_LIKE is anchored at both ends on Snowflake: a search is REGEXP_INSTR
        return exp.GT(this=fn("REGEXP_INSTR", x, S(self.pattern(p))), expression=num(0))

    def full_match(self, x, p):
        return fn("REGEXP_LIKE", x, S(self.pattern(p)))

    def replace_all(self, x, p, repl):
        return fn("REGEXP_REPLACE", x, S(self.pattern(p)), S(repl))

    def contains(self, x, s):
        return fn("CONTAINS", x, S(s))

    def starts_with(self, x, s):
        return fn("STARTSWITH", x, S(s))

    def strpos(self, x, s):
        return fn("POSITION", S(s), x)

    def ends_with(self, x, s):
        return fn("ENDSWITH", x, S(s))

    def to_double(self, x):
        return fn("TRY_TO_DOUBLE", x)

    def days_between(self, a, b):
        return fn("DATEDIFF", exp.var("day"), a, b)

    def count_if(self, c):
        return fn("COUNT_IF", c)

    def min_if(self, v, c):
        return exp.Min(this=fn("IFF", c, v, exp.Null()))

    def first_by(self, v, key, tie, c):
        # MIN_BY takes one key: the date and the file row in one number (days * 1e9 + row)
        k = exp.Add(this=exp.Mul(this=fn("DATEDIFF", exp.var("day"), self.date("1970-01-01"), key), expression=num("1000000000")),
                    expression=tie)
        return fn("MIN_BY", v, fn("IFF", c, k, exp.Null()))

    # a profile's TIMESTAMP is a wall clock (UTC's): TIMESTAMP_NTZ, whatever the account's TIMESTAMP_TYPE_MAPPING says
    cast_types = {exp.DataType.Type.TIMESTAMP: "TIMESTAMP_NTZ"}

    def json_get(self, base, keys, text, native=None):
        # the column parsed once, whatever its type (native or not): TRY_PARSE_JSON(TO_VARCHAR(x)) is NULL for text
        # that is no JSON, and TO_VARCHAR of a VARIANT / OBJECT / ARRAY is its JSON text (of a VARIANT holding a
        # string — JSON stored twice encoded — that string, parsed in turn); then GET per step (an object's key; an array's position from 0, a dynamic one too; NULL for a
        # missing element); ->> is the VARIANT cast to text: a string unquoted, a number's or an object's JSON text,
        # JSON null -> NULL (STRIP_NULL_VALUE)
        if any(isinstance(k, int) and k < 0 for _, k in keys):
            return None
        cur = fn("TRY_PARSE_JSON", fn("TO_VARCHAR", base.copy()))
        for kind, k in keys:
            cur = fn("GET", cur, S(k) if kind == "key" else num(k) if isinstance(k, int) else k.copy())
        cur = fn("STRIP_NULL_VALUE", cur)
        return exp.Cast(this=cur, to=exp.DataType.build("VARCHAR")) if text else cur


DIALECTS: dict[str, type[Dialect]] = {d.name: d for d in (Dialect, Postgres, ClickHouse, Spark, BigQuery, Snowflake)}


def get(name: str | None) -> Dialect:
    """The dialect called ``name`` (DuckDB when None); ValueError naming the known ones otherwise."""
    return DIALECTS[canonical(name)]()
