"""From a presented credential to a Principal, or the reason there is none."""
from __future__ import annotations

import json
import logging
import time

from api.auth.api_keys import KeyFile, KeyRecord, find_key, parse_env_keys
from api.auth.principal import ANONYMOUS_ADMIN, Principal
from api.auth.sessions import issue_session, verify_session
from api.auth.settings import AuthSettings
from api.auth.tokens import JwtVerifier, TokenRejected, TokenWithoutRole, looks_like_jwt
from api.errors import Forbidden, Unauthenticated

log = logging.getLogger(__name__)


class Authenticator:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._env_keys = parse_env_keys(settings.api_keys) if settings.api_keys else []
        self._file = KeyFile(settings.keys_file) if settings.keys_file else None
        self._jwt = JwtVerifier(settings.jwt) if settings.jwt else None
        self._file_error: str | None = None

    @property
    def key_file(self) -> KeyFile | None:
        """The keys file (managed over HTTP by /keys), None when none is configured."""
        return self._file

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def authenticate(self, credential: str | None) -> Principal:
        if not self.settings.enabled:
            return ANONYMOUS_ADMIN
        # Keys and tokens never hold whitespace; `Bearer  key ` is the key.
        credential = (credential or "").strip()
        if not credential:
            raise Unauthenticated("credentials required: 'Authorization: Bearer <key or token>' or 'X-API-Key: <key>'")
        # Keys first (every record is checked anyway): a FOLIO_API_KEYS key that happens to
        # look like a JWT must still work when an identity provider is configured.
        record = find_key(self._env_keys + self._file_records(), credential)
        if record is not None:
            return record.principal()
        if self._jwt is not None and looks_like_jwt(credential):
            try:
                return await self._jwt.verify(credential)
            except TokenRejected as exc:
                raise Unauthenticated(str(exc)) from None
            except TokenWithoutRole as exc:
                raise Forbidden(str(exc)) from None
        raise Unauthenticated("invalid credentials")

    def sign_in(self, key: str) -> str:
        """A dashboard session for an API key (api.auth.sessions); JWTs sign in nowhere."""
        record = find_key(self._env_keys + self._file_records(), (key or "").strip())
        if record is None:
            raise Unauthenticated("invalid API key")
        return issue_session(record, time.time())

    async def authenticate_session(self, session: str) -> Principal:
        """The principal of a dashboard session cookie: its key's, while the key exists."""
        if not self.settings.enabled:
            return ANONYMOUS_ADMIN
        record = verify_session(self._env_keys + self._file_records(), session, time.time())
        if record is None:
            raise Unauthenticated("the dashboard session has expired or its key was revoked: sign in again")
        return record.principal()

    def _file_records(self) -> list[KeyRecord]:
        if self._file is None:
            return []
        try:
            records = self._file.records()
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            # Fail closed: a keys file that cannot be read admits nobody by it.
            message = f"keys file {self._file.path} unreadable, its keys are refused: {exc.__class__.__name__}"
            if message != self._file_error:
                log.error(message)
                self._file_error = message
            return []
        self._file_error = None
        return records
