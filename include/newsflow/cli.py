"""The ``newsflow`` command line: extract articles, manage the schema and the embedded database.

    newsflow extract PATH [PATH ...] [--url URL] [--format auto|html|text] [--no-enrich]
    newsflow migrate [--dsn DSN]
    newsflow login NAME --role owner|writer|reader [--password-file FILE] [--dsn DSN]
    newsflow search "QUERY" [--since DATE] [--source NAME] [--limit N] [--dsn DSN]
    newsflow report [--from DATE] [--to DATE] [--out report.html] [--dsn DSN]
    newsflow db start|stop|psql-path [--pgdata DIR] [--database NAME ...]
    newsflow eval [EVAL_DIR] [--corpus aeb|fundus|trafilatura] [--jobs N] [--json FILE]
    newsflow demo-site OUT [--base URL] [--drop FOLDER]
"""

import argparse
import gzip
import json
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from newsflow import dbserver, dropfiles, evaluation, settings, storage
from newsflow.dropfiles import file_content_type
from newsflow.fields import ARTICLE_KEYS, extract_article
from newsflow.pagebytes import gunzip_capped
from newsflow.safetext import printable, scrub

LOGGER = logging.getLogger(__name__)

# Around matched words in search headlines until they are printed (private-use code points).
SEARCH_MARKS = ("\ue000", "\ue001")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="newsflow", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    extract = commands.add_parser("extract", help="print one JSON article per input file")
    extract.add_argument("paths", nargs="+", metavar="PATH", help=".html/.htm/.txt (.gz) or -")
    extract.add_argument("--url", help="the page's URL, when known")
    extract.add_argument("--format", choices=("auto", "html", "text"), default="auto")
    extract.add_argument("--no-enrich", action="store_true",
                         help="leave entities, quotes, numbers and dates empty (no spaCy)")
    extract.set_defaults(handler=_extract)

    migrate = commands.add_parser("migrate", help="apply the schema migrations")
    migrate.add_argument("--dsn", default=os.environ.get("NEWSFLOW_DSN"),
                         help="database URI (default: $NEWSFLOW_DSN)")
    migrate.set_defaults(handler=_migrate)

    login = commands.add_parser(
        "login", help="create or update a database login in newsflow's owner/writer/reader role"
    )
    login.add_argument("name", help="the login's name")
    login.add_argument("--role", required=True, choices=("owner", "writer", "reader"))
    login.add_argument("--password-file", type=Path,
                       help="its password: read from FILE, or generated and written to FILE"
                       " (mode 0600) when FILE does not exist; default: $NEWSFLOW_LOGIN_PASSWORD,"
                       " else no password")
    login.add_argument("--dsn", default=os.environ.get("NEWSFLOW_DSN"),
                       help="an administrator's database URI (default: $NEWSFLOW_DSN)")
    login.set_defaults(handler=_login)

    search = commands.add_parser("search", help="full-text search: ranked hits with snippets")
    search.add_argument("query", help='web-search syntax: words, "a phrase", or, -word')
    search.add_argument("--since", type=_date_arg, help="published on or after DATE (YYYY-MM-DD)")
    search.add_argument("--source", help="only this source's articles")
    search.add_argument("--limit", type=int, default=20, help="most hits shown (default 20)")
    search.add_argument("--dsn", default=os.environ.get("NEWSFLOW_DSN"),
                        help="database URI (default: $NEWSFLOW_DSN)")
    search.set_defaults(handler=_search)

    report = commands.add_parser("report", help="write a self-contained HTML report with charts")
    report.add_argument("--from", dest="start", type=_date_arg,
                        help=f"first day (default: {settings.REPORT_DAYS} days before --to)")
    report.add_argument("--to", dest="end", type=_date_arg, help="last day (default: today, UTC)")
    report.add_argument("--out", type=Path, default=Path("report.html"),
                        help="HTML file to write (default: report.html)")
    report.add_argument("--no-refresh", action="store_true",
                        help="read the materialized views as they are, without refreshing")
    report.add_argument("--dsn", default=os.environ.get("NEWSFLOW_DSN"),
                        help="database URI (default: $NEWSFLOW_DSN)")
    report.set_defaults(handler=_report)

    db = commands.add_parser("db", help="start or stop the embedded PostgreSQL")
    db.add_argument("action", choices=("start", "stop", "psql-path"))
    db.add_argument("--pgdata", type=Path, default=settings.EMBEDDED_PGDATA)
    db.add_argument("--database", action="append", dest="databases",
                    help="database to create if missing (repeatable; default: news)")
    db.set_defaults(handler=_db)

    evaluate = commands.add_parser(
        "eval", help="score extraction on the shared eval corpora, next to trafilatura alone"
    )
    evaluation.add_arguments(evaluate)
    evaluate.set_defaults(handler=evaluation.run)

    demo_site = commands.add_parser(
        "demo-site", help="write the demo site, dated over the past week relative to now")
    demo_site.add_argument("out", type=Path, help="the folder to write (replaced)")
    demo_site.add_argument("--base", default="http://127.0.0.1:8765",
                           help="the site's address as the demo sources see it")
    demo_site.add_argument("--drop", type=Path,
                           help="date the bundled files of this drop folder into last night")
    demo_site.set_defaults(handler=_demo_site)
    return parser


