"""A parsed Dockerfile: instructions with their lines, grouped into build stages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    """Upper-case: FROM, RUN, COPY, ..."""
    args: str
    """Everything after the keyword and its flags, continuation lines joined with spaces."""
    line: int
    """1-based line of the keyword."""
    end_line: int
    stage: int
    """Index of the build stage this instruction belongs to (-1 for ARGs before the first FROM)."""
    flags: tuple[tuple[str, str], ...] = ()
    """`--from=builder` -> ("from", "builder")."""
    json_args: tuple[str, ...] | None = None
    """The exec (JSON array) form, when used."""
    heredocs: tuple[str, ...] = ()
    original: str = ""

    def flag(self, name: str) -> str | None:
        for key, value in self.flags:
            if key == name:
                return value
        return None

    @property
    def words(self) -> tuple[str, ...]:
        """Arguments as words: the JSON form, else whitespace-split."""
        if self.json_args is not None:
            return self.json_args
        return tuple(self.args.split())


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    base: str
    """The FROM image as written (ARGs substituted where defaults are known)."""
    name: str = ""
    """The `AS name` alias (lower-case), if any."""
    line: int = 0
    base_stage: int | None = None
    """Index of an earlier stage when `FROM <that stage>`."""
    platform: str = ""
    instructions: tuple[Instruction, ...] = ()

    def label(self) -> str:
        return self.name or str(self.index)

    def find(self, keyword: str) -> tuple[Instruction, ...]:
        return tuple(i for i in self.instructions if i.keyword == keyword)


@dataclass(frozen=True)
class Dockerfile:
    path: str
    """As the report shows it (repo-relative where possible)."""
    stages: tuple[Stage, ...]
    global_args: tuple[Instruction, ...] = ()
    escape: str = "\\"
    text: str = field(default="", repr=False)

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def stage_named(self, name: str) -> Stage | None:
        key = name.lower()
        for stage in self.stages:
            if stage.name == key or str(stage.index) == key:
                return stage
        return None

    def runtime_chain(self) -> tuple[Stage, ...]:
        """The final stage and the stages it is built FROM (not the ones it only copies from)."""
        chain: list[Stage] = []
        seen: set[int] = set()  # by index: `stage in chain` compared whole stages, quadratic
        stage = self.final
        while stage is not None and stage.index not in seen:
            seen.add(stage.index)
            chain.append(stage)
            stage = self.stages[stage.base_stage] if stage.base_stage is not None else None
        return tuple(reversed(chain))

    def last_in_chain(
        self, keyword: str, wanted: Callable[[Instruction], bool] | None = None
    ) -> Instruction | None:
        """The instruction of a kind that takes effect in the image: the last one in the final
        stage and the stages it is built FROM (the last one `wanted` picks, if given)."""
        for stage in reversed(self.runtime_chain()):
            for instruction in reversed(stage.find(keyword)):
                if wanted is None or wanted(instruction):
                    return instruction
        return None

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        return self.global_args + tuple(i for s in self.stages for i in s.instructions)
