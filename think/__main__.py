from think.cli.entry import main

main()
