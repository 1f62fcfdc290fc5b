"""One redaction for provenance, logs and the report: secrets (keys, tokens, passwords, URL credentials) are
replaced by a marker wherever they would be written. The config check refuses them outright where it can (a
URL with credentials, a key-like value in ``judge.api_key_env``, a secret under ``judge.extra_body``); this is
the last line of defence for everything else.
"""

from __future__ import annotations

import re
from typing import Any

MARKER = "<redacted>"
# Key names that hold secrets, by their last word(s): hf_token, access_token, api_key, password, client_secret,
# authorization... but not max_new_tokens, num_tokens or api_key_env (which holds a variable's name).
_SECRET_NAME = re.compile(
    r"(^|[_-])(token|secret|password|passwd|pwd|credentials?|authorization|auth|cookie|"
    r"(api|access|secret|private|client)[_-]?key|apikey)$", re.IGNORECASE)
# Values that are keys whatever their key: common provider prefixes, bearer headers.
_KEY_VALUE = re.compile(
    r"\b(sk-[A-Za-z0-9_-]{16,}|sk_(live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,})\b|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,}")
# scheme://user:password@host (or scheme://token@host)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]+)@", re.IGNORECASE)
# ?api_key=...&token=... in a URL's query
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:[a-z0-9_-]*[_-])?(?:token|secret|password|key|api_key|apikey|access_token|sig|signature))="
    r"(?P<value>[^&#\s]+)", re.IGNORECASE)


def is_secret_name(key: str) -> bool:
    return bool(_SECRET_NAME.search(str(key)))


def looks_like_key(text: str) -> bool:
    """A value that is a credential by its form: a known provider prefix, or a long token of letters and digits
    with lower case (environment variable names are upper case, short, and words)."""
    if _KEY_VALUE.search(text):
        return True
    return len(text) >= 24 and bool(re.fullmatch(r"[A-Za-z0-9_.-]+", text)) and any(c.isdigit() for c in text) \
        and any(c.islower() for c in text) and not re.fullmatch(r"[A-Za-z]+(_[A-Za-z]+)*", text)


def has_url_credentials(text: str) -> bool:
    return bool(_URL_CREDENTIALS.search(text))


def redact_text(text: str) -> str:
    """``text`` with URL credentials, secret query parameters and key-like tokens replaced by the marker."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{MARKER}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['name']}={MARKER}", text)
    return _KEY_VALUE.sub(MARKER, text)


def redact(value: Any) -> Any:
    """``value`` (builtins: dicts, lists, strings) with every entry whose key names a secret, and every secret
    inside a string, replaced by the marker."""
    if isinstance(value, dict):
        return {key: MARKER if is_secret_name(key) and sub not in (None, "") else redact(sub)
                for key, sub in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(sub) for sub in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
