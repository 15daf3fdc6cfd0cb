"""Exporting one record per finished call: the record format, the queue and worker, the exporters."""
