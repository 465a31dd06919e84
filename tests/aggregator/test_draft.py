from __future__ import annotations

import sqlalchemy as sa

from aggregator.draft import ROW, Draft
from aggregator.models import Post
from tests.builders import NOW


def test_a_draft_holds_every_column_of_a_post_with_the_same_defaults() -> None:
    table = sa.Table("posts", Post.metadata)
    assert set(ROW) == {c.name for c in table.columns} - {"id"}
    draft = Draft(source="s", external_id="e", network="n", author_handle="@a", created_at=NOW,
                  collected_at=NOW)  # fmt: skip
    post = Post(source="s", external_id="e", network="n", author_handle="@a", created_at=NOW,
                collected_at=NOW)  # fmt: skip
    assert draft.row() == {name: getattr(post, name) for name in ROW}
    assert draft.visible is post.visible is False
