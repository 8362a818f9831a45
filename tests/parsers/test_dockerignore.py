""".dockerignore parser and matcher.

The reference is moby/patternmatcher: ignorefile.ReadAll for the lines, Pattern.compile for the
patterns and MatchesOrParentMatches for a path (a matching parent directory excludes its content).
"""

from __future__ import annotations

import pytest

from gatekeeper.errors import InputError
from gatekeeper.facts.context import DockerIgnore
from gatekeeper.parsers.dockerignore import parse

ARTICLE = """\
node_modules
npm-debug.log
.git
.env
*.md
.vscode
coverage
.DS_Store
"""


def line_for(ignore: DockerIgnore, path: str) -> int | None:
    pattern = ignore.deciding(path)
    return pattern.line if pattern is not None else None


def test_article_patterns() -> None:
    ignore = parse(ARTICLE)
    assert ignore.path == ".dockerignore"
    assert [(p.text, p.exclude, p.line) for p in ignore.patterns] == [
        ("node_modules", True, 1),
        ("npm-debug.log", True, 2),
        (".git", True, 3),
        (".env", True, 4),
        ("*.md", True, 5),
        (".vscode", True, 6),
        ("coverage", True, 7),
        (".DS_Store", True, 8),
    ]


@pytest.mark.parametrize(
    ("path", "excluded", "line"),
    [
        ("node_modules", True, 1),
        ("node_modules/express/index.js", True, 1),
        ("src/node_modules/x.js", False, None),  # patterns are anchored at the context root
        ("npm-debug.log", True, 2),
        ("logs/npm-debug.log", False, None),
        (".git", True, 3),
        (".git/HEAD", True, 3),
        (".gitignore", False, None),
        (".env", True, 4),
        (".env.local", False, None),
        ("README.md", True, 5),
        ("docs/guide.md", False, None),  # `*` does not cross `/`
        (".vscode/settings.json", True, 6),
        ("coverage/lcov.info", True, 7),
        (".DS_Store", True, 8),
        ("src/.DS_Store", False, None),
        ("src/index.js", False, None),
        ("package.json", False, None),
        ("Dockerfile", False, None),
        ("/node_modules/", True, 1),  # leading and trailing slashes of the path are ignored
    ],
)
def test_article_matching(path: str, excluded: bool, line: int | None) -> None:
    ignore = parse(ARTICLE)
    assert ignore.excluded(path) is excluded
    assert line_for(ignore, path) == line


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        # `*` and `?` stay within one path element
        ("*.log", "a.log", True),
        ("*.log", "dir/a.log", False),
        ("*", "anything", True),
        ("*", "dir/file", True),  # the parent `dir` matches
        ("*/*.txt", "a/b.txt", True),
        ("*/*.txt", "a/b/c.txt", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("file?.txt", "file/.txt", False),
        # `**`
        ("**", "a/b/c", True),
        ("**/*.log", "a.log", True),
        ("**/*.log", "a/b/c.log", True),
        ("**/*.log", "a/b/c.txt", False),
        ("**/node_modules", "node_modules", True),
        ("**/node_modules", "packages/web/node_modules/react/index.js", True),
        ("**/node_modules", "my_node_modules", False),
        ("docs/**", "docs/a", True),
        ("docs/**", "docs/a/b", True),
        ("docs/**", "docs", False),
        ("docs/**/*.md", "docs/a.md", True),
        ("docs/**/*.md", "docs/x/y/a.md", True),
        ("**/build/**", "a/build/out.js", True),
        ("**.md", "README.md", True),  # a leading `**` with no other wildcard: a suffix test
        ("**.md", "docs/a.md", True),
        ("foo**", "foobar", True),  # a trailing `**` with no other wildcard: a prefix test
        ("foo**", "foo/bar", True),
        # moby quirk: `**` inside a pattern matches whole directories only
        ("a**b", "ab", True),
        ("a**b", "a/x/b", True),
        ("a**b", "axb", False),
        ("src/**.js", "src/.js", True),
        ("src/**.js", "src/app.js", False),
        # character classes are Go's: `^` negates, `!` is an ordinary character
        ("[abc].txt", "a.txt", True),
        ("[abc].txt", "d.txt", False),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("[^a]x", "bx", True),
        ("[^a]x", "ax", False),
        ("[!a]x", "!x", True),
        ("[!a]x", "ax", True),
        ("[!a]x", "bx", False),
        ("[unclosed", "[unclosed", True),
        # `\` escapes the next character
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
        ("a\\?b", "a?b", True),
        ("a\\?b", "axb", False),
        # regex metacharacters are literal
        ("a.b", "a.b", True),
        ("a.b", "axb", False),
        ("(x)+{y}|$z", "(x)+{y}|$z", True),
        # leading `/` and `./`, trailing `/`, cleaned like filepath.Clean
        ("/secret.txt", "secret.txt", True),
        ("./build", "build/out.js", True),
        ("build/", "build/out.js", True),
        ("build/", "build", True),
        ("a//b", "a/b", True),
        ("a/./b", "a/b", True),
        ("a/../b", "b", True),
        ("a/../b", "a/b", False),
        # a directory pattern excludes everything under it
        ("dist", "dist/js/app.min.js", True),
        ("src/generated", "src/generated/api/client.ts", True),
        ("src/generated", "src/generated_old/x", False),
        ("src/generated", "src", False),
    ],
)
def test_pattern_semantics(pattern: str, path: str, matches: bool) -> None:
    assert parse(pattern + "\n").excluded(path) is matches


