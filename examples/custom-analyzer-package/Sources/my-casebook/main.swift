import CasebookCLI
import WeekendAnalyzers

// The whole `casebook` command line, with this package's analyzers next to the built-ins.
await CasebookCommand.main(analyzers: [WeekendShareAnalyzer.self])
