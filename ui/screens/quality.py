"""Quality (authors): cross-validated evaluation, and learning previewed before it is written."""

from ui.views.quality import render

render()
