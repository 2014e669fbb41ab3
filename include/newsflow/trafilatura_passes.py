"""trafilatura's default and precision passes over one page, sharing the work they share.

``cleaning`` takes the body from trafilatura's default mode and the article's edges from
its precision mode. Run as two ``trafilatura.bare_extraction`` calls, both passes copy the
page and prune the same comment and infinite-scroll containers from it with the same
XPaths (about a tenth of cleaning's CPU on the aeb corpus). Here the page is copied and
pruned once, and each pass runs the rest of trafilatura's sequence on that tree, which
neither pass modifies (each cleans and converts its own copy).

The rest of the sequence is trafilatura 2.3.1's own (``trafilatura.core``), restated for
newsflow's options only (comments off, tables on, no metadata, no target language); its
private helpers are called as they are. The version is pinned (requirements.lock);
``tests/unit/test_trafilatura_passes.py`` checks that the result equals two
``bare_extraction`` calls, so an upgrade that changes the sequence fails there, not in
the output. Thread-forum pages (where the passes prune differently) take the two calls.
"""

import logging
import re
from copy import copy
from dataclasses import dataclass
from typing import Any

import trafilatura
from lxml.etree import Element, _Element, strip_tags, tostring
from lxml.html import HtmlElement
from trafilatura import core, external, htmlprocessing, xpaths
from trafilatura.baseline import baseline, html2txt
from trafilatura.external import justext_rescue
from trafilatura.htmlprocessing import convert_tags, prune_html, prune_unwanted_nodes
from trafilatura.main_extractor import extract_content
from trafilatura.settings import DEFAULT_CONFIG, Extractor
from trafilatura.utils import trim
from trafilatura.xml import delete_element, xmltotxt
from trafilatura.xpaths import (
    RAW_TREE_PRUNE_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
    REMOVE_COMMENTS_XPATH,
)

LOGGER = logging.getLogger(__name__)

# trafilatura's OVERALL_DISCARD_XPATH (xpaths.py) as Python tests of one element's tag and
# attributes, which is all its two expressions look at: evaluated by libxml2, each element
# called back into Python up to six times for the EXSLT regular expressions, the largest
# single cost of precision mode's comparison with readability (half of it this way).
# ``re:test(@a|@b, ...)`` reads the first of the two attributes in the element's own order.
_DISCARD_TAGS = frozenset(("div", "item", "list", "p", "section", "span"))
_DISCARD_ID_OR_CLASS = re.compile(xpaths._alt(xpaths._CONSENT_ID_CLASS_TOKENS))
_DISCARD_ID = re.compile(
    xpaths._alt(xpaths._OVERALL_DISCARD_BOTH_TOKENS + xpaths._OVERALL_DISCARD_ID_TOKENS))
_DISCARD_CLASS = re.compile(
    xpaths._alt(xpaths._OVERALL_DISCARD_BOTH_TOKENS + xpaths._OVERALL_DISCARD_CLASS_TOKENS))
_HIDDEN_CLASS = re.compile(
    "^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links|-hide-|hide-print"
    "| hidden| hide|noprint|notloaded"
)

# Trafilatura settings for the body: no comment sections, tables kept (both measured).
EXTRACTION_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
}


@dataclass
class Extraction:
    """What ``cleaning`` reads of a ``bare_extraction`` result: its text and body tree."""

    text: str | None
    body: _Element | None


def default_and_precise(
    tree: HtmlElement, url: str | None = None,
) -> tuple[Extraction | None, Extraction | None]:
    """The default and the precision extraction of a page, as ``bare_extraction`` gives them.

    Args:
        tree: the parsed page (not modified).
        url: the page's URL when known.

    Returns:
        The default mode's and precision mode's text and body; None for a pass that
        found nothing (as ``bare_extraction`` returns None).
    """
    try:
        if core._forum_thread_page(tree):
            return _bare(tree, url, precision=False), _bare(tree, url, precision=True)
        raw = prune_unwanted_nodes(copy(tree), RAW_TREE_PRUNE_XPATH)
        raw = prune_unwanted_nodes(raw, REMOVE_COMMENTS_AND_LISTS_XPATH)
        cleaned = _clean_for_both(copy(raw), _options(url, precision=False))
    except (TypeError, ValueError):  # bare_extraction's own error handling
        return None, None
    # In this order: the precision pass is the raw tree's last reader (see _extract_and_compare).
    main = _finish(raw, cleaned, url, precision=False)
    return main, _finish(raw, cleaned, url, precision=True)


def _bare(tree: HtmlElement, url: str | None, precision: bool) -> Extraction | None:
    """One pass as trafilatura's public entry point runs it."""
    document = trafilatura.bare_extraction(tree, url=url, favor_precision=precision,
                                           **EXTRACTION_OPTIONS)
    if document is None:
        return None
    return Extraction(text=document.text, body=document.body)


