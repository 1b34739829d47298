"""Many rows into one table, in the session's transaction, the fastest way each database has.

PostgreSQL takes them by COPY: a multi-row INSERT names every value as a parameter, and psycopg
rewrites those names into positions in Python, which was most of a 50,000-family broadcast's
time. New ids are drawn from the table's sequence first, in one query. SQLite (and any other
database) gets multi-row INSERTs."""

from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

PAGE = 5000  # rows per INSERT statement where there is no COPY


def insert_rows(
    session: Session, model: Any, rows: list[dict[str, Any]], *, returning_ids: bool = False
) -> list[int]:
    """Inserts `rows` (dicts with the same keys, column names) into `model`'s table; with
    `returning_ids`, returns their new ids in the order of `rows`. A column a row does not
    name gets its default, as INSERT would give it."""
    if not rows:
        return []
    table: Table = model.__table__
    session.flush()  # what the rows may refer to is in the database first, as autoflush does
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, table, rows, returning_ids)
    statement = insert(table)
    if not returning_ids:
        session.execute(statement, rows)
        return []
    statement = statement.returning(table.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for start in range(0, len(rows), PAGE):
        ids += session.scalars(statement, rows[start : start + PAGE])
    return ids


def _copy(
    session: Session, table: Table, rows: list[dict[str, Any]], returning_ids: bool
) -> list[int]:
    import psycopg
    from psycopg import sql

    ids: list[int] = []
    if returning_ids:
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(rows)},
            )
        )
        if ids[0] is None:
            raise ValueError(f"{table.name} has no id drawn from a sequence")
        rows = [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
    names = list(rows[0])
    # The column defaults written in Python, as INSERT applies them (a callable once a row).
    defaults = {
        c.name: c.default for c in table.columns if c.name not in rows[0] and c.default is not None
    }
    if any(not (d.is_scalar or d.is_callable) for d in defaults.values()):
        raise ValueError(f"{table.name}: a default written in SQL; name its column in the rows")
    if defaults:
        rows = [{**row, **{n: _default(d) for n, d in defaults.items()}} for row in rows]
        names += list(defaults)
    connection = session.connection()
    # A column's type may change what goes to the driver (JSON, UTC datetimes): as INSERT would.
    dialect = connection.dialect
    processors = [(n, table.c[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([p(row[n]) if p else row[n] for n, p in processors])
    except psycopg.Error as error:
        # As SQLAlchemy reports an INSERT's failure (IntegrityError and the rest): callers
        # that catch SQLAlchemyError (a roster import's "the database refused") see it too.
        raise DBAPIError.instance(
            statement.as_string(driver), None, error, psycopg.Error, dialect=connection.dialect
        ) from error
    return ids


def _default(default: Any) -> Any:
    return default.arg(None) if default.is_callable else default.arg
