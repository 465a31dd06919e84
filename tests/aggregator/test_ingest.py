from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from aggregator.application import Livewall
from aggregator.ingest import Pipeline
from aggregator.models import Change, ModerationEntry, Post, Source
from aggregator.moderation.rules import BlockedWords, Rules
from aggregator.store import Store
from collectors.base import Author, CollectResult, Media
from tests.builders import NOW, candidate, result, source


def pipeline(store: Store, published: list[int] | None = None, **rules: object) -> Pipeline:
    if published is not None:
        store.on_change(published.append)  # what the store publishes after each commit
    return Pipeline(store, Rules(**rules), ("fr", "en"))  # type: ignore[arg-type]


def posts(store: Store) -> list[Post]:
    with store.read() as session:
        return list(session.exec(select(Post).order_by(col(Post.id))))


def test_new_posts_are_stored_with_state_and_published(store: Store) -> None:
    published: list[int] = []
    report = pipeline(store, published, mode="post").ingest(
        source(), result(candidate("1"), candidate("2", "Second message"), cursor="2")
    )
    assert (report.new, report.updated) == (2, 0)
    stored = posts(store)
    assert [p.external_id for p in stored] == ["1", "2"]
    assert all(p.status == "approved" and p.seq > 0 for p in stored)
    assert published == [max(p.seq for p in stored)]
    with store.read() as session:
        state = session.get(Source, "demo")
        assert state is not None and state.cursor == "2" and state.posts_collected == 2


def test_pre_moderation_holds_and_nothing_is_published(store: Store) -> None:
    published: list[int] = []
    pipeline(store, published, mode="pre").ingest(source(), result(candidate("1")))
    (post,) = posts(store)
    assert post.status == "pending" and post.seq == 0
    with store.read() as session:
        kinds = {c.kind for c in session.exec(select(Change))}
    assert not kinds & {
        "post",
        "remove",
    }  # nothing for screens; the console may get a "queue" change


def test_html_is_sanitized_and_plain_text_kept(store: Store) -> None:
    hostile = candidate(
        "1", html='<p>Salut <a href="javascript:x()">clic</a><script>x()</script></p>'
    )
    pipeline(store).ingest(source(), result(hostile))
    (post,) = posts(store)
    assert post.html == '<p>Salut <a rel="nofollow noopener noreferrer">clic</a></p>'
    assert post.text == "Salut clic"


def test_language_detected_when_the_network_gives_none(store: Store) -> None:
    pipeline(store).ingest(
        source(),
        result(
            candidate(
                "1", "Très belle conférence sur le financement des infrastructures municipales"
            ),
            candidate("2", "Great panel about climate adaptation for small towns this morning"),
            candidate("3", "Texte en anglais selon le réseau", language="en"),
        ),
    )
    assert [p.language for p in posts(store)] == ["fr", "en", "en"]


def test_same_id_again_is_an_edit_not_a_second_post(store: Store) -> None:
    p = pipeline(store, mode="post")
    p.ingest(source(), result(candidate("1", "Première version")))
    first_seq = posts(store)[0].seq
    report = p.ingest(source(), result(candidate("1", "Version corrigée", edited_at=NOW)))
    (post,) = posts(store)
    assert (report.new, report.updated) == (0, 1)
    assert post.text == "Version corrigée" and post.edited_at == NOW and post.seq > first_seq


def test_unchanged_refetch_changes_nothing(store: Store) -> None:
    p = pipeline(store, mode="post")
    p.ingest(source(), result(candidate("1")))
    report = p.ingest(source(), result(candidate("1")))
    assert (report.new, report.updated, report.changes) == (0, 0, [])


def test_same_uri_from_two_instances_is_one_post(store: Store) -> None:
    p = pipeline(store, mode="post")
    uri = "https://mastodon.example/users/lucie/statuses/1"
    p.ingest(source("instance-a"), result(candidate(uri, dedupe_key=uri)))
    report = p.ingest(source("instance-b"), result(candidate(uri, dedupe_key=uri, likes=4)))
    (post,) = posts(store)
    assert report.new == 0 and post.source == "instance-a" and post.likes == 4


