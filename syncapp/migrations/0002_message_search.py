"""Indexes for reading mail on PostgreSQL: full-text search, and the label filter.

Built only on PostgreSQL (SQLite searches with a plain LIKE), and kept out of the
model's Meta so that they never depend on the database in use. The search
expression must stay identical to syncapp.mailfilters.message_search_vector(),
or queries stop using the index: tests/web/test_mail.py checks the plan.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models.functions import Left

INDEXES = [
    GinIndex(
        SearchVector("subject", "sender", Left("body_text", 50_000), config="english"),
        name="message_search",
    ),
    # Answers label_ids @> '["INBOX"]', the label filter of the message list.
    GinIndex(fields=["label_ids"], opclasses=["jsonb_path_ops"], name="message_label_ids"),
]


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        message = apps.get_model("syncapp", "Message")
        for index in INDEXES:
            schema_editor.add_index(message, index)


def remove_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        message = apps.get_model("syncapp", "Message")
        for index in INDEXES:
            schema_editor.remove_index(message, index)


class Migration(migrations.Migration):
    dependencies = [("syncapp", "0001_initial")]

    operations = [migrations.RunPython(add_indexes, remove_indexes)]
