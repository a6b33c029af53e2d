"""Record batches carry every source record's offset, key and bytes exactly."""
import pytest

from streams.batch_codec import pack, unpack


def test_a_batch_round_trips_offsets_keys_and_raw_bytes_in_order():
    records = [
        (0, b"P001", b'{"transaction_id":"T1","price":123.4500000000000000001}'),
        (1, None, b"not json \xff\xfe"),          # invalid UTF-8 must survive for its dead letter
        (7, b"P002", None),                      # a null value
        (8, b"", b""),                           # empty key and value are not None
    ]
    assert list(unpack(pack(records))) == records


def test_an_empty_batch_unpacks_to_nothing():
    assert list(unpack(pack([]))) == []


def test_a_payload_that_is_not_a_batch_is_refused():
    with pytest.raises(ValueError):
        list(unpack(b'{"transaction_id":"T1"}'))
