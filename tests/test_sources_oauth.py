"""OAuth2 refresh tokens (issue 14): an expired access token is refreshed once, the request retried, the new tokens kept.

For Pipedrive, amoCRM, Bitrix24 and HubSpot apps, against each CRM's fake and a
fake token endpoint that refreshes the way that CRM does (tests/fake_crm/oauth.py:
Basic auth, a JSON body, a GET query …) and rotates the refresh token.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import samplegen
from fake_crm.amocrm import FakeAmoCrm
from fake_crm.bitrix24 import LOSE, WON, FakeBitrix24
from fake_crm.hubspot import FakeHubSpot
from fake_crm.oauth import FakeOAuth
from fake_crm.pipedrive import FakePipedrive
from test_sources_pipedrive import FakeClock

from crm_audit import settings as settings_mod
from crm_audit import sources
from crm_audit.sources import errors as E
from crm_audit.sources.cache import SyncCache

CLI = [sys.executable, "-m", "crm_audit"]


def _settings(crm: str) -> dict:
    s = dict(samplegen.DEFAULT_SETTINGS)
    s["crm"] = crm
    closed = {"amocrm": ["Успешно реализовано", "Закрыто и не реализовано"], "hubspot": ["Closed Won", "Closed Lost"],
              "bitrix24": [WON, LOSE]}.get(crm)
    if closed:
        s["pipelines"] = {p: [*st, *closed] for p, st in s["pipelines"].items()}
    return s


#: crm -> (fake class, how the fake accepts a new access token)
FAKES = {
    "pipedrive": (FakePipedrive, lambda f, t: setattr(f, "oauth_token", t)),
    "amocrm": (FakeAmoCrm, lambda f, t: setattr(f, "token", t)),
    "hubspot": (FakeHubSpot, lambda f, t: setattr(f, "token", t)),
    "bitrix24": (FakeBitrix24, lambda f, t: setattr(f, "oauth_token", t)),
}


@pytest.fixture(scope="module")
def dataset():
    return samplegen.generate(60, seed=41, as_of=dt.date(2026, 11, 20))


@pytest.fixture(params=sorted(FAKES))
def crm(request, dataset, tmp_path):
    name = request.param
    cls, accept = FAKES[name]
    fake = cls.from_export(dataset, _settings(name)).start()
    accept(fake, "live-access-token-0000")  # what the CRM accepts now; the token file holds an expired one
    oauth = FakeOAuth(name, lambda t: accept(fake, t)).start()
    token_file = tmp_path / "secrets" / f"{name}.json"
    token_file.parent.mkdir()
    token_file.write_text(json.dumps(oauth.token_file_data(f"{name}-expired-access-1111")), encoding="utf-8")
    token_file.chmod(0o600)
    folder = tmp_path / "project"
    folder.mkdir()
    data = _settings(name)
    data["crm_api"] = {"auth": "oauth2", "token_file": str(token_file), "base_url": fake.url,
                       **({"domain": "acme.amocrm.ru"} if name == "amocrm" else {})}
    cfg = folder / "crm-audit.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    yield name, fake, oauth, token_file, cfg
    fake.stop()
    oauth.stop()
    assert fake.schema_errors == [], fake.schema_errors[:5]


def _sync(s, name):
    if name == "amocrm":  # its fake counts 7 requests a second on the real clock
        return sources.sync(s, environ={})
    clock = FakeClock()
    return sources.sync(s, environ={}, clock=clock, sleep=clock.sleep)


def _no_secret_in(folder: Path, secrets: list[str]) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for s in secrets:
                assert s.encode() not in data, (p, s)


def test_an_expired_access_token_is_refreshed_once_and_the_token_file_replaced(crm):
    name, fake, oauth, token_file, cfg = crm
    s = settings_mod.load(cfg)
    r = _sync(s, name)
    assert oauth.issued == 1 and r.snapshot is not None
    with SyncCache(sources.cache_file(s), read_only=True) as c:
        assert c.counts()  # the sync went on after the refresh
    saved = json.loads(token_file.read_text(encoding="utf-8"))
    assert saved["access_token"] == f"{name}-access-0001-9f8e7d6c" and saved["refresh_token"] == oauth.refresh_token == "refresh-0002-rotated"
    assert saved["client_secret"] == oauth.client_secret and saved["expires_at"] > 0  # the rest of the file kept
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in token_file.parent.iterdir()) == [token_file.name]  # replaced atomically: no temporary left
    secrets = [saved["access_token"], saved["refresh_token"], oauth.client_secret, "refresh-0001-abcdef"]
    _no_secret_in(cfg.parent, secrets)
    shown = json.dumps({"by_path": r.by_path, "objects": [o.name for o in r.objects]})
    assert not any(x in shown for x in secrets)
    # the next sync reads the new token from the file: no refresh
    r2 = _sync(s, name)
    assert oauth.issued == 1 and r2.mode == "incremental"


def test_a_revoked_refresh_token_is_a_bad_token_and_the_file_is_left_alone(crm):
    name, fake, oauth, token_file, cfg = crm
    before = token_file.read_text(encoding="utf-8")
    oauth.refresh_token = "refresh-revoked-elsewhere"
    out = subprocess.run(CLI + ["sync", "--config", str(cfg), "--quiet"], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items()})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "refused to refresh the OAuth2 token" in out.stdout + out.stderr
    assert "refresh-0001-abcdef" not in out.stdout + out.stderr and oauth.client_secret not in out.stdout + out.stderr
    assert token_file.read_text(encoding="utf-8") == before and oauth.issued == 0


def test_a_401_after_the_refresh_is_not_refreshed_again(crm):
    name, fake, oauth, token_file, cfg = crm
    s = settings_mod.load(cfg)
    oauth.on_token = lambda t: None  # the CRM keeps refusing the new token too (e.g. the app was uninstalled)
    with pytest.raises(E.BadToken):
        _sync(s, name)
    assert oauth.issued == 1  # once, not in a loop
