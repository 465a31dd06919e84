from __future__ import annotations

from sqlalchemy.pool import QueuePool

from aggregator.store import Store


def test_connections_opened_at_start_wait_in_the_pool(store: Store) -> None:
    pool = store.engine.pool
    assert isinstance(pool, QueuePool)
    opened = pool.checkedin()
    store.open_connections(3)
    assert pool.checkedin() == max(opened, 3) and pool.checkedout() == 0
    store.last_seq()  # served by one of them: nothing new is opened
    assert pool.checkedin() == max(opened, 3)