def test_same_text_same_author_on_two_networks_is_one_post(store: Store) -> None:
    p = pipeline(store, mode="post")
    text = "Ouverture officielle des Assises ce matin, salle comble!"
    p.ingest(source("m"), result(candidate("m1", text, network="mastodon")))
    report = p.ingest(
        source("b"),
        result(
            candidate(
                "b1",
                text.upper(),
                network="bluesky",
                created_at=NOW + timedelta(minutes=3),
                author=Author(handle="lucie.bsky.social", name="Lucie Tremblay"),
            )
        ),
    )
    assert report.duplicates == 1 and len(posts(store)) == 1


def test_deletion_removes_a_visible_post_and_keeps_a_tombstone(store: Store) -> None:
    p = pipeline(store, mode="post")
    p.ingest(source(), result(candidate("1")))
    report = p.ingest(source(), result(deleted=("1",)))
    (post,) = posts(store)
    assert report.deleted == 1 and post.deleted and not post.visible
    with store.read() as session:
        last = session.exec(select(Change).order_by(col(Change.seq).desc())).first()
    assert last is not None and (last.kind, last.post_id) == ("remove", post.id)
    again = p.ingest(source(), result(candidate("1", "ressuscité?")))
    assert (again.new, again.updated) == (0, 0) and posts(store)[0].deleted


def test_rejected_post_is_not_brought_back_by_a_later_fetch(store: Store) -> None:
    p = pipeline(store, banned=frozenset({"lucie@mastodon.example"}))
    p.ingest(source(), result(candidate("1")))
    assert posts(store)[0].status == "rejected"
    report = p.ingest(source(), result(candidate("1", "nouveau texte")))
    (post,) = posts(store)
    assert report.updated == 0 and post.status == "rejected" and post.text != "nouveau texte"


def test_rules_reason_is_logged(store: Store) -> None:
    p = pipeline(store, mode="post", blocked=BlockedWords({"fr": ("niaiseux",)}))
    report = p.ingest(source(), result(candidate("1", "Quel niaiseux")))
    (post,) = posts(store)
    assert report.held == 1 and post.status == "pending"
    assert post.status_reason == "blocked word « niaiseux » (fr)"
    with store.read() as session:
        (entry,) = session.exec(select(ModerationEntry))
    assert (entry.actor, entry.action, entry.post_id) == ("rules", "rules:pending", post.id)


def test_unsafe_urls_never_stored(store: Store) -> None:
    bad = candidate(
        "1",
        url="javascript:alert(1)",
        author=Author(handle="@x", avatar_url="data:image/png;base64,AA", profile_url="ftp://x"),
        media=[
            Media(url="javascript:alert(1)"),
            Media(url="https://img.example/a.jpg", alt="Scène"),
        ],
    )
    pipeline(store).ingest(source(), result(bad))
    (post,) = posts(store)
    assert post.url is None and post.author_avatar is None and post.author_url is None
    assert [m["url"] for m in post.media] == ["https://img.example/a.jpg"]


def test_change_sequence_is_monotonic_across_batches(store: Store) -> None:
    p = pipeline(store, mode="post")
    for batch in range(3):
        p.ingest(
            source(), result(*(candidate(f"{batch}-{i}", f"message {batch} {i}") for i in range(4)))
        )
    with store.read() as session:
        seqs = [c.seq for c in session.exec(select(Change).order_by(col(Change.seq)))]
    assert seqs == sorted(seqs) and len(set(seqs)) == 12
    assert store.last_seq() == seqs[-1]


def test_empty_result_still_saves_state(store: Store) -> None:
    pipeline(store).ingest(source(), CollectResult())
    with store.read() as session:
        state = session.get(Source, "demo")
    assert state is not None and state.last_success is not None


