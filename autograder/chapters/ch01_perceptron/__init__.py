"""Chapter 01 (perceptron): text, reference, checks, wrong and correct answers, own tests."""
