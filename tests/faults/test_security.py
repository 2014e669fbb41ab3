"""Security rules as tests: parameterised SQL, no secrets in code or task arguments, the SSRF
guard on by default, hardened XML parsers, and caps on every read from the network."""

import ast
import re
from pathlib import Path

import pytest
import yaml

from newsflow import settings
from newsflow.httpclient import Fetcher
from newsflow.sitemaps import parse_sitemap
from newsflow.sources import SourceConfigError, load_sources, parse_feed
from tests.conftest import ROOT
from tests.faults import hostile as h

CODE_DIRS = ("include", "plugins", "dags")
EXECUTE_METHODS = {"execute", "executemany", "mogrify", "copy_expert"}

# The rule: SQL handed to cursor.execute() (and friends) is a literal, or an f-string whose
# every placeholder is on this list: identifiers and SQL fragments built from constants in
# the code, never values (values go in %s parameters). %-formatting, .format() and string
# concatenation of SQL are refused outright (psycopg2.sql composition is allowed).
# Keys: (file, placeholder source) -> why it is safe.
ALLOWED_PLACEHOLDERS = {
    ("include/newsflow/staging.py", "content"):
        "the column list: the literal 'content' or 'NULL', chosen by a bool",
    ("include/newsflow/staging.py", "column"):
        "a result column name, checked against ('cleaned', 'fields') just above",
    ("include/newsflow/article_store.py", "names"):
        "article column names joined from the ARTICLE_FIELDS constant",
    ("include/newsflow/article_store.py", "values"):
        "coalesce(...) expressions over ARTICLE_FIELDS names and constant defaults",
    ("include/newsflow/article_store.py", "record"):
        "'name type' pairs from the ARTICLE_FIELDS constant",
    ("include/newsflow/article_store.py", "updates"):
        "'name = EXCLUDED.name' over ARTICLE_FIELDS names",
    ("include/newsflow/article_store.py", "table"):
        "a table name from a literal tuple in the loop header",
    ("include/newsflow/article_store.py", "', '.join(PROVENANCE_FIELDS)"):
        "column names joined from the PROVENANCE_FIELDS constant",
    ("include/newsflow/reprocess.py", "_SELECTED"):
        "the constant selection query of a re-extraction; its values are %(name)s parameters",
    ("include/newsflow/article_store.py", "FIELDS_SHA256"):
        "a constant SQL expression (the sha256 of b.fields), no value in it",
}
# SQL passed as a bare name bound by a for loop: (file, name) -> why it is safe.
ALLOWED_SQL_NAMES = {
    ("include/newsflow/storage.py", "script"):
        "the text of a bundled migration or privileges file (sql/*.sql, sql/privileges/*.sql),"
        " or a statement composed with psycopg2.sql",
    ("include/newsflow/bench_deployment.py", "query"):
        "the benchmark's query helper; every caller passes a literal query and its values"
        " as args",
    ("include/newsflow/bench_components.py", "query"):
        "the benchmark's query helper; every caller passes a literal query and its values"
        " as args",
}


def _python_files() -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py"))


def _is_sql_composition(node: ast.AST) -> bool:
    """psycopg2.sql.SQL(...).format(...): identifiers are quoted by the library."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format" and isinstance(node.func.value, ast.Call)
            and getattr(node.func.value.func, "attr", getattr(node.func.value.func, "id", ""))
            == "SQL")


def _formatting_problems(node: ast.AST, relative: str) -> list[str]:
    """Why the SQL expression ``node`` breaks the rule (empty when it does not)."""
    if isinstance(node, ast.Constant) or _is_sql_composition(node):
        return []
    if isinstance(node, ast.JoinedStr):
        return [
            f"{relative}:{node.lineno}: f-string placeholder {{{ast.unparse(part.value)}}}"
            " is not on the allow-list"
            for part in node.values
            if isinstance(part, ast.FormattedValue)
            and (relative, ast.unparse(part.value)) not in ALLOWED_PLACEHOLDERS
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return [f"{relative}:{node.lineno}: SQL built with % formatting"]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_formatting_problems(node.left, relative)
                + _formatting_problems(node.right, relative))
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "format":
        return [f"{relative}:{node.lineno}: SQL built with str.format"]
    return [f"{relative}:{node.lineno}: SQL is {type(node).__name__}, not a literal: "
            + ast.unparse(node)[:80]]


def _is_super_call(node: ast.AST) -> bool:
    """``super()``: the receiver of an overridden method's call to its parent."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "super")


