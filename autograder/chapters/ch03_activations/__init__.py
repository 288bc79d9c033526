"""Chapter 03 (activations): text, reference, checks, wrong and correct answers, own tests."""