def _options(url: str | None, precision: bool) -> Extractor:
    """The extractor settings ``bare_extraction`` builds from ``EXTRACTION_OPTIONS``."""
    return Extractor(
        config=DEFAULT_CONFIG, output_format="python", fast=False, precision=precision,
        recall=False, comments=EXTRACTION_OPTIONS["include_comments"], formatting=None,
        links=False, images=False, tables=EXTRACTION_OPTIONS["include_tables"], dedup=False,
        lang=None, url=url, with_metadata=False, only_with_metadata=False,
        author_blacklist=None, url_blacklist=None, date_params=None,
    )


def _clean_for_both(tree: HtmlElement, options: Extractor) -> HtmlElement:
    """``htmlprocessing.tree_cleaning`` without its last step, ``prune_html``, the only one
    that depends on the focus (default or precision; not recall, which is not run here)."""
    htmlprocessing.recover_math(tree)
    cleaning_list = htmlprocessing.MANUALLY_CLEANED.copy()
    stripping_list = htmlprocessing.MANUALLY_STRIPPED.copy()
    clean_forms = "form" in cleaning_list
    if clean_forms:
        cleaning_list.remove("form")
    if not options.tables:
        cleaning_list.extend(["table", "td", "th", "tr"])
    else:
        for elem in tree.iter("figure", "table"):
            if (elem.find(".//table") is not None if elem.tag == "figure"
                    else elem.get("role") in ("presentation", "none")):
                elem.tag = "div"
    if options.images:
        cleaning_list = [e for e in cleaning_list if e not in htmlprocessing.PRESERVE_IMG_CLEANING]
        stripping_list.remove("img")
    strip_tags(tree, stripping_list)
    for expression in cleaning_list:
        for element in tree.iter(expression):
            delete_element(element)
    if clean_forms:
        htmlprocessing._handle_forms(tree)
    return tree


def _prepare_tree(cleaned: HtmlElement, options: Extractor, url: str | None) -> HtmlElement:
    """``core._prepare_tree`` from the shared cleaned tree, without its backup copy of the
    pruned tree before conversion: only justext reads that copy, on a few pages, and
    ``_pruned`` makes the same tree again then from the shared one (left unmodified)."""
    return convert_tags(_pruned(cleaned, options), options, url)


def _pruned(cleaned: HtmlElement, options: Extractor) -> HtmlElement:
    """A copy of the shared cleaned tree through ``prune_html`` for the pass's focus."""
    return prune_html(copy(cleaned), options.focus)


def _finish(
    raw: HtmlElement, cleaned: HtmlElement, url: str | None, precision: bool,
) -> Extraction | None:
    """``bare_extraction`` from the pruned raw tree on: trafilatura_sequence's stages 1-4
    and the output checks, for a page that is not a thread forum, comments off."""
    options = _options(url, precision)
    try:
        body, text = _sequence(raw, cleaned, options, url)
        if len(text) < options.min_output_size and options.min_output_comm_size > 0:
            return None  # "text and comments not long enough" (no comments here)
    except (TypeError, ValueError):
        return None
    return Extraction(text=xmltotxt(body, options.formatting), body=body)


def _first_of(element: _Element, first: str | None, name: str, other: str | None) -> str:
    """The value of whichever of two attributes (``id`` and ``name``, read as ``first`` and
    ``other``) comes first on the element, else "" (the order is read only when both are
    there)."""
    if first is None or other is None:
        return first or other or ""
    names = element.keys()
    return first if names.index("id") < names.index(name) else other


def _boilerplate(element: _Element) -> bool:
    """OVERALL_DISCARD_XPATH's first expression, for one element of ``_DISCARD_TAGS``."""
    get = element.get
    ident, css = get("id"), get("class")
    return (
        get("data-lp-replacement-content") is not None
        or "nav" in (get("role") or "").replace("N", "n")
        or "MostPopularStories" in (get("data-component") or "")
        or ((ident is not None or css is not None) and (
            _DISCARD_ID_OR_CLASS.search(_first_of(element, ident, "class", css)) is not None
            or (ident is not None and _DISCARD_ID.search(ident) is not None)
            or (css is not None and _DISCARD_CLASS.search(css) is not None)))
    )


def _hidden(element: _Element) -> bool:
    """OVERALL_DISCARD_XPATH's second expression, for one element (its two regular
    expressions on ``id`` and on ``id``-or-``style`` are literals: ``in`` tests)."""
    get = element.get
    ident, css, style = get("id"), get("class"), get("style")
    if ident is None and css is None and style is None:
        return get("aria-hidden") == "true"
    return (
        css == "comments-title"
        or _first_of(element, ident, "class", css).startswith("reply-")
        or "hidden" in _first_of(element, ident, "style", style)
        or (style is not None and ("display:none" in style or "display: none" in style))
        or (ident is not None and ("reader-comments" in ident or "akismet" in ident))
        or (css is not None and _HIDDEN_CLASS.search(css) is not None)
        or get("aria-hidden") == "true"
    )


