"""Users and groups from the image's /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass

PASSWD = "/etc/passwd"
GROUP = "/etc/group"


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    uid: int
    gid: int
    home: str = ""
    shell: str = ""


def parse_passwd(data: bytes) -> dict[str, Account]:
    """name -> Account; malformed lines are ignored, as libc does."""
    accounts: dict[str, Account] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) < 4 or not parts[0] or line.startswith("#"):
            continue
        try:
            uid, gid = int(parts[2]), int(parts[3])
        except ValueError:
            continue
        accounts.setdefault(
            parts[0],
            Account(
                parts[0],
                uid,
                gid,
                parts[5] if len(parts) > 5 else "",
                parts[6] if len(parts) > 6 else "",
            ),
        )
    return accounts


def parse_group(data: bytes) -> dict[str, int]:
    groups: dict[str, int] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split(":")
        if len(parts) < 3 or not parts[0]:
            continue
        try:
            groups.setdefault(parts[0], int(parts[2]))
        except ValueError:
            continue
    return groups