def sql_formatting_problems(source: str, relative: str) -> list[str]:
    """Every execute() whose SQL breaks the rule; a name is followed to its assignments."""
    tree = ast.parse(source)
    problems = []
    for function in [tree, *(n for n in ast.walk(tree)
                              if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))]:
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in EXECUTE_METHODS and node.args):
                continue
            if _is_super_call(node.func.value):
                continue  # an operator's BaseOperator.execute(context): not SQL
            sql = node.args[0]
            if function is tree and isinstance(sql, ast.Name):
                continue  # judged inside its function, where the name is assigned
            expressions = assigned.get(sql.id, [sql]) if isinstance(sql, ast.Name) else [sql]
            if isinstance(sql, ast.Name) and (relative, sql.id) in ALLOWED_SQL_NAMES:
                continue
            if isinstance(sql, ast.Name) and sql.id not in assigned:
                # A parameter: allowed only when every caller passes a literal; simpler to
                # refuse, and no code does it today.
                problems.append(f"{relative}:{node.lineno}: SQL from a parameter {sql.id}")
                continue
            for expression in expressions:
                problems.extend(_formatting_problems(expression, relative))
    return sorted(set(problems))


def test_sql_is_parameterised_everywhere() -> None:
    problems, used = [], set()
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        source = path.read_text(encoding="utf-8")
        problems += sql_formatting_problems(source, relative)
        used |= {key for key in ALLOWED_PLACEHOLDERS if key[0] == relative}
    assert problems == []
    # An allow-list entry whose code is gone must go too.
    assert used == set(ALLOWED_PLACEHOLDERS)


@pytest.mark.parametrize("statement", [
    'cur.execute(f"SELECT * FROM articles WHERE title = \'{title}\'")',
    'cur.execute("SELECT * FROM articles WHERE title = \'%s\'" % title)',
    'cur.execute("SELECT * FROM articles WHERE title = \'{}\'".format(title))',
    'cur.execute("SELECT * FROM articles WHERE title = \'" + title + "\'")',
    'query = f"DELETE FROM rejects WHERE input = {value}"\n    cur.execute(query)',
])
def test_the_sql_rule_catches_values_formatted_into_sql(statement: str) -> None:
    source = f"def f(cur, title, value):\n    {statement}\n"
    assert sql_formatting_problems(source, "include/newsflow/example.py")


def test_the_sql_rule_passes_parameters_and_composition() -> None:
    source = (
        "def f(cur, title, name):\n"
        "    cur.execute('SELECT 1 FROM articles WHERE title = %s', (title,))\n"
        "    cur.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))\n"
    )
    assert sql_formatting_problems(source, "include/newsflow/example.py") == []


# Secrets

SECRET_PATTERNS = [
    re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^/\s:@'\"]+:(?P<pw>[^@\s'\"{]+)@", re.I),
    re.compile(r"""password\s*[=:]\s*['"](?P<pw>[^'"]+)['"]""", re.I),
    re.compile(r"\bpassword=(?!\{)(?P<pw>\S+)", re.I),
]
# Documentation's stand-ins for a password.
PLACEHOLDERS = {"SECRET", "PASSWORD", "CHANGE_ME"}


def _secrets(text: str) -> list[str]:
    return [m.group(0) for p in SECRET_PATTERNS for m in p.finditer(text)
            if m.group("pw") not in PLACEHOLDERS]


def test_no_credentials_in_code_dags_or_the_settings_example() -> None:
    texts = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8")
             for p in [*_python_files(), ROOT / ".env.example",
                       *(ROOT / "include" / "sources").glob("*.yaml")]}
    found = [(name, secret) for name, text in texts.items() for secret in _secrets(text)]
    assert found == []


def test_tasks_take_a_connection_id_and_no_secret_in_arguments_or_params() -> None:
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        # Parsing needs no connection; a set one must not leak into task arguments.
        patch.delenv("AIRFLOW_CONN_NEWS_DB", raising=False)
        dagbag = DagBag(dag_folder=str(ROOT / "dags"))
    assert dagbag.dags and not dagbag.import_errors
    for dag in dagbag.dags.values():
        for value in (dag.params or {}).values():
            assert not _secrets(str(value)), (dag.dag_id, value)
        for task in dag.tasks:
            if hasattr(task, "news_conn_id"):
                # An Airflow connection id, never a DSN: the secret stays in the connection.
                assert re.fullmatch(r"[\w.-]+", task.news_conn_id), (task.task_id,)
            for field in task.template_fields:
                value = str(getattr(task, field, ""))
                assert not _secrets(value), (task.task_id, field)
                assert "://" not in value, (task.task_id, field)


