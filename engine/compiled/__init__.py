"""Compiled models: a pack's network, its junction tree and its learned parameters, cached by hash.

This sits above ``engine.model`` (networks), ``engine.infer`` (junction trees) and ``engine.learn``
(learned parameters) because it composes all three; keeping it out of ``engine.model`` is what lets
that package stay free of inference and learning imports.
"""
