from esmctl.cli import main

main()