# SSRF guard


def test_ssrf_guard_is_on_unless_the_deployment_allows_a_host(
    tmp_path: Path, hostile: h.HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.yaml"
    for kind, location in (("feed", {"url": hostile.url("feed.xml")}),
                           ("sitemap", {"url": hostile.url("map.xml")}),
                           ("urls", {"path": "list.txt"})):
        entry = {"name": "s", "kind": kind, **location, "allow_private": True}
        sources.write_text(yaml.safe_dump({"sources": [entry]}))
        with pytest.raises(SourceConfigError, match="option allow_private refused"):
            load_sources(sources)
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "")
    page = hostile.route("story", h.reply(body=b"<p>private</p>"))
    result = Fetcher().get(page)
    assert result.error is not None and result.error.startswith("refused: 127.0.0.1")
    assert hostile.requests == []


# XML parsers

XML_ENTRY_POINTS = re.compile(
    r"\b(?:etree\.(?:fromstring|parse|XML|iterparse|XMLParser)|xml\.etree|minidom|xml\.sax"
    r"|expatbuilder|pulldom|feedparser\.parse|xmltodict|untangle)\b")
# Every XML parse in the library, reviewed: file -> the calls it makes.
REVIEWED_XML = {
    "include/newsflow/sitemaps.py": ["etree.XMLParser", "etree.fromstring"],
    "include/newsflow/sources.py": ["feedparser.parse"],
}


def test_every_xml_parser_in_the_code_is_a_reviewed_one() -> None:
    found: dict[str, list[str]] = {}
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        calls = sorted(set(XML_ENTRY_POINTS.findall(text)))
        if calls:
            found[path.relative_to(ROOT).as_posix()] = calls
    assert found == REVIEWED_XML


def test_xml_parsers_load_no_dtd_and_read_no_file_or_network(
    tmp_path: Path, hostile: h.HostileServer
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("xml-canary-4b1d")
    dtd = hostile.route("evil.dtd", h.reply(body=b'<!ENTITY remote "xml-canary-remote">',
                                            content_type="application/xml-dtd"))
    prolog = (f'<?xml version="1.0"?>\n<!DOCTYPE r SYSTEM "{dtd}" [\n'
              f'<!ENTITY local SYSTEM "file://{secret}">\n'
              f'<!ENTITY net SYSTEM "{hostile.url("entity")}">\n]>\n')
    sitemap = parse_sitemap(
        (prolog + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
         "<url><loc>https://example.com/a&local;&net;&remote;</loc></url></urlset>").encode(),
        "https://example.com/sitemap.xml")
    found, _ = parse_feed(
        (prolog + '<rss version="2.0"><channel><title>&local;&net;&remote;</title>'
         "<item><title>&local;&net;</title><link>https://example.com/b</link></item>"
         "</channel></rss>").encode(), "https://example.com/feed.xml", "feed")
    assert "canary" not in repr(sitemap) + repr(found)
    assert hostile.requests == []


# Caps on network reads

NETWORK_CALLS = re.compile(
    r"\b(?:requests\.(?:get|post|head|request|Session)|urlopen|http\.client|httpx|aiohttp"
    r"|urllib3\.(?:request|PoolManager)|socket\.create_connection|session\.get)\b")


def test_every_network_read_goes_through_the_capped_fetcher() -> None:
    found: dict[str, list[str]] = {}
    for path in _python_files():
        calls = sorted(set(NETWORK_CALLS.findall(path.read_text(encoding="utf-8"))))
        if calls:
            found[path.relative_to(ROOT).as_posix()] = calls
    # Fetcher.session builds the sessions; Fetcher._request is the one GET, streamed with
    # a (connect, read) timeout and read by _read_body under a size cap and a deadline.
    assert found == {"include/newsflow/httpclient.py": ["requests.Session", "session.get"]}
    source = (ROOT / "include/newsflow/httpclient.py").read_text(encoding="utf-8")
    [get] = re.findall(r"session\.get\((.*?)\) as response", source, re.S)
    assert "stream=True" in get and "timeout=(settings.CONNECT_TIMEOUT, read_timeout)" in get
    for cap in (settings.CONNECT_TIMEOUT, settings.READ_TIMEOUT, settings.PAGE_TIME_LIMIT,
                settings.MAX_BODY_BYTES, settings.MAX_SITEMAP_BYTES, settings.MAX_ROBOTS_BYTES):
        assert 0 < cap < float("inf")
