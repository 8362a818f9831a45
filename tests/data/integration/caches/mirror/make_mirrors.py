"""Stand-ins for the Debian mirror and PyPI inside a build without network (gk-it/caches).

Writes, deterministically (same bytes every build, so the engine's cache holds):
  <root>/apt/Packages                       a flat apt repository index of ~2 MB
  <root>/pypi/simple/orders-extras/...      a PEP 503 index with one ~400 kB wheel
`apt-get update` and `pip install` then fill their caches exactly as they would from the network.
"""

import base64
import hashlib
import random
import sys
import zipfile
from pathlib import Path

root = Path(sys.argv[1])
rng = random.Random("gatekeeper-caches")

apt = root / "apt"
apt.mkdir(parents=True, exist_ok=True)
with (apt / "Packages").open("w") as index:
    for n in range(6000):
        index.write(
            f"Package: orders-dep-{n}\nVersion: 1.0.{n}\nArchitecture: all\n"
            f"Maintainer: Orders Team <orders@example.com>\nFilename: pool/orders-dep-{n}_all.deb\n"
            f"Size: {rng.randrange(1000, 99999)}\nSHA256: {rng.getrandbits(256):064x}\n"
            f"Description: dependency {n} of the orders service\n\n"
        )

name, version = "orders_extras", "1.0.0"
wheel = f"{name}-{version}-py3-none-any.whl"
files = {
    f"{name}/__init__.py": b'"""Extras for orders."""\n',
    f"{name}/table.bin": rng.randbytes(400_000),
    f"{name}-{version}.dist-info/METADATA": (
        f"Metadata-Version: 2.1\nName: orders-extras\nVersion: {version}\n".encode()
    ),
    f"{name}-{version}.dist-info/WHEEL": (
        b"Wheel-Version: 1.0\nGenerator: make-mirrors\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
}
record = "".join(
    f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
    f"{len(data)}\n"
    for path, data in files.items()
)
files[f"{name}-{version}.dist-info/RECORD"] = (record + f"{name}-{version}.dist-info/RECORD,,\n").encode()
project = root / "pypi" / "simple" / "orders-extras"
project.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(project / wheel, "w") as archive:
    for path, data in files.items():
        archive.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), data)
digest = hashlib.sha256((project / wheel).read_bytes()).hexdigest()
(project / "index.html").write_text(f'<a href="{wheel}#sha256={digest}">{wheel}</a>\n')