def _extract(args: argparse.Namespace) -> int:
    """Extract each input in order; a failed input prints an error object and sets status 1."""
    failed = 0
    show_progress = sys.stderr.isatty() and len(args.paths) > 1
    for number, path in enumerate(args.paths, start=1):
        record = _extract_one(path, args.url, args.format, enrich=not args.no_enrich)
        failed += "error" in record
        print(json.dumps(record, ensure_ascii=False), flush=True)
        if show_progress:
            print(f"\r{number}/{len(args.paths)} extracted, {failed} failed",
                  end="", file=sys.stderr, flush=True)
    if show_progress:
        print(file=sys.stderr)
    return 1 if failed else 0


def _extract_one(path: str, url: str | None, fmt: str, *, enrich: bool = True) -> dict[str, Any]:
    """The article record of one input, or ``{"input", "error"}``."""
    try:
        content = _read_input(path)
        content_type = None if path == "-" else file_content_type(Path(path))
        fields = extract_article(content, input_=path, url=url, fmt=fmt,
                                 content_type=content_type)
        if enrich:
            # Imported here: spaCy takes a second to import, other commands need not pay it.
            from newsflow.enrichment import enrich_fields

            fields.update(enrich_fields(fields))
    except Exception as error:  # the contract: report this input and go on with the rest
        return {"input": path, "error": f"{type(error).__name__}: {error}"}
    # Control characters out, as the pipeline stores them: the output may reach a terminal.
    return scrub({key: fields[key] for key in ARTICLE_KEYS})


def _read_input(path: str) -> bytes:
    """The bytes of a regular file or of stdin for ``-``, gunzipped if gzip; both capped.

    The cap is the pipeline's body cap (``settings.MAX_BODY_BYTES``), on the bytes read
    and again on the gunzipped ones (decompressed as a stream); a link as the last
    component, a FIFO or a device is refused, as in drop folders.
    """
    cap = settings.MAX_BODY_BYTES
    if path == "-":
        data = sys.stdin.buffer.read(cap + 1)
        if len(data) > cap:
            raise dropfiles.FileRefused(f"standard input larger than {cap} bytes")
    else:
        data = dropfiles.read_file(Path(path), cap, gunzip=False)
    if path.endswith(".gz") and not data.startswith(b"\x1f\x8b"):
        raise gzip.BadGzipFile(f"Not a gzipped file ({data[:2]!r})")
    # gzip by its magic bytes, whatever the name says; gunzip_capped stops at the cap.
    return gunzip_capped(data, cap, path)


