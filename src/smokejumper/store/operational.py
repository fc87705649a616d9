"""The operational store: what people create and change (alerts, cases, plans, users, audit).

SQLAlchemy on SQLite by default, PostgreSQL by URL; the schema is versioned with
Alembic migrations shipped inside the package (``store/migrations``).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokejumper.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _resolve_url(url: str, root: Path) -> str:
    """Make ``sqlite:///file.db`` relative to the workspace folder."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        path = Path(url[len(prefix):])
        if not path.is_absolute():
            path = root / path
        return prefix + str(path)
    return url


class OperationalStore:
    """Transactional state of one workspace."""

    def __init__(self, url: str, root: Path | None = None) -> None:
        self.url = _resolve_url(url, root or Path.cwd())

    @cached_property
    def engine(self) -> Engine:
        from sqlalchemy import create_engine, event

        try:
            engine = create_engine(self.url, future=True)
        except Exception as exc:
            raise StoreError(f"cannot open operational store {self.url}: {exc}") from None
        if engine.dialect.name == "sqlite":
            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.close()
        return engine

    def _alembic_config(self) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def upgrade(self) -> str | None:
        """Apply pending Alembic migrations; return the revision now in force."""
        from alembic import command

        config = self._alembic_config()
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot upgrade operational store: {exc}") from exc
        return self.revision()

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head(self) -> str | None:
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
            del self.__dict__["engine"]
