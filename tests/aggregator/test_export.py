"""The core of the exports: formula-safe CSV cells, keyset batches, and one filter for the
query and the live check of a post."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from aggregator.application import Livewall
from aggregator.audit import entry, write_csv
from aggregator.export import csv_lines, export_batches, safe_cell
from aggregator.moderation.queue import QueueFilter
from tests.builders import candidate, result, source


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_a_spreadsheet_would_run_gets_an_apostrophe(start: str) -> None:
    assert safe_cell(f"{start}SUM(A1:A9)") == f"'{start}SUM(A1:A9)"


def test_other_cells_are_left_as_they_are() -> None:
    assert [safe_cell(v) for v in ("Québec", "a=b", "", None, -3, 2.5)] == [
        "Québec", "a=b", "", None, -3, 2.5,
    ]  # fmt: skip
    written = csv_lines([["=1+1", "texte, avec virgule", 7]])
    assert next(csv.reader(io.StringIO(written))) == ["'=1+1", "texte, avec virgule", "7"]


def test_batches_reach_every_post_once_in_id_order(livewall: Livewall) -> None:
    posts = [candidate(f"p{i}", f"Message {i}") for i in range(7)]
    livewall.pipeline.ingest(source(), result(*posts))
    batches = list(export_batches(livewall.store, QueueFilter(status="all"), size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    ids = [row["id"] for batch in batches for row in batch]
    assert ids == sorted(ids) and len(set(ids)) == 7


def test_the_filter_query_and_its_check_of_one_post_agree(livewall: Livewall) -> None:
    moments = [datetime(2026, 11, 25, h, tzinfo=UTC) for h in (10, 14, 18)]
    posts = [
        candidate("a", "Atelier logement", language="fr", created_at=moments[0]),
        candidate("b", "Housing workshop", language="en", created_at=moments[1]),
        candidate(
            "c", "Logement abordable", language="fr", network="bluesky", created_at=moments[2]
        ),
    ]
    livewall.pipeline.ingest(source(), result(*posts))
    filters = [
        QueueFilter(),
        QueueFilter(language="fr"),
        QueueFilter(network="bluesky"),
        QueueFilter(text="LOGEMENT"),
        QueueFilter(since=moments[1]),
        QueueFilter(until=moments[1]),
        QueueFilter(status="approved"),
    ]
    with livewall.store.read() as session:
        everything = list(session.exec(QueueFilter(status="all").select()))
        for wanted in filters:
            selected = {p.external_id for p in session.exec(wanted.select())}
            accepted = {p.external_id for p in everything if wanted.accepts(p)}
            assert selected == accepted, wanted
    assert QueueFilter.from_query("status=bogus&network=bluesky") == QueueFilter(network="bluesky")
    assert QueueFilter(network="bluesky", since=moments[0]).query_string() == (
        "status=pending&network=bluesky"
    )


def test_the_audit_log_export_is_formula_safe_too() -> None:
    out = io.StringIO()
    assert write_csv([entry("=cmd", "rule.add", "-blocked word « @x » (fr)")], out) == 1
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert (row[1], row[2], row[4]) == ("'=cmd", "rule.add", "'-blocked word « @x » (fr)")
