from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from aggregator import accounts
from aggregator.store import Store


def test_passwords_are_argon2_and_checked(store: Store) -> None:
    user = accounts.add_user(store, "marie", "moderator", "un-long-secret")
    assert (
        user.password_hash.startswith("$argon2id$") and "un-long-secret" not in user.password_hash
    )
    assert accounts.authenticate(store, "marie", "un-long-secret") is not None
    assert accounts.authenticate(store, "marie", "mauvais-secret") is None
    assert accounts.authenticate(store, "personne", "un-long-secret") is None
    accounts.set_disabled(store, "marie")
    assert accounts.authenticate(store, "marie", "un-long-secret") is None


def test_the_standard_cost_is_rfc_9106_and_a_password_follows_the_cost_at_login(
    store: Store,
) -> None:
    standard, cheapest = accounts.passwords("standard"), accounts.passwords("cheapest")
    user = accounts.add_user(store, "marie", "moderator", "un-long-secret", hashing=standard)
    assert "$m=65536,t=3,p=4$" in user.password_hash
    # Settings that ask for another cost: the same password opens, and is hashed again.
    assert accounts.authenticate(store, "marie", "un-long-secret", cheapest) is not None
    cheap = accounts.find_user(store, "marie")
    assert cheap is not None and "$m=8,t=1,p=1$" in cheap.password_hash
    assert accounts.authenticate(store, "marie", "mauvais-secret", cheapest) is None
    assert accounts.authenticate(store, "marie", "un-long-secret", standard) is not None
    again = accounts.find_user(store, "marie")
    assert again is not None and "$m=65536,t=3,p=4$" in again.password_hash


def test_account_errors_say_what_is_wrong(store: Store) -> None:
    with pytest.raises(accounts.AccountError, match="10 characters"):
        accounts.add_user(store, "paul", "moderator", "court")
    with pytest.raises(accounts.AccountError, match="unknown role"):
        accounts.add_user(store, "paul", "chef", "un-long-secret")
    accounts.add_user(store, "paul", "admin", "un-long-secret")
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.add_user(store, "paul", "admin", "un-long-secret")


def test_first_admin_only_when_there_is_no_account(store: Store) -> None:
    password = accounts.ensure_first_admin(store)
    assert password and accounts.authenticate(store, "admin", password) is not None
    assert accounts.ensure_first_admin(store) is None


def test_user_commands(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wall.cli import main

    config = tmp_path / "livewall.toml"
    config.write_text(f'[storage]\nurl = "{database_url}"\n', encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("mot-de-passe-solide\n"))
    assert (
        main(
            ["--config", str(config), "user", "add", "marie", "--role", "admin", "--password-stdin"]
        )
        == 0
    )
    assert main(["--config", str(config), "user", "disable", "marie"]) == 0
    assert main(["--config", str(config), "user", "list"]) == 0
    assert main(["--config", str(config), "user", "disable", "nobody"]) == 2
    out, err = capsys.readouterr()
    assert "marie" in out and "admin" in out and "disabled" in out
    assert "no user named 'nobody'" in err


def test_the_accounts_service_opens_and_ends_sessions(store: Store) -> None:
    service = accounts.Accounts(store)
    service.add_user("marie", "admin", "un-long-secret", actor="cli")
    user = service.authenticate("marie", "un-long-secret")
    assert user is not None and service.authenticate("marie", "mauvais-secret") is None
    key, staff = service.open_session(user, "10.0.0.7")
    assert service.load_session(key) == staff and staff.is_admin
    service.close_session(staff.session_id, staff.name)
    assert service.load_session(key) is None
    secret = service.create_token("script", "moderator", actor="marie")
    assert service.check_token(secret) == accounts.Staff("token:script", "moderator")
    [token] = service.tokens()
    service.revoke_token(token.id or 0, actor="marie")
    assert service.check_token(secret) is None
    service.add_user("paul", "moderator", "un-long-secret", actor="marie")
    service.set_password("paul", "un-autre-secret", actor="marie")
    service.set_disabled("paul", True, actor="marie")
    assert [(u.name, u.disabled) for u in service.users()] == [("marie", False), ("paul", True)]
    assert service.authenticate("paul", "un-autre-secret") is None


def test_preferences_are_kept_per_user_and_merged(store: Store) -> None:
    service = accounts.Accounts(store)
    ana = service.add_user("ana", "moderator", "a long password", "admin")
    bob = service.add_user("bob", "moderator", "a long password", "admin")
    assert ana.id is not None and bob.id is not None
    assert service.preferences(ana.id) == {}
    service.set_preferences(ana.id, {"language": "en", "shortcuts": False})
    assert service.set_preferences(ana.id, {"shortcuts": None, "sound": True}) == {
        "language": "en",
        "sound": True,
    }
    assert service.preferences(ana.id) == {"language": "en", "sound": True}
    assert service.preferences(bob.id) == {}
    with pytest.raises(accounts.AccountError, match="no user number 999"):
        service.set_preferences(999, {"language": "fr"})
