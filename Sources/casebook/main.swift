import CasebookCLI

await CasebookCommand.main()
