"""Article metadata from an HTML page: title, authors, dates and site name, with provenance.

Each field is decided from the best evidence on the page and records which source won:

- title: the page's only ``<h1>`` when it has one of four words or more; else a vote
  among JSON-LD ``headline``, ``og:title``, ``twitter:title``, the visible ``<h1>`` and
  ``<title>``, each with site-name prefixes and suffixes stripped; the reading most
  sources agree on wins (a truncated copy supports the full one);
- authors: JSON-LD ``author`` (people only) -> author meta tags (not URLs) -> trafilatura's
  author XPaths -> elements marked as author or byline; organisations posing as people are
  dropped (``cleaning`` puts a byline line at the top of the body after the meta tags);
- published: JSON-LD ``datePublished`` -> ``article:published_time`` and other meta
  -> ``<time>`` markup -> htmldate (original date); ``modified`` is kept apart.

The field rules live in ``titles``, ``authors`` and ``publication_dates``; the readers of
JSON-LD and meta tags in ``structured_data``. Pure functions over an lxml tree; no network,
no per-site rules.
"""

import logging
from dataclasses import dataclass, field

from lxml import html as lxml_html

from newsflow.authors import page_authors
from newsflow.pagetype import collect_types
from newsflow.publication_dates import first_date, published_date
from newsflow.structured_data import (
    DESCRIPTION_META,
    MODIFIED_META,
    SITE_META,
    article_node,
    canonical_link,
    declared_language,
    first_value,
    json_ld_nodes,
    ld_publisher,
    ld_text,
    meta_tags,
    meta_values,
)
from newsflow.titles import (
    choose_title,
    headline_before_pipe,
    headline_inside,
    site_name_keys,
    sole_headline,
    title_candidates,
    title_key,
)

LOGGER = logging.getLogger(__name__)


@dataclass
class Metadata:
    """The decided metadata of one page and the source each field came from."""

    title: str | None = None
    title_source: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_source: str | None = None
    author_kinds: list[str] = field(default_factory=list)  # PERSON or ORGANISATION per author
    published: str | None = None
    published_source: str | None = None
    modified: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    title_candidates: list[str] = field(default_factory=list)
    site_keys: set[str] = field(default_factory=set)  # normalised names the site goes by
    schema_types: set[str] = field(default_factory=set)  # JSON-LD and microdata @types
    og_type: str = ""


def extract_metadata(tree: lxml_html.HtmlElement, url: str | None = None) -> Metadata:
    """Decide an HTML page's metadata from its structured data, meta tags and markup.

    Args:
        tree: the parsed page (not modified).
        url: the page's URL when known; its host is site-name evidence.

    Returns:
        The metadata with the winning source of title, authors and publication date.
    """
    nodes = json_ld_nodes(tree)
    article = article_node(nodes)
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    meta = meta_tags(tree)
    site_name = first_value(
        [*meta_values(meta, SITE_META[:1]), ld_publisher(article, by_id),
         *meta_values(meta, SITE_META[1:])]
    )
    site_names = site_name_keys(site_name, article, by_id, meta, url or canonical_link(tree))
    result = Metadata(
        site_name=site_name,
        description=first_value([*meta_values(meta, DESCRIPTION_META[:1]),
                            ld_text(article.get("description")) if article else None,
                            *meta_values(meta, DESCRIPTION_META[1:])]),
        language=declared_language(tree, article),
        canonical_url=canonical_link(tree),
        site_keys=site_names,
        schema_types=collect_types(nodes, tree),
        og_type=first_value(meta.get("og:type", [])) or "",
    )
    candidates = title_candidates(tree, article, meta, site_names)
    result.title_candidates = [text for _, text in candidates]
    result.title, result.title_source = choose_title(candidates)
    sole = sole_headline(tree, candidates, site_names)
    if sole and title_key(sole) != title_key(result.title or ""):
        result.title, result.title_source = sole, "h1"
    if result.title_source == "h1":
        inner = headline_inside(result.title or "", candidates)
        if inner:
            result.title, result.title_source = inner
    if result.title:
        result.title = headline_before_pipe(result.title)
    credits, result.authors_source = page_authors(tree, article, by_id, meta, site_names)
    result.authors = [name for name, _ in credits]
    result.author_kinds = [kind for _, kind in credits]
    result.published, result.published_source = published_date(tree, article, meta, url, nodes)
    result.modified = first_date(
        [ld_text(article.get("dateModified")) if article else None,
         *meta_values(meta, MODIFIED_META)]
    )
    return result
