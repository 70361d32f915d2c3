from cti.cli import main

main()
