"""Page type: is this page an article, or a listing, product, forum, documentation or service page?

A news sitemap or a feed also hands the pipeline section fronts, tag pages, galleries and
shop pages. The type is decided from the page itself, strongest evidence first:

1. structured data: the schema.org ``@type`` of the JSON-LD nodes and microdata items
   (``NewsArticle``/``BlogPosting`` vs ``Product``, ``DiscussionForumPosting``,
   ``QAPage``, ``CollectionPage``, ...) and ``og:type``;
2. the shape of the text: an article is mostly prose (long sentences in paragraphs) with
   a publication date or a byline; listings, shops and service pages are short blocks,
   links and calls to action;
3. the URL's shape as a weak hint (``/product/``, ``/forum/``, ``/docs/``, a date path).

Pure functions; no per-site rules.
"""

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import html as lxml_html

if TYPE_CHECKING:
    from newsflow.metadata import Metadata

LOGGER = logging.getLogger(__name__)

PAGE_TYPES = ("article", "listing", "collection", "product", "forum", "documentation",
              "service", "other")

# schema.org types (lower case) and the page type they mark.
ARTICLE_SCHEMA = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
     "blogposting", "liveblogposting", "scholarlyarticle", "report", "socialmediaposting",
     "review", "criticreview"}
)
TYPE_SCHEMA = {
    "product": frozenset({"product", "productgroup", "offer", "aggregateoffer",
                          "individualproduct", "productmodel", "car", "vehicle"}),
    "forum": frozenset({"discussionforumposting", "qapage"}),
    "collection": frozenset({"collectionpage", "offercatalog"}),
    "listing": frozenset({"searchresultspage"}),
    "documentation": frozenset({"techarticle", "apireference"}),
}
# schema.org types of businesses, services, courses and FAQ pages: a page that declares
# one of these and nothing of an article (no Article-family type, no structured date, no
# named author) is the site's service page.
SERVICE_SCHEMA = frozenset(
    {"localbusiness", "professionalservice", "homeandconstructionbusiness", "hvacbusiness",
     "plumber", "electrician", "roofingcontractor", "generalcontractor", "movingcompany",
     "legalservice", "attorney", "financialservice", "insuranceagency", "accountingservice",
     "medicalbusiness", "medicalclinic", "dentist", "physician", "store", "autorepair",
     "automotivebusiness", "realestateagent", "lodgingbusiness", "hotel", "restaurant",
     "foodestablishment", "travelagency", "educationalorganization", "collegeoruniversity",
     "school", "course", "service", "faqpage"}
)
# og:type values beginning with these words mark a product page.
PRODUCT_OG = ("product", "ebay-objects:item", "og:product")

# URL path words hinting at a type (whole path segments, lower case).
URL_HINTS = {
    "product": frozenset({"product", "products", "p", "dp", "item", "shop", "store"}),
    "forum": frozenset({"forum", "forums", "thread", "threads", "community", "discussion",
                        "discussions", "questions", "topic", "t", "r", "comments"}),
    "collection": frozenset({"collections", "collection", "category", "categories", "c",
                             "tag", "tags", "topics", "section"}),
    "documentation": frozenset({"docs", "doc", "documentation", "api", "reference",
                                "manual", "wiki", "kb", "knowledge-base", "support", "help"}),
}
ARTICLE_OG = frozenset({"article", "blog", "blogposting", "news"})
# A page without any other sign of an article is one when its paragraphs hold this many
# words of prose (wcxb development split: 2 % of its articles have less, half of the
# pages that are no article have more).
MIN_PROSE_WORDS = 150
# A page whose visible text is mostly links is a listing.
LISTING_LINK_SHARE = 0.5
DATE_PATH = re.compile(r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])(?:/|-)")
# A URL naming a forum thread (forum software's paths): a forum page unless structured
# data says otherwise or dates it.
FORUM_PATH = re.compile(r"/(?:forums?|threads?)(?:/|$)|/thread-\d|/viewtopic\b|/showthread\b")


# A prose line: at least this many words and ending like a sentence.
PROSE_MIN_WORDS = 20
SENTENCE_END = re.compile(r"[.!?…:\"”’)。！？」』]\s*$")
# Scripts written without spaces between words: a word is counted per CHARS_PER_WORD.
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
CHARS_PER_WORD = 2


@dataclass
class PageSignals:
    """What the page says about its own type."""

    schema_types: set[str] = field(default_factory=set)
    og_type: str = ""
    url_path: str = ""
    has_date: bool = False  # a publication date from structured data or meta tags
    has_author: bool = False
    headed_article: bool = False  # one <article> element, holding the page's <h1>
    words: int = 0
    prose_words: int = 0  # words in prose lines (see PROSE_MIN_WORDS)
    lines: int = 0
    link_share: float = 0.0  # share of the page's visible text inside links

    @property
    def prose_share(self) -> float:
        """The share of the body's words in prose lines."""
        return self.prose_words / self.words if self.words else 0.0


