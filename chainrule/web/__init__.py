"""``chainrule serve``: the interactive page where every weight, gradient and update shows its chain rule.

The server (:mod:`chainrule.web.app`, Starlette on uvicorn) computes everything with chainrule
itself; the page (``static/``: plain ES modules, KaTeX vendored) is a view of one
:class:`~chainrule.web.session.Session` per tab, fed over a WebSocket
(:mod:`chainrule.web.protocol`).  Needs ``pip install 'chainrule[web]'``.
"""
