"""Cases (authors): review, edit, accept, import and export resolved cases."""

from ui.views.cases import render

render()
