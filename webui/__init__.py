"""webui: the box's local admin web UI (aiohttp): JSON API under /api/v1, server-rendered
pages, live updates over SSE, the first-boot setup wizard, sign-in with roles and CSRF.

Entry point: :func:`webui.app.create_app` ``(box, accounts, *, secure_cookies=False)``.
Modules: ``auth`` (sessions, CSRF, throttling, the sign-in middleware), ``api`` (JSON
views), ``pages`` (HTML), ``openapi`` (the API contract), ``static/`` (one CSS, one JS).
It calls only the service façade (:mod:`firmware.service`) and :mod:`firmware.accounts`;
never ``drivers`` or ``native``.
"""