def collect_types(nodes: Iterable[dict[str, Any]], tree: lxml_html.HtmlElement) -> set[str]:
    """Lower-case schema.org types of the JSON-LD nodes and the microdata items."""
    types: set[str] = set()
    for node in nodes:
        value = node.get("@type")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                types.add(item.rsplit("/", 1)[-1].lower())
    for itemtype in tree.xpath("//@itemtype"):
        for item in str(itemtype).split():
            types.add(item.rstrip("/").rsplit("/", 1)[-1].lower())
    return types


def paragraph_texts(tree: lxml_html.HtmlElement) -> list[str]:
    """The texts of the page's ``<p>`` elements, whitespace collapsed."""
    return [" ".join(p.text_content().split()) for p in tree.iter("p")]


def text_shape(lines: Sequence[str]) -> tuple[int, int]:
    """(words, words in prose lines) of a page's paragraphs."""
    words = prose = 0
    for line in lines:
        count = max(len(line.split()), len(UNSPACED.findall(line)) // CHARS_PER_WORD)
        words += count
        if count >= PROSE_MIN_WORDS and SENTENCE_END.search(line):
            prose += count
    return words, prose


def link_share(tree: lxml_html.HtmlElement) -> float:
    """The share of the ``<body>``'s visible text (non-space characters) inside links."""
    body = tree.find(".//body")
    if body is None:
        return 0.0
    hidden = sum(_chars(el) for el in body.iter("script", "style", "noscript", "template"))
    total = _chars(body) - hidden
    linked = sum(_chars(el) for el in body.iter("a"))
    return max(0.0, min(1.0, linked / total)) if total > 0 else 0.0


def _chars(element: lxml_html.HtmlElement) -> int:
    """Non-space characters of an element's text."""
    return len("".join(element.text_content().split()))


def headed_article(tree: lxml_html.HtmlElement) -> bool:
    """The page marks up one ``<article>`` and its ``<h1>`` is inside it: the HTML way of
    saying "this page is one article" (a listing holds many, a service page none)."""
    articles = tree.xpath("//article")
    return len(articles) == 1 and bool(articles[0].xpath(".//h1"))


def page_type(tree: lxml_html.HtmlElement, meta: "Metadata", url: str | None) -> str:
    """Decide the type of an HTML page.

    Args:
        tree: the parsed page.
        meta: its metadata (structured types, og:type, date and author evidence).
        url: the page's URL when known (a weak hint).

    Returns:
        One of ``PAGE_TYPES``.
    """
    lines = paragraph_texts(tree)
    words, prose = text_shape(lines)
    signals = PageSignals(
        schema_types=meta.schema_types, og_type=meta.og_type.strip().lower(),
        url_path=url_path(url or meta.canonical_url),
        has_date=meta.published_source not in (None, "htmldate"),
        has_author=bool(meta.authors), headed_article=headed_article(tree), words=words,
        prose_words=prose, lines=len(lines),
        link_share=link_share(tree),
    )
    return classify(signals)


def classify(signals: PageSignals) -> str:
    """The page type the signals point to (see the module docstring).

    Losing an article costs more than loading a section front, so any sign of an
    article keeps the page: an Article-family type, a publication date in structured
    data or in the URL, ``og:type`` article, a named author, one ``<article>`` holding the
    page's ``<h1>`` (a forum thread's URL outweighs these signs). Without one, a page
    declaring a business, service, course or FAQ type (``SERVICE_SCHEMA``) is a service
    page, and any other page is an article only when it holds ``MIN_PROSE_WORDS`` words
    of prose.
    """
    types = signals.schema_types
    if types & ARTICLE_SCHEMA:
        return "article"
    for page_type in ("forum", "product", "collection", "listing"):
        if types & TYPE_SCHEMA[page_type]:
            return page_type
    if signals.og_type.startswith(PRODUCT_OG):
        return "product"
    if (types & SERVICE_SCHEMA and not signals.has_date and not signals.has_author
            and not DATE_PATH.search(signals.url_path)):
        return "service"
    if FORUM_PATH.search(signals.url_path) and not signals.has_date:
        return "forum"
    if (signals.has_date or signals.has_author or signals.og_type in ARTICLE_OG
            or signals.headed_article or DATE_PATH.search(signals.url_path)):
        return "article"
    if signals.prose_words >= MIN_PROSE_WORDS:
        return "article"
    return _other_type(signals)


def _other_type(signals: PageSignals) -> str:
    """The kind of a page that is no article: the URL's hint, else its shape."""
    segments = set(signals.url_path.strip("/").split("/"))
    for page_type in ("forum", "documentation", "product", "collection"):
        if segments & URL_HINTS[page_type]:
            return page_type
    if signals.link_share >= LISTING_LINK_SHARE:
        return "listing"
    return "service"


def url_path(url: str | None) -> str:
    """The lower-case path of a URL ("" without one)."""
    if not url:
        return ""
    try:
        return urlsplit(url).path.lower()
    except ValueError:
        return ""
