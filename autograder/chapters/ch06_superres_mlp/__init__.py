"""Chapter 06 (superres_mlp): text, reference, checks, wrong and correct answers, own tests."""
