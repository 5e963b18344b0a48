"""Accounts and roles: sign-in, bcrypt passwords, invites, attempt limits, and the admin check.

Roles are enforced here, in the domain layer, so an admin-only action refuses an annotator even if a
page forgot to hide it. A password is asked for when the account has one, or else when the project
sets one (``project_password_hash`` in settings); a project with neither signs in by name only.

Invite links carry a random token; only its SHA-256 is stored (in settings, under ``invite:<hash>``),
with an expiry, and redeeming it deletes it, so a link works once. Failed sign-ins are counted per
name and per browser session in the server's memory; too many in a window lock that key out for a
while, which turns password guessing into hours per name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import bcrypt

from annotate_app import settings
from annotate_app.accounts import names
from annotate_app.store import Store

ROLES = ("admin", "annotator")
INVITE_PREFIX = "invite:"
MAX_NAME = 64
MAX_PASSWORD = 72  # bcrypt reads at most 72 bytes; longer ones are refused rather than truncated


class AuthError(Exception):
    """Sign-in refused; the message is safe to show (it never says which part was wrong)."""


class NotAllowed(PermissionError):
    """The signed-in account lacks the role an action needs."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("a password cannot be empty")
    if len(password.encode("utf-8")) > MAX_PASSWORD:
        raise ValueError(f"a password can have at most {MAX_PASSWORD} bytes")
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    """bcrypt's own comparison, which takes the same time whatever the mismatch."""
    try:
        return bcrypt.checkpw(password.encode("utf-8")[:MAX_PASSWORD], hashed.encode("ascii"))
    except ValueError:
        return False


def clean_name(name: str) -> str:
    """The stored form of an account name (``names.clean``); raises ``names.BadName``."""
    name = names.clean(name, what="a name", max_length=MAX_NAME)
    if name.startswith("import:"):
        raise names.BadName("names starting with 'import:' are reserved for imported labels")
    return name


def account_names(store: Store) -> list[str]:
    return [str(n) for n in store.annotators_frame()["name"]]


def check_new_name(store: Store, name: str) -> str:
    """The cleaned name of a new account, refused if taken or confusable with an existing one."""
    name = clean_name(name)
    if store.get_annotator(name) is not None:
        raise names.BadName(f"an account named {name!r} already exists")
    names.check_new(name, account_names(store), what="the name")
    return name


def project_password_set(store: Store) -> bool:
    return bool(settings.load(store).project_password_hash)


def has_own_password(store: Store, name: str) -> bool:
    row = store.get_annotator(name)
    return row is not None and bool(row["password_hash"])


def password_required(store: Store, name: str) -> bool:
    """Whether signing in as ``name`` needs a password (the sign-in form asks only then)."""
    row = store.get_annotator(name.strip())
    if row is not None and row["password_hash"]:
        return True
    return project_password_set(store)


@dataclass(frozen=True)
class AttemptLimits:
    """How many failed sign-ins a name or a browser session may make in ``window_s`` before it is
    locked out for ``lockout_s``."""

    max_failures: int = 5
    window_s: float = 300.0
    lockout_s: float = 900.0


@dataclass
class SignInGuard:
    """Failed sign-in counts of one server process, per key ("name:alice", "session:<id>")."""

    limits: AttemptLimits = field(default_factory=AttemptLimits)
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            wait = max((self._locked_until.get(k, 0.0) - now for k in keys), default=0.0)
        if wait > 0:
            raise AuthError(
                f"too many failed sign-ins; try again in {max(1, round(wait / 60))} minute(s)"
            )

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while times and times[0] < now - self.limits.window_s:
                    times.popleft()
                if len(times) >= self.limits.max_failures:
                    self._locked_until[key] = now + self.limits.lockout_s
                    times.clear()

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def _guard_keys(name: str, session: str | None) -> list[str]:
    keys = [f"name:{' '.join(name.split()).casefold()}"]
    return keys + ([f"session:{session}"] if session else [])


def sign_in(
    store: Store,
    name: str,
    password: str | None = None,
    *,
    guard: SignInGuard | None = None,
    session: str | None = None,
) -> Account:
    """The account for this name, if it exists, is active and the password (when needed) matches.

    With a ``guard``, a name or session with too many recent failures is refused before any check,
    so a locked-out guesser learns nothing. A project with no accounts at all has nobody to create
    the first one, so its first sign-in becomes the admin.
    """
    keys = _guard_keys(name, session)
    if guard is not None:
        guard.check(keys)
    try:
        account = _check_credentials(store, name, password)
    except AuthError:
        if guard is not None:
            guard.failed(keys)
        raise
    if guard is not None:
        guard.succeeded(keys)
    return account


def _check_credentials(store: Store, name: str, password: str | None) -> Account:
    try:
        name = clean_name(name)
    except names.BadName as exc:
        raise AuthError(str(exc)) from None
    row = store.get_annotator(name)
    if row is None:
        if store.stats()["annotators"] == 0:
            store.upsert_annotator(name, role="admin")
            return Account(name, "admin")
        raise AuthError("unknown name or wrong password; ask an admin for an account")
    needed = row["password_hash"] or settings.load(store).project_password_hash
    if needed and not check_password(password or "", needed):
        raise AuthError("unknown name or wrong password; ask an admin for an account")
    if not row["active"]:
        raise AuthError(f"the account {name!r} is disabled; ask an admin")
    return Account(row["name"], row["role"])


def current_account(store: Store, account: Account) -> Account | None:
    """The account as the project has it now: None once it is disabled or deleted, and with its
    current role. Pages call this on every run, so disabling someone ends their session at once."""
    row = store.get_annotator(account.name)
    if row is None or not row["active"]:
        return None
    return Account(row["name"], row["role"])


