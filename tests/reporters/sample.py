"""One rich report for golden-file tests: every status and severity, awkward characters."""

from __future__ import annotations

from datetime import UTC, datetime

from gatekeeper.engine import checklist
from gatekeeper.findings import Finding, Location, RuleInfo, Severity, image_location
from gatekeeper.report import (
    FileSummary,
    LayerSummary,
    PolicyInfo,
    Report,
    RuleResult,
    Status,
    Subject,
)


def _info(i: int, name: str, checklist_item: str, severity: Severity) -> RuleInfo:
    return RuleInfo(
        id=f"GK-TST-{i:03d}",
        name=name,
        title=f"Title of {name}",
        checklist=checklist_item,
        severity=severity,
        fix=f"Fix {name} like this: `USER 10001`.",
        summary=f"Summary of {name}.",
        docs_url=f"https://example.invalid/docs#{name}",
    )


def sample_report() -> Report:
    root = _info(1, "runs-as-root", "Non-root user", Severity.HIGH)
    size = _info(2, "image-size", "Image size", Severity.MEDIUM)
    health = _info(3, "healthcheck-missing", "Health checks", Severity.MEDIUM)
    crash = _info(4, "crashing-rule", "Dockerfile hygiene", Severity.LOW)
    skipped = _info(5, "resource-limits", "Resource limits", Severity.MEDIUM)
    info = _info(6, "informational", "Image size", Severity.INFO)
    findings_root = (
        Finding(
            root,
            Severity.CRITICAL,
            'Runs as root: 100% <&> "quoted", with commas, colons: and\nnewline — ünïcode',
            image_location("config.User"),
            "a" * 32,
            evidence="USER root",
            blocking=True,
        ),
        Finding(
            root,
            Severity.HIGH,
            "Named user 'ghost' missing",
            Location("Dockerfile", 12, "USER"),
            "b" * 32,
            blocking=True,
        ),
    )
    findings_info = (
        Finding(
            info,
            Severity.INFO,
            "Layer 3 is 40% of the image",
            image_location("layers[3]"),
            "c" * 32,
        ),
    )
    results = (
        RuleResult(root, Status.FAILED, Severity.HIGH, findings=findings_root),
        RuleResult(size, Status.PASSED, Severity.MEDIUM, ("size 12.0 MB, budget 200.0 MB",)),
        RuleResult(health, Status.PASSED, Severity.MEDIUM, ("HEALTHCHECK CMD /app/health: found",)),
        RuleResult(crash, Status.ERROR, Severity.LOW, reason="ValueError: boom <here>"),
        RuleResult(skipped, Status.SKIPPED, Severity.MEDIUM, reason="no runtime config given"),
        RuleResult(info, Status.FAILED, Severity.INFO, findings=findings_info),
    )
    return Report(
        tool="gatekeeper",
        version="0.0.0-test",
        subject=Subject(
            reference="docker://registry.example.com/team/app:1.4.2",
            source="docker",
            digest="sha256:" + "d" * 64,
            platform="linux/amd64",
            size=12_000_000,
            compressed_size=4_500_000,
            layers=4,
            created="2026-01-01T00:00:00Z",
        ),
        policy=PolicyInfo("builtin:default", Severity.MEDIUM, (("builtin:default", "sha256:" + "e" * 64),)),
        results=results,
        checklist=checklist(results),
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        inputs=(
            ("dockerfile", "Dockerfile", "discovered"),
            ("compose", "deploy/compose.yaml", "given"),
        ),
        duration_s=1.25,
        layers=(
            LayerSummary(0, 5_000_000, 1_900_000, "ADD rootfs.tar.xz / # debian:bookworm-slim"),
            LayerSummary(
                1,
                4_800_000,
                1_700_000,
                "RUN apt-get update && apt-get install -y curl | tee /var/log/apt.log",
                3,
            ),
            LayerSummary(2, 2_150_000, 880_000, "COPY . /app", 7),
            LayerSummary(3, 50_000, 20_000, 'RUN useradd --uid 10001 app && echo "<&>"', 9),
        ),
        largest_files=(
            FileSummary("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", 4_500_000, 0),
            FileSummary("/var/cache/apt/pkgcache.bin", 1_900_000, 1),
            FileSummary("/app/data/model <v2>|final.bin", 1_200_000, 2),
            FileSummary("/usr/bin/curl", 280_000, 1),
        ),
        wasted_files=(
            FileSummary(
                "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
                900_000,
                1,
                3,
            ),
            FileSummary("/app/.env", 1_024, 2, 3),
        ),
    )
