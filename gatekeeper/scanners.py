"""Run a vulnerability scanner (Trivy or Grype) when the policy asks and no report was given.

The scanner's own JSON is parsed like an imported report. Nothing is installed or downloaded by
gatekeeper: a scanner that is not on PATH, or that fails, becomes a note the vulnerabilities
rule reports ("trivy is not on PATH").
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from gatekeeper.errors import InputError
from gatekeeper.facts.scan import ScanReport
from gatekeeper.parsers import scan
from gatekeeper.sources import ImageRef

TIMEOUT = 900.0


def scanner_args(scanner: str, ref: ImageRef) -> list[str]:
    """The command line that scans `ref` without pulling it again where possible."""
    if scanner == "trivy":
        base = ["trivy", "image", "--format", "json", "--quiet"]
        if ref.transport in ("docker-archive", "oci", "oci-archive"):
            return [*base, "--input", ref.target]
        if ref.transport == "docker":
            return [*base, "--image-src", "remote", ref.target]
        return [*base, "--image-src", "docker", ref.target]
    prefix = {
        "docker-daemon": "docker:",
        "docker-archive": "docker-archive:",
        "oci": "oci-dir:",
        "oci-archive": "oci-archive:",
        "docker": "registry:",
    }[ref.transport]
    return ["grype", "-o", "json", "-q", prefix + ref.target]


def run_scanner(scanner: str, ref: ImageRef, environ: Mapping[str, str]) -> tuple[ScanReport | None, str]:
    """(report, "") or (None, why not)."""
    args = scanner_args(scanner, ref)
    if shutil.which(args[0], path=environ.get("PATH")) is None:
        return None, f"scanner {scanner} is not on PATH (install it or pass --scan-report)"
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=TIMEOUT, env=dict(environ), check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"{scanner} did not finish within {TIMEOUT:.0f} s"
    except OSError as exc:
        return None, f"cannot run {scanner}: {exc.strerror or exc}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return None, f"{scanner} exited with {proc.returncode}: {last}"
    try:
        return scan.parse(proc.stdout, f"{scanner} ({' '.join(args[:2])})"), ""
    except InputError as exc:
        return None, str(exc)
