"""The features of a page that tell an article from a listing, shop, forum, docs or service page.

One page -> one flat ``{name: number}`` vector, read from the parsed tree, its
``Metadata`` (structured-data types, ``og:type``, where the date and the authors came from)
and its URL. Only generic evidence: which schema.org families the page declares, whether
it is dated and signed, how much of its text is prose, lists, links or forms, how many
headings, buttons, prices, images and code blocks it holds, whether it prints a date
and a byline under its headline, the shape of its URL and title. No feature names a site
or a domain.

``pagetype`` weighs these with the tree ensemble in ``pagetype_model.json`` (fitted by
``scripts/fit_pagetype.py``). Counts enter as ``log1p`` and shares as 0..1, so that one
huge page does not dominate the fit. Cheap by design: one walk over the tree's elements
of interest, one over its visible text, a few counting XPaths evaluated by libxml2.
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

from newsflow.publication_dates import MONTH_NUMBERS, SHOWN_DATE

if TYPE_CHECKING:
    from newsflow.metadata import Metadata

# schema.org types (lower case) grouped into the families the model weighs.
ARTICLE_SCHEMA = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
     "blogposting", "liveblogposting", "scholarlyarticle", "report", "socialmediaposting",
     "review", "criticreview", "recipe"}
)
# The article types a CMS does not put on every page by default ("Article" alone is
# Yoast's and other plugins' type for any post, guides and service pages included).
NEWS_SCHEMA = ARTICLE_SCHEMA - {"article"}
TYPE_SCHEMA = {
    "product": frozenset({"product", "productgroup", "offer", "aggregateoffer",
                          "individualproduct", "productmodel", "car", "vehicle"}),
    "forum": frozenset({"discussionforumposting", "qapage", "question", "answer"}),
    "collection": frozenset({"collectionpage", "offercatalog", "itemlist"}),
    "listing": frozenset({"searchresultspage"}),
    "documentation": frozenset({"techarticle", "apireference", "softwaresourcecode",
                                "softwareapplication"}),
}
# schema.org types of businesses, services, courses and FAQ pages.
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
ARTICLE_OG = frozenset({"article", "blog", "blogposting", "news"})

# URL path words hinting at a kind of page (whole words of the path, lower case).
URL_HINTS = {
    "product": frozenset({"product", "products", "p", "dp", "item", "shop", "store", "buy",
                          "cart", "catalog", "catalogue"}),
    "forum": frozenset({"forum", "forums", "thread", "threads", "community", "discussion",
                        "discussions", "questions", "question", "topic", "t", "r", "comments",
                        "viewtopic", "showthread", "answers"}),
    "collection": frozenset({"collections", "collection", "category", "categories", "c",
                             "tag", "tags", "topics", "section", "archive", "archives"}),
    "documentation": frozenset({"docs", "doc", "documentation", "api", "reference", "manual",
                                "wiki", "kb", "guide", "guides", "support", "help", "learn",
                                "tutorial", "tutorials", "developer", "developers", "sdk"}),
    "service": frozenset({"services", "service", "solutions", "pricing", "contact", "about",
                          "locations", "industries", "features", "plans", "book", "quote"}),
    "article": frozenset({"news", "blog", "blogs", "article", "articles", "post", "posts",
                          "story", "stories", "opinion", "insights", "press"}),
}
DATE_PATH = re.compile(r"/(?:19|20)\d\d/(?:0?[1-9]|1[0-2])(?:/|-)|/(?:19|20)\d\d-\d\d-\d\d")
URL_WORD = re.compile(r"[a-z0-9]+")
# A prose line: at least this many words and ending like a sentence.
PROSE_MIN_WORDS = 20
SENTENCE_END = re.compile(r"[.!?…:\"”’)。！？」』]\s*$")
SENTENCE_MARK = re.compile(r"[.!?。！？](?:\s|$)")
# Scripts written without spaces between words: a word is counted per CHARS_PER_WORD.
UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")
CHARS_PER_WORD = 2
# Words of the page's paragraphs that mark who speaks to whom: a business or a manual
# addresses the reader ("we", "you"), a report tells of third parties. English and the
# other big languages of the corpora; a page in another language just scores 0 here.
WE_WORDS = frozenset({"we", "our", "us", "ours", "wir", "unser", "unsere", "nous", "notre",
                      "nos", "nosotros", "nuestro", "nuestra", "noi", "nostro", "nostra"})
YOU_WORDS = frozenset({"you", "your", "yours", "ihr", "ihre", "vous", "votre", "vos",
                       "usted", "tu", "tus", "tuo", "tua", "du", "dein", "deine"})
SAID_WORDS = frozenset({"said", "says", "told", "according", "sagte", "sagt", "dijo",
                        "selon", "secondo", "laut"})
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
TOKEN = re.compile(r"\w+")
VOICE_WORDS = WE_WORDS | YOU_WORDS | SAID_WORDS
# A price: a currency sign before or a currency after a number. The number's length is
# bounded and it starts at a run's start, so a page of digits costs linear time.
PRICE = re.compile(r"[$€£¥₹]\s?\d|(?<![\d.,])\d[\d.,]{0,15}\s?(?:€|(?:EUR|USD|GBP|zł|kr)\b)")
# Elements counted in one walk of the tree; those of COUNT_FEATURES are features (``n_<tag>``).
# Counts of list items, tables, navs, asides, selects, textareas, blockquotes, definition
# lists and h1s, the page's size, the description's length and whether the URL is known
# were tried and dropped: they only added noise in cross-validation
# (scripts/fit_pagetype.py; docs/extraction.md). So were the shares of the text in links,
# lists, navs, forms, headers, footers, tables and asides, and the counts of
# ``tel:``/``mailto:`` and button-styled links: the tree ensemble gave them no weight, and
# they were a third of the features' cost.
COUNT_FEATURES = ("p", "h2", "h3", "button", "form", "input", "pre", "code", "article",
                  "time", "figure", "img", "svg")
COUNTED_TAGS = ("a", *COUNT_FEATURES)
# The body's text but scripts, styles and templates (their text is their own, the elements
# hold no others). A ``noscript``'s elements do count: asking every text node for all its
# ancestors cost a third of this module's time.
VISIBLE_TEXT = etree.XPath(
    "//body//text()[not(parent::script or parent::style or parent::noscript"
    " or parent::template)]", smart_strings=False)
# Counted by libxml2 (one pass each, no Python object per element): cards and teasers
# (links holding an image, headings holding a link), paragraphs inside <article>.
STRUCTURE_COUNTS = {
    "links": etree.XPath("count(//body//a)"),
    "linked_images": etree.XPath("count(//body//a[.//img])"),
    "linked_headings": etree.XPath("count(//body//h2[.//a] | //body//h3[.//a]"
                                   " | //body//h4[.//a])"),
    "headings_h4": etree.XPath("count(//body//h2 | //body//h3 | //body//h4)"),
    "article_p": etree.XPath("count(//body//article//p)"),
}
# Class names (and rel values) that mark an author, a date or a price: one libxml2 pass
# returns only the attributes naming one of them, which are then told apart.
CLASS_WORDS = {"author_class": ("author",), "date_class": ("date", "posted", "published"),
               "price_class": ("price",)}
MARKED_ATTRIBUTES = etree.XPath(
    "//body//@class[" + " or ".join(f"contains(., '{word}')" for words in CLASS_WORDS.values()
                                     for word in words)
    + "] | //body//@rel[contains(., 'author')]", smart_strings=False)
# A date as pages print it: "Dec. 4, 2025", "4th December 2025", "2025-12-04", "04.12.2025",
# "12/4/2025" (both orders are read: either may be the page's).
NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./]((?:19|20)\d\d)\b")
# A printed date around a year: "4th of December, 2025" before it, "-12-04" after it.
YEAR_BEFORE, YEAR_AFTER = 24, 6
# Where an article prints its date and byline: the text right after its headline.
HEADLINE_TEXT_CHARS = 400
# "By Jane Doe" and its translations, right after the headline.
BYLINE = re.compile(
    r"(?:^|\W)(?:[Bb]y|[Vv]on|[Pp]ar|[Pp]or|[Dd]i|[Dd]oor|[Aa]v)\s+[A-ZÀ-Ý][\w'’-]+")


def page_features(tree: lxml_html.HtmlElement, meta: "Metadata",
                  url: str | None) -> dict[str, float]:
    """The feature vector of one parsed page (see the module docstring).

    Args:
        tree: the parsed page (not modified).
        meta: its metadata.
        url: the page's URL when known (else its canonical link).

    Returns:
        ``{feature name: value}``; the same names for every page.
    """
    features: dict[str, float] = {}
    features.update(structured_features(meta))
    features.update(text_features(tree, meta.published))
    features.update(structure_features(tree))
    features.update(url_features(url or meta.canonical_url))
    features.update(title_features(meta))
    features["slug_in_title"] = slug_in_title(url or meta.canonical_url, meta.title)
    return features


def slug_in_title(url: str | None, title: str | None) -> float:
    """The share of the URL's last segment's words found in the title: an article's slug
    is its headline; a service or docs page's slug is a short label."""
    segments = [s for s in url_path(url).split("/") if s]
    slug = [w for w in URL_WORD.findall(segments[-1]) if not w.isdigit()] if segments else []
    if len(slug) < 2 or not title:
        return 0.0
    words = set(URL_WORD.findall(title.lower()))
    return sum(w in words for w in slug) / len(slug) * min(len(slug), 8) / 8


