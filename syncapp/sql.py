"""Two statements Django's ORM does not write: UPDATE ... RETURNING and
INSERT ... SELECT. Both PostgreSQL and SQLite (3.35 and later) run them."""

from __future__ import annotations

from typing import Any

from django.db import connections, models
from django.db.models import Value
from django.db.models.sql import UpdateQuery
from django.utils import timezone


def update_returning(queryset: models.QuerySet[Any], **values: object) -> list[int]:
    """`update(**values)` as one `UPDATE ... RETURNING id`: the ids of the rows
    it changed (PostgreSQL, and SQLite from 3.35)."""
    return [row[0] for row in update_returning_rows(queryset, ["pk"], **values)]


def update_returning_rows(
    queryset: models.QuerySet[Any], fields: list[str], **values: object
) -> list[tuple[Any, ...]]:
    """`update(**values)` as one `UPDATE ... RETURNING`: of each row it changed,
    the values of `fields` (concrete fields, or "pk") as they are after the update."""
    query = queryset.query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    if not sql:
        return []
    meta = queryset.model._meta
    columns = [
        compiler.quote_name_unless_alias(
            str(meta.pk.column if name == "pk" else meta.get_field(name).column)
        )
        for name in fields
    ]
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {', '.join(columns)}", params)
        return [tuple(row) for row in cursor.fetchall()]


def insert_from(
    model: type[models.Model], source: models.QuerySet[Any], **values: Any
) -> list[int]:
    """Insert one `model` row per row of `source` in one `INSERT ... SELECT`, the
    columns named in `values` computed from the source row (expressions) and
    the others at their defaults; a row that would break a unique constraint
    (the one-active-run index) is skipped. Returns the new runs' ids."""
    now = timezone.now()
    connection = connections[source.db]
    qn = connection.ops.quote_name
    columns: list[str] = []
    selected: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.name in values:
            value = values[field.name]
        elif getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        if not hasattr(value, "resolve_expression"):
            value = Value(value, output_field=field)
        columns.append(qn(str(field.column)))
        selected[f"new_{field.column}"] = value
    rows = source.order_by().annotate(**selected).values_list(*selected)
    sql, params = rows.query.sql_with_params()
    insert = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(columns)}) "
        f"{sql} ON CONFLICT DO NOTHING RETURNING {qn(str(model._meta.pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        return [row[0] for row in cursor.fetchall()]
