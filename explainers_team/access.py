"""Who may use a team server: the allow-list, the admins, and the identity of a signed-in user.

The dashboard signs people in with OpenID Connect (see ``ui/app/auth.py``); this module decides, from
the identity provider's claims, whether that person may use the server and whether they are an
admin, and it holds the one rule of who may change a thing (:func:`may_change`: its author or an
admin). It never imports Streamlit, so the same policy can guard another front end or a script.

Configuration (see the README's "Team server" section): two lists of entries, from the
``[explainers]`` table of ``.streamlit/secrets.toml`` or from environment variables, which win when
set (so an operator can change the lists without editing the file):

=================  ========================  ===============================================
list               secrets.toml              environment variable (comma or space separated)
=================  ========================  ===============================================
who may sign in    ``allowed = [...]``       ``EXPLAINERS_ALLOWED``
admins             ``admins = [...]``        ``EXPLAINERS_ADMINS``
=================  ========================  ===============================================

An entry of ``allowed`` is an address (``"alice@example.org"``), a whole domain
(``"@example.org"``: every address at exactly that domain, not its sub-domains), or ``"*"``
(anyone the identity provider signs in: only for a provider that already restricts who has an
account). Admins are single addresses (a domain of admins is refused: admins may delete anything);
an admin may always sign in. Matching ignores case. An empty allow-list refuses everyone: a login
with no list is a misconfiguration, not an open door.

Admin rights need the login: without one, a typed name is a label anyone can type, so nobody is an
admin (:meth:`AccessPolicy.user` gives typed names no rights beyond their own things).

Examples
--------
>>> policy = AccessPolicy.from_lists(allowed=["@example.org"], admins=["boss@corp.net"])
>>> policy.authorize({"email": "Alice@Example.org", "name": "Alice"})
User(id='alice@example.org', name='Alice', is_admin=False)
>>> policy.authorize({"email": "boss@corp.net"}).is_admin
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from explainers.errors import ExplainersError

from .errors import InvalidRecordError, PermissionDeniedError

#: Environment variables that, when set, replace the lists of ``[explainers]`` in secrets.toml.
ENV_ALLOWED = "EXPLAINERS_ALLOWED"
ENV_ADMINS = "EXPLAINERS_ADMINS"
#: The entry of ``allowed`` that lets in anyone the identity provider signs in.
ANYONE = "*"

_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;.]+$|^[^@\s,;]+@localhost$")
_DOMAIN = re.compile(r"^@[^@\s,;]+\.[^@\s,;.]+$|^@localhost$")


class AccessConfigError(ExplainersError, ValueError):
    """The allow-list or the admin list is malformed (the message names the entry and the fix)."""


class AccessDenied(ExplainersError, PermissionError):
    """A signed-in person may not use this server; the message says why and what to do."""


def normalize_identity(value: str) -> str:
    """A person's stable key: stripped; e-mail addresses compare case-insensitively, so they are lower-cased.

    Raises
    ------
    TypeError
        If ``value`` is not a str.
    InvalidRecordError
        If it is empty or longer than 200 characters.
    """
    if not isinstance(value, str):
        raise TypeError(f"an identity must be a str (an e-mail or a name), got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise InvalidRecordError("the user's identity is empty; sign in or type your name first")
    if len(value) > 200:
        raise InvalidRecordError(f"the user's identity is {len(value)} characters long; at most 200 are allowed")
    return value.lower() if "@" in value else value


@dataclass(frozen=True)
class User:
    """A person who does something: signs in, saves, reviews.

    Attributes
    ----------
    id : str
        The stable identity: the lower-case e-mail address from the login, or (without login) the name
        typed once per browser (:func:`normalize_identity`).
    name : str
        Display name; defaults to ``id``.
    is_admin : bool
        May change anything and close any study (listed in ``admins`` and signed in).
    """

    id: str
    name: str = ""
    is_admin: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", normalize_identity(self.id))
        name = (self.name or "").strip() or self.id
        object.__setattr__(self, "name", name[:200])

    @classmethod
    def of(cls, value: User | str) -> User:
        """A ``User`` as is, or a plain string as a non-admin user of that id."""
        return value if isinstance(value, User) else cls(value)


def may_change(user: User | None, owner_id: str | None) -> bool:
    """The one permission rule: whether ``user`` may edit, delete or close a thing owned by ``owner_id``.

    Its owner (author, uploader, creator) or an admin may; nobody else, and nobody without an identity.
    """
    if user is None:
        return False
    return user.is_admin or (owner_id is not None and normalize_identity(owner_id) == user.id)


def check_may_change(user: User, owner_id: str, owner_name: str, what: str, role: str = "author") -> None:
    """Raise :class:`PermissionDeniedError` unless :func:`may_change`; the message says who may ``what``."""
    if not may_change(user, owner_id):
        raise PermissionDeniedError(f"only {owner_name} (the {role}) or an admin may {what}; you are {user.name}")


def parse_entries(value: str | Iterable[str] | None, *, what: str, domains: bool = True) -> tuple[str, ...]:
    """Normalise a list of addresses (and ``@domain`` entries) from configuration.

    Parameters
    ----------
    value : str, iterable of str or None
        A list (from TOML), or one string of entries separated by commas, semicolons or spaces
        (from an environment variable). None or empty gives an empty tuple.
    what : str
        The setting's name, for the error message (``"allowed"``, ``"admins"``).
    domains : bool
        Whether ``@domain`` entries and ``*`` are accepted.

    Returns
    -------
    tuple of str
        Lower-case entries, in order, without duplicates.

    Raises
    ------
    AccessConfigError
        An entry is neither an address, nor (when allowed) ``@domain`` or ``*``.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        items = re.split(r"[,;\s]+", value)
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise AccessConfigError(f"`{what}` must be a list of e-mail addresses, got {type(value).__name__}")
    entries: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise AccessConfigError(f"`{what}` must contain only strings, got {item!r}")
        entry = item.strip().lower()
        if not entry:
            continue
        if domains and (entry == ANYONE or _DOMAIN.match(entry)):
            pass
        elif _ADDRESS.match(entry):
            pass
        elif not domains:
            raise AccessConfigError(
                f"`{what}` entry {item!r} is not an e-mail address; {what} must be single addresses "
                "such as 'alice@example.org' (a whole domain is not accepted here)"
            )
        elif "@" not in entry:
            raise AccessConfigError(
                f"`{what}` entry {item!r} is neither an address nor a domain: write '@{entry}' for everyone "
                f"at that domain, or 'name@{entry}' for one person"
            )
        else:
            raise AccessConfigError(
                f"`{what}` entry {item!r} is not valid: use 'alice@example.org' for one person, "
                "'@example.org' for a whole domain, or '*' for anyone the identity provider signs in"
            )
        if entry not in entries:
            entries.append(entry)
    return tuple(entries)


