"""Check a fix: a suggested fix weighed against the current diagnosis."""

from ui.views.check_fix import render

render()
