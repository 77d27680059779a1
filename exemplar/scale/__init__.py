"""Archive-scale batch colorization: the same jobs as ``exemplar batch``, on one process or many.

A batch is a list of :class:`~exemplar.scale.job.Job` s (from a ``target,reference,output`` CSV or a
folder tree). Whatever runs them, every job goes through one
:class:`~exemplar.scale.runner.JobRunner` per worker (the models load once per worker), which skips
outputs that exist, writes atomically, and turns every failure into an
:class:`~exemplar.scale.report.Outcome` instead of an exception, so one bad scan never stops a
million-row run and no row is dropped silently. Engines differ only in where runners live:

- :class:`~exemplar.scale.loop_engine.LoopEngine`: one runner in this process (``--engine loop``).
- :class:`~exemplar.scale.ray_engine.RayEngine`: a pool of runners as Ray Data actors, on this
  machine or a Ray cluster (``--engine ray``; ``pip install "exemplar[scale]"``).

Nothing here imports TensorFlow or Ray at module level: the CLI's ``--help`` stays instant and the
Ray driver never loads a model it does not run.
"""
