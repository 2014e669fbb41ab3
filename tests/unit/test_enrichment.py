"""Enrichment entry point: keys, batching, language, captions, the model setting, the CLI."""

import json

import pytest

from newsflow import cli, settings
from newsflow.enrichment import ENRICHMENT_KEYS, enrich_fields, enrich_many, load_model
from tests.conftest import SEED
from tests.unit.enrichment_helpers import fixture_body, seed, seed_fields


def test_enrichment_is_json_ready_with_every_key() -> None:
    enriched = enrich_fields(seed_fields())
    assert set(enriched) == set(ENRICHMENT_KEYS)
    assert json.loads(json.dumps(enriched)) == enriched
    assert len(bytes.fromhex(enriched["minhash"]["signature"])) == 128 * 4


def test_a_batch_gives_the_same_results_as_one_by_one() -> None:
    articles = [seed_fields(), {"body": fixture_body("wire_original")},
                {"body": fixture_body("other_story")}]
    assert list(enrich_many(articles)) == [enrich_fields(a) for a in articles]


def test_articles_in_another_language_get_only_a_signature() -> None:
    enriched = enrich_fields({
        "body": "Le ministre John Kerry a déclaré vendredi à Genève que « rien n'est joué ».",
        "language": "fr",
    })
    assert (enriched["entities"], enriched["quotes"], enriched["numbers"], enriched["dates"]) == (
        [], [], [], [])
    assert enriched["minhash"] is not None


def test_captions_kept_by_extraction_are_analysed_after_the_body() -> None:
    fields = seed_fields()
    assert fields["captions"] == ["Former IAEA head Hans Blix on disarmament of Syria"]
    enriched = enrich_fields(fields)
    [blix] = [e for e in enriched["entities"] if "Blix" in e["name"]]
    assert (blix["name"], blix["type"]) == ("Hans Blix", "PERSON")
    assert blix["spans"][0][0] > len(fields["body"])
    without = enrich_fields({**fields, "captions": []})
    assert "Hans Blix" not in {e["name"] for e in without["entities"]}
    assert enriched["minhash"] == without["minhash"]  # the body only


def test_the_model_is_loaded_once_without_the_lemmatizer() -> None:
    nlp = load_model()
    assert nlp is load_model(settings.SPACY_MODEL)
    assert "lemmatizer" not in nlp.pipe_names and "ner" in nlp.pipe_names


def test_a_missing_model_is_a_clear_error() -> None:
    with pytest.raises(OSError, match="no_such_model"):
        load_model("no_such_model")


def test_newsflow_extract_prints_the_enrichment_of_the_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["extract", str(SEED)]) == 0
    record = json.loads(capsys.readouterr().out)
    people = {e["name"] for e in record["entities"] if e["type"] == "PERSON"}
    assert {"John Kerry", "Sergey Lavrov", "Lakhdar Brahimi", "Vladimir Putin", "Assad",
            "Neave Barker", "Hans Blix"} <= people
    speakers = {q["speaker"] for q in record["quotes"]}
    assert {"John Kerry", "Sergey Lavrov", "Neave Barker", "Vladimir Putin"} <= speakers
    assert any(n["value"] == 1429 and n["object"] == "people" for n in record["numbers"])
    assert {"Friday", "August 21", "September 28", "last year"} <= {
        d["text"] for d in record["dates"]}
    assert "minhash" not in record
    assert record["entities"] == seed()["entities"]


def test_newsflow_extract_can_skip_enrichment(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["extract", "--no-enrich", str(SEED)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["entities"] == record["quotes"] == record["numbers"] == record["dates"] == []


def test_the_bench_times_each_stage_of_the_same_enrichment() -> None:
    from newsflow.enrichment_bench import compare, cpu_by_stage

    articles = [seed_fields(), {"body": fixture_body("wire_original")}]
    results, cpu = cpu_by_stage(load_model(), articles, 8)
    assert results == list(enrich_many(articles))
    assert {"tokenizer", "tok2vec", "parser", "ner", "rules and MinHash"} <= set(cpu)
    compared = compare(articles, rounds=1)
    assert compared["same_results"] is True  # spaCy's pipeline as it was, and ours
    assert set(compared["per_article"]) == {"before", f"after (batch {settings.ENRICH_BATCH_SIZE})"}
    assert "attribute_ruler" in compared["per_article"]["before"]
