"""Draw a ``history`` as a line chart (matplotlib, Agg canvas: no display or pyplot state needed).

Payment holds from one release to the next, so each line is drawn as steps from the date a row
takes effect, with a marker at each row; the chart ends on 31 December of the last year.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, YearLocator
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from therabill.guide.facts import GuideError
from therabill.guide.history import History
from therabill.money import usd
from therabill.reference.catalogue import Catalogue

FORMATS = (".png", ".svg")
LEGEND_WIDTH = 50
MARGIN = timedelta(days=45)  # keeps the first and last markers clear of the frame


def _short_name(code: str, catalogue: Catalogue) -> str:
    """The first phrase of our own catalogue summary, for the legend."""
    info = catalogue.get(code)
    if info is None:
        return code
    phrase = info.summary.split(" - ")[0].split(";")[0].split(",")[0].split(" (")[0]
    if len(phrase) > LEGEND_WIDTH:
        phrase = phrase[:LEGEND_WIDTH].rsplit(" ", 1)[0] + "…"
    return f"{code}  {phrase}"


def _source_note(history: History) -> str:
    releases = [row.rvu_release for row in history.rows]
    where = ("national amounts (GPCIs 1.000)" if history.locality == "national"
             else f"locality {history.locality} (CMS GPCI file of each year, work floor applied)")
    return (f"Source: CMS PFS national RVU files {releases[0]}–{releases[-1]} (non-facility RVUs), "
            "conversion factor in force on each date (PFS final rules and later laws); "
            f"{where}.\nOne unit, PE paid in full, before deductible, coinsurance, "
            "sequestration and MPPR. Drawn by therabill.")


def plot_history(history: History, path: Path, catalogue: Catalogue) -> Path:
    """Write the chart to ``path`` (.png or .svg) and return it."""
    if path.suffix.lower() not in FORMATS:
        raise GuideError(f"--plot must name a .png or .svg file, not {path.name!r}")
    if not history.rows:
        raise GuideError("nothing to plot: no rows in the years asked for")
    figure = Figure(figsize=(10, 6.2), dpi=120)
    # Fixed margins leave room under the axes for the source note.
    figure.subplots_adjust(left=0.09, right=0.91, top=0.89, bottom=0.18)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    days = [row.effective_from for row in history.rows]
    end = date(history.to_year, 12, 31)
    for index, code in enumerate(history.codes):
        amounts = [float(full) if (full := row.points[index].full) is not None
                   else float("nan") for row in history.rows]
        # Dates on the x axis go through matplotlib's date converter; its stubs only list floats.
        axes.plot([*days, end], [*amounts, amounts[-1]],  # type: ignore[arg-type]
                  drawstyle="steps-post", marker="o",
                  markevery=list(range(len(days))), linewidth=2,
                  label=_short_name(code, catalogue))
        latest = history.rows[-1].points[index].full
        if latest is not None:  # label the latest amount at the right edge
            axes.annotate(usd(latest), (end, amounts[-1]), xytext=(4, 0),
                          textcoords="offset points", va="center", fontsize=9)
    if history.locality == "national":
        place = "national amounts (GPCIs 1.000)"
    else:
        named = next((row.place.name for row in reversed(history.rows) if row.place), "")
        place = f"locality {history.locality} {named.title()}"[:90]
    axes.set_title(f"Medicare payment per unit, {' vs '.join(history.codes)}, "
                   f"{history.from_year}–{history.to_year}\n{place}", fontsize=12)
    axes.set_xlabel("Date of service (each step is an RVU release or conversion-factor change)")
    axes.set_ylabel("Payment per unit (US$)")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"${value:,.2f}"))
    axes.xaxis.set_major_locator(YearLocator())
    axes.xaxis.set_major_formatter(DateFormatter("%Y"))
    first_day, last_day = date(history.from_year, 1, 1) - MARGIN, date(history.to_year + 1, 1, 1)
    axes.set_xlim(first_day, last_day)  # type: ignore[arg-type]  # dates: as for plot() above
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    figure.text(0.01, 0.015, _source_note(history), fontsize=7.5, color="#444444",
                va="bottom", ha="left", wrap=True)
    figure.savefig(path)
    return path
