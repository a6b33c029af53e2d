"""core.income: income per year, security and currency, exact."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from core.income import IncomeEntry, income_rows


def entry(type_, day, security, currency, amount, fees="0", fx="1"):
    return IncomeEntry(type_, day, security, currency, D(amount), D(fees), None if fx is None else D(fx))


def test_dividends_of_a_security_sum_per_year_and_currency_with_net_in_base_at_each_booked_rate():
    rows = income_rows([
        entry("DIVIDEND", date(2024, 3, 1), "SAP", "EUR", "100.00", "15.00", fx="1.10"),
        entry("DIVIDEND", date(2024, 9, 1), "SAP", "EUR", "50.00", fx="1.20"),
        entry("DIVIDEND", date(2025, 3, 1), "SAP", "EUR", "10", fx="1"),
    ])
    # 2024: gross 150.00, fees 15.00, net 135.00; base 85.00 × 1.10 + 50.00 × 1.20 = 93.5 + 60 = 153.5
    assert [(r.year, r.gross, r.fees, r.net, r.net_base, r.transactions) for r in rows] == [
        (2024, D("150.00"), D("15.00"), D("135.00"), D("153.5"), 2),
        (2025, D("10"), D("0"), D("10"), D("10"), 1)]


def test_tax_naming_a_security_is_its_withholding_and_a_portfolio_tax_is_not_income():
    rows = income_rows([
        entry("DIVIDEND", date(2024, 3, 1), "AAPL", "USD", "200"),
        entry("TAX", date(2024, 3, 1), "AAPL", "USD", "30"),
        entry("TAX", date(2024, 3, 2), None, "USD", "99"),
        entry("FEE", date(2024, 3, 2), "AAPL", "USD", "5"),
    ])
    assert [(r.security_id, r.gross, r.tax_withheld, r.net, r.net_base) for r in rows] == [
        ("AAPL", D("200"), D("30"), D("170"), D("170"))]


def test_interest_without_a_security_sorts_after_securities_and_a_missing_rate_leaves_base_unknown():
    rows = income_rows([
        entry("INTEREST", date(2024, 1, 5), None, "USD", "7.5", fx=None),
        entry("DIVIDEND", date(2024, 1, 5), "ZZZ", "USD", "1"),
    ])
    assert [(r.security_id, r.net, r.net_base) for r in rows] == [("ZZZ", D("1"), D("1")), (None, D("7.5"), None)]
