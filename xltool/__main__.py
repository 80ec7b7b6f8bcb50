from xltool.cli.app import main

main()
