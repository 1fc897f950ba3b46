from therabill.cli import main

main()
