"""Chapter 04 (softmax): text, reference, checks, wrong and correct answers, own tests."""
