import math

from lxml import html as lxml_html

from newsflow.metadata import extract_metadata
from newsflow.pagefeatures import (
    link_share,
    main_block_words,
    page_features,
    slug_in_title,
    text_shape,
    url_features,
)
from newsflow.pagetype import (
    PAGE_TYPES,
    LinearModel,
    PageTypeModel,
    article_probability,
    classify,
    load_model,
    override_type,
    page_type,
)

PROSE = (
    "The harbour authority will double the number of ferry crossings from May, its board "
    "decided on Tuesday, after passenger numbers rose by a third in two years."
)
QUOTE = ("\u201cWe could not keep up with the queues,\u201d the harbour master said, adding "
         "that the new timetable would be published in the spring after a consultation.")


def _tree(head: str, body: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def _type(head: str, body: str, url: str = "https://herald.example/news/ferry") -> str:
    tree = _tree(head, body)
    return page_type(tree, extract_metadata(tree, url), url)


def _ld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


NEWS_HEAD = (
    "<title>Ferry crossings to double from May | Harbour Herald</title>"
    '<meta property="og:type" content="article">'
    '<meta property="article:published_time" content="2026-11-24T08:00:00Z">'
    '<meta name="author" content="Anna Berg">'
    + _ld('{"@type": "NewsArticle", "headline": "Ferry crossings to double from May",'
          ' "datePublished": "2026-11-24T08:00:00Z", "author": {"@type": "Person",'
          ' "name": "Anna Berg"}}')
)
NEWS_BODY = (
    "<nav><a href='/'>Home</a><a href='/news'>News</a><a href='/sport'>Sport</a></nav>"
    "<article><h1>Ferry crossings to double from May</h1><p class='byline'>By Anna Berg</p>"
    + "".join(f"<p>{PROSE} {QUOTE}</p>" for _ in range(8)) + "</article>"
)
NEWS_URL = "https://herald.example/2026/11/24/ferry-crossings-to-double-from-may"


def test_a_news_article_is_an_article() -> None:
    assert _type(NEWS_HEAD, NEWS_BODY, NEWS_URL) == "article"


def test_strong_structured_data_decides_alone_unless_an_article_type_is_declared() -> None:
    def meta(head: str):  # noqa: ANN202 - the Metadata of a page with this head
        return extract_metadata(_tree(head, f"<p>{PROSE}</p>"))

    assert override_type(meta(_ld('{"@type": "Product", "name": "Kettle"}'))) == "product"
    assert override_type(meta('<meta property="og:type" content="product">')) == "product"
    assert override_type(meta(_ld('{"@type": "DiscussionForumPosting"}'))) == "forum"
    assert override_type(meta(_ld('{"@type": "QAPage"}'))) == "forum"
    both = _ld('[{"@type": "NewsArticle", "headline": "Ferry"}, {"@type": "Product"}]')
    assert override_type(meta(both)) is None  # a story about a product: the model weighs it
    assert _type(_ld('{"@type": "Product", "name": "Kettle"}'), NEWS_BODY, NEWS_URL) == "product"


def test_a_link_list_and_a_shop_page_are_kept_out() -> None:
    cards = "".join(f'<li><a href="/news/story-{n}">Ferry story number {n}</a></li>'
                    for n in range(60))
    listing = f'<h1>News</h1><ul>{cards}</ul><p>Page 1 of 12</p>'
    assert _type('<meta property="og:type" content="website">', listing,
                 "https://herald.example/") != "article"
    shop = ("<h1>Harbour kettle</h1><p>$49.99</p><p>€45,00</p><form><select><option>Red"
            "</option></select><input name='qty'><button>Add to cart</button></form>"
            + "".join(f"<li><a href='/shop/item-{n}'>Kettle {n} $19.99</a></li>"
                      for n in range(30)))
    assert _type("", shop, "https://herald.example/shop/kettle") != "article"


def test_a_documentation_page_with_code_is_kept_out() -> None:
    body = ("<nav>" + "".join(f"<a href='/docs/{n}'>Section {n}</a>" for n in range(40))
            + "</nav><h1>Install the client</h1><p>Run the installer, then configure your "
            "key.</p>" + "<pre><code>pip install harbour-client</code></pre>" * 6
            + "<h2>Configure</h2><p>Set the key in your environment.</p>"
            + "<pre><code>export HARBOUR_KEY=...</code></pre>" * 4)
    assert _type("", body, "https://harbour.example/docs/client/install") != "article"


def test_page_type_always_returns_a_known_type() -> None:
    for head, body, url in (("", "", None), ("", "<p>x</p>", "not a url"),
                            (NEWS_HEAD, "", None), ("", NEWS_BODY, "https://[::1")):
        tree = _tree(head, body)
        assert page_type(tree, extract_metadata(tree), url) in PAGE_TYPES


def test_classify_follows_the_threshold_and_the_highest_kind() -> None:
    flat = LinearModel(intercept=0.0, features=(("prose_share", 4.0, 0.5, 0.25),))
    model = PageTypeModel(
        article=flat, threshold=0.5,
        kinds={"listing": LinearModel(0.0, (("link_share", 2.0, 0.0, 1.0),)),
               "service": LinearModel(0.5, ())},
    )
    assert classify({"prose_share": 0.9}, model) == "article"
    assert classify({"prose_share": 0.1, "link_share": 0.9}, model) == "listing"
    assert classify({"prose_share": 0.1, "link_share": 0.0}, model) == "service"
    assert 0.0 < article_probability({"prose_share": 0.5}, model) == 0.5


def test_the_fitted_model_reads_only_features_the_pages_have() -> None:
    model = load_model()
    names = set(page_features(_tree(NEWS_HEAD, NEWS_BODY), extract_metadata(
        _tree(NEWS_HEAD, NEWS_BODY), NEWS_URL), NEWS_URL))
    assert {name for name, *_ in model.article.features} <= names
    for kind, kind_model in model.kinds.items():
        assert kind in PAGE_TYPES
        assert {name for name, *_ in kind_model.features} <= names
    assert 0.0 < model.threshold < 1.0


def test_text_shape_counts_prose_lines_and_sentences() -> None:
    assert text_shape([PROSE, "Home", "Sign in"]) == (len(PROSE.split()) + 3,
                                                      len(PROSE.split()), 3)
    chinese = "新华社北京电" * 10 + "。"  # 61 characters, no spaces
    assert text_shape([chinese])[:2] == (30, 30)


def test_link_share_is_the_linked_part_of_the_visible_text() -> None:
    tree = lxml_html.fromstring("<html><body><p>abcd</p><a href='/x'>efgh</a>"
                                "<script>var links = 'ignored';</script></body></html>")
    assert link_share(tree) == 0.5


def test_main_block_counts_the_prose_of_the_fullest_container() -> None:
    body = _tree("", f"<div><p>{PROSE}</p><p>{PROSE}</p><p>Short.</p></div>"
                     f"<section><p>{PROSE}</p></section>").find(".//body")
    paragraphs = [(p.getparent(), p.text_content()) for p in body.iter("p")]
    assert main_block_words(paragraphs) == 2 * len(PROSE.split())


def test_url_shape_features() -> None:
    assert slug_in_title(NEWS_URL, "Ferry crossings to double from May") == 6 / 8
    assert slug_in_title("https://x.example/services", "Our services") == 0.0  # one word
    dated = url_features(NEWS_URL)
    assert dated["url_date"] == 1.0 and dated["url_root"] == 0.0
    root = url_features("https://x.example/")
    assert root["url_root"] == 1.0 and root["url_date"] == 0.0
    assert url_features("https://x.example/docs/install")["url_documentation"] == 1.0
    assert url_features(None)["url_root"] == 1.0


def test_prices_are_counted_and_a_page_of_digits_is_no_trap() -> None:
    tree = _tree("", "<p>Was 1.234,56 € now $999, or 30 EUR a month; 12 kroner.</p>"
                     f"<p>{'7' * 100_000}</p>")
    features = page_features(tree, extract_metadata(tree), None)
    assert features["prices"] == math.log1p(3)  # a linear-time pattern: the digits end fast