def structured_features(meta: "Metadata") -> dict[str, float]:
    """Declared types, ``og:type``, and where the date and the authors came from."""
    types = meta.schema_types
    og_type = meta.og_type.strip().lower()
    date_source = meta.published_source or ""
    features = {
        "sd_article": float(bool(types & ARTICLE_SCHEMA)),
        "sd_news": float(bool(types & NEWS_SCHEMA)),
        "sd_service": float(bool(types & SERVICE_SCHEMA)),
        "sd_webpage": float("webpage" in types),
        "sd_breadcrumb": float("breadcrumblist" in types),
        "sd_person": float(bool(types & {"person", "profilepage"})),
        "sd_none": float(not types),
        "og_article": float(og_type in ARTICLE_OG),
        "og_website": float(og_type == "website"),
        "og_product": float(og_type.startswith(PRODUCT_OG)),
        "date_declared": float(date_source in ("json-ld", "meta")),
        "date_markup": float(date_source == "time"),
        "date_guessed": float(date_source == "htmldate"),
        "date_none": float(not date_source),
        "date_modified": float(bool(meta.modified)),
        "author_declared": float(meta.authors_source in ("json-ld", "meta")),
        "author_byline": float(meta.authors_source == "byline"),
        "author_person": float("person" in meta.author_kinds),
    }
    for kind, family in TYPE_SCHEMA.items():
        features[f"sd_{kind}"] = float(bool(types & family))
    return features


