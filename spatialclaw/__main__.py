from spatialclaw.cli import main

main()
