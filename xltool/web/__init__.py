"""The web pages: 自查 for units (no login) and 审核台 for the bureau, plus the same JSON API.

``xltool serve`` runs :func:`xltool.web.app.create_app` under uvicorn. Everything the server
keeps lives in one data folder (SQLite and files), see :mod:`xltool.web.store`.
"""
