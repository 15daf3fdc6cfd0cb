"""Instrumentation of provider SDKs: generic wrappers and stream proxies, plus one module per provider."""