def sign_in_external(store: Store, email: str) -> Account:
    """An identity vouched for by the project's OpenID Connect provider (``st.login``): it still
    needs an active account of that name, made by an admin, so the provider decides who someone
    is and the project decides what they may do."""
    row = store.get_annotator(" ".join(email.split()))
    if row is None:
        raise AuthError(f"no account for {email!r}; ask an admin to add it")
    if not row["active"]:
        raise AuthError(f"the account {email!r} is disabled; ask an admin")
    return Account(row["name"], row["role"])


def idle_minutes(store: Store) -> int:
    """Minutes without any action after which a browser session is signed out."""
    return settings.load(store).session_idle_minutes


def set_idle_minutes(store: Store, by: Account, minutes: int) -> None:
    require_admin(by)
    settings.update(store, session_idle_minutes=int(minutes))


_INVITE_LOCK = threading.Lock()


def _token_key(token: str) -> str:
    return INVITE_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_invite(
    store: Store,
    by: Account,
    role: str = "annotator",
    hours: float = 72.0,
    name: str | None = None,
) -> str:
    """A single-use token for a new account of ``role``; only its hash is stored. With a ``name``,
    the invite is for that account name only (checked now, and again when it is redeemed)."""
    require_admin(by)
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if hours <= 0:
        raise ValueError(f"an invite must last a positive time, got {hours} hours")
    invite = {"role": role, "by": by.name}
    if name is not None:
        invite["name"] = check_new_name(store, name)
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    store.set_setting(_token_key(token), {**invite, "expires_at": expires.isoformat()})
    return token


def invited_name(store: Store, token: str) -> str | None:
    """The account name an invite was made for, if it names one (the sign-in form fills it in)."""
    invite = store.get_setting(_token_key(token or ""))
    return invite.get("name") if invite else None


def redeem_invite(store: Store, token: str, name: str, password: str) -> Account:
    """Create the invited account; the token is spent whether or not it had expired. The name
    follows the same rules as every account name (``names``), including the look-alike check."""
    with _INVITE_LOCK:
        key = _token_key(token or "")
        invite = store.get_setting(key)
        if invite is None:
            raise AuthError("this invite link is not valid (already used, or never issued)")
        if dt.datetime.fromisoformat(invite["expires_at"]) < dt.datetime.now(dt.UTC):
            store.set_setting(key, None)  # spent: a null value reads as no invite
            raise AuthError("this invite link has expired; ask an admin for a new one")
        reserved = invite.get("name")
        if reserved is not None and names.normalise(name or reserved) != reserved:
            raise AuthError(f"this invite is for the name {reserved!r}")
        try:
            name = clean_name(name or reserved or "")
            if store.get_annotator(name) is not None:
                raise AuthError(f"the name {name!r} is taken; choose another")
            name = check_new_name(store, name)
            hashed = hash_password(password)
        except ValueError as exc:
            raise AuthError(str(exc)) from None
        store.set_setting(key, None)  # spent: a null value reads as no invite
        store.upsert_annotator(name, role=invite["role"], password_hash=hashed)
    return Account(name, invite["role"])


def require_admin(account: Account | None) -> Account:
    if account is None or not account.is_admin:
        raise NotAllowed("this needs an admin account")
    return account


def create_account(
    store: Store, by: Account, name: str, role: str = "annotator", password: str | None = None
) -> Account:
    require_admin(by)
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    name = check_new_name(store, name)
    store.upsert_annotator(
        name, role=role, password_hash=hash_password(password) if password else None
    )
    return Account(name, role)


def set_active(store: Store, by: Account, name: str, active: bool) -> None:
    require_admin(by)
    if name == by.name and not active:
        raise ValueError("you cannot disable your own account")
    if store.get_annotator(name) is None:
        raise ValueError(f"no account named {name!r}")
    store.set_annotator_active(name, active)


LOOPBACK_ADDRESSES = ("127.0.0.1", "localhost", "::1")


class Unprotected(ValueError):
    """A project that anyone who reaches it can enter by typing a name, about to be exposed."""


def open_accounts(store: Store) -> list[str]:
    """Active accounts that sign in by name alone (none has a password and no project password
    is set). A project with no account at all is open too: its first visitor becomes the admin."""
    if project_password_set(store):
        return []
    frame = store.annotators_frame()
    if frame.empty:
        return ["(first visitor becomes admin)"]
    active = [str(n) for n, on in zip(frame["name"], frame["active"], strict=True) if on]
    return [n for n in active if not has_own_password(store, n)]


def is_loopback(address: str) -> bool:
    return address in LOOPBACK_ADDRESSES or address.startswith("127.")


def check_exposure(store: Store, address: str, allow_no_passwords: bool = False) -> None:
    """Refuse to serve a name-only project on an address other people can reach."""
    if is_loopback(address) or allow_no_passwords:
        return
    exposed = open_accounts(store)
    if exposed:
        shown = ", ".join(repr(n) for n in exposed[:5]) + (" ..." if len(exposed) > 5 else "")
        raise Unprotected(
            f"refusing to serve on {address}: anyone who reaches it could sign in without a "
            f"password as {shown}; set passwords ('annotate user add NAME --password-stdin', or "
            "a project password on the Settings page), or pass --allow-no-passwords"
        )


def set_project_password(store: Store, by: Account, password: str | None) -> None:
    """Set (or with None/empty, clear) the password that accounts without their own one use."""
    require_admin(by)
    settings.update(store, project_password_hash=hash_password(password) if password else None)