def text_features(tree: lxml_html.HtmlElement, published: str | None = None) -> dict[str, float]:
    """Prose, dates and bylines shown, and the elements a page is built from."""
    body = tree.find(".//body")
    if body is None:
        body = tree
    counts: Counter[str] = Counter(element.tag for element in body.iter(*COUNTED_TAGS))
    text = " ".join(" ".join(VISIBLE_TEXT(body)).split()) if isinstance(body.tag, str) else ""
    total = len(text) - text.count(" ")
    paragraphs = [(p.getparent(), " ".join(p.text_content().split())) for p in body.iter("p")]
    lines = [line for _, line in paragraphs]
    words, prose, sentences = text_shape(lines)
    block = main_block_words(paragraphs)
    headings = [" ".join(h.text_content().split()) for h in body.iter("h2", "h3")]
    tokens = TOKEN.findall(" ".join(lines).lower())
    voices = Counter(token for token in tokens if token in VOICE_WORDS)
    per_word = 1 / len(tokens) if tokens else 0.0
    features = {
        "block_words": _log(block),
        "block_share": block / words if words else 0.0,
        "question_headings": (sum(h.endswith("?") for h in headings) / len(headings)
                              if headings else 0.0),
        "we_share": min(0.1, per_word * sum(voices[w] for w in WE_WORDS)) * 10,
        "you_share": min(0.1, per_word * sum(voices[w] for w in YOU_WORDS)) * 10,
        "said_share": min(0.02, per_word * sum(voices[w] for w in SAID_WORDS)) * 50,
        "year_share": min(0.02, per_word * len(YEAR.findall(" ".join(lines)))) * 50,
        "p_words": _log(words),
        "prose_words": _log(prose),
        "prose_share": prose / words if words else 0.0,
        "prose_of_page": min(1.0, _word_chars(prose) / total) if total else 0.0,
        "words_per_sentence": min(60.0, words / sentences) / 60 if sentences else 0.0,
        "words_per_p": min(200.0, words / len(lines)) / 200 if lines else 0.0,
        "prices": _log(len(PRICE.findall(text))),
        "headed_article": float(_headed_article(body)),
        "links_per_p": _log(counts["a"] / (counts["p"] + 1)),
    }
    for tag in COUNT_FEATURES:
        features[f"n_{tag}"] = _log(counts[tag])
    features.update(shown_date_features(tree, text, published))
    return features


