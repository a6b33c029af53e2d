"""Micro-benchmark of decode_event on typical messages (prints, asserts nothing).

Run: .venv/bin/python bench/decode.py
"""

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.decode import Rejection, decode_event  # noqa: E402

MESSAGES = {
    "BUY, decimal strings": (
        "transactions",
        "P001",
        b'{"transaction_id":"P001-T000123","portfolio_id":"P001","type":"BUY","trade_date":"2023-03-02",'
        b'"settlement_date":"2023-03-06","security_id":"SEC001","quantity":"150","price":"48.37",'
        b'"fees":"4.95","currency":"EUR"}',
    ),
    "BUY, JSON numbers": (
        "transactions",
        "P001",
        b'{"transaction_id":"P001-T000123","portfolio_id":"P001","type":"BUY","trade_date":"2023-03-02",'
        b'"settlement_date":"2023-03-06","security_id":"SEC001","quantity":150,"price":48.37,'
        b'"fees":4.95,"currency":"EUR","fx_rate":1.0712}',
    ),
    "price": ("prices", "SEC001", b'{"security_id":"SEC001","price_date":"2023-03-02","price":"403.72","currency":"EUR"}'),
    "BUY, invalid (quantity)": (
        "transactions",
        "P001",
        b'{"transaction_id":"BAD-002","portfolio_id":"P001","type":"BUY","trade_date":"2023-03-02",'
        b'"security_id":"SEC001","quantity":"-5","price":"50","currency":"EUR"}',
    ),
}


def main() -> None:
    for label, (topic, key, raw) in MESSAGES.items():
        result = decode_event(topic, key, raw)
        ok = "rejected" if isinstance(result, Rejection) else "ok"
        timer = timeit.Timer(lambda: decode_event(topic, key, raw))
        loops, _ = timer.autorange()
        best = min(timer.repeat(repeat=7, number=loops)) / loops
        print(f"{label:26s} {ok:8s} {best * 1e6:6.2f} µs/event")


if __name__ == "__main__":
    main()
