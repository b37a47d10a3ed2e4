"""A pyplot backend for QuantStats' figures: matplotlib's SVG canvas minus two thrown-away draws per figure.

- ``pyplot.savefig`` calls ``canvas.draw_idle()`` after writing the file so that a GUI window shows the saved
  state; on the default Agg canvas that is a full rasterisation of every QuantStats figure, then discarded.
  Nothing is shown here: the idle redraw is a no-op.
- ``fig.tight_layout()`` (which QuantStats calls on every figure) leaves a placeholder layout engine on the
  figure, and ``print_figure`` draws any figure that has a layout engine once more before printing it, so
  that the engine can lay it out. A placeholder lays out nothing, so that draw is skipped too.

Everything else, including the SVG that ``savefig(format="svg")`` writes, is matplotlib's own SVG backend;
``tests/test_reports.py`` checks QuantStats' page comes out byte for byte as on the plain SVG canvas.

Selected only for the duration of the QuantStats calls (``reports.qs_report.svg_backend``), or for the life of
a report worker process: ``matplotlib.pyplot.switch_backend("module://regimeshift.reports._svg_backend")``.
"""

from __future__ import annotations

import matplotlib as mpl
from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.layout_engine import PlaceHolderLayoutEngine

SKIP_REDRAWS = True  # False: behave exactly like matplotlib's SVG canvas (for comparisons)


class FigureCanvas(FigureCanvasSVG):
    def draw_idle(self, *args, **kwargs) -> None:
        """No GUI to refresh: skip the redraw pyplot.savefig requests after saving."""
        if not SKIP_REDRAWS:
            super().draw_idle(*args, **kwargs)

    def print_figure(self, filename, *args, bbox_inches=None, **kwargs):  # type: ignore[no-untyped-def]
        fig = self.figure
        engine = fig.get_layout_engine()
        tight = mpl._val_or_rc(bbox_inches, "savefig.bbox") == "tight"
        if not (SKIP_REDRAWS and isinstance(engine, PlaceHolderLayoutEngine) and not tight
                and hasattr(fig, "_layout_engine")):
            return super().print_figure(filename, *args, bbox_inches=bbox_inches, **kwargs)
        fig._layout_engine = None  # nothing to lay out: no pre-draw (set back right after)
        try:
            return super().print_figure(filename, *args, bbox_inches=bbox_inches, **kwargs)
        finally:
            fig._layout_engine = engine


FigureManager = FigureManagerBase
