from __future__ import annotations

from pathlib import Path

from aggregator.moderation.rules import BlockedWords, Rules, fold, read_word_list

REPO = Path(__file__).resolve().parents[3]


def rules(**fields: object) -> Rules:
    base: dict[str, object] = {"blocked": BlockedWords({"fr": ("niaiseux", "casino en ligne")})}
    base.update(fields)
    return Rules(**base)  # type: ignore[arg-type]


def test_fold_ignores_accents_and_case() -> None:
    assert fold("ÉLUS Municipaux") == "elus municipaux"


def test_blocked_words_match_whole_words_without_accents_or_case() -> None:
    blocked = BlockedWords({"fr": ("niaiseux", "casino en ligne")})
    assert blocked.find("Quel NIAISEUX!") == ("fr", "niaiseux")
    assert blocked.find("Le Casino en Ligne gratuit") == ("fr", "casino en ligne")
    assert blocked.find("niaiseuxerie n'est pas un mot") is None


def test_accented_list_entry_matches_unaccented_text() -> None:
    assert (
        BlockedWords({"fr": ("arnaque à la crypto",)}).find("ARNAQUE A LA CRYPTO ici") is not None
    )


def test_order_ban_then_words_then_official_trusted_mode() -> None:
    r = rules(
        banned=frozenset({"troll@x.example"}),
        trusted=frozenset({"umq@x.example"}),
        official_sources=frozenset({"youtube"}),
    )
    assert r.decide("m", "@Troll@x.example", "bonjour").status == "rejected"
    held = r.decide("youtube", "@umq@x.example", "quel niaiseux")
    assert (held.status, held.reason) == ("pending", "blocked word « niaiseux » (fr)")
    assert r.decide("youtube", "@someone", "bonjour").status == "approved"
    assert r.decide("m", "@umq@x.example", "bonjour").status == "approved"
    assert r.decide("m", "@someone", "bonjour").status == "pending"
    assert rules(mode="post").decide("m", "@someone", "bonjour").status == "approved"


def test_shipped_word_lists_load_and_skip_comments() -> None:
    words = read_word_list(REPO / "config" / "blocked-words" / "fr.txt")
    assert words and not any(w.startswith("#") for w in words)
