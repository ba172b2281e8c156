"""What an export's own words for a field's values mean, told from the export's data (``init --from-export``).

A CRM writes the values of a field with a set of values — a deal's status (open / won / lost), a task's «done» — in
the exporting user's interface language. Where the profile does not know that language (a Korean Pipedrive export:
«진행 중», «성사», «실패»), each cell would read as blank and the deals holding them would be in no rule's scope. Instead
of leaving that to the user alone, :func:`infer_values` reads what the export itself says about each text:

* a deal **status** text whose deals mostly have a lost reason or a lost date is ``lost``; a won date or a won reason
  is ``won`` (the one text with such deals); of the texts left, the one whose deals have a next activity (a planned
  activity, activities to do) more often than the others is ``open`` — with no such column, the most frequent text
  when it is clearly more frequent; one text left and one value left: that value;
* a **yes/no** field's text (a task's «done»): the text that is the column's own name («완료» under «활동 - 완료», as
  «Concluído» under «Atividade - Concluído») is ``true``, a longer text holding that name («미완료», «Não concluído»)
  ``false``; for a task's «done» with two texts, the one whose tasks are mostly due in the future is ``false``
  (not done yet), the other ``true``;
* anything else, and a text none of this tells: listed for the user to fill in (commented out in the settings).

Every inference is written under `values:` with the reason next to it and ``values_confirmed: false``: `validate`
and `run` warn until the user confirms it; the texts left untold are warned by `run` (file, column, each text with its
rows) — never a silent pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from crm_audit.textnorm import norm

#: share of a text's rows that must carry a sign (a lost reason, a won date) for the sign to tell the text's value
SIGN_SHARE = 0.5
#: the most frequent text is taken for ``open`` only when it has at least this many times the rows of the next one
FREQUENT_RATIO = 1.5
#: «done»: how far apart the two texts' shares of tasks due in the future must be for the due dates to tell them
FUTURE_GAP = 0.3


@dataclass
class ValueWord:
    """One cell text of a field and what it means (``value`` None: not told — written commented out)."""

    text: str
    rows: int
    value: str | None = None
    why: str = ""  # how it was told (Russian: the settings' comment)
    own: bool = False  # from the team's own crm-audit.yaml (init --force keeps it)


@dataclass
class FieldWords:
    """A field's cell texts the profile does not know, in one file."""

    entity: str
    field: str
    header: str
    keys: list[str]  # the field's values (open, won, lost, deleted / true, false)
    words: list[ValueWord] = field(default_factory=list)

    @property
    def told(self) -> dict[str, str]:
        return {w.text: w.value for w in self.words if w.value is not None}

    @property
    def guessed(self) -> bool:
        """Something here is not the team's own: init's inference or a text left to fill in."""
        return any(not w.own for w in self.words)


_ROWS = {"deals": ("сделка", "сделки", "сделок"), "activities": ("задача", "задачи", "задач")}


def rows_word(entity: str, n: int) -> str:
    """«1 сделка», «3 сделки», «5 задач» (Russian: the settings' comment); other entities: «N строк»."""
    one, few, many = _ROWS.get(entity, ("строка", "строки", "строк"))
    form = one if n % 10 == 1 and n % 100 != 11 else few if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else many
    return f"{n} {form}"


def unknown_words(export, profile) -> list[FieldWords]:
    """Every enum / yes-no field read from a column whose non-blank cells include texts no value names, with those
    texts and their rows (the most frequent first)."""
    out = []
    for name, ent in export.entities.items():
        spec = profile.entities.get(name)
        if spec is None:
            continue
        for fname, header in ent.fields.items():
            fs = spec.fields.get(fname)
            if fs is None or fs.type not in ("enum", "bool") or not fs.values or fname not in ent.typed:
                continue
            raw = f'"{fname}__raw"'
            rows = export.con.execute(f'SELECT strip({raw}) AS v, count(*) AS n FROM {ent.table} WHERE NOT is_blank({raw}) '
                                      f'AND "{fname}" IS NULL GROUP BY 1 ORDER BY n DESC, min(_row)').fetchall()
            if rows:
                out.append(FieldWords(name, fname, header, list(fs.values), [ValueWord(str(t), int(n)) for t, n in rows]))
    return out


