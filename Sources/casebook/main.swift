import CasebookCLI

await CasebookCommand.main(analyzers: [])
