"""``matgenome campaign``: a closed-loop campaign kept in a directory.

Sub-actions ``init``, ``propose``, ``record``, ``status`` and ``report``, each a thin layer over
:class:`matgenome.campaign.Campaign`. Listed in ``matgenome.cli.main.COMMANDS``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from matgenome.campaign import Campaign, CampaignSettings, RecordSettings
from matgenome.cli.command import Command, add_verbosity_args
from matgenome.cli.model_options import add_model_args, model_options
from matgenome.cli.options import add_constraint_args, add_reading_args, constraints
from matgenome.cli.output import log, print_top
from matgenome.table_writer import check_output_path

ACTIONS = ("init", "propose", "record", "status", "report")


def _common(parser: argparse.ArgumentParser) -> None:
    # A -v given before the action is kept (not reset by the nested parser).
    add_verbosity_args(parser, "no progress messages", keep_earlier=True)
    parser.add_argument("directory", help="the campaign directory")


def _reading_args(parser: argparse.ArgumentParser, defaults_note: str) -> None:
    group = parser.add_argument_group("reading measured values (as for 'matgenome train')")
    add_reading_args(group, formula="formula column (detected when omitted)",
                     target="column of measured values" + defaults_note,
                     log10="take log10 of the values",
                     unit="unit of the values, e.g. mS/cm; converted to the base unit "
                     "(S/cm, eV, MPa) before --log10")


def _init_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--dataset", action="append", default=[],
                        help="shipped dataset to start from (repeatable), e.g. obelix")
    parser.add_argument("--data", action="append", default=[], metavar="FILE",
                        help="the lab's own table of measured values (repeatable)")
    _reading_args(parser, "; with only --dataset, the dataset's source column "
                  "(obelix: 'Ionic conductivity (S cm-1)', S/cm, --log10)")
    library = parser.add_argument_group("candidate library")
    library.add_argument("--candidates", metavar="FILE", help="table of candidate formulas")
    library.add_argument("--family", action="append", help="seed family to generate "
                         "candidates from (repeatable; default: all seed families)")
    goal = parser.add_argument_group("objective and constraints")
    goal.add_argument("--objective", choices=("max", "min"), default="max")
    goal.add_argument("--threshold", type=float, help="a value that counts as a discovery, "
                      "in model units (e.g. -3 for 1 mS/cm in log10 S/cm); until one is "
                      "measured, batches are a stratified cold start")
    goal.add_argument("--mobile-ion", help="element every in-domain candidate must contain")
    add_constraint_args(goal, "least mobile-ion atomic fraction")
    parser.add_argument("--name", help="campaign name (default: the directory name)")
    add_model_args(parser)


def _propose_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--batch", type=int, default=5, metavar="N",
                        help="candidates to propose (default 5)")


def _record_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("results", help="CSV/TSV/Excel/Parquet table of measured results")
    parser.add_argument("--new", action="store_true", help="accept compositions that were "
                        "neither proposed, nor candidates, nor measured before")
    # Each option given replaces only itself and one left out keeps init's value, so every
    # default is None ("not given"), --log10 included.
    group = parser.add_argument_group(
        "reading measured values (as for 'matgenome train'; each option left out keeps the "
        "value given to 'campaign init', each option given replaces only itself)")
    group.add_argument("--formula-column", help="formula column (default: init's; detected "
                       "when neither names one)")
    group.add_argument("--target-column", help="column of measured values (default: init's)")
    group.add_argument("--log10", action="store_const", const=True, default=None,
                       help="take log10 of the values (default: as at init; the values must "
                       "end up in the campaign's quantity)")
    group.add_argument("--target-unit", help="unit of the values, e.g. mS/cm; converted to "
                       "the base unit (S/cm, eV, MPa) before log10 (default: init's)")


def _report_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--output", "-o", required=True, help="HTML file to write")


SETUP = {"init": (_init_args, "create a campaign: starting data, candidates, objective"),
         "propose": (_propose_args, "retrain on everything measured and propose a batch"),
         "record": (_record_args, "add measured results (matched to the proposals)"),
         "status": (_common, "print rounds, measured counts, best so far, pending"),
         "report": (_report_args, "write a self-contained HTML report")}
EXAMPLES = {
    "init": "matgenome campaign init my_campaign --dataset obelix --data lab.xlsx "
            "--target-column sigma --target-unit mS/cm --log10 --family argyrodite "
            "--mobile-ion Li --threshold -3",
    "propose": "matgenome campaign propose my_campaign --batch 5",
    "record": "matgenome campaign record my_campaign results.xlsx",
    "status": "matgenome campaign status my_campaign",
    "report": "matgenome campaign report my_campaign -o report.html",
}


def _campaign_args(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name in ACTIONS:
        setup, help_text = SETUP[name]
        setup(actions.add_parser(name, help=help_text, description=help_text,
                                 epilog=f"example:\n  {EXAMPLES[name]}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter))


def run_campaign(args: argparse.Namespace) -> int:
    return {"init": _init, "propose": _propose, "record": _record, "status": _status,
            "report": _report}[args.action](args)


def _settings(args: argparse.Namespace) -> RecordSettings:
    """The reading options given; for ``record`` those left out are None (init's)."""
    return RecordSettings(target_column=args.target_column,
                          formula_column=args.formula_column, log10=args.log10,
                          target_unit=args.target_unit)


def _init(args: argparse.Namespace) -> int:
    options = {k: v for k, v in model_options(args).items() if v is not None}
    settings = CampaignSettings(
        datasets=args.dataset, data=args.data, record=_settings(args),
        candidates=args.candidates, families=args.family, mobile_ion=args.mobile_ion,
        objective=args.objective, threshold=args.threshold,
        constraints=constraints(args), model=options, seed=args.seed, name=args.name)
    state = Campaign.init(args.directory, settings).state
    rows = sum(source.rows for source in state.sources)
    print(f"campaign {state.name} created in {args.directory}: {rows} starting "
          f"measurements, {state.candidates.rows} candidates; next: matgenome "
          f"campaign propose {args.directory} --batch 5")
    return 0


def _propose(args: argparse.Namespace) -> int:
    proposal = Campaign(args.directory).propose(args.batch, progress=log.info)
    number = int(proposal["round"].iloc[0])
    shown = ["batch", "formula", "predicted", "uncertainty", "in_domain", "supply_risk", "why"]
    print_top(proposal[shown], None, max_colwidth=70)
    print(f"round {number}: {len(proposal)} proposed; written to "
          f"{Path(args.directory) / f'round-{number}' / 'proposal.csv'}")
    return 0


def _record(args: argparse.Namespace) -> int:
    summary = Campaign(args.directory).record(args.results, new=args.new,
                                              settings=_settings(args))
    read = summary.read
    log.info("read %s: formulas from %s, values from %r%s%s", summary.file,
             repr(read.formula_column) if read.formula_column else "the detected column",
             read.target_column, f" in {read.target_unit}" if read.target_unit else "",
             ", log10" if read.log10 else "")
    print(f"recorded {summary.rows} rows from {summary.file} after round "
          f"{summary.round}: {summary.proposed} proposed, {summary.repeats} repeats "
          f"of measured compositions (kept as repeats), {summary.new} new, "
          f"{summary.censored} bound-only")
    if summary.same_content_recorded_at:
        log.warning("a file with the same content was recorded before (%s): its rows are "
                    "now in the campaign twice, as repeats", ", ".join(
                        summary.same_content_recorded_at))
    return 0


def _status(args: argparse.Namespace) -> int:
    print(Campaign(args.directory).status())
    return 0


def _report(args: argparse.Namespace) -> int:
    output = check_output_path(args.output, [])
    path = Campaign(args.directory).report(output)
    print(f"report written to {path}")
    return 0


CAMPAIGN = Command(
    "campaign",
    "matgenome campaign init my_campaign --dataset obelix --family garnet --threshold -3\n"
    "  matgenome campaign propose my_campaign --batch 5\n"
    "  matgenome campaign record my_campaign results.xlsx\n"
    "  matgenome campaign report my_campaign -o report.html",
    _campaign_args, run_campaign)
