"""`lenet report`: the output folders of the other commands, gathered into one document.

For every folder given (written by train, sweep, noise, confusion or hardsamples) the report
shows what ran (command line, options, data, device, versions) and what came out (its tables
and figures), after a summary that puts every trained configuration side by side:

    results.csv   one row per trained configuration (dataset and setting) of every folder
    compare.png   mean test accuracy per epoch of those configurations, a panel per dataset
    report.md     the document in Markdown; its images are the copies in figures/
    report.html   the same document as one self-contained page (images embedded)
    figures/      copies of the figures the document shows
    results.json  every trained run and configuration of those folders, for scripts
    config.json   the folders reported on, and how the report was made

The report reads files only: it trains nothing and needs no dataset. Everything is read and
checked in `gather`, before the first file is written.

The package reads the folders (sources), builds the document's sections per kind of folder
(sections; the blocks themselves are outputs/document.py's) and writes the report (writer):
sources <- sections <- writer.
"""

from lenetcli.commands.report.writer import run_report

__all__ = ["run_report"]