@dataclass(frozen=True)
class AccessPolicy:
    """Who may sign in (``allowed``) and who is an admin (``admins``); see the module docstring."""

    allowed: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()

    @classmethod
    def from_lists(
        cls, allowed: str | Iterable[str] | None = None, admins: str | Iterable[str] | None = None
    ) -> AccessPolicy:
        """Validate and normalise the two lists (see :func:`parse_entries`)."""
        return cls(parse_entries(allowed, what="allowed"), parse_entries(admins, what="admins", domains=False))

    @classmethod
    def from_config(cls, section: Mapping | None, environ: Mapping[str, str]) -> AccessPolicy:
        """The policy of a server: ``[explainers]`` of secrets.toml, overridden by the environment.

        Parameters
        ----------
        section : mapping or None
            The ``[explainers]`` table (keys ``allowed`` and ``admins``); None when absent.
        environ : mapping
            The process environment: :data:`ENV_ALLOWED` and :data:`ENV_ADMINS`, when set (even
            to an empty string), replace the table's lists.

        Raises
        ------
        AccessConfigError
            An entry is malformed, or the table has a key other than ``allowed`` and ``admins``
            (a typo such as ``allow`` would otherwise silently refuse everyone).
        """
        section = dict(section or {})
        unknown = sorted(set(section) - {"allowed", "admins"})
        if unknown:
            raise AccessConfigError(
                f"unknown key(s) {', '.join(map(repr, unknown))} in [explainers] of secrets.toml; "
                "the keys are 'allowed' and 'admins'"
            )
        allowed = environ[ENV_ALLOWED] if ENV_ALLOWED in environ else section.get("allowed")
        admins = environ[ENV_ADMINS] if ENV_ADMINS in environ else section.get("admins")
        return cls.from_lists(allowed, admins)

    def is_admin(self, email: str) -> bool:
        """Whether ``email`` is listed in ``admins`` (case ignored)."""
        return email.strip().lower() in self.admins

    @staticmethod
    def user(name: str) -> User:
        """The person behind a name typed without login: a label with no admin rights (see the module)."""
        return User(name)

    def is_allowed(self, email: str) -> bool:
        """Whether ``email`` may sign in: an admin, listed, at a listed domain, or ``*`` is listed."""
        email = email.strip().lower()
        if not _ADDRESS.match(email):
            return False
        domain = "@" + email.rsplit("@", 1)[1]
        return self.is_admin(email) or ANYONE in self.allowed or email in self.allowed or domain in self.allowed

    def authorize(self, claims: Mapping) -> User:
        """The identity of a signed-in person, if this policy lets them in.

        Parameters
        ----------
        claims : mapping
            The identity provider's claims (``st.user``): ``email`` (required), ``name``,
            ``email_verified`` (an address the provider marks unverified is refused).

        Returns
        -------
        User
            ``id`` is the lower-case address; ``is_admin`` when listed in ``admins``.

        Raises
        ------
        AccessDenied
            No e-mail address, an unverified one, or one that is not on the allow-list; the
            message says which and what to do.
        """
        email = str(claims.get("email") or "").strip().lower()
        if not email:
            raise AccessDenied(
                "the identity provider did not send an e-mail address, so this server cannot tell who you are; "
                "the operator must request the 'email' scope (and claim) from the provider"
            )
        if claims.get("email_verified") is False or str(claims.get("email_verified")).lower() == "false":
            raise AccessDenied(
                f"the identity provider says {email} is not verified; verify it with the provider, then sign in again"
            )
        if not self.allowed and not self.admins:
            raise AccessDenied(
                f"you are signed in as {email}, but this server's allow-list is empty, so nobody may use it; "
                "the operator must list addresses or domains in `allowed` ([explainers] in .streamlit/secrets.toml "
                f"or ${ENV_ALLOWED})"
            )
        if not self.is_allowed(email):
            raise AccessDenied(
                f"you are signed in as {email}, which is not on this server's allow-list; ask the operator "
                "to add your address or your domain, or sign out and sign in with another account"
            )
        name = str(claims.get("name") or "").strip() or email.split("@", 1)[0]
        return User(email, name, is_admin=self.is_admin(email))
