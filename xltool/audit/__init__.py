"""Batch audit of returned workbooks: inputs, roster, parallel checks, history, outputs."""
