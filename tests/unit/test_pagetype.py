import math

from lxml import html as lxml_html

from newsflow.metadata import extract_metadata
from newsflow.pagefeatures import (
    main_block_words,
    page_features,
    shown_date_features,
    shown_days,
    slug_in_title,
    structure_features,
    text_shape,
    url_features,
)
from newsflow.pagetype import (
    PAGE_TYPES,
    LinearModel,
    PageTypeModel,
    TreeEnsemble,
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


def test_trees_send_a_page_left_at_or_below_a_threshold_and_add_up_their_leaves() -> None:
    # tree 1: prose_share <= 0.5 -> -2, else (links_per_p <= 1 -> +3, else +1); tree 2: +0.5
    ensemble = TreeEnsemble(
        features=("prose_share", "links_per_p"), baseline=-1.0,
        trees=(((0, 0.5, 1, 2), (-1, -2.0), (1, 1.0, 3, 4), (-1, 3.0), (-1, 1.0)),
               ((-1, 0.5),)),
    )
    def z(values: dict[str, float]) -> float:
        p = ensemble.probability(values)
        return math.log(p / (1 - p))
    assert math.isclose(z({"prose_share": 0.5, "links_per_p": 9.0}), -2.5)
    assert math.isclose(z({"prose_share": 0.9, "links_per_p": 1.0}), 2.5)
    assert math.isclose(z({"prose_share": 0.9, "links_per_p": 1.5}), 0.5)
    assert math.isclose(z({}), -2.5)  # a feature the page lacks counts as 0
    model = PageTypeModel(article=ensemble, threshold=0.5,
                          kinds={"listing": LinearModel(0.0, ())})
    assert classify({"prose_share": 0.9}, model) == "article"
    assert classify({"prose_share": 0.1}, model) == "listing"


def test_the_fitted_model_reads_only_features_the_pages_have() -> None:
    model = load_model()
    names = set(page_features(_tree(NEWS_HEAD, NEWS_BODY), extract_metadata(
        _tree(NEWS_HEAD, NEWS_BODY), NEWS_URL), NEWS_URL))
    assert isinstance(model.article, TreeEnsemble) and model.article.trees
    assert set(model.article.features) <= names
    for nodes in model.article.trees:  # every split points inside its tree
        for node in nodes:
            assert node[0] == -1 or (0 <= node[0] < len(model.article.features)
                                     and 0 < node[2] < len(nodes) and 0 < node[3] < len(nodes))
    for kind, kind_model in model.kinds.items():
        assert kind in PAGE_TYPES
        assert {name for name, *_ in kind_model.features} <= names
    assert 0.0 < model.threshold < 1.0


def test_text_shape_counts_prose_lines_and_sentences() -> None:
    assert text_shape([PROSE, "Home", "Sign in"]) == (len(PROSE.split()) + 3,
                                                      len(PROSE.split()), 3)
    chinese = "新华社北京电" * 10 + "。"  # 61 characters, no spaces
    assert text_shape([chinese])[:2] == (30, 30)


def test_dates_are_read_as_pages_print_them() -> None:
    assert shown_days("Posted Dec. 4, 2025; updated 2025-12-06") == {"2025-12-04", "2025-12-06"}
    assert shown_days("04.12.2025") == {"2025-12-04", "2025-04-12"}  # either order
    assert shown_days("13/25/2025 and 1234567") == set()


def test_a_date_and_a_byline_under_the_headline_are_seen() -> None:
    def shown(body: str, published: str | None) -> dict[str, float]:
        tree = _tree("", body)
        text = " ".join(" ".join(tree.find(".//body").itertext()).split())
        return shown_date_features(tree, text, published)

    news = shown("<nav>Home News</nav><h1>Ferry crossings to double</h1>"
                 "<p>By Anna Berg, November 24, 2025</p><p>" + PROSE + "</p>", "2025-11-24T08:00")
    assert news["date_under_headline"] == news["published_under_headline"] == 1.0
    assert news["byline_under_headline"] == news["published_shown"] == 1.0
    assert 0.0 < news["headline_position"] < 0.2
    service = shown("<h1>Ferry services</h1><p>" + PROSE + "</p>"
                    + "x" * 500 + "<footer>© 24 November 2025</footer>", "2025-11-24")
    assert service["date_under_headline"] == service["byline_under_headline"] == 0.0
    assert service["published_shown"] == 1.0 and service["days_shown"] == math.log1p(1)
    assert shown("<p>no headline</p>", None)["headline_position"] == 1.0


def test_cards_and_teasers_are_counted() -> None:
    cards = "".join(f"<div class='card'><a href='/s/{n}'><img src='i.jpg'></a>"
                    f"<h3><a href='/s/{n}'>Story {n}</a></h3></div>" for n in range(10))
    listing = structure_features(_tree("", f"<h2>Latest</h2>{cards}<a href='/more'>More</a>"))
    assert listing["linked_image_share"] == 10 / 21
    assert listing["linked_heading_share"] == 10 / 11
    article = structure_features(_tree("", "<article><h2>Ferry</h2><p class='author'>Anna</p>"
                                           f"<p>{PROSE}</p><span class='date'>Today</span>"
                                           "</article>"))
    assert article["article_p"] == math.log1p(2) and article["author_class"] == math.log1p(1)
    assert article["date_class"] == math.log1p(1) and article["linked_heading_share"] == 0.0


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
