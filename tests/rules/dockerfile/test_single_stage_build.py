from __future__ import annotations

import pytest

from gatekeeper.rule import NotApplicable
from gatekeeper.rules.dockerfile.single_stage_build import RULE
from tests.factories import target, target_evidence, target_violations

SINGLE = 'FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\nRUN npm run build\nCMD ["npm", "start"]\n'
MULTI = """# Build stage
FROM node:18-alpine AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci --only=production
COPY . .
RUN npm run build
# Production stage
FROM node:18-alpine
WORKDIR /app
COPY --from=builder /app/dist ./dist
COPY --from=builder /app/node_modules ./node_modules
COPY package*.json ./
EXPOSE 3000
CMD ["node", "dist/index.js"]
"""


def test_article_single_stage_fails() -> None:
    [v] = target_violations(RULE, target(dockerfile=SINGLE))
    assert v.message.startswith("The Dockerfile has a single stage (FROM node:18)")
    assert (v.location.artifact, v.location.line) == ("Dockerfile", 1)


def test_article_multi_stage_passes() -> None:
    tgt = target(dockerfile=MULTI)
    assert target_violations(RULE, tgt) == []
    assert target_evidence(RULE, tgt) == [
        "2 stages; final stage FROM node:18-alpine (line 9) copies from stage 'builder' (line 11), "
        "'builder' (line 12)"
    ]


def test_single_stage_that_builds_nothing_passes() -> None:
    text = 'FROM python:3.11-slim\nCOPY dist/app.whl /app/\nUSER 10001\nCMD ["app"]\n'
    tgt = target(dockerfile=text)
    assert target_violations(RULE, tgt) == []
    assert "with no RUN" in target_evidence(RULE, tgt)[0]


def test_final_stage_from_builder_fails() -> None:
    text = 'FROM golang:1.22 AS build\nRUN go build -o /app\nFROM build\nCMD ["/app"]\n'
    [v] = target_violations(RULE, target(dockerfile=text))
    assert "built FROM stage 'build'" in v.message
    assert v.location.line == 3


def test_unused_build_stage_fails() -> None:
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY app /app\n"
    [v] = target_violations(RULE, target(dockerfile=text))
    assert "copies nothing from an earlier stage" in v.message


def test_copy_from_external_image_is_not_a_build_stage() -> None:
    text = "FROM alpine:3.20 AS x\nFROM alpine:3.20\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\n"
    assert target_violations(RULE, target(dockerfile=text))


def test_copy_from_stage_index_and_scratch() -> None:
    text = "FROM golang:1.22\nRUN go build -o /app\nFROM scratch\nCOPY --from=0 /app /app\n"
    assert target_violations(RULE, target(dockerfile=text)) == []


def test_no_dockerfile_is_not_applicable() -> None:
    with pytest.raises(NotApplicable, match="no Dockerfile"):
        target_violations(RULE, target())
