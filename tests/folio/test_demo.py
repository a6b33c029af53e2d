"""The demo book is clean: every event valid and every transaction bookable."""
from core.fx import FxBook
from core.ledger import Applied, apply_transaction, define_portfolio
from core.store import MemoryStore
from core.transaction import TxFields
from folio.demo import demo_events
from schemas.decode import Rejection, validate_item


def test_every_demo_event_validates_and_every_transaction_books():
    store, fx = MemoryStore(), FxBook()
    outcomes = []
    for arrival, event in enumerate(demo_events()):
        decoded = validate_item(event["topic"], event["value"])
        assert not isinstance(decoded, Rejection), (event, decoded)
        if event["topic"] == "portfolios":
            define_portfolio(store, decoded.model_dump(mode="json"), arrival)
        elif event["topic"] == "fx_rates":
            fx.put(decoded.from_currency, decoded.to_currency, decoded.rate_date.isoformat(), decoded.rate)
        elif event["topic"] == "transactions":
            outcomes.append(apply_transaction(store, TxFields.from_event(decoded), arrival, fx.rate))
    assert outcomes and all(isinstance(o, Applied) for o in outcomes), [o for o in outcomes if not isinstance(o, Applied)]
