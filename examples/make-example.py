#!/usr/bin/env python3
"""Write the bundled example image as a `docker save` tarball, with no Docker engine needed.

    python examples/make-example.py build/example.tar [--ready]
    gatekeeper check docker-archive:build/example.tar --no-discover

The default image is a typical first attempt at containerising a service: no USER (so it runs as
root) and a HEALTHCHECK that calls `curl`, which the slim image does not have. `--ready` writes the
fixed version: a non-root numeric user and a health check whose program exists.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import tarfile

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MTIME = 1_700_000_000


def _tar(entries: list[tuple[str, str, bytes, int]]) -> bytes:
    """entries: (path, kind 'dir'|'file'|'link', data or link target, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, data, mode in entries:
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = mode, MTIME
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _layers(ready: bool) -> list[tuple[str, bytes]]:
    base = _tar(
        [
            ("bin", "dir", b"", 0o755),
            ("bin/sh", "file", b"\x7fELF example shell\n" * 64, 0o755),
            ("etc", "dir", b"", 0o755),
            ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
            ("etc/group", "file", b"root:x:0:\n", 0o644),
            ("usr", "dir", b"", 0o755),
            ("usr/bin", "dir", b"", 0o755),
            ("usr/bin/python3", "file", b"\x7fELF example python\n" * 4096, 0o755),
        ]
    )
    app_files = [
        ("app", "dir", b"", 0o755),
        ("app/main.py", "file", b"print('hello from the example service')\n", 0o644),
    ]
    if ready:
        app_files.append(("app/healthcheck", "file", b"#!/bin/sh\nexec python3 -c 'print(1)'\n", 0o755))
    app = _tar(app_files)
    layers = [("/bin/sh -c #(nop) ADD file:example-rootfs in / ", base)]
    layers.append(("COPY . /app # buildkit", app))
    if ready:
        users = _tar(
            [
                ("etc", "dir", b"", 0o755),
                (
                    "etc/passwd",
                    "file",
                    b"root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001::/app:/bin/sh\n",
                    0o644,
                ),
            ]
        )
        layers.append(("RUN useradd --uid 10001 app # buildkit", users))
    return layers


def build(path: str, ready: bool) -> None:
    layers = _layers(ready)
    diff_ids = ["sha256:" + hashlib.sha256(data).hexdigest() for _, data in layers]
    history: list[dict[str, object]] = [
        {"created_by": cmd, "created": "2026-01-01T00:00:00Z"} for cmd, _ in layers
    ]
    config: dict[str, object] = {
        "Env": [f"PATH={PATH}", "PYTHONUNBUFFERED=1"],
        "WorkingDir": "/app",
        "Cmd": ["python3", "main.py"],
        "ExposedPorts": {"8000/tcp": {}},
    }
    if ready:
        config["User"] = "10001:10001"
        config["Healthcheck"] = {"Test": ["CMD", "/app/healthcheck"], "Interval": 30_000_000_000}
        history.append({"created_by": "USER 10001:10001", "empty_layer": True})
    else:
        config["Healthcheck"] = {"Test": ["CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"]}
    history.append({"created_by": 'CMD ["python3", "main.py"]', "empty_layer": True})
    doc = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_raw = json.dumps(doc, sort_keys=True).encode()
    config_name = hashlib.sha256(config_raw).hexdigest() + ".json"
    tag = "example/app:ready" if ready else "example/app:1.0"
    layer_names = [f"{d.split(':')[1]}/layer.tar" for d in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]
    members = [(n, data) for n, (_, data) in zip(layer_names, layers, strict=True)]
    members += [(config_name, config_raw), ("manifest.json", json.dumps(manifest).encode())]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), MTIME
            out.addfile(info, io.BytesIO(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="where to write the docker-archive tarball")
    parser.add_argument("--ready", action="store_true", help="write the production-ready version")
    args = parser.parse_args()
    build(args.output, args.ready)
    print(f"wrote {args.output}; now run: gatekeeper check docker-archive:{args.output} --no-discover")


if __name__ == "__main__":
    main()
