"""Names init writes into crm-audit.yaml read back as the same text (a cp1250 save's «Negociaç?o», « #», «1.5»)."""

import yaml
from hypothesis import given
from hypothesis import strategies as st

from crm_audit.exportdraft import _yaml_safe


def _reads_back(text: str) -> bool:
    q = _yaml_safe(text)
    return yaml.safe_load(f"{q}: [{q}, {q}]\nv: {q}    # comment\n") == {text: [text, text], "v": text}


def test_awkward_stage_names_read_back():
    for name in ["Negociaç?o", "a?", "?a", "a #b", "1.5", "yes", "Нет", "x: y", "[x]", "a,b", "@x", "%x", "",
                 "  lead", "Отправлено КП", '"q"', "a\tb", "-", "~", "\u2028", "a\u2029b", "\x85"]:
        assert _reads_back(name), name


def test_plain_names_stay_unquoted():
    assert _yaml_safe("Отправлено КП") == "Отправлено КП"
    assert _yaml_safe("Negociação") == "Negociação"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
def test_any_name_reads_back(name):
    assert _reads_back(name)