def infer_values(export, profile, today: dt.date | None = None) -> list[FieldWords]:
    """:func:`unknown_words`, each text told what it means where the export's data says (see the module's docstring)."""
    out = unknown_words(export, profile)
    for fw in out:
        if fw.entity == "deals" and fw.field == "status" and fw.keys:
            _status(export, fw)
        elif profile.entities[fw.entity].fields[fw.field].type == "bool":
            _by_header(profile, fw)
            _by_negation(fw)
            if fw.field == "done" and fw.entity == "activities":
                _done_by_due_dates(export, fw, today or dt.date.today())
        for w in fw.words:
            if w.value is None:
                w.why = f"{rows_word(fw.entity, w.rows)}; по данным выгрузки не понять, что это — впишите значение и уберите «#»"
    return out


def with_own(found: list[FieldWords], own: dict[tuple[str, str], dict[str, str]], export, profile) -> list[FieldWords]:
    """``found`` with the team's own `values:` (``own``: (entity, field) -> {text: value}, from the crm-audit.yaml init
    overwrites) put first in their field's lines — kept as given."""
    out = list(found)
    for (ent, fname), pairs in own.items():
        fw = next((x for x in out if x.entity == ent and x.field == fname), None)
        if fw is None:
            fs = profile.entities[ent].fields[fname]
            loaded = export.entities.get(ent)
            fw = FieldWords(ent, fname, loaded.fields.get(fname, fname) if loaded is not None else fname, list(fs.values))
            out.append(fw)
        fw.words[:0] = [ValueWord(t, 0, v, "из вашего crm-audit.yaml", own=True) for t, v in pairs.items()]
    order = ("deals", "organizations", "persons", "activities")
    return sorted(out, key=lambda fw: order.index(fw.entity) if fw.entity in order else len(order))


# --------------------------------------------------------------------------- a deal's status


def _share(export, ent, fw: FieldWords, test: str) -> dict[str, float]:
    """Per text of ``fw``: the share of its rows passing the SQL ``test``."""
    raw = f'"{fw.field}__raw"'
    rows = export.con.execute(f'SELECT strip({raw}), count(*) FILTER (WHERE {test}) / count(*) FROM {ent.table} '
                              f'WHERE NOT is_blank({raw}) AND "{fw.field}" IS NULL GROUP BY 1').fetchall()
    return {str(t): float(s or 0) for t, s in rows}


def _filled(ent, names: list[str]) -> tuple[str, list[str]]:
    """SQL: some of the fields ``names`` (those the file has) is filled; and the headers of those fields."""
    have = [n for n in names if n in ent.fields]
    if not have:
        return "", []
    tests = [f'"{n}" IS NOT NULL' if n in ent.typed else f'NOT is_blank("{n}")' for n in have]
    return " OR ".join(tests), [ent.fields[n] for n in have]


