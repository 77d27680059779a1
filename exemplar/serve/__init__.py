"""``exemplar serve``: a local web page for colorizing photos without a terminal.

Parts: :class:`~exemplar.serve.workspace.Workspace` (the server's temporary folder, the only place
requests reach), :class:`~exemplar.serve.engine.Engine` (the colorizer and reference folder),
:class:`~exemplar.serve.jobs.JobQueue` (one worker thread, jobs one at a time),
:func:`~exemplar.serve.app.build_app` (the Starlette routes and the page in ``static/``) and
:class:`~exemplar.serve.server.Server` (all of it under uvicorn). Needs the ``web`` extra:
``pip install "exemplar[web]"``.
"""
