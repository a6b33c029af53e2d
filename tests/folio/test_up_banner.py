"""What `folio up`'s banner says about access: the key made now (once), where keys live, or that auth is off;
and the dashboard's URL, a one-time sign-in link when the key was made now."""
from __future__ import annotations

from pathlib import Path

from folio.devenv.stack import Stack
from folio.up import _access, _dashboard


def test_with_auth_off_the_banner_says_anyone_can_read_and_write(tmp_path: Path):
    line = _access(Stack(tmp_path, auth=False))
    assert "OFF (FOLIO_AUTH=off)" in line and "anyone" in line
    assert "Bearer" not in line


def test_a_key_made_at_this_start_is_shown_with_a_curl_that_uses_it(tmp_path: Path):
    stack = Stack(tmp_path, api_port=8123, admin_key="folio_example", created_admin_key=True)
    text = _access(stack)
    assert "shown this once" in text and str(tmp_path / "api-keys.json") in text
    assert "curl -H 'Authorization: Bearer folio_example' http://127.0.0.1:8123/portfolios" in text


def test_a_later_start_never_shows_a_key_only_where_the_keys_are(tmp_path: Path):
    text = _access(Stack(tmp_path, admin_key="folio_example", created_admin_key=False))
    assert "folio_example" not in text
    assert f"API keys in {tmp_path / 'api-keys.json'}" in text and "folio keys create" in text


def test_a_key_made_at_this_start_makes_the_dashboard_line_a_sign_in_link(tmp_path: Path):
    stack = Stack(tmp_path, api_port=8123, admin_key="folio_example", created_admin_key=True)
    assert _dashboard(stack) == "  dashboard    http://127.0.0.1:8123/ui/?token=folio_example"


def test_a_later_start_prints_the_dashboard_url_without_any_key(tmp_path: Path):
    line = _dashboard(Stack(tmp_path, api_port=8123, admin_key="folio_example", created_admin_key=False))
    assert line.startswith("  dashboard    http://127.0.0.1:8123/ui/ ") and "folio_example" not in line
    assert "sign in with an API key" in line


def test_with_auth_off_the_dashboard_url_needs_no_sign_in(tmp_path: Path):
    assert _dashboard(Stack(tmp_path, api_port=8123, auth=False)) == "  dashboard    http://127.0.0.1:8123/ui/"
