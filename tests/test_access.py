"""The team server's access policy (explainers_team.access): parsing the lists, matching addresses and
domains, admins, and the refusals a signed-in person can meet."""

from __future__ import annotations

import pytest

from explainers_team.access import ENV_ADMINS, ENV_ALLOWED, AccessConfigError, AccessDenied, AccessPolicy, User, may_change, parse_entries


def test_parse_entries_from_a_list_and_from_an_environment_string():
    assert parse_entries(["Alice@X.org", " @Example.COM ", "alice@x.org"], what="allowed") == (
        "alice@x.org", "@example.com")
    assert parse_entries("alice@x.org, @example.com;bob@y.net  *", what="allowed") == (
        "alice@x.org", "@example.com", "bob@y.net", "*")
    assert parse_entries(None, what="allowed") == () == parse_entries("", what="allowed") == parse_entries(
        [], what="allowed")


@pytest.mark.parametrize("entry, fix", [
    ("example.com", "'@example.com' for everyone at that domain"),
    ("alice@", "'alice@example.org' for one person"),
    ("@", "'@example.org' for a whole domain"),
    ("a@b@c.org", "'*' for anyone"),
])
def test_a_malformed_allowed_entry_says_how_to_write_it(entry, fix):
    with pytest.raises(AccessConfigError, match="allowed") as error:
        parse_entries([entry], what="allowed")
    assert fix in str(error.value)


@pytest.mark.parametrize("entry", ["@example.com", "*", "example.com"])
def test_admins_must_be_single_addresses(entry):
    with pytest.raises(AccessConfigError, match="admins must be single addresses"):
        AccessPolicy.from_lists(allowed=["*"], admins=[entry])


def test_wrong_types_are_refused_with_the_setting_name():
    with pytest.raises(AccessConfigError, match="`allowed` must be a list"):
        parse_entries(42, what="allowed")
    with pytest.raises(AccessConfigError, match="`admins` must contain only strings"):
        parse_entries(["a@b.org", 3], what="admins")


def test_address_domain_and_anyone_matching():
    policy = AccessPolicy.from_lists(allowed=["alice@x.org", "@example.com"])
    assert policy.is_allowed("alice@x.org") and policy.is_allowed("ALICE@X.ORG")
    assert not policy.is_allowed("bob@x.org")  # only Alice at x.org
    assert policy.is_allowed("bob@example.com")
    assert not policy.is_allowed("bob@sub.example.com")  # a domain entry is exactly that domain
    assert not policy.is_allowed("bob@notexample.com")  # no suffix match
    assert not policy.is_allowed("example.com")  # not an address at all
    assert not policy.is_allowed("eve@example.com@evil.org")
    anyone = AccessPolicy.from_lists(allowed=["*"])
    assert anyone.is_allowed("who@ever.net") and not anyone.is_allowed("no-at-sign")


def test_admins_are_allowed_and_flagged():
    policy = AccessPolicy.from_lists(allowed=["@example.com"], admins=["Boss@Corp.net"])
    assert policy.is_admin("boss@corp.net") and policy.is_allowed("boss@corp.net")
    assert not policy.is_admin("alice@example.com")
    assert policy.authorize({"email": "boss@corp.net", "name": "The Boss"}) == User(
        "boss@corp.net", "The Boss", is_admin=True)


def test_authorize_gives_the_identity_with_a_name():
    policy = AccessPolicy.from_lists(allowed=["@example.com"])
    assert policy.authorize({"email": " Alice@Example.com", "name": "Alice Martin", "email_verified": True}) == (
        User("alice@example.com", "Alice Martin", is_admin=False))
    # No name claim: the address's local part.
    assert policy.authorize({"email": "bob@example.com"}).name == "bob"


@pytest.mark.parametrize("claims, reason", [
    ({"name": "No Mail"}, "did not send an e-mail address"),
    ({"email": "alice@example.com", "email_verified": False}, "is not verified"),
    ({"email": "alice@example.com", "email_verified": "false"}, "is not verified"),
    ({"email": "mallory@elsewhere.net", "name": "Mallory"}, "mallory@elsewhere.net, which is not on this server's allow-list"),
])
def test_refusals_say_why(claims, reason):
    policy = AccessPolicy.from_lists(allowed=["@example.com"])
    with pytest.raises(AccessDenied, match=reason):
        policy.authorize(claims)


def test_an_empty_allow_list_refuses_everyone_and_says_how_to_fix_it():
    with pytest.raises(AccessDenied, match="allow-list is empty") as error:
        AccessPolicy().authorize({"email": "alice@example.com"})
    assert ENV_ALLOWED in str(error.value) and "[explainers]" in str(error.value)


def test_from_config_reads_the_table_and_the_environment_wins():
    section = {"allowed": ["@example.com"], "admins": ["boss@example.com"]}
    assert AccessPolicy.from_config(section, {}) == AccessPolicy(("@example.com",), ("boss@example.com",))
    env = {ENV_ALLOWED: "carol@y.org, @z.org", ENV_ADMINS: ""}
    assert AccessPolicy.from_config(section, env) == AccessPolicy(("carol@y.org", "@z.org"), ())
    assert AccessPolicy.from_config(None, {}) == AccessPolicy()


def test_from_config_refuses_an_unknown_key():
    with pytest.raises(AccessConfigError, match="unknown key.*'allow'.*'allowed' and 'admins'"):
        AccessPolicy.from_config({"allow": ["@example.com"]}, {})


def test_may_change_is_author_or_admin():
    alice = User("alice@example.com", "Alice")
    boss = User("boss@example.com", "Boss", is_admin=True)
    assert may_change(alice, "Alice@Example.com") and not may_change(alice, "bob@example.com")
    assert not may_change(alice, None) and not may_change(None, "alice@example.com")
    assert may_change(boss, "bob@example.com") and may_change(boss, None)


def test_a_typed_name_is_never_an_admin():
    """Without login a name is a label: typing an admin's address gives no admin rights."""
    policy = AccessPolicy.from_lists(allowed=["*"], admins=["boss@example.com"])
    assert policy.user("boss@example.com") == User("boss@example.com") and not policy.user("boss@example.com").is_admin
