"""Event schemas and the hot-path decoder (see schemas/README.md)."""

from schemas.decode import (
    TOPIC_MODELS,
    Rejection,
    decode_event,
    message_key,
    parse_json,
    validate_item,
)
from schemas.events import (
    CostMethod,
    DeadLetter,
    FxRate,
    Instrument,
    Portfolio,
    Price,
    Transaction,
    TxStatus,
    TxType,
)

__all__ = [
    "TOPIC_MODELS",
    "CostMethod",
    "DeadLetter",
    "FxRate",
    "Instrument",
    "Portfolio",
    "Price",
    "Rejection",
    "Transaction",
    "TxStatus",
    "TxType",
    "decode_event",
    "message_key",
    "parse_json",
    "validate_item",
]