def shown_date_features(tree: lxml_html.HtmlElement, text: str,
                        published: str | None) -> dict[str, float]:
    """Whether the page prints a date and a byline under its headline, whether it prints
    its publication date anywhere, how many days it prints, and how far down its headline
    sits: an article shows when and by whom under its title; a service or docs page, a
    date guessed from its markup, if any."""
    heading = next((" ".join(h.text_content().split()) for h in tree.iter("h1")
                    if h.text_content().strip()), "")
    found = text.find(heading[:60]) if heading else -1
    after = text[found + len(heading):][:HEADLINE_TEXT_CHARS] if found >= 0 else ""
    after_days = shown_days(after)
    day = (published or "")[:10]
    all_days = shown_days(text)
    return {
        "date_under_headline": float(bool(after_days)),
        "published_under_headline": float(bool(day) and day in after_days),
        "published_shown": float(bool(day) and day in all_days),
        "days_shown": _log(len(all_days)),
        "byline_under_headline": float(bool(BYLINE.search(after))),
        "headline_position": min(1.0, found / len(text)) if found >= 0 and text else 1.0,
    }


def shown_days(text: str) -> set[str]:
    """The ISO days a text prints (month names in English; numeric days in both orders).

    Only the text around each year is searched: a year is quick to find, and every
    printed date holds one (``SHOWN_DATE`` over a whole page cost half of this module).
    """
    days = set()
    for year in YEAR.finditer(text):
        window = text[max(0, year.start() - YEAR_BEFORE) : year.end() + YEAR_AFTER]
        days.update(_printed_days(window))
    days.discard("")
    return days


def _printed_days(text: str) -> set[str]:
    """The ISO days printed in a short text ("" for an impossible one)."""
    days = set()
    for match in SHOWN_DATE.finditer(text):
        name = (match["month"] or match["month2"] or "").lower()[:3]
        days.add(_iso_day(match["year"] or match["year2"] or match["year3"],
                          MONTH_NUMBERS.get(name) or int(match["month3"] or 0),
                          int(match["day"] or match["day2"] or match["day3"])))
    for match in NUMERIC_DATE.finditer(text):
        first, second, year = int(match[1]), int(match[2]), match[3]
        days.update(_iso_day(year, month, day) for month, day in ((second, first),
                                                                   (first, second)))
    return days


def _iso_day(year: str, month: int, day: int) -> str:
    """``YYYY-MM-DD`` of a printed date, "" when month or day is out of range."""
    return f"{year}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else ""


