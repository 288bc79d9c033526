"""Neural Networks from Scratch in NumPy: the package students import.

- ``course.data``: data sets (synthetic for chapter 1; MNIST, CIFAR-10 and photos in later chapters).
- ``course.monitor``: the live training monitor (loss curves, later histograms and diagnoses).
- ``course.testing``: helpers the visible tests use to give clear messages.
- ``course.runtime``: quick mode under the grader, and BLAS threads (importing ``course`` sets them to the
  course's measured rule, one thread; see ``course.runtime.set_blas_threads``).
"""

from course.runtime import set_blas_threads as _set_blas_threads

__version__ = "0.1.0"

_set_blas_threads()
