"""DATABASE_URL forms → SQLAlchemy's asyncpg URL and asyncpg's DSN."""
from __future__ import annotations

import pytest

from api.db import asyncpg_dsn, sqlalchemy_url

SOCKET = "postgresql://postgres@/folio?host=/tmp/pg%20data/socket"


@pytest.mark.parametrize(("given", "expected"), [
    ("postgresql://u:p@db.example:5432/folio", "postgresql+asyncpg://u:p@db.example:5432/folio"),
    ("postgres://u@localhost/folio?sslmode=require", "postgresql+asyncpg://u@localhost/folio?sslmode=require"),
    ("postgresql+asyncpg://u@h/folio", "postgresql+asyncpg://u@h/folio"),
    (SOCKET, "postgresql+asyncpg://postgres@/folio?host=/tmp/pg%20data/socket"),
])
def test_a_libpq_url_becomes_a_sqlalchemy_asyncpg_url_keeping_everything_after_the_scheme(given, expected):
    assert sqlalchemy_url(given) == expected


def test_asyncpg_connects_with_the_plain_libpq_form():
    assert asyncpg_dsn("postgresql+asyncpg://postgres@/folio?host=/s") == "postgresql://postgres@/folio?host=/s"


def test_a_url_of_another_database_is_refused():
    with pytest.raises(ValueError, match="postgresql://"):
        sqlalchemy_url("mysql://u@h/db")


async def test_the_api_reads_through_a_unix_socket_url(rows, make_client, postgres, api_database_url):
    if "host=/" not in api_database_url:
        pytest.skip("the session's PostgreSQL is not reached through a unix socket")
    await rows.portfolio("P1")
    client = await make_client(database_url=api_database_url)

    response = await client.get("/portfolios/P1")

    assert response.status_code == 200
