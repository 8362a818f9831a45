from __future__ import annotations

import pytest

from gatekeeper.rules.dockerfile.dependencies_after_source import RULE
from tests.factories import target, target_evidence, target_violations

PYTHON_OK = """FROM python:3.11-slim
RUN apt-get update && apt-get install -y \\
    gcc \\
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . /app
WORKDIR /app
CMD ["python", "main.py"]
"""


@pytest.mark.parametrize(
    ("install", "shown"),
    [
        ("npm install", "npm install"),
        ("npm ci --only=production", "npm ci"),
        ("yarn install --frozen-lockfile", "yarn install"),
        ("pip install -r requirements.txt", "pip install -r requirements.txt"),
        ("pip3 install --no-cache-dir .", "pip3 install --no-cache-dir ."),
        ("poetry install --no-root", "poetry install"),
        ("bundle install", "bundle install"),
        ("go mod download", "go mod download"),
        ("composer install --no-dev", "composer install"),
        ("pip install --requirement requirements.txt", "pip install --requirement requirements.txt"),
        ("pip --python 3.11 install -r r.txt", "pip --python 3.11 install -r r.txt"),
        ("pip install .; echo ok", "pip install ."),
    ],
)
def test_install_after_whole_copy_fails(install: str, shown: str) -> None:
    text = f"FROM base:1\nWORKDIR /app\nCOPY . .\nRUN {install}\n"
    [v] = target_violations(RULE, target(dockerfile=text))
    assert v.location.line == 3
    assert f"`{shown}` (line 4)" in v.message


def test_article_python_example_passes() -> None:
    tgt = target(dockerfile=PYTHON_OK)
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == ["1 dependency install(s), each before the source is copied"]


def test_article_single_stage_node_fails() -> None:
    text = "FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\nRUN npm run build\n"
    [v] = target_violations(RULE, target(dockerfile=text))
    assert v.message.startswith("Stage '0': `COPY . .` (line 3) comes before `npm install` (line 4)")


def test_copy_from_stage_is_not_the_context() -> None:
    text = "FROM a:1 AS b\nRUN true\nFROM c:1\nCOPY --from=b . .\nRUN npm ci\n"
    assert target_violations(RULE, target(dockerfile=text)) == []


def test_npm_run_build_is_not_an_install() -> None:
    text = "FROM node:18\nCOPY . .\nRUN npm run build\n"
    assert target_violations(RULE, target(dockerfile=text)) == []
    assert target_evidence(RULE, target(dockerfile=text)) == ["no dependency install step found"]


def test_heredoc_install_counts() -> None:
    text = "FROM node:18\nCOPY . .\nRUN <<EOF\nset -e\nnpm ci\nEOF\n"
    assert target_violations(RULE, target(dockerfile=text))
