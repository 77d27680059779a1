"""Colour science, image files, the guided filter, errors and warnings: no model, no TensorFlow graph."""
