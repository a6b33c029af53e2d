"""Authenticator: auth off, and a keys file that cannot be read."""
from __future__ import annotations

import logging

import pytest

from api.auth.authenticator import Authenticator
from api.auth.principal import ANONYMOUS_ADMIN, Role
from api.auth.settings import AuthSettings
from api.errors import Unauthenticated


async def test_with_auth_off_every_request_is_the_anonymous_admin():
    assert await Authenticator(AuthSettings.off()).authenticate(None) is ANONYMOUS_ADMIN


async def test_with_auth_on_and_no_keys_nobody_gets_in():
    authenticator = Authenticator(AuthSettings())

    for credential in (None, "", "anything"):
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(credential)


async def test_an_unreadable_keys_file_admits_nobody_by_it_and_logs_one_error(tmp_path, caplog):
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    authenticator = Authenticator(AuthSettings(api_keys="envkey=read", keys_file=path))

    with caplog.at_level(logging.ERROR, logger="api.auth.authenticator"):
        for _ in range(3):
            with pytest.raises(Unauthenticated):
                await authenticator.authenticate("folio_whatever")
        env = await authenticator.authenticate("envkey")

    assert env.role is Role.READ  # the environment's keys still work
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and str(path) in errors[0].getMessage()