@pytest.mark.parametrize(
    ("text", "path", "excluded", "line"),
    [
        ("*.md\n!README.md\n", "README.md", False, 2),
        ("*.md\n!README.md\n", "CHANGELOG.md", True, 1),
        ("!README.md\n*.md\n", "README.md", True, 2),  # the last match wins
        ("docs\n!docs/keep.md\ndocs/keep.md\n", "docs/keep.md", True, 3),
        ("docs\n!docs/public\n", "docs/public/index.html", False, 2),
        ("docs\n!docs/public\n", "docs/private/notes.txt", True, 1),
        ("*\n!src\n!package.json\n", "src/index.js", False, 2),
        ("*\n!src\n!package.json\n", "package.json", False, 3),
        ("*\n!src\n!package.json\n", "test/x.js", True, 1),
        ("!  keep.txt\n", "keep.txt", False, 1),  # spaces after `!` are trimmed
        ("**/*.log\n!important/*.log\n", "important/a.log", False, 2),
        ("**/*.log\n!important/*.log\n", "important/deep/a.log", True, 1),
    ],
)
def test_exceptions_last_match_wins(text: str, path: str, excluded: bool, line: int) -> None:
    ignore = parse(text)
    assert ignore.excluded(path) is excluded
    assert line_for(ignore, path) == line


@pytest.mark.parametrize(
    ("text", "patterns"),
    [
        pytest.param("# comment\n#*.md\n\n   \n", [], id="comments-and-blank-lines"),
        pytest.param("  *.md  \n\t.env\t\n", [("*.md", True, 1), (".env", True, 2)], id="trimmed"),
        # Only a `#` in the first column starts a comment.
        pytest.param(" # not a comment\n", [("# not a comment", True, 1)], id="indented-hash"),
        pytest.param("/\n.\n./\n!\n", [], id="nothing-left"),
        pytest.param("!/tmp/keep\n", [("tmp/keep", False, 1)], id="exception-with-slash"),
        pytest.param("a\r\n\r\n!b\r\n", [("a", True, 1), ("b", False, 3)], id="crlf"),
        pytest.param("\ufeffsecret\n", [("secret", True, 1)], id="bom"),
        pytest.param("x\n\n\n# c\ny", [("x", True, 1), ("y", True, 5)], id="line-numbers"),
    ],
)
def test_parsing(text: str, patterns: list[tuple[str, bool, int]]) -> None:
    assert [(p.text, p.exclude, p.line) for p in parse(text, "ctx/.dockerignore").patterns] == patterns


def test_indented_hash_is_a_pattern() -> None:
    ignore = parse(" # not a comment\n")
    assert ignore.excluded("# not a comment")
    assert not ignore.excluded("not a comment")


def test_empty_file_excludes_nothing() -> None:
    ignore = parse("")
    assert ignore.patterns == ()
    assert not ignore.excluded(".env")
    assert ignore.deciding(".env") is None


def test_path_is_kept() -> None:
    assert parse("x", "service/.dockerignore").path == "service/.dockerignore"


def test_invalid_character_range_is_an_input_error() -> None:
    # moby/patternmatcher rejects it too ("invalid character class range"), so docker build fails.
    with pytest.raises(
        InputError, match=r"^ctx/\.dockerignore:2: invalid pattern '\[z-a\]\.txt' \(bad character"
    ):
        parse("*.md\n[z-a].txt\n", "ctx/.dockerignore")


@pytest.mark.parametrize(
    ("text", "path", "excluded"),
    [
        ("[[a]x\n", "[x", True),  # `[` inside a class is a literal
        ("[[a]x\n", "ax", True),
        ("[[a]x\n", "bx", False),
        ("[&&b]y\n", "&y", True),
        ("[~~]z\n", "~z", True),
        ("[||]w\n", "|w", True),
        ("[!--]v\n", "#v", True),  # a range from `!` to `-`
        ("[!--]v\n", "/v", False),
    ],
)
def test_class_characters_python_reserves_are_literals(text: str, path: str, excluded: bool) -> None:
    assert parse(text).excluded(path) is excluded
