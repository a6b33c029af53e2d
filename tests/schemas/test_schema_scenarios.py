"""Every line of the shared scenarios decodes, or is rejected exactly as expected.json says."""

import json

import pytest

from schemas.decode import Rejection, decode_event
from tests.support.scenario import load_expected, scenario_params, scenario_path

DECIDED_HERE = {"invalid_json", "invalid_event", "key_mismatch"}  # the rest needs state


def published_value(line: str, value: object) -> bytes:
    # As the scenarios README says producers publish: the value's own JSON
    # text (numbers untouched), or a JSON string's content verbatim.
    if isinstance(value, str):
        return value.encode("utf-8")
    start = line.index(',"value":') + len(',"value":')
    return line.rstrip("\n")[start:-1].encode("utf-8")


@pytest.mark.parametrize("scenario", scenario_params())
def test_scenario_lines_are_rejected_exactly_where_expected_json_says(scenario):
    folder = scenario_path(scenario)
    expected = load_expected(scenario)
    rejected_at = {item["line"]: item for item in expected["dead_letters"]["items"] if item["reason"] in DECIDED_HERE}

    mismatches = []
    with open(folder / "events.jsonl", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            message = json.loads(line)
            result = decode_event(message["topic"], message["key"], published_value(line, message["value"]))
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
    path = scenario_path(scenario) / "events.jsonl"
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            value = message["value"]
            if not isinstance(value, dict):
                continue
            as_numbers = decode_event(message["topic"], message["key"], published_value(line, value))
            if isinstance(as_numbers, Rejection):
                continue
            # parse_float=str keeps each number's exact text; ints become text too.
            exact = json.loads(published_value(line, value), parse_float=str)
            as_strings = {k: str(v) if type(v) is int and k != "version" else v for k, v in exact.items()}
            assert decode_event(message["topic"], message["key"], json.dumps(as_strings)) == as_numbers
