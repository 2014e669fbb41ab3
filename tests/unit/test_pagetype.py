from lxml import html as lxml_html

from newsflow.metadata import extract_metadata
from newsflow.pagetype import PAGE_TYPES, PageSignals, classify, link_share, page_type, text_shape

PROSE = (
    "The harbour authority will double the number of ferry crossings from May, its board "
    "decided on Tuesday, after passenger numbers rose by a third in two years."
)


def _type(head: str, body: str, url: str = "https://herald.example/news/ferry") -> str:
    tree = lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    return page_type(tree, extract_metadata(tree, url), url)


def _ld(data: str) -> str:
    return f'<script type="application/ld+json">{data}</script>'


def test_structured_data_names_the_type() -> None:
    body = f"<p>{PROSE}</p>"
    assert _type(_ld('{"@type": "Product", "name": "Kettle"}'), body) == "product"
    assert _type('<meta property="og:type" content="product">', body) == "product"
    assert _type(_ld('{"@type": "DiscussionForumPosting", "headline": "Ferries?"}'),
                 body) == "forum"
    assert _type(_ld('{"@type": "QAPage"}'), body) == "forum"
    assert _type(_ld('{"@type": "CollectionPage"}'), body) == "collection"
    assert _type('<div itemscope itemtype="https://schema.org/Product"></div>', body) == "product"


def test_an_article_type_wins_over_the_products_it_mentions() -> None:
    head = _ld('[{"@type": "NewsArticle", "headline": "Ferry", "datePublished": "2026-11-24"},'
               ' {"@type": "Product", "name": "Ferry ticket"}]')
    assert _type(head, f"<p>{PROSE}</p>" * 4) == "article"


def test_text_shape_counts_prose_lines() -> None:
    assert text_shape([PROSE, "Home", "Sign in"]) == (len(PROSE.split()) + 3, len(PROSE.split()))


def test_link_share_is_the_linked_part_of_the_visible_text() -> None:
    tree = lxml_html.fromstring("<html><body><p>abcd</p><a href='/x'>efgh</a>"
                                "<script>var links = 'ignored';</script></body></html>")
    assert link_share(tree) == 0.5


def test_classify_returns_a_known_type() -> None:
    assert classify(PageSignals()) in PAGE_TYPES


def test_any_sign_of_an_article_keeps_the_page_and_its_absence_needs_prose() -> None:
    short = "<p>Our services: plumbing, heating and repairs. Call us today.</p>"
    assert _type("", short) == "service"
    assert _type('<meta property="og:type" content="article">', short) == "article"
    assert _type('<meta property="article:published_time" content="2026-11-24">',
                 short) == "article"
    assert _type("", short, url="https://herald.example/2026/11/24/ferry") == "article"
    assert _type("", f"<p>{PROSE}</p>" * 6) == "article"  # 150 words of prose
    assert _type("", f"<p>{PROSE}</p>" * 4) == "service"
    assert _type("", short, url="https://herald.example/forum/ferries") == "forum"
    assert _type("", short, url="https://herald.example/docs/install") == "documentation"
    links = "".join(f'<a href="/x{i}">Ferry news item number {i}</a>' for i in range(20))
    assert _type("", short + links) == "listing"


def test_unspaced_scripts_count_words_by_characters_and_reviews_are_articles() -> None:
    chinese = "新华社北京电" * 10 + "。"  # 61 characters, no spaces
    assert text_shape([chinese]) == (30, 30)
    head = _ld('{"@type": "Review", "itemReviewed": {"@type": "Product", "name": "Game"}}')
    assert _type(head, "<p>Short.</p>") == "article"


def test_one_article_element_holding_the_h1_marks_a_short_article() -> None:
    text = "<p>The council met on Tuesday and agreed the plan for the harbour wall.</p>"
    one = lxml_html.fromstring(f"<html><body><article><h1>Wall plan agreed</h1>{text}"
                               "</article></body></html>")
    cards = lxml_html.fromstring("<html><body><h1>News</h1>" + "".join(
        f"<article><h2>Story {n}</h2>{text}</article>" for n in range(3)) + "</body></html>")
    bare = lxml_html.fromstring(f"<html><body><h1>Wall plan agreed</h1>{text}</body></html>")
    assert page_type(one, extract_metadata(one), None) == "article"
    assert page_type(cards, extract_metadata(cards), None) != "article"
    assert page_type(bare, extract_metadata(bare), None) != "article"


def test_a_business_or_faq_page_without_article_signs_is_a_service_page() -> None:
    body = f"<h1>Emergency plumbing in Harbourtown</h1>{'<p>' + PROSE + '</p>' * 1}" * 8
    business = _ld('{"@type": "Plumber", "name": "Harbour Plumbing"}')
    faq = _ld('{"@type": "FAQPage", "mainEntity": []}')
    assert _type(business, body) == "service"
    assert _type(faq, body) == "service"
    # the same page with a publication date, a byline or an article type stays an article
    dated = business + '<meta property="article:published_time" content="2026-11-24">'
    assert _type(dated, body) == "article"
    assert _type(business + '<meta name="author" content="Anna Berg">', body) == "article"
    assert _type(business + _ld('{"@type": "BlogPosting", "headline": "Pipes"}'),
                 body) == "article"


def test_a_forum_thread_url_makes_a_forum_page_unless_dated() -> None:
    posts = "".join(f'<div class="post"><a class="author" href="/u/{n}">Anna Berg</a>'
                    f"<div>I had the same question about ferries {n}.</div></div>"
                    for n in range(3))
    assert _type("", posts, url="https://boards.example/threads/ferry-times.123/") == "forum"
    assert _type("", posts, url="https://boards.example/viewtopic.php?t=42") == "forum"
    prose = f"<p>{PROSE} {PROSE}</p>"
    # a structured date keeps an article whose URL happens to say "forum"
    dated = '<meta property="article:published_time" content="2026-11-24">'
    assert _type(dated, prose, url="https://herald.example/forum/ferry-debate") == "article"
