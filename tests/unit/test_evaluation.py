import gzip
import json
from pathlib import Path

import pytest

from newsflow.eval_corpora import load_pages
from newsflow.eval_metrics import (
    author_tokens,
    body_scores,
    same_authors,
    same_day,
    same_instant,
    same_title,
    shingles,
    snippet_scores,
    title_key,
    word_f1,
)
from newsflow.evaluation import compare, main, run_pages, score

STORY = (
    "The harbour authority will double the number of ferry crossings from May, its board "
    "decided on Tuesday, after passenger numbers rose by a third in two years."
)
SECOND = (
    "Commuters have complained for months about full boats at peak times, and the operator "
    "said it had turned away more than 2,000 passengers in March alone."
)
PAGE = f"""<html lang="en"><head><title>Ferry service to double | Harbour Herald</title>
<meta property="og:site_name" content="Harbour Herald">
<script type="application/ld+json">{{"@type": "NewsArticle",
 "headline": "Ferry service to double", "author": {{"@type": "Person", "name": "Anna Berg"}},
 "datePublished": "2026-11-24T08:30:00+01:00"}}</script></head>
<body><article><h1>Ferry service to double</h1><p>{STORY}</p><p>{SECOND}</p></article>
<footer>Sign up for our newsletter</footer></body></html>"""


# scoring


def test_shingles_are_4_token_multisets_and_short_texts_one_shingle() -> None:
    assert shingles("a b c d e") == {"a b c d": 1, "b c d e": 1}
    assert shingles("one two") == {"one two": 1}
    assert shingles("") == {}
    assert shingles("x y z w x y z w")["x y z w"] == 2


def test_body_scores_follow_the_benchmark_definitions() -> None:
    truth = "one two three four five six"  # shingles: 3
    perfect = body_scores([(truth, truth)])
    assert perfect == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "accuracy": 1.0, "pages": 1}
    # predicted adds two tokens: tp 3, fp 2, fn 0
    extra = body_scores([(truth + " seven eight", truth)])
    assert extra["precision"] == pytest.approx(3 / 5)
    assert extra["recall"] == 1.0
    assert extra["accuracy"] == 0.0
    # empty prediction: no precision entry, recall 0 for that page
    both = body_scores([(truth + " seven eight", truth), ("", truth)])
    assert both["precision"] == pytest.approx(3 / 5)
    assert both["recall"] == pytest.approx(0.5)
    assert both["f1"] == pytest.approx(2 * 0.6 * 0.5 / 1.1)
    # case matters: nothing is lowercased
    assert body_scores([(truth.upper(), truth)])["recall"] == 0.0


def test_snippet_scores_are_micro_averaged_over_whitespace_normalised_text() -> None:
    outcomes = [
        ("The  ferry\nservice doubles. Imprint", ["ferry service", "missing bit"], ["Imprint"]),
        ("", ["anything"], ["nothing"]),
    ]
    figures = snippet_scores(outcomes)
    assert (figures["tp"], figures["fn"], figures["fp"], figures["tn"]) == (1, 2, 1, 1)
    assert figures["precision"] == 0.5
    assert figures["recall"] == pytest.approx(1 / 3)


def test_field_comparisons() -> None:
    assert same_title("Ferry  service", "Ferry service")
    assert not same_title("Ferry service | Herald", "Ferry service")
    assert same_authors(["Anna  Berg"], ["Anna Berg"])
    assert not same_authors(["Tom Lund", "Anna Berg"], ["Anna Berg", "Tom Lund"])
    assert same_day("2026-11-24T08:30:00+01:00", "2026-11-24 07:30:00+00:00")
    assert same_day("2026-11-24", "2026-11-24 07:30:00+00:00")
    assert not same_day(None, "2026-11-24")
    assert same_instant("2026-11-24T08:30:00+01:00", "2026-11-24 07:30:00+00:00")
    assert not same_instant("2026-11-24", "2026-11-24 00:00:00+00:00")


def test_wcxb_comparisons_follow_its_readme() -> None:
    assert title_key("Ferry \u2018service\u2019  to DOUBLE") == title_key("ferry 'service' to "
                                                                       "double")
    assert title_key("\uff26erry") == title_key("Ferry")  # NFKC
    assert author_tokens(["By Anna Berg", "Tom Lund"]) == author_tokens("Anna Berg and Tom Lund")
    assert author_tokens(["Anna Berg"]) != author_tokens("Anna Berg, MS")
    assert word_f1("the ferry the boat", "The ferry") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert word_f1("", "") == 1.0
    assert word_f1("boat", "ferry") == 0.0


PRODUCT = """<html lang="en"><head><title>Blue kettle | Shop</title>
<meta property="og:type" content="product">
<script type="application/ld+json">{"@type": "Product", "name": "Blue kettle",
 "offers": {"@type": "Offer", "price": "20"}}</script></head>
<body><h1>Blue kettle</h1><p>A blue kettle of enamelled steel that holds 1.7 litres and boils
fast on gas, electric and induction hobs; its handle stays cool and its whistle is loud enough
for the next room. Dishwasher safe, two-year warranty, free delivery over 30 pounds.</p>
<button>Add to cart</button></body></html>"""


# a tiny corpus in each of the four formats


