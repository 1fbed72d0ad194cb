"""Knowledge base (authors): the network, node details, validation and identifiability."""

from ui.views.knowledge import render

render()
