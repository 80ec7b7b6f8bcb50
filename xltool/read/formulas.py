"""Formulas as compared: the forms Excel, WPS and LibreOffice save the same formula in."""

from __future__ import annotations

from functools import lru_cache


# Memoised: the same formulas recur in every workbook of a batch. typed=True keeps 1, 1.0 and
# True apart (their str() differ).
@lru_cache(maxsize=8192, typed=True)
def norm_formula(text: str | None) -> str:
    text = (text or "").lstrip("=")
    text = text.replace("$", "").replace("'", "").replace(" ", "").upper()
    # LibreOffice and Excel may or may not write the "_xlfn." prefix or the ".0" of constants.
    return text.replace("_XLFN.", "")
