"""Batch audit of returned workbooks: inputs, roster, parallel checks, history, outputs.

Importing the package registers the cross-year rule (XT720) in the rule catalogue.
"""

from xltool.audit import crossyear as _crossyear  # noqa: F401  (registers XT720)
