from __future__ import annotations

from gatekeeper.facts.accounts import parse_group, parse_passwd


def test_parse_group_first_entry_wins_and_junk_is_skipped() -> None:
    data = b"root:x:0:\nweb:x:2000:app,ops\nbroken\n:x:5:\nbad:x:NaN:\nweb:x:3000:\n"
    assert parse_group(data) == {"root": 0, "web": 2000}


def test_parse_passwd_fields() -> None:
    accounts = parse_passwd(b"app:x:10001:10001::/app:/bin/sh\nshort:x:5:6\n")
    assert (accounts["app"].uid, accounts["app"].gid, accounts["app"].home) == (10001, 10001, "/app")
    assert accounts["short"].shell == ""
