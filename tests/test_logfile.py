"""The log file's secret filter masks every form of the key the client's redactor knows."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from kolaybi_xl.logfile import SecretFilter


def test_the_log_filter_masks_the_key_also_json_escaped_and_url_encoded():
    key = "anahtar-çğş/123"
    secrets = SecretFilter()
    secrets.add(key)
    for form in (key, json.dumps(key)[1:-1], quote(key, safe="")):
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "server said %s", (form,), None)
        assert secrets.filter(record)
        assert form not in record.getMessage()
        assert "***" in record.getMessage()