def _migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations (as newsflow_owner) and the grants to the configured database."""
    if not args.dsn:
        print("newsflow migrate: no database; pass --dsn or set NEWSFLOW_DSN", file=sys.stderr)
        return 2
    conn = storage.connect(args.dsn)
    try:
        applied = storage.apply_migrations(conn)
    except storage.MigrationError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    return 0


def _login(args: argparse.Namespace) -> int:
    """Create or update a login in a group role; the password is never printed."""
    if not args.dsn:
        print("newsflow login: no database; pass --dsn or set NEWSFLOW_DSN", file=sys.stderr)
        return 2
    password = os.environ.get("NEWSFLOW_LOGIN_PASSWORD") or None
    if args.password_file:
        password = _password_file(args.password_file)
    group = {"owner": storage.OWNER, "writer": storage.WRITER, "reader": storage.READER}[
        args.role]
    conn = storage.connect(args.dsn)
    try:
        storage.create_login(conn, args.name, group, password)
    finally:
        conn.close()
    print(f"login {args.name} in {group}"
          + (f" (password in {args.password_file})" if args.password_file else ""))
    return 0


def _password_file(path: Path) -> str:
    """The password in ``path``; a new random one, written with mode 0600, if it is missing."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password + "\n")
    return password


def _date_arg(text: str) -> date:
    """A YYYY-MM-DD command-line date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _search(args: argparse.Namespace) -> int:
    """Print the ranked hits of a full-text query, matched words highlighted."""
    if not args.dsn:
        print("newsflow search: no database; pass --dsn or set NEWSFLOW_DSN", file=sys.stderr)
        return 2
    from newsflow.search import search

    bold = sys.stdout.isatty()
    # Searched with private-use marks, swapped for the real ones after the stored text
    # has had its control characters escaped: a title cannot drive the terminal.
    marks = ("\033[1m", "\033[0m") if bold else ("**", "**")
    since = datetime.combine(args.since, time(), UTC) if args.since else None
    conn = storage.connect(args.dsn)
    try:
        hits = search(conn, args.query, since=since, source=args.source, limit=args.limit,
                      marks=SEARCH_MARKS)
    finally:
        conn.close()
    for number, hit in enumerate(hits, start=1):
        # The UTC day, as --since and the report count days, whatever the server's TimeZone.
        published = (hit.published_at.astimezone(UTC).strftime("%Y-%m-%d")
                     if hit.published_at else "undated")
        print(f"{number}. {printable(hit.title or '(no title)')}"
              f"  [{printable(hit.source_name)}, {published}, rank {hit.rank:.3f}]")
        if hit.canonical_url:
            print(f"   {printable(hit.canonical_url)}")
        headline = printable(hit.headline)
        for mark, shown in zip(SEARCH_MARKS, marks, strict=True):
            headline = headline.replace(mark, shown)
        print(f"   {headline}\n")
    print(f"{len(hits)} hit{'s' if len(hits) != 1 else ''}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    """Refresh the reporting views and write the HTML report of a period."""
    if not args.dsn:
        print("newsflow report: no database; pass --dsn or set NEWSFLOW_DSN", file=sys.stderr)
        return 2
    from newsflow import reporting

    start, end = reporting.default_period(args.end)
    start = args.start or start
    if start > end:
        print(f"newsflow report: --from {start} is after --to {end}", file=sys.stderr)
        return 2
    conn = storage.connect(args.dsn)
    try:
        refresh = not args.no_refresh
        if refresh and not reporting.may_refresh(conn):
            # An analyst's login reads the views as the pipeline last refreshed them.
            print("newsflow report: this login may not refresh the reporting views; reading"
                  " them as last refreshed", file=sys.stderr)
            refresh = False
        path = reporting.write_report(conn, args.out, start, end, refresh=refresh)
    finally:
        conn.close()
    print(f"wrote {path} ({start} to {end})")
    return 0


def _db(args: argparse.Namespace) -> int:
    """Start the embedded server (printing its socket folder), stop it, or locate its psql."""
    if args.action == "psql-path":
        print(dbserver.psql_path())
        return 0
    if args.action == "stop":
        print("stopped" if dbserver.stop(args.pgdata) else "not running")
        return 0
    print(dbserver.start(args.pgdata, tuple(args.databases or ("news",))))
    return 0


def _demo_site(args: argparse.Namespace) -> int:
    """Write the dated demo site (and date the bundled drop files); print what is where."""
    from newsflow import demo

    source = Path(__file__).resolve().parents[1] / "demo" / "site"
    plan = demo.write_site(args.out, args.base.rstrip("/"), source)
    if args.drop:
        plan["drop_files"] = demo.date_drop_files(args.drop)
    print(json.dumps(plan, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
