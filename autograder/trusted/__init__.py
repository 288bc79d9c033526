"""Trusted checking: the judge, the channel to the process that runs student code, and the sandbox it runs in.

- :mod:`~autograder.trusted.judge`: the real checks run here, never student code (the design of the whole scheme);
- :mod:`~autograder.trusted.channel` (with :mod:`~autograder.trusted.codec`, :mod:`~autograder.trusted.errors`,
  :mod:`~autograder.trusted.proxies`): the data-only channel between the judge and the student's process;
- :mod:`~autograder.trusted.client`: the in-kernel client behind ``autograder.checks.check_<fn>``;
- :mod:`~autograder.trusted.recheck`: the out-of-kernel re-check that course-grade and course-selfcheck share;
- :mod:`~autograder.trusted.sandbox`: the student side of that re-check (runs inside the sandbox);
- :mod:`~autograder.trusted.isolation`: what a sandbox sees (bubblewrap); :mod:`~autograder.trusted.limits`: rlimits.
"""
