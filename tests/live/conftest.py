"""Fixtures of the tests that start servers in subprocesses."""

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session")
def shared_database_url() -> Iterator[str]:
    """A database several server processes share: a fresh PostgreSQL database, created on
    ``TEST_POSTGRES_URL`` (default: the local server, as ``postgres``) and dropped after.

    Where no PostgreSQL answers, a SQLite file they share, and a note in the test report;
    in CI (``CI=true``), where .ci/run starts PostgreSQL, that is a failure instead.
    """
    admin = os.environ.get("TEST_POSTGRES_URL", POSTGRES_ADMIN)
    name = f"dashboard_test_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL does not answer at {admin} ({error}); .ci/run starts it.")
        warnings.warn(f"no PostgreSQL at {admin}: sharing a SQLite file instead", stacklevel=1)
        with tempfile.TemporaryDirectory(prefix="shared-db-") as workdir:
            yield f"sqlite:///{workdir}/shared.sqlite3"
        return
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
