"""Exit codes and the one exception tree; `cli.main` is the only place that maps them to codes."""

from __future__ import annotations

import enum
from typing import ClassVar


class ExitCode(enum.IntEnum):
    """The exit-code contract. A crash must never look like a gate result."""

    OK = 0  # gate passed (or --warn-only)
    GATE_FAILED = 1  # an active finding at or above fail_on
    USAGE = 2  # bad command line or invalid policy
    INPUT = 3  # the image or an input file could not be read
    INTERNAL = 4  # a bug in gatekeeper
    INTERRUPTED = 130


class GatekeeperError(Exception):
    """Base of every error gatekeeper reports as a one-line message."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL


class UsageError(GatekeeperError):
    """The command line does not make sense."""

    exit_code = ExitCode.USAGE


class PolicyError(GatekeeperError):
    """A policy file is invalid (syntax, schema, unknown rule or option)."""

    exit_code = ExitCode.USAGE


class InputError(GatekeeperError):
    """An input (image, Dockerfile, manifest, report) could not be read."""

    exit_code = ExitCode.INPUT


class SourceError(InputError):
    """The image could not be read from its source."""


class ImageNotFound(SourceError):
    """The reference names no image at that source."""


class DaemonUnavailable(SourceError):
    """The Docker engine cannot be reached."""


class BadArchive(SourceError):
    """A tarball, layout or layer is corrupt, truncated or not what it claims to be."""


class DigestMismatch(BadArchive):
    """Content does not hash to the digest that names it."""


class RegistryError(SourceError):
    """The registry answered with an error."""


class RegistryAuthError(RegistryError):
    """The registry refused our credentials (or wanted some)."""


class OutputError(GatekeeperError):
    """A report could not be written."""

    exit_code = ExitCode.INPUT
