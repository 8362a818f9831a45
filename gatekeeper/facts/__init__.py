"""What rules read: frozen facts about the image and the files that describe how it runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gatekeeper.facts.context import BuildContext
from gatekeeper.facts.dockerfile import Dockerfile, Instruction
from gatekeeper.facts.image import FileIndex, ImageFacts
from gatekeeper.facts.mapping import short_command
from gatekeeper.facts.runtime import RuntimeFacts
from gatekeeper.facts.scan import ScanReport
from gatekeeper.facts.workload import Workload
from gatekeeper.findings import Location, image_location
from gatekeeper.policy.model import Waiver
from gatekeeper.secrets import redact_secrets
from gatekeeper.text import shorten


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file the run used, and how it was found (for the report)."""

    kind: str
    """`dockerfile`, `dockerignore`, `compose`, `kubernetes`, `scan-report`."""
    path: str
    how: str
    """`given` on the command line, or `discovered` in the working directory."""


@dataclass(frozen=True)
class Target:
    """Everything one gate run judges together."""

    image: ImageFacts | None = None
    dockerfile: Dockerfile | None = None
    context: BuildContext | None = None
    workloads: tuple[Workload, ...] = ()
    """Every container of the given compose / Kubernetes files."""
    image_workloads: tuple[Workload, ...] = ()
    """The workloads that run this image (by image name, or the service chosen with --service)."""
    scans: tuple[ScanReport, ...] = ()
    inputs: tuple[InputFile, ...] = ()
    layer_instructions: Mapping[int, Instruction] = field(default_factory=dict)
    """Image layer index -> the final-stage Dockerfile instruction that made it."""
    history_instructions: Mapping[int, Instruction] = field(default_factory=dict)
    """Image history index -> the Dockerfile instruction that made it."""
    scan_notes: tuple[str, ...] = ()
    """Why no scan report is there (e.g. the configured scanner is not installed)."""
    now: datetime | None = None
    """When the run started (for report ages); rules never read the clock themselves."""
    image_names: tuple[str, ...] = ()
    """The names the image goes by (reference, tags), for waivers and profiles."""
    waivers: tuple[Waiver, ...] = ()
    """Policy waivers plus the Dockerfile's inline waivers that are allowed."""
    inline_problems: tuple[tuple[int, str, str], ...] = ()
    """(line, message, detail) of Dockerfile inline waivers that cannot apply."""
    runtime: RuntimeFacts | None = None
    """What `--run` observed when it started the image (None: runtime verification not requested)."""

    def require_image(self) -> ImageFacts:
        if self.image is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("no image given")
        return self.image

    def require_files(self) -> FileIndex:
        """The image's files; NotApplicable when there is no image or its filesystem was not read."""
        image = self.require_image()
        if image.files is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("the image filesystem was not read")
        return image.files

    def require_dockerfile(self) -> Dockerfile:
        if self.dockerfile is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("no Dockerfile given or found")
        return self.dockerfile

    def require_runtime(self) -> RuntimeFacts:
        """The run's facts; rules that only judge a run are SKIPPED without `--run`."""
        if self.runtime is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("runtime verification not requested (--run)")
        if not self.runtime.attempted:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable(self.runtime.reason)
        return self.runtime

    def require_image_or_dockerfile(self) -> None:
        if self.image is None and self.dockerfile is None:
            from gatekeeper.rule import NotApplicable

            raise NotApplicable("no image or Dockerfile given")

    def instruction_location(self, instruction: Instruction) -> Location:
        path = self.dockerfile.path if self.dockerfile is not None else "Dockerfile"
        return Location(path, instruction.line, instruction.keyword)

    def layer_location(self, layer: int | None, pointer: str = "") -> Location:
        """The Dockerfile line that made an image layer; for a base-image layer, the FROM that
        brought it in; else the image itself."""
        instruction = self.layer_instructions.get(layer) if layer is not None else None
        if instruction is not None:
            return Location(self.instruction_location(instruction).artifact, instruction.line, pointer)
        if layer is not None and self.dockerfile is not None and self.layer_origin(layer) == "base":
            base = self.dockerfile.runtime_chain()[0]
            return Location(self.dockerfile.path, base.line, pointer)
        return image_location(pointer)

    def layer_command(self, layer: int) -> str:
        """The instruction that made a layer: the Dockerfile's when mapped, else the history's."""
        instruction = self.layer_instructions.get(layer)
        if instruction is not None:
            return shorten(redact_secrets(f"{instruction.keyword} {instruction.args}"), LABEL_WIDTH)
        if self.image is None or not 0 <= layer < len(self.image.layers):
            return ""
        return shorten(short_command(self.image.layers[layer].created_by), LABEL_WIDTH)

    def layer_origin(self, layer: int) -> str:
        """`own` (made by the Dockerfile), `base` (came with the base image), or `` (unknown)."""
        if self.dockerfile is None or not (self.layer_instructions or self.history_instructions):
            return ""  # no Dockerfile, or one that does not match the image's history
        if not self.layer_instructions:
            return "base"  # the Dockerfile made no layer (`FROM nginx` + `CMD`)
        return "own" if layer >= min(self.layer_instructions) else "base"

    def layer_label(self, layer: int) -> str:
        """`layer 3 (RUN apt-get update)`, `base-image layer 0 (ADD file:... in /)`."""
        command = self.layer_command(layer)
        prefix = "base-image layer" if self.layer_origin(layer) == "base" else "layer"
        return f"{prefix} {layer} ({command})" if command else f"{prefix} {layer}"

    def config_location(self, keyword: str, pointer: str) -> Location:
        """The last final-stage instruction of a kind (USER, HEALTHCHECK, ENV...); without one, the
        final stage's FROM (where the instruction belongs); without a Dockerfile, the image."""
        if self.dockerfile is not None:
            found = self.dockerfile.last_in_chain(keyword)
            line = found.line if found is not None else self.dockerfile.stages[-1].line
            return Location(self.dockerfile.path, line, pointer)
        return image_location(pointer)


LABEL_WIDTH = 60
