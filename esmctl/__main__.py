from esmctl import main

main()
