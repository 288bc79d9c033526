"""Chapter 02 (dense_backprop): text, reference, checks, wrong and correct answers, own tests."""