def _status(export, fw: FieldWords) -> None:
    ent = export.entities[fw.entity]
    present = {r[0] for r in export.con.execute(f'SELECT DISTINCT status FROM {ent.table} WHERE status IS NOT NULL').fetchall()}
    left = [k for k in ("open", "won", "lost") if k in fw.keys and k not in present]  # «deleted» is never told so
    words = {w.text: w for w in fw.words}
    signs = {"lost": _filled(ent, ["lost_reason", "lost_time"]), "won": _filled(ent, ["won_time", "won_reason"])}
    said = {"lost_reason": "причина проигрыша", "lost_time": "дата проигрыша", "won_time": "дата выигрыша",
            "won_reason": "причина выигрыша"}
    for key in ("lost", "won"):
        test, headers = signs[key]
        if not test or key not in left:
            continue
        share = _share(export, ent, fw, test)
        hits = [t for t, s in share.items() if s >= SIGN_SHARE and words[t].value is None]
        if len(hits) == 1:
            w = words[hits[0]]
            w.value = key
            what = " или ".join(said[n] for n in (["lost_reason", "lost_time"] if key == "lost" else ["won_time", "won_reason"])
                                if n in ent.fields)
            w.why = (f"{rows_word('deals', w.rows)}; у {_pct(share[w.text])} из них заполнена {what} "
                     f"({', '.join(f'«{h}»' for h in headers)}), у сделок с другими значениями — реже")
            left.remove(key)
    _by_closed_words(fw, left)
    rest = [w for w in fw.words if w.value is None]
    if rest and "open" in left:
        test, headers = _filled(ent, ["next_activity_date"])
        if "activities_to_do" in ent.fields:
            test = " OR ".join(x for x in (test, '"activities_to_do" > 0') if x)
            headers.append(ent.fields["activities_to_do"])
        share = _share(export, ent, fw, test) if test else {}
        ranked = sorted(rest, key=lambda w: -share.get(w.text, 0.0))
        if share and share.get(ranked[0].text, 0) > 0 and (len(ranked) == 1 or share[ranked[0].text] > share.get(ranked[1].text, 0)):
            w = ranked[0]
            w.value, w.why = "open", (f"{rows_word('deals', w.rows)}; у {_pct(share[w.text])} из них запланировано дело "
                                      f"({', '.join(f'«{h}»' for h in headers)}) — чаще, чем у сделок с другими значениями")
            left.remove("open")
        elif len(rest) >= 2:
            by_rows = sorted(rest, key=lambda w: -w.rows)
            if by_rows[0].rows >= FREQUENT_RATIO * by_rows[1].rows:
                w = by_rows[0]
                w.value, w.why = "open", (f"{rows_word('deals', w.rows)}; УГАДАНО: самое частое из значений, которые не "
                                          "объяснили причины и даты закрытия (открытых сделок обычно больше всего)")
                left.remove("open")
    rest = [w for w in fw.words if w.value is None]
    if len(rest) == 1 and len(left) == 1 and (any(w.value for w in fw.words) or present):
        w = rest[0]
        w.value, w.why = left[0], (f"{rows_word('deals', w.rows)}; осталось одно значение и одно состояние — "
                                   f"{left[0]} (остальные состояния уже названы другими значениями)")


_STATUS_RU = {"won": "выиграна", "lost": "проиграна", "deleted": "удалена"}


def _by_closed_words(fw: FieldWords, left: list[str]) -> None:
    """A status text that is, whole, the word «won» / «lost» / «deleted» of some language (closed_words.yaml: «Vundet»,
    «Kaybedildi», «삭제됨») means that, when one text says so for a value no text has yet."""
    from crm_audit.engine.closed_guess import status_word

    told = {w.value for w in fw.words if w.value}
    for key in ("won", "lost", "deleted"):
        if key not in fw.keys or key in told or (key != "deleted" and key not in left):
            continue
        hits = [(w, said) for w in fw.words if w.value is None and (said := status_word(w.text)) and said[0] == key]
        if len(hits) != 1:
            continue
        w, (_k, code) = hits[0]
        w.value, w.why = key, (f"{rows_word('deals', w.rows)}; УГАДАНО: «{w.text}» — «{_STATUS_RU[key]}» на языке {code} "
                               "(crm_audit/engine/closed_words.yaml), других данных о нём в выгрузке нет")
        if key in left:
            left.remove(key)


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


# --------------------------------------------------------------------------- yes / no


def _header_word(profile, entity: str, header: str) -> str:
    """The column's own name: its header without the entity's prefix («Activity - Done» → «Done»); a prefix the
    profile does not know («활동 - 완료») is what stands before the last « - »."""
    rest, had = profile.entities[entity].strip_prefix(header)
    if not had and " - " in header:
        rest = header.rsplit(" - ", 1)[1]
    return rest.strip()


def _by_header(profile, fw: FieldWords) -> None:
    """The text that is the column's own name is true; one longer text holding that name (its negation) is false."""
    name = _header_word(profile, fw.entity, fw.header)
    word = norm(name)
    if not word or "true" not in fw.keys or "false" not in fw.keys:
        return
    for w in fw.words:
        if norm(w.text) == word:
            w.value, w.why = "true", f"{rows_word(fw.entity, w.rows)}; это название самой колонки («{name}»)"
    holding: dict[str | None, list] = {"false": [], "true": [], None: []}
    for w in fw.words:
        if norm(w.text) != word and word in norm(w.text):
            added = norm(w.text).replace(word, " ").strip(" -_.,;:!?()")
            holding[_added_word(added)].append((w, added))
    if len(holding["false"]) == 1:
        w, added = holding["false"][0]
        w.value, w.why = "false", (f"{rows_word(fw.entity, w.rows)}; это название колонки («{name}») с отрицанием "
                                   f"«{added}» — похоже на «не {name}»")
    elif not holding["false"] and not holding["true"] and len(holding[None]) == 1:
        w, _added = holding[None][0]  # one text holding the name, its addition no known word: most likely «not …»
        w.value, w.why = "false", (f"{rows_word(fw.entity, w.rows)}; это название колонки («{name}») с добавкой — "
                                   f"похоже на «не {name}»")
    if len(holding["true"]) == 1 and not any(w.value == "true" for w in fw.words):
        w, added = holding["true"][0]
        w.value, w.why = "true", (f"{rows_word(fw.entity, w.rows)}; это название колонки («{name}») с «{added}» — "
                                  f"похоже на «уже {name}»")
    _the_other_of_two(fw)


