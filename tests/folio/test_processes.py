"""How `folio up` starts its children (folio.devenv.processes)."""
from __future__ import annotations

from uvicorn.main import main as uvicorn_command

from folio.devenv.processes import api_spec


def test_the_api_takes_no_client_address_from_forwarded_headers():
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local
    # process could then name its own address in the audit log.
    argv = api_spec(8000).argv
    assert argv[1:3] == ["-m", "folio.devenv.api"]  # the rest are uvicorn's own arguments

    params = uvicorn_command.make_context("uvicorn", argv[3:]).params

    assert (params["app"], params["proxy_headers"]) == ("api.main:api", False)

