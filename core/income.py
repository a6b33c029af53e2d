"""Income per year, security and currency: the income report's one rule.

Folio's events have no withholding field: a DIVIDEND or INTEREST carries its
gross `amount` and the `fees` taken from it, and tax withheld on a security's
income is booked as a TAX transaction that names that security. So a row sums,
over the booked transactions in effect of one (year, security, currency):

- gross = Σ amount of DIVIDEND and INTEREST;
- fees = Σ their fees;
- tax_withheld = Σ amount of TAX naming the security (a TAX without a
  security is a portfolio cost, not income's, and is left out);
- net = gross − fees − tax_withheld, the cash these moved (core.cash);
- net_base = Σ of each transaction's net at the FX rate it was booked with
  (income is a cash fact of its trade date and is never re-priced), or None
  when one lacks a booked rate.

INTEREST needs no security: interest without one is a row with security None.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.numbers import CTX, ZERO, mul

INCOME_TYPES = frozenset({"DIVIDEND", "INTEREST"})
WITHHOLDING_TYPE = "TAX"


@dataclass(frozen=True, slots=True)
class IncomeEntry:
    """One booked transaction as the report needs it."""

    type: str
    trade_date: date
    security_id: str | None
    currency: str
    amount: Decimal
    fees: Decimal
    fx_applied: Decimal | None

    @property
    def counts(self) -> bool:
        return self.type in INCOME_TYPES or (self.type == WITHHOLDING_TYPE and self.security_id is not None)


@dataclass(frozen=True, slots=True)
class IncomeRow:
    year: int
    security_id: str | None
    currency: str
    gross: Decimal
    fees: Decimal
    tax_withheld: Decimal
    net: Decimal
    net_base: Decimal | None
    transactions: int


def income_rows(entries: Iterable[IncomeEntry]) -> list[IncomeRow]:
    """Rows ordered by year, security (interest without one last) and currency."""
    sums: dict[tuple[int, str | None, str], list] = {}
    for e in entries:
        if not e.counts:
            continue
        key = (e.trade_date.year, e.security_id, e.currency)
        acc = sums.setdefault(key, [ZERO, ZERO, ZERO, ZERO, 0])
        if e.type == WITHHOLDING_TYPE:
            acc[2] = CTX.add(acc[2], e.amount)
            cash = -e.amount
        else:
            acc[0] = CTX.add(acc[0], e.amount)
            acc[1] = CTX.add(acc[1], e.fees)
            cash = CTX.subtract(e.amount, e.fees)
        acc[3] = None if acc[3] is None or e.fx_applied is None else CTX.add(acc[3], mul(cash, e.fx_applied))
        acc[4] += 1
    rows = [IncomeRow(year, security, currency, gross, fees, tax,
                      CTX.subtract(CTX.subtract(gross, fees), tax), net_base, count)
            for (year, security, currency), (gross, fees, tax, net_base, count) in sums.items()]
    rows.sort(key=lambda r: (r.year, r.security_id is None, r.security_id or "", r.currency))
    return rows
