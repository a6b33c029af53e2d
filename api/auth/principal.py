"""The caller as the routes see it: a name, a role and a portfolio scope."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Ordered: each role may do everything the roles below it may."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}: expected read, write or admin") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """`subject` is what the audit log records: a key's name or a token's `sub`.

    `portfolios` None means every portfolio; otherwise only those ids exist
    for this caller (a read of another answers 404, lists leave it out).
    """

    subject: str
    role: Role
    portfolios: frozenset[str] | None = None
    method: str = "api_key"  # "api_key", "jwt" or "none" (auth off)

    def may(self, role: Role) -> bool:
        return self.role >= role

    def sees(self, portfolio_id: str) -> bool:
        return self.portfolios is None or portfolio_id in self.portfolios

    @property
    def scoped(self) -> bool:
        return self.portfolios is not None


# What every request is when FOLIO_AUTH=off.
ANONYMOUS_ADMIN = Principal(subject="anonymous", role=Role.ADMIN, method="none")