def _added_word(added: str) -> str | None:
    """"false" when the text added to a column's name is a negation («não», «미», «not»), "true" when it affirms
    («已»), else None (bool_words.yaml)."""
    from pathlib import Path

    from crm_audit import resources

    data = resources.data_file(Path(__file__).parent / "bool_words.yaml") or {}
    parts = set(added.split()) | {added}
    if parts & {norm(str(x)) for x in data.get("negations") or []}:
        return "false"
    if parts & {norm(str(x)) for x in data.get("affirmations") or []}:
        return "true"
    return None


def _negated(text: str) -> bool:
    """The text says «not …»: one of its words is a negation of some language (bool_words.yaml: «Inte påbörjad»,
    «Ikke startet», «Ei aloitettu», «Nie rozpoczęto», «시작 전»), or it begins with a one-character one («未开始»)."""
    key = norm(text)
    return _added_word(key) == "false" or any(_added_word(ch) == "false" for ch in key[:1] if not ch.isascii())


def _by_negation(fw: FieldWords) -> None:
    """Two texts of a yes/no column neither told yet, one of them negated and the other not (a task's «Inte påbörjad» /
    «Slutförd», whatever the column is called): the negated one is false, the other true."""
    if len(fw.words) != 2 or any(w.value for w in fw.words) or "true" not in fw.keys or "false" not in fw.keys:
        return
    neg = [w for w in fw.words if _negated(w.text)]
    if len(neg) != 1:
        return
    yes = next(w for w in fw.words if w is not neg[0])
    neg[0].value, neg[0].why = "false", (f"{rows_word(fw.entity, neg[0].rows)}; в тексте отрицание — похоже на «не …» "
                                         f"(второе значение — «{yes.text}»)")
    yes.value, yes.why = "true", f"{rows_word(fw.entity, yes.rows)}; второе из двух значений колонки («{neg[0].text}» — с отрицанием)"


def _the_other_of_two(fw: FieldWords) -> None:
    """Two texts, one told: the other is the opposite."""
    told = [w for w in fw.words if w.value in ("true", "false")]
    rest = [w for w in fw.words if w.value is None]
    if len(fw.words) == 2 and len(told) == 1 and len(rest) == 1:
        other = "false" if told[0].value == "true" else "true"
        rest[0].value, rest[0].why = other, (f"{rows_word(fw.entity, rest[0].rows)}; второе из двух значений колонки "
                                             f"(«{told[0].text}» — {told[0].value})")


def _done_by_due_dates(export, fw: FieldWords, today: dt.date) -> None:
    """Two texts of a task's «done»: the one whose tasks are mostly due after today is false (not done yet)."""
    ent = export.entities[fw.entity]
    if "due_date" not in ent.fields or len(fw.words) != 2 or any(w.value for w in fw.words):
        return
    future = _share(export, ent, fw, f"due_date > DATE '{today.isoformat()}'")
    a, b = sorted(fw.words, key=lambda w: -future.get(w.text, 0.0))
    fa, fb = future.get(a.text, 0.0), future.get(b.text, 0.0)
    if fa - fb < FUTURE_GAP:
        return
    due = f"«{ent.fields['due_date']}»"
    a.value, a.why = "false", (f"{rows_word(fw.entity, a.rows)}; у {_pct(fa)} из них срок ({due}) ещё не наступил "
                               f"(на {today:%d.%m.%Y}) — невыполненные")
    b.value, b.why = "true", (f"{rows_word(fw.entity, b.rows)}; срок ещё не наступил лишь у {_pct(fb)} из них — "
                              "выполненные")
