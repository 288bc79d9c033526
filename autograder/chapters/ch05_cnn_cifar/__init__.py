"""Chapter 05 (cnn_cifar): text, reference, checks, wrong and correct answers, own tests."""
