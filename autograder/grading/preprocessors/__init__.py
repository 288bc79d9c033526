"""nbgrader preprocessors the course's ``nbgrader_config.py`` plugs into autograde and generate_feedback, one a file:

* :mod:`.dedup` (:class:`CourseDeduplicateIds`), :mod:`.overwrite_cells` (:class:`CourseOverwriteCells`): autograde,
  sanitising;
* :mod:`.hidden_tests` (:class:`StripHiddenTests` for autograde, :class:`HideHiddenTests` for feedback);
* :mod:`.sandboxed_execute` (:class:`SandboxedExecute`): the kernel in a sandbox, stopping at the first timeout;
* :mod:`.cap_output` (:class:`CapOutput`): outputs capped; stderr alone does not fail a test cell.
"""