def prune_overall_discard(tree: HtmlElement) -> HtmlElement:
    """``prune_unwanted_nodes(tree, OVERALL_DISCARD_XPATH)``: each expression's elements
    (below the root, in document order) deleted with their tails kept, one after the other."""
    for tags, matches in ((_DISCARD_TAGS, _boilerplate), ((Element,), _hidden)):
        for element in [e for e in tree.iterdescendants(*tags) if matches(e)]:
            delete_element(element)
    return tree


def _extract_and_compare(
    cleaned_tree: HtmlElement, cleaned: HtmlElement, tree: HtmlElement, options: Extractor,
) -> tuple[_Element, str]:
    """``core._extract_and_compare`` (main extractor, then the comparison; not fast mode).

    Readability changes the tree it reads, so it reads a copy of the raw tree, except in
    the precision pass: that pass runs last and reads the raw tree nowhere else (no baseline
    or recall retry in precision mode), so the shared raw tree itself is spare by then.
    """
    postbody, temp_text = extract_content(cleaned_tree, options)
    raw_tree = tree if options.focus == "precision" else copy(tree)
    return _compare_extraction(cleaned, raw_tree, postbody, temp_text, options)


def _compare_extraction(
    cleaned: HtmlElement, raw_tree: HtmlElement, body: _Element, text: str,
    options: Extractor,
) -> tuple[_Element, str]:
    """``external.compare_extraction`` (default or precision focus, not recall), with the
    precision prune done by ``prune_overall_discard`` and the cleaned tree justext reads
    made from the shared one (``cleaned``) only when it does."""
    len_text = len(text)
    if options.focus == "precision":
        raw_tree = prune_overall_discard(raw_tree)
    temppost_algo = external.try_readability(raw_tree)
    algo_text = trim(tostring(temppost_algo, method="text", encoding="utf-8").decode("utf-8"))
    len_algo = len(algo_text)
    use_readability = external._prefer_readability(body, temppost_algo, algo_text, len_text,
                                                   len_algo, options)
    if use_readability:
        body, text, len_text = temppost_algo, algo_text, len_algo
    unclean = bool(body.xpath(external.SANITIZED_XPATH))
    if unclean or len_text < options.min_extracted_size:
        body2, text2 = justext_rescue(_pruned(cleaned, options), options)
        len_text2 = len(text2)
        if unclean:
            accept = len_text <= external.JUSTEXT_OVERRIDE_RATIO * len_text2 and (
                len_text2 > len_text or not options.images or body.find(".//graphic") is None
            )
        else:
            accept = len_text < len_text2
        if text2 and accept:
            body, text, len_text = body2, text2, len_text2
            use_readability = False
    if use_readability:
        body, text = external.sanitize_tree(body, options)
    return body, text


def _sequence(
    tree: HtmlElement, cleaned: HtmlElement, options: Extractor, url: str | None,
) -> tuple[_Element, str]:
    """``trafilatura.core.trafilatura_sequence`` after its raw-tree prunes (comments off,
    no forum, so no comment capture and no forum-post salvage)."""
    cleaned_tree = _prepare_tree(cleaned, options, url)
    if options.focus == "precision":
        cleaned_tree = prune_unwanted_nodes(cleaned_tree, REMOVE_COMMENTS_XPATH)
    postbody, temp_text = _extract_and_compare(cleaned_tree, cleaned, tree, options)
    # 3. rescue: baseline on the original tree, accepted only if it adds text
    if len(temp_text) < options.min_extracted_size and options.focus != "precision":
        b_body, b_text, b_len = baseline(tree)
        if b_len > len(temp_text):
            postbody, temp_text = b_body, b_text
    # 4. recall escalation of a short extraction covering little of the page
    if (
        options.focus == "balanced"
        and 0 < len(temp_text) < core.ESCALATION_MAX_LENGTH
        and len(temp_text) < core.ESCALATION_PAGE_SHARE * len(html2txt(tree))
    ):
        r_options = copy(options)
        r_options.focus = "recall"
        r_text = ""
        try:
            r_body, r_text = core._recall_retry(tree, r_options, url)
        except Exception as err:  # as trafilatura: a failed retry leaves the extraction
            LOGGER.warning("recall retry failed: %s %s", err, url)
        j_text = ""
        if not options.fast:
            try:
                j_body, j_text = justext_rescue(copy(tree), options)
            except Exception as err:  # as trafilatura
                LOGGER.warning("justext candidate failed: %s %s", err, url)
        len_text, r_len, j_len = len(temp_text), len(r_text), len(j_text)
        if j_len > r_len and j_len > core.ESCALATION_JUSTEXT_RATIO * len_text:
            postbody, temp_text = j_body, j_text
        elif (r_len >= options.min_extracted_size
              and r_len > core.ESCALATION_ACCEPT_RATIO * len_text):
            postbody, temp_text = r_body, r_text
    return postbody, temp_text
