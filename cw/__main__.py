from cw.surfaces.entry import main

main()