@pytest.fixture()
def eval_dir(tmp_path: Path) -> Path:
    (tmp_path / "aeb" / "html").mkdir(parents=True)
    (tmp_path / "aeb" / "html" / "p1.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "aeb" / "ground-truth.json").write_text(json.dumps(
        {"p1": {"articleBody": f"{STORY}\n{SECOND}", "url": "https://harbourherald.example/a"}}
    ))
    (tmp_path / "fundus" / "uk").mkdir(parents=True)
    (tmp_path / "fundus" / "uk" / "Herald.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    body = repr({"summary": [], "sections": [{"headline": [], "paragraphs": [STORY, SECOND]}]})
    (tmp_path / "fundus" / "expected.json").write_text(json.dumps({"items": [{
        "html": "uk/Herald.html.gz", "url": "https://harbourherald.example/a",
        "expected": {"title": "Ferry service to double", "authors": "['Anna Berg']",
                     "publishing_date": "2026-11-24 07:30:00+00:00", "body": body},
    }]}))
    (tmp_path / "trafilatura" / "html").mkdir(parents=True)
    (tmp_path / "trafilatura" / "html" / "herald.html.gz").write_bytes(
        gzip.compress(PAGE.encode())
    )
    (tmp_path / "trafilatura" / "evaldata.json").write_text(json.dumps({
        "https://harbourherald.example/a": {
            "file": "herald.html", "with": ["double the number of ferry crossings"],
            "without": ["Sign up for our newsletter"],
        }
    }))
    (tmp_path / "wcxb" / "html").mkdir(parents=True)
    (tmp_path / "wcxb" / "html" / "0001.html.gz").write_bytes(gzip.compress(PAGE.encode()))
    (tmp_path / "wcxb" / "html" / "0002.html.gz").write_bytes(gzip.compress(PRODUCT.encode()))
    (tmp_path / "wcxb" / "ground-truth.json").write_text(json.dumps({
        "0001": {"url": "https://harbourherald.example/a", "page_type": "article",
                 "title": "Ferry Service to Double", "author": "Anna Berg",
                 "publish_date": "2026-11-24", "articleBody": f"{STORY}\n{SECOND}",
                 "with": [], "without": []},
        "0002": {"url": "https://shop.example/p/kettle", "page_type": "product",
                 "title": "Blue kettle", "author": None, "publish_date": None,
                 "articleBody": "", "with": [], "without": []},
    }))
    return tmp_path


def test_corpora_are_loaded_with_their_ground_truth(eval_dir: Path) -> None:
    pages = load_pages(eval_dir)
    assert [(p.corpus, p.page_id) for p in pages] == [
        ("aeb", "p1"), ("fundus", "uk/Herald.html.gz"),
        ("trafilatura", "https://harbourherald.example/a"), ("wcxb", "0001"), ("wcxb", "0002"),
    ]
    assert pages[3].expected["page_type"] == "article"
    assert pages[4].expected["author"] is None
    assert pages[1].expected["authors"] == ["Anna Berg"]
    assert pages[1].expected["body"] == f"{STORY}\n{SECOND}"


def test_run_and_score_ours_next_to_trafilatura(eval_dir: Path) -> None:
    outcomes = run_pages(load_pages(eval_dir))
    assert [o.error for o in outcomes] == [None] * 5
    results = score(outcomes)
    ours = results["fundus"]["ours"]
    assert (ours["title"], ours["authors"], ours["date"]) == (1.0, 1.0, 1.0)
    assert results["aeb"]["ours"]["f1"] == 1.0
    assert results["trafilatura"]["ours"]["recall"] == 1.0
    assert results["trafilatura"]["ours"]["fp"] == 0
    assert set(results["aeb"]) == {"ours", "trafilatura"}
    assert results["aeb"]["ours"]["pages_per_second"] > 0
    wcxb = results["wcxb"]["ours"]
    # scored on the article only: case-folded title, author tokens, day
    assert (wcxb["title"], wcxb["authors"], wcxb["date"]) == (1.0, 1.0, 1.0)
    assert wcxb["word_f1"] == 1.0 and wcxb["f1"] == 1.0
    # the product page is typed and not loaded; trafilatura alone loads its text
    assert wcxb["confusion"] == {"article": {"article": 1}, "product": {"product": 1}}
    assert (wcxb["articles_rejected"], wcxb["others_rejected"]) == (0.0, 1.0)
    assert results["wcxb"]["trafilatura"]["others_rejected"] == 0.0


def test_diff_records_page_scores_and_compare_counts_better_and_worse(
    eval_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.jsonl"
    assert main([str(eval_dir), "--corpus", "wcxb", "--diff", str(old)]) == 0
    records = [json.loads(line) for line in old.read_text().splitlines()]
    assert records[0]["scores"]["title"] is True
    assert records[1]["rejected"] == "not an article (product)"
    # pretend the earlier run missed the title: this run counts one page better
    records[0]["scores"]["title"] = False
    old.write_text("".join(json.dumps(r) + "\n" for r in records))
    outcomes = run_pages(load_pages(eval_dir, ("wcxb",)))
    lines = compare(old, outcomes).splitlines()
    assert any(line.split()[:4] == ["wcxb", "title", "1", "0"] for line in lines)


def test_command_prints_the_table_and_writes_json(
    eval_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    assert main([str(eval_dir), "--corpus", "fundus", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "title exact" in printed and "newsflow" in printed and "trafilatura" in printed
    assert json.loads(out.read_text())["fundus"]["ours"]["title"] == 1.0


def test_missing_eval_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    assert "no eval folder" in capsys.readouterr().err
