"""A run's checkpoint is typed in code and JSON in the row, readable across versions."""

from syncapp.figures import RunFigures
from syncapp.sync.checkpoint import Checkpoint

STORED_BY_VERSION_ONE = {
    "phase": "full",
    "mark": "5f0c",
    "page_token": "p3",
    "listed": 1000,
    "counts": {
        "processed": 990,
        "total": 2000,
        "new": 990,
        "updated": 0,
        "deleted": 0,
        "unparsable": 1,
    },
    "start_history_id": "4242",
    "had_known": True,
}


def test_it_reads_a_checkpoint_written_by_version_one_and_writes_it_back_with_newer_figures():
    checkpoint = Checkpoint.from_json(STORED_BY_VERSION_ONE)

    assert checkpoint.figures == RunFigures(processed=990, total=2000, new=990, unparsable=1)
    assert checkpoint.page_token == "p3"
    counts = {**STORED_BY_VERSION_ONE["counts"], "vanished": 0}
    assert checkpoint.as_json() == {**STORED_BY_VERSION_ONE, "counts": counts}


def test_an_empty_checkpoint_stays_empty():
    assert Checkpoint.from_json({}).as_json() == {}


def test_starting_a_full_sync_forgets_the_old_listing_under_a_new_mark():
    checkpoint = Checkpoint.from_json(STORED_BY_VERSION_ONE)

    checkpoint.start_full()

    assert checkpoint.mark not in ("", "5f0c")
    assert (checkpoint.page_token, checkpoint.listed, checkpoint.figures) == (None, 0, None)
    assert checkpoint.as_json() == {
        "phase": "full",
        "mark": checkpoint.mark,
        "page_token": None,
        "listed": 0,
    }


def test_figures_map_to_the_run_columns_with_percent_below_100_while_running():
    figures = RunFigures(
        processed=120, total=100, new=7, updated=2, deleted=1, unparsable=3, vanished=4
    )

    assert figures.as_columns() == {
        "processed": 120,
        "total": 120,
        "percent": 99,
        "new_count": 7,
        "updated_count": 2,
        "deleted_count": 1,
        "unparsable_count": 3,
        "vanished_count": 4,
    }
