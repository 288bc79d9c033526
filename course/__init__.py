"""Neural Networks from Scratch in NumPy: the package students import.

- ``course.data``: data sets (synthetic for chapter 1; MNIST, CIFAR-10 and photos in later chapters).
- ``course.monitor``: the live training monitor (loss curves, later histograms and diagnoses).
- ``course.testing``: helpers the visible tests use to give clear messages.
"""

__version__ = "0.1.0"
