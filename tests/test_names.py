"""Names: NFKC, no invisible characters, no look-alikes, through every way an account is made."""

from __future__ import annotations

import pytest

from annotate_app.accounts import auth, names
from annotate_app.store import Store

ADMIN = auth.Account("admin", "admin")

# Each of these was once created beside a real 'admin' (or 'alice') and could not be told apart.
LOOK_ALIKES = {
    "upper case": "ADMIN",
    "zero-width space": "ad\u200bmin",
    "Cyrillic i": "adm\u0456n",
    "bidi override": "alice\u202egnp.exe",
    "NUL": "adm\x00in",
    "full-width": "\uff41\uff44\uff4d\uff49\uff4e",
}


@pytest.fixture
def project(store: Store) -> Store:
    store.upsert_annotator("admin", role="admin")
    store.upsert_annotator("alice")
    return store


def test_normalise_and_invisible_characters() -> None:
    assert names.normalise("  \uff41lice\u3000 b ") == "alice b"  # NFKC + white space runs
    for bad in ("a\u200bb", "a\u202eb", "a\x00b", "a\nb", "a\u2028b", "a\ufeffb", "a\ue000b"):
        with pytest.raises(names.BadName, match="U\\+"):
            names.clean(bad)


def test_skeleton_finds_look_alikes_and_keeps_distinct_names_apart() -> None:
    assert names.confusable_with("ADMIN", ["alice", "admin"]) == "admin"
    assert names.confusable_with("adm\u0456n", ["admin"]) == "admin"
    assert names.confusable_with("p\u0430ypal", ["paypal"]) == "paypal"  # Cyrillic a
    assert names.confusable_with("Ilya", ["llya"]) == "llya"  # capital I vs small l
    assert names.confusable_with("rnary", ["mary"]) == "mary"  # rn vs m
    for name in ("bob", "alicia", "rob", "admins", "carol"):
        assert names.confusable_with(name, ["admin", "alice", "bob2"]) is None, name


@pytest.mark.parametrize("case", sorted(LOOK_ALIKES))
def test_look_alike_names_are_refused_by_create_account(project: Store, case: str) -> None:
    with pytest.raises(names.BadName):
        auth.create_account(project, ADMIN, LOOK_ALIKES[case])
    assert len(auth.account_names(project)) == 2, "nothing was created"


@pytest.mark.parametrize("case", sorted(LOOK_ALIKES))
def test_look_alike_names_are_refused_through_invite_redemption(project: Store, case: str) -> None:
    token = auth.create_invite(project, ADMIN)
    with pytest.raises(auth.AuthError):
        auth.redeem_invite(project, token, LOOK_ALIKES[case], "pw-new")
    assert len(auth.account_names(project)) == 2, "nothing was created"
    # the refusal did not spend the link: a proper name still works with it
    assert auth.redeem_invite(project, token, "carol", "pw-carol") == auth.Account(
        "carol", "annotator"
    )


def test_a_named_invite_is_checked_when_made_and_binds_the_name(project: Store) -> None:
    with pytest.raises(names.BadName, match="looks like"):
        auth.create_invite(project, ADMIN, name="Alice")
    token = auth.create_invite(project, ADMIN, name="dora")
    assert auth.invited_name(project, token) == "dora"
    with pytest.raises(auth.AuthError, match="for the name 'dora'"):
        auth.redeem_invite(project, token, "mallory", "pw")
    assert auth.redeem_invite(project, token, "", "pw-dora").name == "dora"


def test_stored_names_are_nfkc(project: Store) -> None:
    made = auth.create_account(project, ADMIN, "  \uff44\uff41\uff4e  ")  # full-width 'dan'
    assert made.name == "dan" and project.get_annotator("dan") is not None


def test_look_alikes_among_new_names_and_against_existing_ones() -> None:
    assert names.look_alikes(["gpt-4", "llama", "GPT-4", "llama"]) == {"GPT-4": "gpt-4"}
    assert names.look_alikes(["m\u0456stral", "mistral"], ["mistral"]) == {
        "m\u0456stral": "mistral"
    }
    assert names.look_alikes(["mistral", "mixtral"], ["mistral"]) == {}
