"""Every line of the shared scenarios decodes, or is rejected exactly as expected.json says."""

import json

import pytest

from schemas.decode import Rejection, decode_event
from tests.support.scenario import load_expected, published_messages, scenario_params

DECIDED_HERE = {"invalid_json", "invalid_event", "key_mismatch"}  # the rest needs state


@pytest.mark.parametrize("scenario", scenario_params())
def test_scenario_lines_are_rejected_exactly_where_expected_json_says(scenario):
    expected = load_expected(scenario)
    rejected_at = {item["line"]: item for item in expected["dead_letters"]["items"] if item["reason"] in DECIDED_HERE}

    mismatches = []
    for number, (topic, key, raw) in enumerate(published_messages(scenario), start=1):
        result = decode_event(topic, key, raw)
        want = rejected_at.get(number)
        if want is None:
            if isinstance(result, Rejection):
                mismatches.append((number, "unexpected rejection", result))
        elif not isinstance(result, Rejection):
            mismatches.append((number, "expected a rejection", want))
        elif (result.reason, result.field, result.transaction_id) != (
            want["reason"],
            want["field"],
            want["transaction_id"],
        ):
            mismatches.append((number, want, result))
    assert mismatches == []


@pytest.mark.parametrize("scenario", scenario_params())
def test_scenario_values_rewritten_as_decimal_strings_decode_to_the_same_events(scenario):
    # The README allows publishing numbers as decimal strings: same events.
    for topic, key, raw in published_messages(scenario):
        as_numbers = decode_event(topic, key, raw)
        if isinstance(as_numbers, Rejection):
            continue
        # parse_float=str keeps each number's exact text; ints become text too.
        exact = json.loads(raw, parse_float=str)
        as_strings = {k: str(v) if type(v) is int and k != "version" else v for k, v in exact.items()}
        assert decode_event(topic, key, json.dumps(as_strings)) == as_numbers
