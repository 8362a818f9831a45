"""The documentation's examples work as shown.

- `docs/examples/github/*.yml` validate against the GitHub workflow schema, and every
  `uses: gatekeeper-dev/gatekeeper@...` step passes only inputs that action.yml declares;
- `docs/examples/gitlab/*.yml` validate against GitLab's CI schema (with its `!reference` tag), and
  every include of the templates passes only declared inputs and all mandatory ones;
- each example file is shown, verbatim after its header comment, in docs/github-actions.md or
  docs/gitlab-ci.md;
- docs/policy.md names every key of the policy schema and quotes merge.py's rules as they are;
- inline waivers shown in ```dockerfile blocks parse without problems;
- every policy in docs/policy.md and README.md that starts with `version: 1` loads with gatekeeper's
  own loader, except those marked `<!-- not-validated: remote -->`; `<!-- file: PATH -->` names the
  file a snippet is written to (so snippets can extend each other) and `<!-- expect-error: TEXT -->`
  marks a snippet that must be refused with that message;
- README.md names every rule and keeps its two set-up commands verbatim under "Quick start";
- every relative link in README.md and docs/*.md points at an existing file (and heading).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gatekeeper.errors import PolicyError
from gatekeeper.parsers import dockerfile
from gatekeeper.policy import merge
from gatekeeper.policy.loader import load_policy, schema
from gatekeeper.policy.remote import Fetcher, is_remote
from gatekeeper.policy.waivers import parse_inline
from gatekeeper.rules import all_rules
from tests.shared import shared_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
GITHUB_EXAMPLES = sorted((DOCS / "examples" / "github").glob("*.yml"))
GITLAB_EXAMPLES = sorted((DOCS / "examples" / "gitlab").glob("*.yml"))
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]
POLICY_DOCS = [DOCS / "policy.md", README]
ACTION_REPO = "gatekeeper-dev/gatekeeper"

SETUP_COMMANDS = (
    "pip install . && python examples/make-example.py build/example.tar && "
    'gatekeeper check docker-archive:build/example.tar --no-discover; echo "exit code: $?"',
    "bash scripts/test.sh",
)


# ------------------------------------------------------------------------------------------ YAML


class _WorkflowLoader(yaml.SafeLoader):
    """YAML 1.2 booleans, as GitHub reads workflows: `on:` is a key, not `True`."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _GitLabLoader(yaml.SafeLoader):
    """GitLab's `!reference [job, key]` tag read as a plain list, as check-jsonschema does."""