def test_text_no_store_accepts_is_dropped_and_lengths_are_bounded(store: Store) -> None:
    """A NUL or a lone surrogate from any network is stored without it (PostgreSQL refuses
    both), and a field as long as a book is cut to its bound."""
    odd = candidate(
        "1",
        "Bon\x00jour \ud800aux Assises",
        title="T\x00itre" + "x" * 5000,
        content_warning="\udfffAttention",
        author=Author(handle="@a\x00b@x.example", name="Nom\ud83d"),
        media=[Media(url="https://cdn.example/a.jpg", alt="une\x00 photo" + "y" * 5000)],
    )
    pipeline(store, mode="post").ingest(source(), result(odd))
    (post,) = posts(store)
    assert post.text == "Bonjour aux Assises"
    assert post.title is not None and post.title.startswith("Titre") and len(post.title) <= 500
    assert (post.content_warning, post.author_handle, post.author_name) == (
        "Attention",
        "@ab@x.example",
        "Nom",
    )
    assert post.media[0]["alt"].startswith("une photo") and len(post.media[0]["alt"]) <= 1500


def statements(store: Store) -> list[str]:
    """Every statement the store's engine sends from now on (executemany counts once)."""
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        sent.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    return sent


def _but_sources(sent: list[str]) -> list[str]:
    return [s for s in sent if not s.startswith(("UPDATE sources", "INSERT INTO sources"))]


def spread(n: int, start: int = 0) -> CollectResult:
    """New posts of every kind a batch holds: approved, held by a blocked word, rejected."""
    texts = ("Belle plénière numéro {}", "Quel niaiseux, message {}", "Message {} du troll")
    authors = (Author("@lucie@m.example", "Lucie"), Author("@marc@m.example", "Marc"))
    return result(
        *(
            candidate(
                f"n{i}",
                texts[i % 3].format(i),
                author=Author("@troll@x.example", "Troll") if i % 3 == 2 else authors[i % 2],
            )
            for i in range(start, start + n)
        )
    )


def test_a_batch_of_new_posts_costs_the_same_statements_whatever_its_size(
    livewall: Livewall,
) -> None:
    """Lookups, rules (with the flood rule), rows, change rows and log entries: a constant
    number of statements per batch, not one or more per post."""
    from aggregator.moderation import live_rules

    live_rules.add_entry(livewall.store, "banned", "@troll@x.example", "ada")
    live_rules.add_entry(livewall.store, "blocked_word", "niaiseux", "ada", language="fr")
    live_rules.set_mode(livewall.store, "post", "ada")
    livewall.pipeline.ingest(source("first"), spread(3, start=1000))  # rules and window loaded
    sent = statements(livewall.store)
    small = livewall.pipeline.ingest(source(), spread(6))
    first = list(sent)
    sent.clear()
    large = livewall.pipeline.ingest(source(), spread(300, start=6))
    # The same statements, word for word: a list of values is one parameter, whatever its
    # length, so each statement is parsed and planned once (and cached) by the store. (The
    # source's row is created by its first batch, then one UPDATE a batch.) Ten on SQLite,
    # PostgreSQL's advisory lock and notification aside; no UPDATE of the new rows (their ids
    # are reserved, their change rows written first).
    assert _but_sources(sent) == _but_sources(first)
    assert len(sent) <= 11 and sum(s.startswith("UPDATE sources") for s in sent) == 1, sent
    assert not [s for s in sent if s.startswith("UPDATE posts")]
    assert (small.new, small.held, small.rejected) == (6, 2, 2)
    assert (large.new, large.held, large.rejected) == (300, 100, 100)
    stored = [p for p in posts(livewall.store) if p.source == "demo"]
    assert [p.external_id for p in stored] == [f"n{i}" for i in range(306)]
    shown = [p for p in stored if p.visible]
    assert len(shown) == 102 and all(p.seq > 0 for p in shown)
    assert all(p.seq == 0 for p in stored if not p.visible)
    ids = [p.id for p in stored]
    with livewall.store.read() as session:
        query = select(Change).where(col(Change.post_id).in_(ids)).order_by(col(Change.seq))
        changes = list(session.exec(query))
        logged = session.exec(select(ModerationEntry).where(col(ModerationEntry.post_id).in_(ids)))
        reasons = {entry.post_id: entry.detail for entry in logged}
    assert [c.post_id for c in changes] == ids  # one each, in order
    assert {p.seq for p in shown} == {c.seq for c in changes if c.kind == "post"}
    assert reasons == {p.id: p.status_reason for p in stored if p.status_reason}
    assert len(reasons) == 204  # the held and the rejected, each with its reason


