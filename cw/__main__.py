from cw.surfaces.cli import main

main()
