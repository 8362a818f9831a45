"""Match image history to Dockerfile instructions, so image findings point at a line.

The image history ends with one entry per instruction of the final stage's chain (FROM excluded);
the entries before those come from the base image. Walking both lists from the end and pairing
entries by instruction keyword finds the boundary without trusting exact command text, which the
classic builder and BuildKit write differently (`/bin/sh -c #(nop)  CMD [...]`, `|2 A=1 /bin/sh -c
...`, `COPY file:abc in /app`, `RUN /bin/sh -c ... # buildkit`, `HEALTHCHECK &{[...] ...}`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gatekeeper.facts.dockerfile import Dockerfile, Instruction
from gatekeeper.facts.image import HistoryEntry
from gatekeeper.secrets import redact_secrets

KEYWORDS = frozenset(
    {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL"}
    | {"MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)
_BUILD_ARG_COUNT = re.compile(r"\|([0-9]{1,6})\s+")  # (4,300 digits would stop int(); `²` too)
_BUILD_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*")
NOP_MARK = "#(nop)"


def split_build_args(text: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """`|2 A=1 B=2 rest`, the build arguments a RUN step saw as both builders record them, ->
    ((("A", "1"), ("B", "2")), "rest"). Text that does not start with them comes back as it is."""
    count = _BUILD_ARG_COUNT.match(text)
    if count is None:
        return (), text
    rest = text[count.end() :]
    found: list[tuple[str, str]] = []
    for _ in range(int(count.group(1))):
        arg = _BUILD_ARG.match(rest)
        if arg is None:
            break
        found.append((arg.group(1), arg.group(2)))
        rest = rest[arg.end() :]
    return tuple(found), rest


def nop_instruction(created_by: str) -> str | None:
    """What a classic-builder metadata step records after its `#(nop)` marker (`ENV A=b`), or
    None when the history line is not one.

    The classic builder writes the current SHELL, then the marker: `/bin/sh -c #(nop) `,
    `/bin/bash -o pipefail -c #(nop) ` after `SHELL [...]`, `cmd /S /C #(nop) ` on Windows. The
    marker counts only there (after a shell flag, or at the start of the line): a RUN whose command
    holds it, `/bin/sh -c echo '#(nop) ENV x'`, stays a RUN.
    """
    text = created_by.strip()
    at = text.find(NOP_MARK)
    if at < 0:
        return None
    before = text[:at].split()
    if before and not (before[-1].startswith("-") or before[-1] in ("/C", "/c")):
        return None
    rest = text[at + len(NOP_MARK) :]
    return rest.strip() if rest[:1].isspace() else None


def nop_step(created_by: str) -> tuple[str, str] | None:
    """A classic-builder metadata step as (KEYWORD, its arguments): `/bin/sh -c #(nop)  ENV A=b`
    -> ("ENV", "A=b"). None when the line is not one (nop_instruction) or names no keyword."""
    nop = nop_instruction(created_by)
    words = nop.split(None, 1) if nop else []
    if words and words[0].isascii() and words[0].isalpha():
        return words[0].upper(), words[1].strip() if len(words) > 1 else ""
    return None


def history_keyword(created_by: str) -> str:
    """The Dockerfile keyword behind a history entry, for either builder."""
    text = split_build_args(created_by.strip())[1]
    words = text.split(None, 1)
    if words and words[0] in KEYWORDS:
        return words[0]  # BuildKit writes the keyword, upper case
    step = nop_step(text)
    if step is not None:
        return step[0]
    if text.startswith(("/bin/sh -c ", "cmd /S /C ")):
        return "RUN"
    return ""


def match_history(dockerfile: Dockerfile, history: Sequence[HistoryEntry]) -> dict[int, Instruction]:
    """History index -> instruction, for the tail of the history that the Dockerfile made."""
    instructions = [
        i for stage in dockerfile.runtime_chain() for i in stage.instructions if i.keyword != "FROM"
    ]
    matched: dict[int, Instruction] = {}
    h = len(history) - 1
    k = len(instructions) - 1
    while h >= 0 and k >= 0:
        keyword = history_keyword(history[h].created_by)
        if not keyword and instructions[k].keyword == "RUN":
            # The classic builder records an exec-form RUN (`npm ci`) or a RUN under a custom
            # SHELL (`/bin/bash -o pipefail -c make`) as the bare command line.
            keyword = "RUN"
        if keyword == instructions[k].keyword:
            matched[h] = instructions[k]
            h -= 1
            k -= 1
            continue
        # Instructions that leave no history entry in one builder or the other (e.g. an ARG
        # that is never used) are skipped; anything else ends the Dockerfile's part.
        if instructions[k].keyword in ("ARG", "ONBUILD", "SHELL"):
            k -= 1
            continue
        break
    return matched


def layer_instructions(
    history: Sequence[HistoryEntry], matched: dict[int, Instruction]
) -> dict[int, Instruction]:
    return {
        entry.layer_index: matched[h]
        for h, entry in enumerate(history)
        if entry.layer_index is not None and h in matched
    }


def short_command(created_by: str) -> str:
    """A history command for display, with any secret in it masked."""
    return redact_secrets(_short_command(created_by))


def _short_command(created_by: str) -> str:
    """`/bin/sh -c #(nop)  CMD ["x"]` -> `CMD ["x"]`; `|1 A=b /bin/sh -c make` -> `RUN make`."""
    text = " ".join(created_by.split()).removesuffix(" # buildkit")
    run = text.startswith("RUN ")  # BuildKit: `RUN |1 A=b /bin/sh -c make # buildkit`
    text = text.removeprefix("RUN ")
    text = split_build_args(text)[1]
    nop = None if run else nop_instruction(text)
    if nop:
        return nop
    if text.startswith("/bin/sh -c "):
        return "RUN " + text[len("/bin/sh -c ") :]
    return "RUN " + text if run else text
