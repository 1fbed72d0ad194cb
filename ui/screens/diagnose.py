"""Diagnose: the helpdesk's question-by-question diagnosis with the live ranking."""

from ui.views.diagnose import render

render()