def structure_features(tree: lxml_html.HtmlElement) -> dict[str, float]:
    """Cards and teasers, paragraphs inside ``<article>``, and author, date and price
    elements, counted by libxml2."""
    counts = {name: float(xpath(tree)) for name, xpath in STRUCTURE_COUNTS.items()}
    marked = MARKED_ATTRIBUTES(tree)
    for name, words in CLASS_WORDS.items():
        counts[name] = sum(any(word in value for word in words) for value in marked)
    links = counts["links"]
    return {
        "linked_image_share": counts["linked_images"] / links if links else 0.0,
        "linked_heading_share": (counts["linked_headings"] / counts["headings_h4"]
                                 if counts["headings_h4"] else 0.0),
        "article_p": _log(counts["article_p"]),
        "author_class": _log(counts["author_class"]),
        "date_class": _log(counts["date_class"]),
        "price_class": _log(counts["price_class"]),
    }


def url_features(url: str | None) -> dict[str, float]:
    """The URL's depth, its slug's shape, a date in it and words hinting at a kind."""
    path = url_path(url)
    segments = [s for s in path.split("/") if s]
    last = segments[-1] if segments else ""
    last = re.sub(r"\.(?:s?html?|php|aspx?|jsp)$", "", last)
    # Hints of one or two letters ("p", "c", "dp") count only as a whole path segment.
    words = {w for w in URL_WORD.findall(path) if len(w) > 2} | set(segments)
    features = {
        "url_depth": min(len(segments), 8) / 8,
        "url_root": float(not segments),
        "url_slug_words": min(len(URL_WORD.findall(last)), 16) / 16,
        "url_number": float(bool(re.search(r"\d{4,}", last))),
        "url_date": float(bool(DATE_PATH.search(path))),
    }
    for kind, hints in URL_HINTS.items():
        features[f"url_{kind}"] = float(bool(words & hints))
    return features


def title_features(meta: "Metadata") -> dict[str, float]:
    """The title's length and whether it asks a question."""
    title = meta.title or ""
    return {
        "title_words": min(len(title.split()), 30) / 30,
        "title_question": float(title.rstrip().endswith("?")),
    }


def main_block_words(paragraphs: Iterable[tuple[Any, str]]) -> int:
    """Words of prose paragraphs under the one parent holding the most, from ``(parent,
    text)`` pairs: an article's text runs on in one container, a service page's prose is
    spread over sections and cards."""
    per_parent: Counter[Any] = Counter()
    for parent, text in paragraphs:
        count = len(text.split())
        if count >= PROSE_MIN_WORDS:
            per_parent[parent] += count
    return max(per_parent.values(), default=0)


def text_shape(lines: Sequence[str]) -> tuple[int, int, int]:
    """(words, words in prose lines, sentences) of a page's paragraphs."""
    words = prose = sentences = 0
    for line in lines:
        count = max(len(line.split()), len(UNSPACED.findall(line)) // CHARS_PER_WORD)
        words += count
        if count:
            sentences += max(1, len(SENTENCE_MARK.findall(line)))
        if count >= PROSE_MIN_WORDS and SENTENCE_END.search(line):
            prose += count
    return words, prose, sentences


def url_path(url: str | None) -> str:
    """The lower-case path of a URL ("" without one)."""
    if not url:
        return ""
    try:
        return urlsplit(url).path.lower()
    except ValueError:
        return ""


def vector(features: dict[str, float], names: Iterable[str]) -> list[float]:
    """The features in the model's order (0 for a name this page does not have)."""
    return [features.get(name, 0.0) for name in names]


def _headed_article(body: Any) -> bool:
    """One ``<article>`` holding the page's ``<h1>``: the HTML way of saying "one article"."""
    articles = body.xpath(".//article")
    return len(articles) == 1 and bool(articles[0].xpath(".//h1"))


def _word_chars(words: int) -> int:
    """Rough non-space characters of this many words (for the prose share of the page)."""
    return words * 5


def _log(count: float) -> float:
    """A count on a log scale (``log1p``), so that big pages do not dominate."""
    return math.log1p(max(0.0, count))