def test_outcomes_follow_the_candidates_in_order_with_their_stored_ids(store: Store) -> None:
    p = pipeline(store, mode="post")
    p.ingest(source(), result(candidate("old", "Déjà là")))
    report = p.ingest(
        source(), result(candidate("a"), candidate("old", "Déjà là, corrigé"), candidate("b"))
    )
    by_id = {post.external_id: post for post in posts(store)}
    assert [(o.external_id, o.outcome) for o in report.posts] == [
        ("a", "new"),
        ("old", "updated"),
        ("b", "new"),
    ]
    assert all(o.post_id == by_id[o.external_id].id for o in report.posts)


def test_the_same_post_twice_in_one_batch_is_stored_once(store: Store) -> None:
    p = pipeline(store, mode="post")
    uri = "https://mastodon.example/users/lucie/statuses/9"
    text = "Ouverture officielle des Assises ce matin, salle comble!"
    report = p.ingest(
        source(),
        result(
            candidate("1", "Premier"),
            candidate("1", "Premier, corrigé", edited_at=NOW),
            candidate("2", dedupe_key=uri),
            candidate("3", dedupe_key=uri, likes=3),
            candidate("4", text, network="mastodon"),
            candidate("5", text, network="bluesky"),
        ),
    )
    assert [o.outcome for o in report.posts] == [
        "new",
        "updated",
        "new",
        "updated",
        "new",
        "joined",
    ]
    stored = posts(store)
    assert [(p.external_id, p.text, p.likes) for p in stored[:2]] == [
        ("1", "Premier, corrigé", 0),
        ("2", "Belle journée aux #AssisesUMQ", 3),
    ]
    assert len(stored) == 3 and report.new == 3 and report.duplicates == 1


def test_a_flood_within_one_batch_is_held(livewall: Livewall) -> None:
    from aggregator.moderation import live_rules

    live_rules.set_mode(livewall.store, "post", "ada")
    spam = "Gagnez un iPhone gratuit, cliquez vite sur ce lien maintenant"
    copies = [
        candidate(f"s{i}", spam, author=Author(f"@bot{i}@x.example", f"Bot {i}")) for i in range(4)
    ]
    livewall.pipeline.ingest(source(), result(*copies))
    assert [p.status for p in posts(livewall.store)] == [
        "approved",
        "approved",
        "pending",
        "pending",
    ]


def test_two_writers_at_once_get_their_own_ids_and_change_numbers(database_url: str) -> None:
    """Two processes' pipelines (two stores on one database) ingesting batches at the same
    instant: ids are reserved under each one's write (SQLite's lock, PostgreSQL's sequence),
    so no post is lost or doubled and each shown post carries its own change number."""
    stores = [Store(database_url), Store(database_url)]
    pipes = [Pipeline(store, Rules(mode="post"), ("fr", "en")) for store in stores]
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            start.wait()
            for batch in range(6):
                posts = [
                    candidate(f"w{number}-{batch}-{i}", f"Message {i} du lot {batch}, {number}")
                    for i in range(40)
                ]
                pipes[number].ingest(source(f"relais{number}"), result(*posts))
        except BaseException as error:  # reported by the test, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for store in stores[1:]:
        store.dispose()
    assert failures == []
    stored = posts(stores[0])
    assert len(stored) == len({p.id for p in stored}) == 480
    assert sorted(p.external_id for p in stored) == sorted(
        f"w{n}-{b}-{i}" for n in range(2) for b in range(6) for i in range(40)
    )
    with stores[0].read() as session:
        shown = {c.post_id: c.seq for c in session.exec(select(Change)) if c.kind == "post"}
    assert {p.id: p.seq for p in stored} == shown
    stores[0].dispose()
