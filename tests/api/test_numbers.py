"""api.numbers computes in core.numbers' context: one precision for the whole product."""
from decimal import Decimal

from api import numbers as api_numbers
from core import numbers as core_numbers


def test_the_api_divides_in_the_context_core_numbers_owns():
    assert api_numbers.CTX is core_numbers.CTX


def test_a_ratio_that_does_not_terminate_keeps_34_significant_digits():
    # 1/3 to 34 significant digits: 0. followed by 34 threes; 2/3 rounds the last digit up.
    assert api_numbers.ratio(Decimal(1), Decimal(3)) == Decimal("0." + "3" * 34)
    assert api_numbers.ratio(Decimal(2), Decimal(3)) == Decimal("0." + "6" * 33 + "7")
