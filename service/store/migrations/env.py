"""Alembic environment: the URL comes from the caller's config, never from a file."""

from alembic import context

from service.store.tables import metadata

config = context.config
connectable = config.attributes.get("connection")


def run() -> None:
    if connectable is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.connect() as conn:
            _migrate(conn)
            conn.commit()
        engine.dispose()
    else:
        _migrate(connectable)


def _migrate(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