def _reference(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
    assert isinstance(node, yaml.SequenceNode), "!reference takes a list: !reference [job, key]"
    return loader.construct_sequence(node)


_GitLabLoader.add_constructor("!reference", _reference)


def _schema(relative: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(shared_file(relative).read_text())
    return value


def _errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


# ------------------------------------------------------------------------- GitHub Actions examples


def _steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow.get("jobs", {}).values():
        yield from job.get("steps", ())


def test_there_are_examples() -> None:
    assert GITHUB_EXAMPLES
    assert GITLAB_EXAMPLES


@pytest.mark.parametrize("path", GITHUB_EXAMPLES, ids=lambda p: p.name)
def test_github_workflow_is_valid(path: Path) -> None:
    workflow = yaml.load(path.read_text(), Loader=_WorkflowLoader)
    assert _errors(_schema("schemas/github/github-workflow.json"), workflow) == []


@pytest.mark.parametrize("path", GITHUB_EXAMPLES, ids=lambda p: p.name)
def test_github_workflow_uses_the_action_as_declared(path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    workflow = yaml.load(path.read_text(), Loader=_WorkflowLoader)
    for step in _steps(workflow):
        uses = str(step.get("uses", ""))
        if uses.split("@")[0] == ACTION_REPO:
            given = set(step.get("with", {}))
            assert given <= set(action["inputs"]), given - set(action["inputs"])
            required = {n for n, i in action["inputs"].items() if i.get("required")}
            assert required <= given, required - given


@pytest.mark.parametrize("path", GITHUB_EXAMPLES, ids=lambda p: p.name)
def test_github_reports_are_published_even_when_the_gate_fails(path: Path) -> None:
    """The gate step fails the job, so publishing steps need `always()`, and their permissions."""
    workflow = yaml.load(path.read_text(), Loader=_WorkflowLoader)
    for job in workflow.get("jobs", {}).values():
        permissions = {**workflow.get("permissions", {}), **job.get("permissions", {})}
        for step in job.get("steps", ()):
            uses = str(step.get("uses", ""))
            if uses.startswith(("github/codeql-action/upload-sarif@", "mikepenz/action-junit-report@")):
                assert "always()" in str(step.get("if", "")), uses
            if uses.startswith("github/codeql-action/upload-sarif@"):
                assert permissions.get("security-events") == "write", path.name
            if uses.startswith("mikepenz/action-junit-report@"):
                assert permissions.get("checks") == "write", path.name


def test_github_doc_names_every_action_input_and_output() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    text = (DOCS / "github-actions.md").read_text()
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"`{name}`" in text, name


# ----------------------------------------------------------------------------- GitLab examples


def _template_inputs(name: str) -> dict[str, Any]:
    header = (ROOT / "templates" / f"{name}.yml").read_text().partition("\n---\n")[0]
    inputs: dict[str, Any] = yaml.safe_load(header)["spec"]["inputs"]
    return inputs


def _included_template(item: dict[str, Any]) -> str | None:
    """The templates/ file an include item names (component, project or remote), if any."""
    if "component" in item:
        return str(item["component"]).rsplit("/", 1)[-1].split("@")[0]
    target = str(item.get("file") or item.get("remote") or "")
    match = re.search(r"(?:^|/)templates/([^/]+)\.yml$", target)
    return match.group(1) if match else None


@pytest.mark.parametrize("path", GITLAB_EXAMPLES, ids=lambda p: p.name)
def test_gitlab_pipeline_is_valid(path: Path) -> None:
    pipeline = yaml.load(path.read_text(), Loader=_GitLabLoader)
    assert _errors(_schema("schemas/gitlab/gitlab-ci.json"), pipeline) == []


@pytest.mark.parametrize("path", GITLAB_EXAMPLES, ids=lambda p: p.name)
def test_gitlab_includes_pass_declared_inputs(path: Path) -> None:
    pipeline = yaml.load(path.read_text(), Loader=_GitLabLoader)
    includes = pipeline.get("include", [])
    for item in includes if isinstance(includes, list) else [includes]:
        name = _included_template(item) if isinstance(item, dict) else None
        if name is None:
            continue
        declared = _template_inputs(name)
        given = set(item.get("inputs", {}))
        assert given <= set(declared), given - set(declared)
        mandatory = {n for n, spec in declared.items() if "default" not in (spec or {})}
        assert mandatory <= given, mandatory - given
        for input_name, value in item.get("inputs", {}).items():
            options = (declared[input_name] or {}).get("options")
            assert options is None or value in options, (input_name, value, options)


def test_gitlab_doc_names_every_component_input() -> None:
    text = (DOCS / "gitlab-ci.md").read_text()
    for template in sorted((ROOT / "templates").glob("*.yml")):
        for name in _template_inputs(template.stem):
            assert f"`{name}`" in text, (template.name, name)


# --------------------------------------------------------------------------- Markdown snippets

_FENCE = re.compile(r"^```(\w*)\s*$")
_COMMENT = re.compile(r"^<!--\s*([\w-]+):\s*(.*?)\s*-->$")


@dataclass(frozen=True)
class Snippet:
    doc: Path
    line: int
    lang: str
    text: str
    marks: tuple[tuple[str, str], ...]
    """`<!-- key: value -->` comments directly above the fence."""
    section: str
    """The `## ` heading the snippet sits under."""

    def mark(self, key: str) -> str | None:
        return next((value for k, value in self.marks if k == key), None)

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def snippets(doc: Path) -> list[Snippet]:
    found: list[Snippet] = []
    lines = doc.read_text().splitlines()
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            section = line[3:].strip()
        fence = _FENCE.match(line)
        if fence is None:
            index += 1
            continue
        marks: list[tuple[str, str]] = []
        above = index - 1
        while above >= 0 and (comment := _COMMENT.match(lines[above].strip())) is not None:
            marks.insert(0, (comment.group(1), comment.group(2)))
            above -= 1
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        assert end < len(lines), f"{doc.name}:{index + 1}: unclosed code block"
        body = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Snippet(doc, index + 1, fence.group(1), body, tuple(marks), section))
        index = end + 1
    return found


ALL_SNIPPETS = [s for doc in MARKDOWN for s in snippets(doc)]
POLICY_SNIPPETS = [
    s
    for doc in POLICY_DOCS
    for s in snippets(doc)
    if s.lang == "yaml" and s.text.lstrip().startswith("version: 1")
]


@pytest.mark.parametrize("snippet", [s for s in ALL_SNIPPETS if s.lang == "yaml"], ids=lambda s: s.id)
def test_yaml_snippet_parses(snippet: Snippet) -> None:
    yaml.load(snippet.text, Loader=_GitLabLoader)


def test_policy_snippets_found() -> None:
    in_guide = [s for s in POLICY_SNIPPETS if s.doc.name == "policy.md"]
    assert len(in_guide) >= 10
    assert any(s.mark("not-validated") == "remote" for s in in_guide)
    assert any(s.mark("expect-error") for s in in_guide)


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every named policy snippet written to its `<!-- file: ... -->` path, once."""
    root = tmp_path_factory.mktemp("policy-snippets")
    for snippet in POLICY_SNIPPETS:
        name = snippet.mark("file")
        if name is not None:
            target = root / snippet.doc.stem / name
            assert not target.exists(), f"{snippet.id}: {name} is written twice"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(snippet.text)
    return root


def _extends(text: str) -> list[str]:
    value = yaml.safe_load(text).get("extends") or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


@pytest.mark.parametrize("snippet", POLICY_SNIPPETS, ids=lambda s: s.id)
def test_policy_snippet_loads(snippet: Snippet, policy_dir: Path) -> None:
    remote = [spec for spec in _extends(snippet.text) if is_remote(spec)]
    if snippet.mark("not-validated") == "remote":
        assert remote, f"{snippet.id} is marked remote but extends nothing remote"
        pytest.skip("extends a remote policy")
    assert not remote, f"{snippet.id} extends {remote}: mark it <!-- not-validated: remote -->"
    name = snippet.mark("file") or f"snippet-{snippet.line}.yaml"
    path = policy_dir / snippet.doc.stem / name
    if snippet.mark("file") is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(snippet.text)
    fetcher = Fetcher(policy_dir / ".cache", {})
    expected = snippet.mark("expect-error")
    if expected is not None:
        with pytest.raises(PolicyError, match=re.escape(expected)):
            load_policy([str(path)], all_rules(), fetcher=fetcher)
    else:
        load_policy([str(path)], all_rules(), fetcher=fetcher)


@pytest.mark.parametrize(
    "snippet",
    [s for s in ALL_SNIPPETS if s.lang == "dockerfile" and "# gatekeeper: waive" in s.text],
    ids=lambda s: s.id,
)
def test_inline_waiver_snippet_is_valid(snippet: Snippet) -> None:
    policy = load_policy(["builtin:default"], all_rules())
    waivers, problems = parse_inline(dockerfile.parse(snippet.text, "Dockerfile"), all_rules(), policy)
    assert problems == ()
    assert len(waivers) == snippet.text.count("# gatekeeper: waive")


# ------------------------------------------------------------------------------------- README


def _example_body(path: Path) -> str:
    """The example without its leading `#` comment lines (the guide introduces it in prose)."""
    lines = path.read_text().splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


@pytest.mark.parametrize("path", [*GITHUB_EXAMPLES, *GITLAB_EXAMPLES], ids=lambda p: p.name)
def test_example_file_is_shown_in_its_guide(path: Path) -> None:
    guide = DOCS / ("github-actions.md" if path.parent.name == "github" else "gitlab-ci.md")
    shown = [s.text for s in snippets(guide) if s.lang == "yaml"]
    assert _example_body(path) in shown, f"{guide.name} does not show {path.name} as it is"


def _property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _property_names(item)


def test_policy_guide_names_every_schema_key() -> None:
    text = (DOCS / "policy.md").read_text()
    missing = sorted({name for name in _property_names(schema()) if f"`{name}`" not in text})
    assert missing == []


def test_policy_guide_quotes_the_merge_rules_as_they_are() -> None:
    text = (DOCS / "policy.md").read_text()
    quoted = [line[1:].strip() for line in text.splitlines() if line.startswith(">")]
    doc = " ".join((merge.__doc__ or "").split())
    assert len(quoted) > 5
    assert " ".join(" ".join(quoted).split()) in doc


def test_readme_checklist_names_every_rule() -> None:
    text = README.read_text()
    assert [r.name for r in all_rules() if f"`{r.name}`" not in text] == []


def test_readme_keeps_its_setup_commands() -> None:
    quick_start = [s for s in snippets(README) if s.section == "Quick start" and s.lang == "sh"]
    assert [s.text.strip() for s in quick_start] == list(SETUP_COMMANDS)
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


# -------------------------------------------------------------------------------------- links

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code spans."""
    text = re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    text = doc.read_text()
    found = set(_ANCHOR.findall(text))
    counts: dict[str, int] = {}
    without_code = re.sub(r"^```.*?^```[ \t]*$", "", text, flags=re.MULTILINE | re.DOTALL)
    for match in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", without_code, flags=re.MULTILINE):
        slug = _slug(match.group(1))
        n = counts.get(slug, 0)
        found.add(slug if n == 0 else f"{slug}-{n}")
        counts[slug] = n + 1
    return found


def _links() -> list[tuple[Path, str]]:
    return [(doc, target) for doc in MARKDOWN for target in _LINK.findall(_prose(doc.read_text()))]


def test_markdown_has_links() -> None:
    assert len(_links()) > 20


@pytest.mark.parametrize(("doc", "target"), _links(), ids=lambda v: v.name if isinstance(v, Path) else v)
def test_relative_link_resolves(doc: Path, target: str) -> None:
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return  # https:, mailto: ...
    path, _, anchor = target.partition("#")
    resolved = (doc.parent / path).resolve() if path else doc
    assert resolved.exists(), f"{doc.name}: {target} -> {resolved} does not exist"
    if anchor and resolved.suffix == ".md":
        assert anchor in anchors(resolved), f"{doc.name}: no heading #{anchor} in {resolved.name}"
