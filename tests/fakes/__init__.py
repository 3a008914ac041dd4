"""Stand-ins the tests (and benches) share."""
