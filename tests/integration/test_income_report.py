"""The income report for the scenario `small`, through the real pipeline, against a hand calculation.

The figures below were worked out by hand from /work/shared/scenarios/small/events.jsonl
(every DIVIDEND and INTEREST line, with its amendments, duplicates and cancellations), not by
Folio's code. Every one is in 2023. Net in base = Σ (amount − fees) × the FX rate in effect
on the trade date (latest on or before it). The scenario has no TAX naming a security, so
tax withheld is 0 everywhere.
"""
from __future__ import annotations

from decimal import Decimal


from tests.integration.conftest import publish_scenario

# (portfolio, security, currency): (gross, fees, net, net_base or None when not checked by hand)
EXPECTED = {
    # P001, base USD: USD rows have net_base = net.
    ("P001", None, "USD"): ("401.93", "0", "401.93", "401.93"),  # INTEREST T011 166.30 + T083 235.63
    # INTEREST T131 324.58 EUR on 04-08 × EUR/USD 0.997440 (rate of 04-07) = 323.74907520
    ("P001", None, "EUR"): ("324.58", "0", "324.58", "323.74907520"),
    # SEC001: T066 22.16 EUR (02-25 × 1.036088 of 02-24 = 22.95971008)
    #       + T112 778.79 EUR (03-28 × 0.995437 = 775.23638123) → 800.95; base 798.19609131
    ("P001", "SEC001", "EUR"): ("800.95", "0", "800.95", "798.19609131"),
    # SEC002: T085 1208.12 GBP (03-10 × GBP/USD 1.264104 = 1527.18932448)
    #       + T155 1070.47 − fees 160.57 = 909.90 GBP (04-28 × 1.301206 of 04-27 = 1183.96733940)
    #       gross 2278.59, fees 160.57, net 2118.02, base 2711.15666388
    ("P001", "SEC002", "GBP"): ("2278.59", "160.57", "2118.02", "2711.15666388"),
    # SEC003: T045 275.04 (fees 41.26) + T092 476.61 + T097 691.76 (fees 103.76) + T146 19.87
    #       = 1463.28, fees 145.02, net 1318.26
    ("P001", "SEC003", "USD"): ("1463.28", "145.02", "1318.26", "1318.26"),
    # SEC004: T106 674.30 + T109 v2 572.95 (fees 85.94; v1's 729.09 was amended) = 1247.25, net 1161.31
    ("P001", "SEC004", "USD"): ("1247.25", "85.94", "1161.31", "1161.31"),
    # SEC005: T022 291.24 + T121 721.67 + T137 1965.93 = 2978.84
    ("P001", "SEC005", "USD"): ("2978.84", "0", "2978.84", "2978.84"),
    # SEC008: T334 cancelled (v2); T093 84.64 − fees 12.70 = 71.94
    ("P001", "SEC008", "USD"): ("84.64", "12.70", "71.94", "71.94"),
    # P002, base EUR: EUR rows have net_base = net; USD/GBP rows convert at an inverse
    # (only EUR/USD and EUR/GBP are quoted), whose 34-digit quotient is not checked by hand.
    ("P002", "SEC001", "EUR"): ("254.28", "38.14", "216.14", "216.14"),  # T215
    # SEC004: T239 2308.24 (fees 346.24) + T226 511.33 + T290 1723.26 = 4542.83, net 4196.59
    ("P002", "SEC004", "USD"): ("4542.83", "346.24", "4196.59", None),
    # SEC005: T337 cancelled (its v2 cancellation arrived first); T288 v3 3106.28 (a later v1 is a duplicate)
    ("P002", "SEC005", "USD"): ("3106.28", "0", "3106.28", None),
    # SEC006: T336 cancelled; T299 392.42 + T303 238.95 (fees 35.84) = 631.37, net 595.53
    ("P002", "SEC006", "USD"): ("631.37", "35.84", "595.53", None),
    ("P002", "SEC008", "USD"): ("230.24", "34.54", "195.70", None),  # T278
    ("P002", None, "USD"): ("482.00", "0", "482.00", None),  # INTEREST T190 5.02 + T235 476.98
    ("P002", None, "EUR"): ("309.63", "0", "309.63", "309.63"),  # INTEREST T236 v3 (v1 432.64 amended)
    ("P002", None, "GBP"): ("488.78", "0", "488.78", None),  # INTEREST T294
}


async def test_income_of_the_small_scenario_equals_the_hand_calculation(start_stack):
    stack = await start_stack()
    await publish_scenario(stack, "small")
    found = {}
    async with stack.client() as client:
        for portfolio in ("P001", "P002"):
            response = await client.get(f"/portfolios/{portfolio}/income", params={"year": 2023})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["total"] == len(body["items"])
            for item in body["items"]:
                assert item["year"] == 2023
                assert Decimal(item["tax_withheld"]) == 0
                found[(portfolio, item["security_id"], item["currency"])] = item
        assert (await client.get("/portfolios/P001/income", params={"year": 2022})).json()["total"] == 0
    assert set(found) == set(EXPECTED)
    for key, (gross, fees, net, net_base) in EXPECTED.items():
        item = found[key]
        assert (Decimal(item["gross"]), Decimal(item["fees"]), Decimal(item["net"])) \
            == (Decimal(gross), Decimal(fees), Decimal(net)), key
        if net_base is not None:
            assert Decimal(item["net_base"]) == Decimal(net_base), key
        else:
            assert item["net_base"] is not None, key
